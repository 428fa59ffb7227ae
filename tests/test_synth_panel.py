"""crossreg synth's SLDP panel: PLINK/ldsc files parse, LD has blocks, planted truth holds."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from crossreg.genome import Genome
from crossreg.io.vcf import read_vcf
from crossreg.stats.sldp.heritability import estimate_h2g
from crossreg.stats.sldp.inputs import read_print_snps
from crossreg.stats.sldp.ldscores import read_ldscores
from crossreg.stats.sldp.sumstats import read_sumstats
from crossreg.synth import synthesize
from crossreg.synth.elements import lay_out, lay_out_private
from crossreg.synth.genomes import build_species, make_ancestor
from crossreg.synth.motifs import bundled_motifs
from crossreg.synth.panel_files import write_panel
from crossreg.synth.planting import plant
from crossreg.synth.presets import PRESETS
from crossreg.synth.regulation import Regulation
from crossreg.synth.world import rng_for

SEED = 5
ALT_COUNT = np.array([2, -1, 1, 0])  # 2-bit .bed code -> count of bim A1 (= ALT)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("panel_world")
    synthesize(out, "tiny", SEED)
    return out


@pytest.fixture(scope="module")
def entry(world) -> dict:
    return json.loads((world / "manifest.json").read_text())["panel"]


def _bim(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines()]


def _genotypes(path: Path, individuals: int) -> np.ndarray:
    """(individuals, snps) ALT counts decoded from a SNP-major .bed."""
    raw = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    assert raw[:3].tobytes() == b"\x6c\x1b\x01"
    per_snp = -(-individuals // 4)
    assert (raw.size - 3) % per_snp == 0
    packed = raw[3:].reshape(-1, per_snp)
    codes = (packed[:, :, None] >> np.array([0, 2, 4, 6], dtype=np.uint8)) & 3
    counts = ALT_COUNT[codes.reshape(packed.shape[0], -1)[:, :individuals]]
    assert (counts >= 0).all()  # no missing calls
    return counts.T


def _gz_table(path: Path) -> tuple[list[str], list[list[str]]]:
    with gzip.open(path, "rt") as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle]
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def panel(world, entry) -> dict:
    """All chromosomes' SNP table, genotypes and blocks, read back from the files."""
    n = entry["individuals"]
    bims, genos = [], []
    for number in entry["chroms"]:
        bims += _bim(world / f"{entry['bfile']}{number}.bim")
        genos.append(_genotypes(world / f"{entry['bfile']}{number}.bed", n))
    blocks = [line.split("\t") for line in (world / entry["blocks"]).read_text().splitlines()]
    names = entry["chrom_names"]
    block = np.array(
        [
            next(
                k
                for k, (c, a, b) in enumerate(blocks)
                if c == names[row[0]] and int(a) <= int(row[3]) < int(b)
            )
            for row in bims
        ]
    )
    g = np.concatenate(genos, axis=1)
    x = (g - g.mean(axis=0)) / g.std(axis=0)
    return {"bim": bims, "genotypes": g, "x": x, "block": block, "blocks": blocks}


def _r(panel: dict, cols: np.ndarray, other: np.ndarray | None = None) -> np.ndarray:
    x = panel["x"]
    b = x[:, cols if other is None else other]
    return x[:, cols].T @ b / x.shape[0]


def test_manifest_paths_exist(world, entry):
    for number in entry["chroms"]:
        for ext in ("bed", "bim", "fam", "frq"):
            assert (world / f"{entry['bfile']}{number}.{ext}").is_file()
        for ext in ("l2.ldscore.gz", "l2.M_5_50", "l2.M"):
            assert (world / f"{entry['ldscores']}{number}.{ext}").is_file()
    for key in ("blocks", "print_snps", "vcf", "truth"):
        assert (world / entry[key]).is_file(), key
    assert set(entry["sumstats"]) == set(entry["tissues"]) == {"liver", "macrophage", "null"}
    assert all((world / p).is_file() for p in entry["sumstats"].values())
    assert 1_500 < entry["snps"] <= 2_000 and entry["individuals"] == 1_000


def test_plink_files_parse(world, entry, panel):
    bim = panel["bim"]
    assert all(len(row) == 6 for row in bim)
    for number in entry["chroms"]:
        rows = [r for r in bim if r[0] == number]
        bp = [int(r[3]) for r in rows]
        assert bp == sorted(bp) and len(set(bp)) == len(bp)
        assert all(r[1] == f"snp_{entry['chrom_names'][number]}_{r[3]}" for r in rows)
        fam = (world / f"{entry['bfile']}{number}.fam").read_text().splitlines()
        assert len(fam) == entry["individuals"] and len(fam[0].split()) == 6
    genome = Genome(world / "human/genome.fa")
    vcf = read_vcf(world / entry["vcf"], genome=genome)  # checks every REF against the FASTA
    assert [(v.id, v.alts[0], v.ref) for v in vcf] == [(r[1], r[4], r[5]) for r in bim]
    assert panel["genotypes"].shape == (entry["individuals"], len(bim))


def test_frq_matches_genotypes(world, entry, panel):
    freq = panel["genotypes"].mean(axis=0) / 2
    rows = []
    for number in entry["chroms"]:
        lines = (world / f"{entry['bfile']}{number}.frq").read_text().splitlines()
        assert lines[0].split() == ["CHR", "SNP", "A1", "A2", "MAF", "NCHROBS"]
        rows += [line.split() for line in lines[1:]]
    maf = np.array([float(r[4]) for r in rows])
    np.testing.assert_allclose(maf, np.minimum(freq, 1 - freq), rtol=1e-3, atol=1e-6)
    alt_minor = np.array([r[2] == b[4] for r, b in zip(rows, panel["bim"], strict=True)])
    assert (alt_minor == (freq <= 0.5)).all()  # frq A1 is the minor allele
    assert (maf < 0.01).mean() > 0.05 and (maf > 0.2).mean() > 0.3  # rare and common SNPs
    printed = (world / entry["print_snps"]).read_text().split()
    assert printed == [b[1] for b, m in zip(panel["bim"], maf, strict=True) if m >= 0.01]


def test_blocks_tile_chromosomes(world, entry, panel):
    sizes = dict(
        line.split("\t") for line in (world / "human/chrom.sizes").read_text().split("\n") if line
    )
    for name, size in sizes.items():
        spans = [(int(a), int(b)) for c, a, b in panel["blocks"] if c == name]
        assert spans[0][0] == 0 and spans[-1][1] == int(size)
        assert all(b0 == a1 for (_, b0), (a1, _) in itertools.pairwise(spans))
    assert len(panel["blocks"]) == entry["ld_blocks"] > 20


def test_ld_decays_within_blocks_and_vanishes_across(entry, panel):
    block, n = panel["block"], entry["individuals"]
    freq = panel["genotypes"].mean(axis=0) / 2
    maf = np.minimum(freq, 1 - freq)
    near, far, across = [], [], []
    for b in np.unique(block):
        cols = np.flatnonzero((block == b) & (maf > 0.05))
        r2 = _r(panel, cols) ** 2
        near += list(np.diagonal(r2, 1))
        far += [v for k in range(15, cols.size) for v in np.diagonal(r2, k)]
        nxt = np.flatnonzero((block == b + 1) & (maf > 0.05))
        if nxt.size:
            across += list((_r(panel, cols, nxt) ** 2).ravel())
    assert np.mean(near) > 0.15
    assert np.mean(far) < np.mean(near) / 4
    assert np.mean(across) < 3.0 / n  # independent blocks: r^2 ~ 1/N by chance only


def test_ldscores_are_block_sums_of_r2(world, entry, panel):
    l2 = {}
    for number in entry["chroms"]:
        header, rows = _gz_table(world / f"{entry['ldscores']}{number}.l2.ldscore.gz")
        assert header == ["CHR", "SNP", "BP", "L2"]
        l2 |= {r[1]: float(r[3]) for r in rows}
    ids = [b[1] for b in panel["bim"]]
    for b in np.unique(panel["block"])[:10]:
        cols = np.flatnonzero(panel["block"] == b)
        expected = (_r(panel, cols) ** 2).sum(axis=1)
        np.testing.assert_allclose([l2[ids[j]] for j in cols], expected, atol=2e-3)
    freq = panel["genotypes"].mean(axis=0) / 2
    maf = np.minimum(freq, 1 - freq)
    m_5_50 = sum(
        int((world / f"{entry['ldscores']}{c}.l2.M_5_50").read_text()) for c in entry["chroms"]
    )
    assert m_5_50 == int((maf > 0.05).sum())


def _sumstats(world: Path, entry: dict, tissue: str) -> tuple[list[list[str]], np.ndarray]:
    header, rows = _gz_table(world / entry["sumstats"][tissue])
    assert header == ["SNP", "A1", "A2", "Z", "N"]
    return rows, np.array([float(r[3]) for r in rows])


def _planted_signal(world: Path, entry: dict, panel: dict, tissue: str) -> np.ndarray:
    """sqrt(N) R beta per SNP from the truth table and the panel's in-sample LD."""
    lines = (world / entry["truth"]).read_text().splitlines()
    assert lines[0].split("\t")[:3] == ["SNP", "tissue", "beta"]
    beta = {r[0]: float(r[2]) for r in (line.split("\t") for line in lines[1:]) if r[1] == tissue}
    b = np.array([beta[row[1]] for row in panel["bim"]])
    signal = np.zeros_like(b)
    for k in np.unique(panel["block"]):
        cols = np.flatnonzero(panel["block"] == k)
        signal[cols] = _r(panel, cols) @ b[cols]
    return signal * np.sqrt(entry["gwas_n"])


def test_liver_sumstats_carry_the_planted_effects(world, entry, panel):
    rows, z = _sumstats(world, entry, "liver")
    assert [(r[0], r[1], r[2]) for r in rows] == [(b[1], b[4], b[5]) for b in panel["bim"]]
    assert {r[4] for r in rows} == {str(entry["gwas_n"])}
    signal = _planted_signal(world, entry, panel, "liver")
    assert (np.abs(signal) > 3).sum() > 20  # strong planted effects
    assert np.corrcoef(z, signal)[0, 1] > 0.6
    assert np.corrcoef(z - signal, signal)[0, 1] == pytest.approx(0.0, abs=0.1)
    residual = z - signal  # e ~ N(0, R/N) scaled by sqrt(N): unit variance
    assert residual.var() == pytest.approx(1.0, abs=0.15)


def test_null_sumstats_are_pure_noise(world, entry, panel):
    _, z = _sumstats(world, entry, "null")
    assert abs(z.mean()) < 0.15
    assert z.var() == pytest.approx(1.0, abs=0.15)
    signal = _planted_signal(world, entry, panel, "liver")
    assert abs(np.corrcoef(z, signal)[0, 1]) < 0.1
    assert not _planted_signal(world, entry, panel, "null").any()


@pytest.mark.parametrize("tissue", ["liver", "macrophage"])
def test_gwas_heritability_is_a_traits(world, entry, panel, tissue):
    """The planted effects explain 5-50% of the trait (h²_g = Σ βᵦᵀRᵦβᵦ over blocks), and
    the aggregate LD-score estimate sldp weights by recovers it, as on a real GWAS."""
    lines = (world / entry["truth"]).read_text().splitlines()[1:]
    beta = {r[0]: float(r[2]) for r in (line.split("\t") for line in lines) if r[1] == tissue}
    b = np.array([beta[row[1]] for row in panel["bim"]])
    planted = sum(
        float(b[cols] @ _r(panel, cols) @ b[cols])
        for cols in (np.flatnonzero(panel["block"] == k) for k in np.unique(panel["block"]))
    )
    printed = read_print_snps(world / entry["print_snps"])
    stats = read_sumstats(world / entry["sumstats"][tissue], printed)
    estimated = estimate_h2g(stats, read_ldscores(str(world / entry["ldscores"]))).h2g
    assert 0.05 < planted < 0.5
    assert estimated == pytest.approx(planted, rel=0.25)


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_panel_is_determined_by_its_own_seed_stream(world, tmp_path):
    preset, motifs = PRESETS["tiny"], bundled_motifs()
    ancestor = make_ancestor(rng_for(SEED, "ancestor"), preset)
    layout = lay_out(rng_for(SEED, "layout"), preset, ancestor, ("human", "mouse"))
    human = build_species(rng_for(SEED, "human/genome"), preset, ancestor, "human", rearrange=False)
    lay_out_private(rng_for(SEED, "human/private"), preset, human, layout)
    sites = plant(rng_for(SEED, "human/motifs"), layout, human, motifs)
    reg = Regulation(human, layout, sites, rng_for(SEED, "human/regulation"))
    for seed, folder in ((SEED, "same"), (SEED + 1, "other")):
        write_panel(tmp_path, folder, human, reg, motifs, preset, rng_for(seed, "panel"))
    same, other = _hashes(tmp_path / "same"), _hashes(tmp_path / "other")
    assert same == _hashes(world / "panel")
    assert set(other) == set(same)
    assert other["sumstats/liver.sumstats.gz"] != same["sumstats/liver.sumstats.gz"]
    assert other["panel.1.bed"] != same["panel.1.bed"]
