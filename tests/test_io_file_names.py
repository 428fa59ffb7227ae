"""A name turned into a file stem: one rule for transfer's heat maps and ISM's figures."""

from __future__ import annotations

import pytest

from crossreg.evaluate.files import heat_map_stem
from crossreg.io.file_names import safe_stem
from crossreg.variants.ism_figure_files import figure_name, name_part


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("H3K27ac", "H3K27ac"),
        ("CHIP H3K27ac", "CHIP_H3K27ac"),  # a space
        ("a \t\n b", "a_b"),  # a run of unsafe characters becomes one _
        ("a_ b", "a__b"),  # a _ of the name is kept
        ("ChIP/H3K4me3 (liver)", "ChIP_H3K4me3_liver"),  # slashes, brackets; ends stripped
        ("C:\\data\\x", "C_data_x"),  # backslashes
        ("naïve Zellkern-Ätzung", "na_ve_Zellkern-_tzung"),  # letters beyond ASCII
        ("H3K27ac.rep1.v2", "H3K27ac.rep1.v2"),  # dots kept
        ("../up", ".._up"),
        ("-x-", "-x-"),  # only _ is stripped
        ("__x__", "x"),
        ("", "fallback"),
        ("肝臓", "fallback"),  # nothing but unsafe characters
        (" / ", "fallback"),
        ("_", "fallback"),
    ],
)
def test_safe_stem_keeps_ascii_letters_digits_and_dot_dash_underscore(name, stem):
    assert safe_stem(name, "fallback") == stem


def test_heat_maps_and_ism_figures_keep_their_names_and_fallbacks():
    assert heat_map_stem("CHIP: H3K27ac/liver") == "matrix_CHIP_H3K27ac_liver"
    assert heat_map_stem("é") == "matrix_experiment"
    assert heat_map_stem("") == "matrix_experiment"
    assert name_part("rs123 C>T", 96) == "rs123_C_T"
    assert name_part("", 96) == "site"
    assert name_part("üüü" + "x" * 100, 16) == "xxxxxxx-60cd8f5f"  # cut, hash of the whole
    assert figure_name(7, 4, "chr1:100 A>G", "") == "0007_chr1_100_A_G_site.png"
