"""Recovery of planted variant effects from SAD tables: exact answers on tiny tables."""

from __future__ import annotations

import polars as pl
import pytest

from crossreg.variants.recovery import effect_recovery, sad_long


def test_sad_long_matches_tracks_by_description(tmp_path):
    tsv = tmp_path / "sad.tsv"
    tsv.write_text(
        "snp\tchrom\tpos\tref\talt\tmm_DNASE_liver\tmm_CAGE_kidney\n"
        "v1\tchr1\t10\tA\tC\t0.5\t-2\n"
        "v2\tchr1\t20\tG\tT\t-0.25\t1\n"
    )
    got = sad_long(tsv, {"mm_DNASE_liver": "DNASE:liver", "mm_CAGE_kidney": "CAGE:kidney"})
    assert got.sort("variant_id", "description").rows() == [
        ("v1", -2.0, "CAGE:kidney"),
        ("v1", 0.5, "DNASE:liver"),
        ("v2", 1.0, "CAGE:kidney"),
        ("v2", -0.25, "DNASE:liver"),
    ]
    # tracks the mapping does not name are left out
    assert sad_long(tsv, {"mm_DNASE_liver": "DNASE:liver"}).height == 2


def test_effect_recovery_counts_signs_and_magnitudes():
    scores = pl.DataFrame(
        {
            "variant_id": ["a", "b", "c", "d", "e"],
            "description": ["DNASE:liver"] * 5,
            "sad": [2.0, -1.0, 3.0, 0.5, -0.5],
        }
    )
    truth = pl.DataFrame(
        {
            "variant_id": ["a", "b", "c", "d", "e", "z"],
            "description": ["DNASE:liver"] * 6,
            "sign": [1, -1, -1, 0, 0, 1],  # z has no score: not counted
        }
    )
    got = effect_recovery(scores, truth)
    assert got["pairs_with_effect"] == 3
    assert got["sign_agreement"] == pytest.approx(2 / 3, abs=1e-4)
    assert got["sign_p"] == pytest.approx(0.5)  # P(X >= 2), X ~ Bin(3, 1/2)
    assert got["effect_vs_neutral"] == pytest.approx(2.0 / 0.5)


def test_effects_read_as_numbers_whatever_the_first_rows_hold(tmp_path):
    from crossreg.variants.recovery import read_effects

    rows = ["variant_id\tkind\tidentifier\tdescription\texpected_change\tsign"]
    rows += [f"v{i}\tbreak\tT{i}\tDNASE:liver\t0\t0" for i in range(200)]
    rows.append("v200\tbreak\tT0\tDNASE:liver\t-0.0621411\t-1")
    path = tmp_path / "variant_effects.tsv"
    path.write_text("\n".join(rows) + "\n")
    effects = read_effects(path)
    assert effects["expected_change"].dtype == pl.Float64
    assert effects["expected_change"][-1] == pytest.approx(-0.0621411)
