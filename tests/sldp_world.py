"""A small, deterministic SLDP world written in the reference package's file formats.

`make_world(out_dir, seed)` writes, for chromosomes 1 and 22 (the reference hard-codes both):

* a PLINK 1 reference panel ``panel.{c}.bed/.bim/.fam`` (tab-separated bim sorted by BP,
  SNP-major bed) and ``panel.{c}.frq`` (``plink --freq`` layout, A1 = in-sample minor allele);
* LD blocks ``blocks.bed`` (``chrN start end``; SNPs between blocks; one block without print
  SNPs, one with a single print SNP, one with no SNP at all);
* print SNPs ``print_snps.txt`` (a few ids not in the panel) and ``reg.{c}.bim``;
* LD scores ``ld.{c}.l2.ldscore.gz`` / ``ld.{c}.l2.M_5_50`` for every c in 1..22 (only 1 and 22
  have rows; the others have a header and M_5_50 = 0);
* signed annotations ``annot.{c}.sannot.gz`` (pred1, pred2, sparse) and a signed background
  ``bg.{c}.sannot.gz`` (bgmaf10, bgmaf30: MAF-bin indicators signed by the minor allele);
* summary statistics ``pheno_a.sumstats.gz`` (mu planted on pred1) and ``pheno_b.sumstats.gz``
  (mu = 0), simulated as ahat = R beta + e with R the in-sample block LD;
* ``world.json``: the parameters, the planted truths and counts of the messy rows.

Annotations and sumstats carry messy rows: missing SNPs, swapped and strand-complemented
alleles, strand-ambiguous pairs, mismatched alleles, a duplicated id, ids not in the panel,
shuffled row order, and missing Z / N values in the sumstats.

Genotypes: per chromosome, two haplotypes per person from a latent Gaussian AR(1) across SNPs
(correlation ~0.8-0.99 inside blocks, reset at block boundaries), thresholded per SNP at a
drawn allele frequency, with a random orientation per SNP so LD has both signs. About 0.2% of
calls are missing. Run as ``python -m tests.sldp_world OUT_DIR [SEED]``.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np
from scipy.special import ndtri

from crossreg.io.plink import pack_bed

CHROMS = (1, 22)
COMPLEMENT = {"A": "T", "T": "A", "C": "G", "G": "C"}
UNAMBIGUOUS = ["AC", "AG", "CA", "CT", "GA", "GT", "TC", "TG"]
AMBIGUOUS = ["AT", "TA", "CG", "GC"]
# PLINK 1 bed 2-bit codes by count of bim A1: 2 -> 00, 1 -> 10, 0 -> 11, missing -> 01

MU_A = 0.003  # planted mu (per normalised genotype) of pred1 for pheno_a; pheno_b has mu = 0


def _write_gz(path: Path, text: str) -> None:
    """gzip with a fixed header (no name, mtime 0) so the bytes depend on the seed only."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
        f.write(text.encode())


def _fmt(x: float, nd: int = 4) -> str:
    return "NA" if not np.isfinite(x) else f"{x:.{nd}f}"


def _comp(a: str) -> str:
    return "".join(COMPLEMENT[b] for b in a)


def standardise(g_a1: np.ndarray) -> np.ndarray:
    """Missing calls at the mean, then mean 0 and population SD 1 over all individuals."""
    x = g_a1.astype(float)
    x[g_a1 < 0] = np.nan
    mean = np.nanmean(x, axis=0)
    x = np.where(np.isnan(x), mean, x) - mean
    sd = np.sqrt((x**2).mean(axis=0))
    return x / sd


def _layout(rng: np.random.Generator, n_blocks: int, chrom: int) -> dict:
    """Segment sizes (gap, block, gap, block, ..., gap) in SNPs and block flags."""
    sizes = rng.integers(50, 170, n_blocks)
    sizes[-1] = 22 if chrom == CHROMS[0] else sizes[-1]  # a small last block on the first chrom
    gaps = np.zeros(n_blocks + 1, dtype=int)
    gaps[0], gaps[-1] = rng.integers(10, 25), rng.integers(10, 25)
    inner = rng.choice(np.arange(1, n_blocks), size=max(1, n_blocks // 4), replace=False)
    gaps[inner] = rng.integers(3, 12, inner.size)
    return {"sizes": sizes, "gaps": gaps}


def _chromosome(rng: np.random.Generator, chrom: int, n_ind: int, n_blocks: int) -> dict:
    lay = _layout(rng, n_blocks, chrom)
    sizes, gaps = lay["sizes"], lay["gaps"]
    m = int(sizes.sum() + gaps.sum())
    # segment id per SNP: block b -> b, gap -> -1; unit id (blocks and gaps) for LD and the sim
    block_of = np.full(m, -1)
    unit_of = np.zeros(m, dtype=int)
    pos, unit = 0, 0
    block_ranges = []
    for b in range(n_blocks):
        if gaps[b]:
            unit_of[pos : pos + gaps[b]] = unit
            unit, pos = unit + 1, pos + gaps[b]
        block_of[pos : pos + sizes[b]] = b
        unit_of[pos : pos + sizes[b]] = unit
        block_ranges.append((pos, pos + sizes[b]))
        unit, pos = unit + 1, pos + sizes[b]
    unit_of[pos:] = unit

    bp = 500_000 + np.cumsum(rng.integers(1_000, 9_000, m))

    # latent AR(1) haplotypes, correlation reset at every unit boundary
    rho = rng.uniform(0.80, 0.99, m)
    rho[0] = 0.0
    rho[1:][unit_of[1:] != unit_of[:-1]] = 0.0
    n_hap = 2 * n_ind
    lat = np.empty((n_hap, m))
    noise = rng.standard_normal((n_hap, m))
    lat[:, 0] = noise[:, 0]
    for j in range(1, m):
        lat[:, j] = rho[j] * lat[:, j - 1] + np.sqrt(1 - rho[j] ** 2) * noise[:, j]
    rare = rng.random(m) < 0.15
    freq = np.where(rare, rng.uniform(0.006, 0.05, m), rng.uniform(0.05, 0.5, m))
    flip = rng.random(m) < 0.5
    hap = (lat > ndtri(1 - freq)) ^ flip
    dosage = hap[:n_ind].astype(int) + hap[n_ind:].astype(int)  # count of allele "1"
    # at least two copies of each allele in the sample
    for j in range(m):
        for target in (0, 2):
            if np.sum(np.abs(dosage[:, j] - target)) < 2:
                dosage[rng.choice(n_ind, 2, replace=False), j] = 1
    ones = dosage.sum(axis=0)
    one_is_minor = ones < (2 * n_ind - ones)
    g_a1 = np.where(one_is_minor, dosage, 2 - dosage)  # A1 = in-sample minor allele
    missing = rng.random(g_a1.shape) < 0.002
    g_a1[missing] = -1

    pairs = np.array(UNAMBIGUOUS)[rng.integers(0, len(UNAMBIGUOUS), m)]
    ambiguous = rng.random(m) < 0.03
    pairs[ambiguous] = np.array(AMBIGUOUS)[rng.integers(0, len(AMBIGUOUS), ambiguous.sum())]
    a1 = np.array([p[0] for p in pairs])
    a2 = np.array([p[1] for p in pairs])

    ids = rng.choice(np.arange(100_000, 999_999), m, replace=False)
    snp = np.array([f"rs{chrom}{i}" for i in ids])

    obs = g_a1 >= 0
    nchrobs = 2 * obs.sum(axis=0)
    maf = np.where(obs, g_a1, 0).sum(axis=0) / nchrobs
    maf_frq = np.array([float(f"{x:.4g}") for x in maf])  # as plink --freq prints it

    # print SNPs: ~60%; block 3 has none, block 5 exactly one
    printed = rng.random(m) < 0.6
    s3, e3 = block_ranges[3]
    printed[s3:e3] = False
    s5, e5 = block_ranges[5]
    printed[s5:e5] = False
    printed[s5 + (e5 - s5) // 2] = True

    return {
        "chrom": chrom,
        "m": m,
        "bp": bp,
        "snp": snp,
        "a1": a1,
        "a2": a2,
        "g_a1": g_a1,
        "maf": maf,
        "maf_frq": maf_frq,
        "nchrobs": nchrobs,
        "block_of": block_of,
        "unit_of": unit_of,
        "block_ranges": block_ranges,
        "printed": printed,
        "ambiguous": ambiguous,
    }


def _blocks_bed(ch: dict, empty_block_after: int | None) -> list[tuple[str, int, int]]:
    """start <= BP < end; adjacent blocks share the midpoint; gaps leave SNPs outside.

    With `empty_block_after` = b, a block holding no SNP is put between block b and b + 1."""
    bp, ranges = ch["bp"], ch["block_ranges"]
    chrom = f"chr{ch['chrom']}"
    starts = [int(bp[s]) for s, _ in ranges]
    ends = [int(bp[e - 1]) + 1 for _, e in ranges]
    for b in range(len(ranges) - 1):
        if ranges[b][1] == ranges[b + 1][0]:  # adjacent: share the midpoint
            mid = (int(bp[ranges[b][1] - 1]) + int(bp[ranges[b][1]])) // 2
            ends[b] = starts[b + 1] = mid
    rows = []
    for b in range(len(ranges)):
        if b == empty_block_after:
            ends[b] = int(bp[ranges[b][1] - 1]) + 1
            rows.append((chrom, starts[b], ends[b]))
            rows.append((chrom, ends[b], int(bp[ranges[b][1]])))
            starts[b + 1] = int(bp[ranges[b][1]])
        else:
            rows.append((chrom, starts[b], ends[b]))
    return rows


def _allele_rows(rng, ch, values, *, frac_missing, extra_ids, dup_one, negate_cols=True):
    """Rows (SNP, A1, A2, values...) with messy allele codings; values are in bim-A1 space.

    Returns the rows and the per-SNP multiplier the reference should recover (+1, -1 when the
    row is swapped, 0 when the row is missing or unusable)."""
    m = ch["m"]
    kind = rng.choice(
        ["same", "swap", "comp", "swapcomp", "mismatch", "missing"],
        size=m,
        p=[0.80 - frac_missing, 0.08, 0.07, 0.04, 0.01, frac_missing],
    )
    rows, usable = [], np.zeros(m)
    for j in range(m):
        a1, a2 = ch["a1"][j], ch["a2"][j]
        k = kind[j]
        if k == "missing":
            continue
        v = values[j]
        if k == "same":
            r = (a1, a2, v)
        elif k == "swap":
            r = (a2, a1, -v if negate_cols else v)
        elif k == "comp":
            r = (COMPLEMENT[a1], COMPLEMENT[a2], v)
        elif k == "swapcomp":
            r = (COMPLEMENT[a2], COMPLEMENT[a1], -v if negate_cols else v)
        else:  # (A1, complement of A2): a valid pair that never matches the bim pair
            r = (a1, COMPLEMENT[a2], v)
        rows.append((ch["snp"][j], *r))
        if k != "mismatch" and not ch["ambiguous"][j]:
            usable[j] = 1.0
    kind = np.asarray(kind)
    if dup_one:
        # a duplicated id: the matching row stays, the one with a third allele is dropped
        inside = ch["printed"] & (ch["block_of"] >= 0)
        j = int(rng.choice(np.flatnonzero((kind == "same") & ~ch["ambiguous"] & inside)))
        rows.append((ch["snp"][j], ch["a1"][j], COMPLEMENT[ch["a2"][j]], values[j]))
    for sid in extra_ids:
        pair = UNAMBIGUOUS[int(rng.integers(0, len(UNAMBIGUOUS)))]
        rows.append((sid, pair[0], pair[1], rng.standard_normal(np.shape(values[0]) or None)))
    order = rng.permutation(len(rows))
    return [rows[i] for i in order], usable, kind


def _row_text(sid, a1, a2, vals, nd=4) -> str:
    vals = np.atleast_1d(np.asarray(vals, dtype=float))
    return "\t".join([sid, a1, a2, *(_fmt(x + 0.0, nd) for x in vals)])


def make_world(
    out_dir: str | Path,
    seed: int = 0,
    n_ind: int = 300,
    n_blocks: int = 15,
    n_gwas: int = 5000,
    mu_a: float = MU_A,
) -> dict:
    """Write the world into `out_dir` and return its summary (also written as world.json)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    chroms = {c: _chromosome(rng, c, n_ind, n_blocks) for c in CHROMS}

    # --- panel, frq, blocks, print SNPs, reg bim
    block_rows: list[tuple[str, int, int]] = []
    print_ids: list[str] = []
    for c, ch in chroms.items():
        stem = out / f"panel.{c}"
        Path(f"{stem}.bed").write_bytes(pack_bed(ch["g_a1"]))
        bim = [
            f"{c}\t{ch['snp'][j]}\t{ch['bp'][j] * 1e-6:.6f}\t{ch['bp'][j]}\t{ch['a1'][j]}\t"
            f"{ch['a2'][j]}"
            for j in range(ch["m"])
        ]
        Path(f"{stem}.bim").write_text("\n".join(bim) + "\n")
        Path(f"{stem}.fam").write_text(
            "".join(f"fam{i} ind{i} 0 0 {1 + i % 2} -9\n" for i in range(n_ind))
        )
        frq = [f"{'CHR':>4} {'SNP':>12} {'A1':>4} {'A2':>4} {'MAF':>12} {'NCHROBS':>8}"]
        frq += [
            f"{c:>4} {ch['snp'][j]:>12} {ch['a1'][j]:>4} {ch['a2'][j]:>4} "
            f"{ch['maf_frq'][j]:>12} {ch['nchrobs'][j]:>8}"
            for j in range(ch["m"])
        ]
        Path(f"{stem}.frq").write_text("\n".join(frq) + "\n")
        block_rows += _blocks_bed(ch, empty_block_after=8 if c == CHROMS[-1] else None)
        Path(out / f"reg.{c}.bim").write_text(
            "".join(line + "\n" for line, p in zip(bim, ch["printed"], strict=True) if p)
        )
        print_ids += list(ch["snp"][ch["printed"]])
    absent_print = [f"rs9{i:06d}" for i in rng.choice(999_999, 6, replace=False)]
    print_ids += absent_print
    Path(out / "print_snps.txt").write_text("\n".join(print_ids) + "\n")
    Path(out / "blocks.bed").write_text("".join(f"{a}\t{b}\t{e}\n" for a, b, e in block_rows))

    # --- standardised genotypes, in-sample LD per unit (blocks and gaps), LD scores
    for ch in chroms.values():
        x = standardise(ch["g_a1"])
        ch["x"] = x
        win = np.abs(ch["bp"][:, None] - ch["bp"][None, :]) <= 1_000_000
        r = x.T @ x / n_ind
        ch["l2"] = ((r**2) * win).sum(axis=1)
    for c in range(1, 23):
        lines = ["CHR\tSNP\tBP\tL2"]
        m550 = 0
        if c in chroms:
            ch = chroms[c]
            keep = rng.random(ch["m"]) >= 0.02  # a few SNPs without an LD score
            lines += [
                f"{c}\t{ch['snp'][j]}\t{ch['bp'][j]}\t{ch['l2'][j]:.3f}"
                for j in range(ch["m"])
                if keep[j]
            ]
            m550 = int((ch["maf_frq"] >= 0.05).sum())
        _write_gz(out / f"ld.{c}.l2.ldscore.gz", "\n".join(lines) + "\n")
        Path(out / f"ld.{c}.l2.M_5_50").write_text(f"{m550}\n")

    # --- annotations (values in bim-A1 space) and background
    counts: dict[str, dict] = {}
    for c, ch in chroms.items():
        m = ch["m"]
        pred1 = rng.laplace(0, 1, m)
        pred2 = 0.5 * pred1 + rng.laplace(0, 1, m)
        sparse = np.where(rng.random(m) < 0.05, rng.normal(0, 2, m), 0.0)
        vals = np.round(np.stack([pred1, pred2, sparse], axis=1), 4)
        s7, e7 = ch["block_ranges"][7]
        no_annot = np.zeros(m, dtype=bool)
        if c == CHROMS[0]:
            no_annot[s7:e7] = True  # a block the annotation file does not cover
        extra = [f"rs8{i:06d}" for i in rng.choice(999_999, 15, replace=False)]
        rows, usable, kind = _allele_rows(
            rng, ch, vals, frac_missing=0.03, extra_ids=extra, dup_one=True
        )
        rows = [r for r in rows if r[0] not in set(ch["snp"][no_annot])]
        usable[no_annot] = 0.0
        index = {s: j for j, s in enumerate(ch["snp"])}
        text = ["CHR\tBP\tSNP\tA1\tA2\tpred1\tpred2\tsparse"]
        for sid, a1, a2, v in rows:
            j = index.get(sid)
            bp = ch["bp"][j] if j is not None else 0
            text.append(f"{c}\t{bp}\t" + _row_text(sid, a1, a2, v))
        _write_gz(out / f"annot.{c}.sannot.gz", "\n".join(text) + "\n")
        ch["v"] = vals * usable[:, None]  # what the reference should recover
        # background: MAF bins signed by the minor allele (= bim A1 here)
        bins = np.stack([ch["maf"] < 0.10, (ch["maf"] >= 0.10) & (ch["maf"] < 0.30)], axis=1)
        rows_bg, usable_bg, _ = _allele_rows(
            rng, ch, bins.astype(float), frac_missing=0.01, extra_ids=extra[:3], dup_one=False
        )
        text = ["SNP\tA1\tA2\tbgmaf10\tbgmaf30"]
        text += [_row_text(sid, a1, a2, v, nd=0) for sid, a1, a2, v in rows_bg]
        _write_gz(out / f"bg.{c}.sannot.gz", "\n".join(text) + "\n")
        ch["bg"] = bins * usable_bg[:, None]
        counts[f"annot.{c}"] = {k: int((kind == k).sum()) for k in np.unique(kind)}
        counts[f"annot.{c}"]["ambiguous_in_panel"] = int(ch["ambiguous"].sum())
        counts[f"annot.{c}"]["extra"] = len(extra)

    # --- summary statistics: ahat = R beta + e, R the in-sample LD inside each unit
    h2_eps = 0.2
    m_tot = sum(ch["m"] for ch in chroms.values())
    gamma = np.array([0.006, 0.003])
    phenos = {"pheno_a": mu_a, "pheno_b": 0.0}
    truth = {}
    for name, mu in phenos.items():
        rows = []
        for c, ch in chroms.items():
            m, x = ch["m"], ch["x"]
            beta = mu * ch["v"][:, 0] + ch["bg"] @ gamma + rng.normal(0, np.sqrt(h2_eps / m_tot), m)
            ahat = np.zeros(m)
            for u in np.unique(ch["unit_of"]):
                idx = np.flatnonzero(ch["unit_of"] == u)
                xu = x[:, idx]
                w = rng.normal(0, np.sqrt(n_ind / n_gwas), n_ind)
                ahat[idx] = xu.T @ (xu @ beta[idx]) / n_ind + xu.T @ w / n_ind
            n = n_gwas - rng.integers(0, 500, m)
            z = ahat * np.sqrt(n)
            srows, _, kind = _allele_rows(
                rng, ch, np.stack([z, n], axis=1), frac_missing=0.03, extra_ids=[], dup_one=True
            )
            # N is not signed: undo the negation _allele_rows applied to swapped rows
            for sid, a1, a2, v in srows:
                rows.append((sid, a1, a2, float(v[0]), abs(float(v[1]))))
            counts[f"{name}.{c}"] = {k: int((kind == k).sum()) for k in np.unique(kind)}
        for sid in absent_print[:4]:  # print SNPs with sumstats but not in the panel
            rows.append((sid, "A", "G", float(rng.normal(0, 1.5)), float(n_gwas)))
        rows = [rows[i] for i in rng.permutation(len(rows))]
        na_z = rng.choice(len(rows), 3, replace=False)
        text = ["SNP\tA1\tA2\tZ\tN"]
        for i, (sid, a1, a2, z, n) in enumerate(rows):
            zs = "NA" if i in na_z else f"{z:.4f}"
            ns = "NA" if i == (na_z[0] + 1) % len(rows) else f"{n:.0f}"
            text.append(f"{sid}\t{a1}\t{a2}\t{zs}\t{ns}")
        _write_gz(out / f"{name}.sumstats.gz", "\n".join(text) + "\n")
        truth[name] = {"mu_pred1": mu}

    summary = {
        "generator": "tests/sldp_world.py make_world",
        "seed": seed,
        "n_ind": n_ind,
        "n_blocks_per_chrom": n_blocks,
        "n_gwas": n_gwas,
        "chroms": list(CHROMS),
        "n_snps": {str(c): ch["m"] for c, ch in chroms.items()},
        "n_print": {str(c): int(ch["printed"].sum()) for c, ch in chroms.items()},
        "n_ld_blocks": len(block_rows),
        "h2_eps": h2_eps,
        "gamma_background": gamma.tolist(),
        "truth": truth,
        "messy_rows": counts,
    }
    Path(out / "world.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary


def main(argv: list[str]) -> None:
    out = argv[1] if len(argv) > 1 else "sldp_world"
    seed = int(argv[2]) if len(argv) > 2 else 0
    json.dump(make_world(out, seed), sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main(sys.argv)
