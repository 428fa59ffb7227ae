"""crossreg sldp against a plain numpy SLDP written in this file from the reference's
definitions (docs/steps/sldp.md): a three-chromosome world whose LD blocks are listed out of
chromosome order, with a block on a chromosome the panel lacks, an MHC block, a block
without SNPs, one without print SNPs and one with a single print SNP; annotations and
summary statistics with swapped, complemented and strand-ambiguous alleles, missing Z and
N, and an N that varies by SNP. Every column of results.tsv, every chunk table and the
heritability are compared, with a background and without, weighted and not, and on one
chromosome alone; a planted effect is found and null traits give uniform p."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import scipy.stats as st
from scipy.special import ndtri

from crossreg.io.plink import pack_bed
from crossreg.stats.sldp.run import write_sldp

N_SAMPLES = 150
N_GWAS = 5000.0  # the sample size the effects are simulated at (N varies by SNP around it)
PAIRS = ["AC", "AG", "CA", "CT", "GA", "GT", "TC", "TG"]
COMPLEMENT = str.maketrans("ACGT", "TGCA")
MHC = (25_684_587, 35_455_756)  # chr6 blocks overlapping it are left out
# the LD block lines in file order: (chromosome, SNPs, kind); chr9 is not in the panel
LAYOUT = [
    ("2", 9, ""), ("2", 0, "empty"), ("2", 8, "unprinted"), ("2", 10, ""), ("2", 3, ""),
    ("9", 6, "absent"),
    ("1", 10, ""), ("1", 6, "single"), ("1", 9, ""), ("1", 11, ""), ("1", 8, ""),
    ("6", 9, ""), ("6", 10, "mhc"), ("6", 8, ""), ("6", 9, ""), ("6", 7, ""),
]  # fmt: skip
# a larger world for the tests of power and calibration: 36 blocks, about 30 chunks
WIDE = [(c, 8 + (i % 3), "") for c in ("1", "2", "6") for i in range(12)]
CHROMS = ("1", "2", "6")
MARGINAL = ["planted", "other", "zero"]
BACKGROUND = ["bg1", "bg2"]
MU = 0.02  # the planted effect of `planted` on the planted traits, per normalised genotype
SIGMA2 = 3e-4  # per-SNP variance of the polygenic effects (every trait)
JK, FLIPS, SEED = 12, 200_000, 7


@dataclass
class Chrom:
    """One panel chromosome: standardised genotypes (samples × SNPs), ids, positions,
    bim alleles, MAF, print and block membership (-1: in no block or in the MHC one)."""

    x: np.ndarray
    snp: list[str]
    bp: np.ndarray
    pair: list[str]
    maf: np.ndarray
    printed: np.ndarray
    block: np.ndarray


@dataclass
class World:
    """The panel chromosomes, the LD block lines, the reconciled annotations, the LD scores
    and the generator that draws the traits."""

    chroms: dict[str, Chrom]
    blocks: list[tuple[str, int, int, str]]  # chromosome, start, end, kind: the file's lines
    v: dict[str, np.ndarray]  # per chromosome, SNPs × (background + marginal), as reconciled
    l2: dict[str, np.ndarray]
    rng: np.random.Generator


def _standardise(counts: np.ndarray) -> np.ndarray:
    sd = counts.std(axis=0)
    return np.where(sd > 0, (counts - counts.mean(axis=0)) / np.where(sd > 0, sd, 1), 0.0)


def _gz(path: Path, text: str) -> None:
    with gzip.open(path, "wt") as handle:
        handle.write(text)


def make_world(root: Path, seed: int = 0, layout: list[tuple[str, int, str]] = LAYOUT) -> World:
    """Write the panel, LD blocks (`layout`), print SNPs, LD scores and annotations of the
    world."""
    rng = np.random.default_rng(seed)
    cursor = dict.fromkeys(CHROMS, 10_000)
    per_chrom: dict[str, list] = {c: [] for c in CHROMS}  # (block line, SNPs, kind)
    lines = []
    for line, (chrom, size, kind) in enumerate(layout):
        if kind == "mhc":
            cursor[chrom] = (MHC[0] + MHC[1]) // 2
        start = cursor.get(chrom, 10_000) + 500  # a SNP between blocks sits at the cursor
        lines.append((chrom, start, start + 1000 * size + 1, kind))
        if chrom in per_chrom:
            per_chrom[chrom].append((line, size, kind))
            cursor[chrom] = start + 1000 * size + 2000
        if kind == "mhc":
            cursor[chrom] = MHC[1] + 500_000
    (root / "blocks.bed").write_text("".join(f"chr{c}\t{s}\t{e}\n" for c, s, e, _ in lines))
    chroms, values, l2 = {}, {}, {}
    printed_ids = []
    for chrom in CHROMS:
        columns, bp, block, printed, kinds = [], [], [], [], []
        for line, size, kind in per_chrom[chrom]:
            start = lines[line][1]
            bp.append(start - 500)  # between blocks
            block.append(-1)
            columns.append(rng.standard_normal(2 * N_SAMPLES))
            for j in range(size):
                fresh = rng.standard_normal(2 * N_SAMPLES)
                columns.append(fresh if j == 0 else 0.85 * columns[-1] + 0.53 * fresh)
                bp.append(start + 1000 * j)
                block.append(-1 if kind == "mhc" else line)
            kinds += ["gap"] + [kind] * size
        latent = np.array(columns).T
        m = latent.shape[1]
        haps = latent > ndtri(1 - rng.uniform(0.05, 0.5, m))
        counts = (haps[:N_SAMPLES].astype(int) + haps[N_SAMPLES:]).astype(int)
        counts[:, 2] = 2  # a monomorphic SNP
        pair = [PAIRS[i % 8] if i % 13 != 5 else "AT" for i in range(m)]  # some ambiguous
        printed = rng.random(m) < 0.75
        kinds_a = np.array(kinds)
        printed[kinds_a == "unprinted"] = False
        single = np.flatnonzero(kinds_a == "single")
        printed[single] = False
        printed[single[2:3]] = True  # the one print SNP of the "single" block
        snp = [f"rs{chrom}_{i}" for i in range(m)]
        freq = counts.mean(axis=0) / 2
        maf = np.minimum(freq, 1 - freq)
        x = _standardise(counts.astype(float))
        chroms[chrom] = Chrom(x, snp, np.array(bp), pair, maf, printed, np.array(block))
        printed_ids += [s for s, p in zip(snp, printed, strict=True) if p]
        (root / f"panel.{chrom}.bed").write_bytes(pack_bed(counts))
        (root / f"panel.{chrom}.bim").write_text(
            "".join(
                f"{chrom}\t{snp[i]}\t0\t{bp[i]}\t{pair[i][0]}\t{pair[i][1]}\n" for i in range(m)
            )
        )
        (root / f"panel.{chrom}.fam").write_text(
            "".join(f"f{i} i{i} 0 0 1 -9\n" for i in range(N_SAMPLES))
        )
        (root / f"panel.{chrom}.frq").write_text(
            " CHR SNP A1 A2 MAF NCHROBS\n"
            + "".join(
                f"{chrom} {snp[i]} {pair[i][0]} {pair[i][1]} {float(maf[i])!r} 300\n"
                for i in range(m)
            )
        )
        # LD scores: the in-sample block LD scores (1 between blocks)
        scores = np.ones(m)
        for b in set(block) - {-1}:
            rows = np.flatnonzero(np.array(block) == b)
            r = x[:, rows].T @ x[:, rows] / N_SAMPLES
            scores[rows] = (r**2).sum(axis=1)
        l2[chrom] = scores
        _gz(
            root / f"ld.{chrom}.l2.ldscore.gz",
            "CHR\tSNP\tBP\tL2\n"
            + "".join(f"{chrom}\t{snp[i]}\t{bp[i]}\t{float(scores[i])!r}\n" for i in range(m)),
        )
        (root / f"ld.{chrom}.l2.M_5_50").write_text(f"{int((maf >= 0.05).sum())}\n")
        # annotations: background then marginal; written with swaps (negated) and
        # complements; the strand-ambiguous SNPs' values are dropped (0) by reconciliation
        v = np.column_stack(
            [
                rng.standard_normal(m),
                np.where(maf < 0.2, 1.0, -1.0) * (rng.random(m) < 0.5),
                rng.standard_normal(m) * (rng.random(m) < 0.7),
                rng.standard_normal(m),
                np.zeros(m),
            ]
        )
        ambiguous = np.array([p == "AT" for p in pair])
        values[chrom] = np.where(ambiguous[:, None], 0.0, v)
        for name, cols in (("bg", slice(0, 2)), ("annot", slice(2, 5))):
            names = BACKGROUND if name == "bg" else MARGINAL
            lines_out = []
            for i in range(m):
                a1, a2, sign = _written_alleles(pair[i], i)
                vals = "\t".join(repr(float(sign * x_)) for x_ in v[i, cols])
                lines_out.append(f"{snp[i]}\t{a1}\t{a2}\t{vals}\n")
            _gz(
                root / f"{name}.{chrom}.sannot.gz",
                "SNP\tA1\tA2\t" + "\t".join(names) + "\n" + "".join(lines_out),
            )
    (root / "print_snps.txt").write_text("\n".join(printed_ids) + "\n")
    return World(chroms, lines, values, l2, rng)


def _written_alleles(pair: str, i: int) -> tuple[str, str, float]:
    """How row `i` of a table writes a SNP of bim alleles `pair`: as is, swapped (its value
    negated) or complemented."""
    if i % 5 == 1:
        return pair[1], pair[0], -1.0
    if i % 5 == 3:
        comp = pair.translate(COMPLEMENT)
        return comp[0], comp[1], 1.0
    return pair[0], pair[1], 1.0


@dataclass
class Trait:
    """A trait's summary statistics as written: per chromosome Z and N per SNP (NaN: no
    usable row), and which SNPs have a row at all."""

    z: dict[str, np.ndarray]
    n: dict[str, np.ndarray]
    listed: dict[str, np.ndarray]


def write_trait(world: World, path: Path, mu: float) -> Trait:
    """Simulate α̂ = Rβ + e, e ~ N(0, R/N) per LD block (β = mu·planted + polygenic effects),
    and write Z = α̂√N for the print SNPs (and a few others), with messy rows."""
    rng = world.rng
    z_of, n_of, listed_of = {}, {}, {}
    rows = []
    for chrom, c in world.chroms.items():
        m = len(c.snp)
        beta = mu * world.v[chrom][:, 2] + rng.normal(0, np.sqrt(SIGMA2), m)
        ahat = beta + rng.normal(0, np.sqrt(1 / N_GWAS), m)  # between blocks
        for b in set(c.block) - {-1}:
            rows_b = np.flatnonzero(c.block == b)
            xb = c.x[:, rows_b]
            w = rng.normal(0, np.sqrt(N_SAMPLES / N_GWAS), N_SAMPLES)
            ahat[rows_b] = xb.T @ (xb @ beta[rows_b]) / N_SAMPLES + xb.T @ w / N_SAMPLES
        n = rng.integers(4000, 6001, m).astype(float)
        z = ahat * np.sqrt(n)
        listed = c.printed & (rng.random(m) < 0.92)
        listed[rng.random(m) < 0.05] = True  # some rows at SNPs that are not print SNPs
        z_missing = listed & (rng.random(m) < 0.04)
        n_missing = listed & (rng.random(m) < 0.02)
        unusable = ~listed | z_missing | n_missing
        z_of[chrom] = np.where(unusable, np.nan, z)
        n_of[chrom] = np.where(unusable, np.nan, n)
        listed_of[chrom] = listed
        for i in np.flatnonzero(listed):
            a1, a2, sign = _written_alleles(c.pair[i], i + 2)
            missing = ("NA", "nan", "")[i % 3]  # each spelling of a missing value
            zs = missing if z_missing[i] else repr(float(sign * z[i]))
            ns = missing if n_missing[i] else f"{int(n[i])}"
            rows.append(f"{c.snp[i]}\t{a1}\t{a2}\t{zs}\t{ns}\n")
    rows.append("rs_elsewhere\tA\tC\t3.0\t5000\n")
    order = rng.permutation(len(rows))
    _gz(path, "SNP\tA1\tA2\tZ\tN\n" + "".join(rows[i] for i in order))
    return Trait(z_of, n_of, listed_of)


# ---- the plain reference -------------------------------------------------------------


def plain_sldp(
    world: World, trait: Trait, chroms: tuple[str, ...], background: bool, weights: str
) -> dict:
    """SLDP of `trait` on the marginal annotations, computed plainly: dense block LD,
    eigh for the truncated spectrum, dense W⁻¹, explicit chunk walk, full joint solves,
    the reference's global-RNG sign-flip loop and a looped jackknife."""
    # h²_g: every row at a print SNP with Z and N, before allele reconciliation
    z2, nl2, ns = [], [], []
    for chrom, c in world.chroms.items():
        rows = c.printed & trait.listed[chrom] & ~np.isnan(trait.z[chrom])
        z2 += list(trait.z[chrom][rows] ** 2)
        nl2 += list(trait.n[chrom][rows] * world.l2[chrom][rows])
        ns += list(trait.n[chrom][rows])
    m_5_50 = sum(int((c.maf >= 0.05).sum()) for c in world.chroms.values())
    sigma2g = (np.mean(z2) - 1) / np.mean(nl2)
    h2g = max(sigma2g * m_5_50, 0.03)
    cols = [0, 1, 2, 3, 4] if background else [2, 3, 4]
    b = 2 if background else 0
    # per LD block line (the MHC's left out of the walk): numerator, denominator, M_H
    walk: list[dict[str, Any]] = []
    for line, (chrom, _, _, kind) in enumerate(world.blocks):
        if kind == "mhc":
            continue
        entry: dict[str, Any] = {"line": line, "chrom": chrom, "m_h": 0, "terms": None}
        walk.append(entry)
        if chrom not in chroms or chrom not in world.chroms:
            continue
        c = world.chroms[chrom]
        rows = np.flatnonzero(c.block == line)
        printed = c.printed[rows]
        if not printed.any():
            continue
        x = c.x[:, rows]
        r = x.T @ x / N_SAMPLES
        profiles = (r @ world.v[chrom][rows][:, cols])[printed]
        z, n = trait.z[chrom][rows][printed], trait.n[chrom][rows][printed]
        typed = ~np.isnan(z) & np.array([c.pair[i] != "AT" for i in rows[printed]])
        if not typed.any() or not profiles.any():
            continue
        ahat = z[typed] / np.sqrt(n[typed])
        if weights == "Winv_ahat_I":
            w_inv = np.eye(typed.sum())
        else:
            lam, u = np.linalg.eigh(r[np.ix_(printed, printed)])
            lam, u = lam[::-1], u[:, ::-1]
            share = np.cumsum(lam) / lam.sum()
            k = int(np.flatnonzero(share >= 0.95)[0])
            u_t, lam = u[typed, :k], lam[:k]
            w_inv = u_t @ np.diag(1 / (sigma2g * lam**2 + lam / n[typed].mean())) @ u_t.T
        p = profiles[typed]
        entry["m_h"] = int(typed.sum())
        entry["terms"] = (p.T @ w_inv @ ahat / 1e6, p.T @ w_inv @ p / 1e6)
        index = np.cumsum(c.printed) - 1  # among the chromosome's print SNPs
        entry["snpind"] = (int(index[rows[printed]].min()), int(index[rows[printed]].max()) + 1)
        entry["bp"] = (world.blocks[line][1], world.blocks[line][2])
    # chunks: close once the accumulated M_H exceeds max(1, T/JK − avg/2)
    total = sum(e["m_h"] for e in walk)
    cut = max(1, total / JK - total / sum(1 for e in walk if e["m_h"]) / 2)
    chunks, current, size = [], [], 0.0
    for e in walk:
        current.append(e)
        size += e["m_h"]
        if size > cut:
            chunks.append(current)
            current, size = [], 0.0
    chunks.append(current)
    chunks = [[e for e in ch if e["terms"] is not None] for ch in chunks]
    chunks = [ch for ch in chunks if ch]
    nums = [np.sum([e["terms"][0] for e in ch], axis=0) for ch in chunks]
    dens = [np.sum([e["terms"][1] for e in ch], axis=0) for ch in chunks]
    info_rows = [
        {
            "ldblock_begin": ch[0]["line"], "ldblock_end": ch[-1]["line"] + 1,
            "chr_begin": f"chr{ch[0]['chrom']}", "chr_end": f"chr{ch[-1]['chrom']}",
            "bp_begin": ch[0]["bp"][0], "bp_end": ch[-1]["bp"][1],
            "snpind_begin": ch[0]["snpind"][0], "snpind_end": ch[-1]["snpind"][1],
            "numsnps": float(sum(e["m_h"] for e in ch)),
        }
        for ch in chunks
    ]  # fmt: skip
    # the .info sums over the analysed chromosomes
    v_all = np.vstack([world.v[c][:, 2:] for c in chroms])
    sqnorm, supp, m_all = (v_all**2).sum(axis=0), (v_all != 0).sum(axis=0), len(v_all)
    num, den = np.sum(nums, axis=0), np.sum(dens, axis=0)
    out: dict = {"sigma2g": sigma2g, "h2g": h2g, "nbar": np.mean(ns), "chunks": info_rows}
    np.random.seed(SEED)
    for k, name in enumerate(MARGINAL):
        s = [*range(b), b + k]

        def est(nn, dd, s=s):
            try:
                return np.linalg.solve(dd[np.ix_(s, s)], nn[s])[-1]
            except np.linalg.LinAlgError:
                return np.nan

        mu = est(num, den)
        loo = np.array(
            [
                est(
                    np.sum(nums[:i] + nums[i + 1 :], axis=0),
                    np.sum(dens[:i] + dens[i + 1 :], axis=0),
                )
                for i in range(len(nums))
            ]
        )
        g = len(loo)
        theta_j = g * mu - (g - 1) / g * loo.sum()
        se = np.sqrt(np.mean((g * mu - (g - 1) * loo - theta_j) ** 2 / (g - 1)))
        # residualise the background out of the profile and of α̂ with global coefficients
        q = np.array([n_[b + k] for n_ in nums])
        r = np.array([d[b + k, b + k] for d in dens])
        if b:
            muy = np.linalg.solve(den[:b, :b], num[:b])
            mux = np.linalg.solve(den[:b, :b], den[:b, b + k])
            for i, (n_, d) in enumerate(zip(nums, dens, strict=True)):
                q[i] = n_[b + k] - d[b + k, :b] @ muy - n_[:b] @ mux + mux @ d[:b, :b] @ muy
                r[i] = d[b + k, b + k] - 2 * d[b + k, :b] @ mux + mux @ d[:b, :b] @ mux
        # a flip whose null equals the score in exact arithmetic (the identity, all signs
        # reversed, signs of q's zeros) reaches it, whatever the rounding of the sums
        score, exceed, drawn = q.sum(), 0, 0
        reach = abs(score) - 1e-12 * np.abs(q).sum()
        while drawn < FLIPS:
            signs = (-1) ** np.random.binomial(1, 0.5, size=(100_000, len(q)))
            exceed += int((np.abs(signs @ q) >= reach).sum())
            drawn += 100_000
            p = max(1, exceed) / drawn
            if p >= 0.01:
                break
        with np.errstate(invalid="ignore", divide="ignore"):
            z = score / (abs(score) / np.sqrt(st.chi2.isf(p, 1)))
            z_fast = q.sum() / np.sqrt((q**2).sum())
            rf = mu * np.sqrt(sqnorm[k] / h2g)
            h2v_h2g = rf**2 - se**2 * sqnorm[k] / (m_all * sigma2g)
        out[name] = {
            "z": z, "p": p, "z_fast": z_fast, "p_fast": st.chi2.sf(z_fast**2, 1), "mu": mu,
            "se_mu": se, "h2g": h2g, "r_f": rf, "h2v_h2g": h2v_h2g, "h2v": h2v_h2g * h2g,
            "supp_frac": supp[k] / m_all, "q": q, "r": r,
        }  # fmt: skip
    return out


# ---- the tests -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, World, dict[str, Trait]]:
    root = tmp_path_factory.mktemp("plain_world")
    w = make_world(root)
    traits = {
        "planted": write_trait(w, root / "planted.sumstats.gz", MU),
        "null": write_trait(w, root / "null.sumstats.gz", 0.0),
    }
    return root, w, traits


def _run(root: Path, out: Path, background: bool, **options) -> pl.DataFrame:
    write_sldp(
        str(root / "panel."), root / "print_snps.txt", root / "blocks.bed", str(root / "ld."),
        out, sumstats=[root / "planted.sumstats.gz", root / "null.sumstats.gz"],
        sannot_chr=[str(root / "annot.")],
        background_sannot_chr=[str(root / "bg.")] if background else [],
        seed=SEED, flips=FLIPS, jk_blocks=JK, verbose_thresh=1.01, plots=False, **options,
    )  # fmt: skip
    return pl.read_csv(out / "results.tsv", separator="\t")


COLUMNS = ("z", "z_fast", "p_fast", "mu", "se_mu", "h2g", "r_f", "h2v_h2g", "h2v", "supp_frac")


def _compare(out: Path, results: pl.DataFrame, expected: dict[str, dict], rtol: float) -> None:
    summary = json.loads((out / "summary.json").read_text())["phenotypes"]
    for pheno, plain in expected.items():
        mine = summary[pheno]
        for key, theirs in (("sigma2g", "sigma2g"), ("h2g", "h2g"), ("Nbar", "nbar")):
            assert mine[key] == pytest.approx(plain[theirs], rel=1e-12), (pheno, key)
        assert mine["chunks"] == len(plain["chunks"])
        rows = results.filter(pl.col("pheno") == pheno)
        assert rows["annot"].to_list() == MARGINAL
        for k, name in enumerate(MARGINAL):
            row, want = rows.row(k, named=True), plain[name]
            assert row["p"] == want["p"], (pheno, name)
            for column in COLUMNS:
                np.testing.assert_allclose(
                    row[column], want[column], rtol=rtol, atol=0, equal_nan=True,
                    err_msg=f"{pheno} {name} {column}",
                )  # fmt: skip
            table = pl.read_csv(out / "chunks" / pheno / f"{name}.tsv", separator="\t")
            described = table.drop("q", "r").with_columns(
                pl.col("chr_begin", "chr_end").cast(pl.String)
            )
            assert described.to_dicts() == plain["chunks"], (pheno, name)
            np.testing.assert_allclose(table["q"], want["q"], rtol=rtol, atol=1e-18)
            np.testing.assert_allclose(table["r"], want["r"], rtol=rtol, atol=1e-18)


@pytest.mark.parametrize(
    ("weights", "background"),
    [("Winv_ahat_h", True), ("Winv_ahat_h", False), ("Winv_ahat_I", True)],
)
def test_every_output_matches_the_plain_reference(world, tmp_path, weights, background):
    root, w, traits = world
    out = tmp_path / "out"
    results = _run(root, out, background, weights=weights)
    expected = {name: plain_sldp(w, t, CHROMS, background, weights) for name, t in traits.items()}
    # the world exercises what it is meant to: a chunk spanning chromosomes, merged blocks
    spans = [c for c in expected["planted"]["chunks"] if c["chr_begin"] != c["chr_end"]]
    assert spans and len(expected["planted"]["chunks"]) < 14
    _compare(out, results, expected, rtol=1e-9)


def test_one_chromosome_alone_matches_the_plain_reference(world, tmp_path):
    # its blocks' chunks, and M, ‖v‖² and support of its SNPs only; h²_g from every
    # phenotype row, as the reference's preprocesspheno takes them
    root, w, traits = world
    out = tmp_path / "out"
    results = _run(root, out, True, chroms=["2"])
    expected = {name: plain_sldp(w, t, ("2",), True, "Winv_ahat_h") for name, t in traits.items()}
    assert {c["chr_begin"] for c in expected["null"]["chunks"]} == {"chr2"}
    _compare(out, results, expected, rtol=1e-9)


def _wide_run(root: Path, traits: int, mu: float) -> pl.DataFrame:
    """`traits` traits on the wide world with the planted effect `mu`, about 30 chunks."""
    world = make_world(root, seed=3, layout=WIDE)
    paths = [root / f"t{i}.sumstats.gz" for i in range(traits)]
    for path in paths:
        write_trait(world, path, mu)
    write_sldp(
        str(root / "panel."), root / "print_snps.txt", root / "blocks.bed", str(root / "ld."),
        root / "out", sumstats=paths, sannot_chr=[str(root / "annot.")],
        background_sannot_chr=[str(root / "bg.")], seed=SEED, flips=FLIPS, jk_blocks=30,
        verbose_thresh=0, plots=False,
    )  # fmt: skip
    summary = json.loads((root / "out" / "summary.json").read_text())["phenotypes"]
    assert min(p["chunks"] for p in summary.values()) >= 29
    return pl.read_csv(root / "out" / "results.tsv", separator="\t")


def test_a_planted_effect_is_found_and_estimated(tmp_path):
    results = _wide_run(tmp_path, 5, MU)
    planted = results.filter(pl.col("annot") == "planted")
    assert (planted["p"] < 0.001).all() and (planted["z"] > 3).all()
    assert (planted["r_f"] > 0).all()
    assert ((planted["mu"] - MU).abs() < 3 * planted["se_mu"]).all()
    # the other annotation, not planted, is not found
    assert (results.filter(pl.col("annot") == "other")["p"] > 0.01).all()


def test_null_traits_give_uniform_p(tmp_path):
    # 60 traits without the effect: the sign-flip p and p_fast are uniform (Kolmogorov–
    # Smirnov), about 5% below 0.05, and μ̂/se is about N(0, 1)
    results = _wide_run(tmp_path, 60, 0.0)
    for annot in ("planted", "other"):
        rows = results.filter(pl.col("annot") == annot)
        assert len(rows) == 60
        for column in ("p", "p_fast"):
            assert st.kstest(rows[column].to_numpy(), "uniform").pvalue > 0.01, (annot, column)
        assert (rows["p"] < 0.05).sum() <= 9
        ratio = (rows["mu"] / rows["se_mu"]).to_numpy()
        assert abs(ratio.mean()) < 0.5 and 0.6 < ratio.std() < 1.5
