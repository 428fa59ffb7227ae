"""Summary statistics that cannot enter the regression stop naming file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossreg.stats.sldp.sumstats import read_eqtl, read_sumstats

PRINTED = np.array(["rs1", "rs2", "rs3"])


def _sumstats(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "trait.sumstats"
    path.write_text("SNP\tA1\tA2\tZ\tN\n" + rows)
    return path


def test_missing_z_and_n_drop_their_rows(tmp_path: Path) -> None:
    path = _sumstats(tmp_path, "rs1\tA\tG\tNaN\t90\nrs2\tA\tG\t1.5\tNA\nrs3\tC\tT\t-2\t90\n")
    stats = read_sumstats(path, PRINTED)
    assert stats.snp.tolist() == ["rs3"] and stats.z.tolist() == [-2.0]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("rs1\tA\tG\t1.0\t90\nrs2\tA\tG\tinf\t90\n", r"line 3: column Z has inf"),
        ("rs1\tA\tG\t-inf\t90\n", r"line 2: column Z has -inf"),
        ("rs1\tA\tG\t1.0\t0\n", r"line 2: column N has 0\.0; it must be a finite number above 0"),
        ("rs1\tA\tG\t1.0\t-5\n", r"line 2: column N has -5\.0"),
        ("rs1\tA\tG\t1.0\tinf\n", r"line 2: column N has inf"),
    ],
)
def test_infinite_z_or_unusable_n_stops(tmp_path: Path, rows: str, expected: str) -> None:
    with pytest.raises(ValueError, match=rf"trait\.sumstats {expected}"):
        read_sumstats(_sumstats(tmp_path, rows), PRINTED)


def test_eqtl_sample_sizes_must_be_above_zero(tmp_path: Path) -> None:
    path = tmp_path / "gtex.tsv"
    path.write_text("SNP\tgene_id\tref\talt\tz\tN\nrs1\tg1\tA\tG\t2.0\t90\nrs1\tg2\tA\tG\t1\t0\n")
    with pytest.raises(ValueError, match=r"gtex\.tsv line 3: column N has 0\.0"):
        read_eqtl(path, PRINTED)
    with pytest.raises(ValueError, match=r"gtex\.tsv: the eQTL sample size must be .* got 0"):
        read_eqtl(path, PRINTED, n=0)
