"""Fast checks of the SLDP test-world generator (tests/sldp_world.py) and its committed output."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from crossreg.io.plink import BED_MAGIC, pack_bed
from tests.sldp_world import COMPLEMENT, make_world, standardise

INPUTS = Path(__file__).parent / "data" / "sldp" / "inputs"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sldp_world")
    make_world(out, seed=0)
    return out


def _files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_same_seed_same_bytes_and_matches_committed_inputs(world, tmp_path):
    make_world(tmp_path, seed=0)
    assert _files(tmp_path) == _files(world)
    assert _files(world) == _files(INPUTS)


def test_other_seed_differs(world, tmp_path):
    make_world(tmp_path, seed=1)
    assert (tmp_path / "panel.1.bed").read_bytes() != (world / "panel.1.bed").read_bytes()


def test_bim_tab_separated_sorted_and_bed_sized(world):
    n_ind = len((world / "panel.1.fam").read_text().splitlines())
    for c in (1, 22):
        rows = [line.split("\t") for line in (world / f"panel.{c}.bim").read_text().splitlines()]
        assert all(len(r) == 6 for r in rows)
        bp = np.array([int(r[3]) for r in rows])
        assert np.all(np.diff(bp) > 0)
        bed = (world / f"panel.{c}.bed").read_bytes()
        assert bed[:3] == BED_MAGIC == bytes([0x6C, 0x1B, 0x01])
        assert len(bed) == 3 + len(rows) * ((n_ind + 3) // 4)
        reg = (world / f"reg.{c}.bim").read_text().splitlines()
        printed = set((world / "print_snps.txt").read_text().split())
        in_panel = [line for line in (world / f"panel.{c}.bim").read_text().splitlines()]
        assert reg == [line for line in in_panel if line.split("\t")[1] in printed]


def test_pack_bed_codes_and_standardise():
    g = np.array([[2, 1, 0, -1, 2], [0, 1, 2, 1, 1]]).T  # 5 individuals x 2 SNPs
    bed = pack_bed(g)
    # individual i in bits 2i..2i+1: 2 -> 00, 1 -> 10, 0 -> 11, missing -> 01
    assert bed[3:] == bytes([0b01_11_10_00, 0b00, 0b10_00_10_11, 0b10])
    x = standardise(g)
    assert np.allclose(x.mean(axis=0), 0) and np.allclose((x**2).mean(axis=0), 1)
    assert x[3, 0] == pytest.approx(0.0)  # a missing call sits at the mean


def _table(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt") as f:
        return [line.rstrip("\n").split("\t") for line in f]


def test_messy_rows_present(world):
    bim = {
        r[1]: (r[4], r[5])
        for c in (1, 22)
        for r in (x.split("\t") for x in (world / f"panel.{c}.bim").read_text().splitlines())
    }
    for name in ("annot.1.sannot.gz", "pheno_a.sumstats.gz"):
        head, *rows = _table(world / name)
        i = head.index("SNP")
        seen = {"same": 0, "swap": 0, "comp": 0, "ambiguous": 0, "absent": 0, "other": 0}
        for r in rows:
            snp, a1, a2 = r[i], r[i + 1], r[i + 2]
            if snp not in bim:
                seen["absent"] += 1
                continue
            b1, b2 = bim[snp]
            if COMPLEMENT[b1] == b2:
                seen["ambiguous"] += 1
            elif (a1, a2) == (b1, b2):
                seen["same"] += 1
            elif (a1, a2) == (b2, b1):
                seen["swap"] += 1
            elif (a1, a2) == (COMPLEMENT[b1], COMPLEMENT[b2]):
                seen["comp"] += 1
            else:
                seen["other"] += 1
        assert all(v > 0 for v in seen.values()), (name, seen)
        ids = [r[i] for r in rows]
        assert len(ids) > len(set(ids))  # a duplicated id
        assert sum(1 for s in ids if s in bim) < len(bim)  # panel SNPs missing
    _, *rows = _table(world / "pheno_a.sumstats.gz")
    assert any(r[3] == "NA" for r in rows) and any(r[4] == "NA" for r in rows)
    order = [r[0] for r in rows]
    assert order != sorted(order)


def test_blocks_and_ldscores(world):
    blocks = [line.split("\t") for line in (world / "blocks.bed").read_text().splitlines()]
    assert {b[0] for b in blocks} == {"chr1", "chr22"}
    assert all(int(b[1]) < int(b[2]) for b in blocks)
    for c in range(1, 23):
        assert (world / f"ld.{c}.l2.ldscore.gz").exists()
        m550 = int((world / f"ld.{c}.l2.M_5_50").read_text())
        assert (m550 > 0) == (c in (1, 22))
