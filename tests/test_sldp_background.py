"""Built SLDP backgrounds (``--background-maf-bins``, ``--background-gtf``): exact signed
values on a hand-written panel and GTF, MAF-bin edges, the ±500-bp extension boundaries,
dropped empty annotations, bad GTFs, and the joint regression with the built backgrounds
against the dense reference estimator (tests/sldp_reference.py) through the command line."""

from __future__ import annotations

import gzip
import json
import logging

import numpy as np
import polars as pl
import pytest

from crossreg.cli import main
from crossreg.stats.sldp.background import (
    GTF_NAMES,
    assign_maf_bins,
    build_backgrounds,
    covered,
    gtf_regions,
    maf_bin_edges,
)
from tests.test_sldp_estimator import CHROM, JK_BLOCKS, dense_expected, run_world, write_world

# chromosome 1: (BP, frq A1 is bim "A1" or "A2", frq MAF); bim alleles A/G
TINY_1 = [
    (400, "A1", "0"), (501, "A1", "0.70"), (700, "A2", "0.20"), (950, "A1", "0.35"),
    (1001, "A2", "0.90"), (1500, "A1", "0.5"), (2000, "A1", "0.15"), (2001, "A1", "0.02"),
    (4503, "A2", "0.45"), (5500, "A1", "0.33"), (5501, "A1", "0.1"), (21650, "A2", "0.3"),
    (22000, "A1", "0.4"), (25500, "A1", "0.05"), (26000, "A1", "NA"),
]  # fmt: skip
TINY_2 = [(100, "A1", "0.25"), (200, "A1", "0.8"), (300, "A2", "0.58")]
# bim A1 minor → +1, major → −1; MAF 0 / NA → 0; exactly 0.5 → +1
SIGNS_1 = [0, -1, -1, 1, 1, 1, 1, 1, -1, 1, 1, -1, 1, 1, 0]
SIGNS_2 = [1, -1, 1]

T = 'gene_id "G{g}"; transcript_id "T{g}";'
TINY_GTF = [
    ("gene", 901, 5000, 1), ("transcript", 901, 5000, 1), ("exon", 1001, 1500, 1),
    ("exon", 3001, 5000, 1), ("five_prime_utr", 1001, 1200, 1), ("CDS", 1201, 1500, 1),
    ("CDS", 3001, 4500, 1), ("stop_codon", 4501, 4503, 1), ("three_prime_utr", 4504, 5000, 1),
    ("exon", 20001, 21000, 2), ("exon", 25001, 26000, 2),  # T2: no transcript row, non-coding
    ("transcript", 21501, 22500, 3), ("exon", 21501, 21700, 3), ("exon", 22301, 22500, 3),
    ("CDS", 21601, 21700, 3), ("CDS", 22301, 22400, 3), ("UTR", 21501, 21600, 3),
    ("UTR", 22401, 22500, 3),
]  # fmt: skip
# which annotations each chromosome-1 SNP lies in (GTF_NAMES order: coding, coding.ext,
# utr, utr.ext, intron, intron.ext). T1's transcript row starts 100 bp before its first
# exon, so 901-1000 is intronic. 500 bp beyond a feature is in its extension, 501 is not.
MEMBERS_1 = {
    400: "",  # 501 before T1's leading intron (901)
    501: "utr.ext intron.ext",  # 500 before the 5' UTR (1001)
    700: "utr.ext intron.ext",  # 501 before the CDS (1201)
    950: "coding.ext utr.ext intron intron.ext",
    1001: "coding.ext utr utr.ext intron.ext",
    1500: "coding coding.ext utr.ext intron.ext",  # last CDS base
    2000: "coding.ext intron intron.ext",  # 500 after the CDS
    2001: "intron intron.ext",  # 501 after it
    4503: "coding coding.ext utr.ext",  # stop codon counts as coding
    5500: "utr.ext",  # 500 after the 3' UTR
    5501: "",
    21650: "coding coding.ext utr.ext intron intron.ext",  # T3's CDS inside T2's intron
    22000: "coding.ext utr.ext intron intron.ext",
    25500: "intron.ext",  # 500 after T2's intron
    26000: "",
}


def write_tiny(root, gtf_rows=TINY_GTF, chrom_name="chr1", other_chrom=True):
    """``tiny.{1,2}.bim/.frq`` and ``genes.gtf`` (plus a CDS on chrX, which the panel lacks)."""
    for chrom, rows in (("1", TINY_1), ("2", TINY_2)):
        bim, frq = [], [" CHR SNP A1 A2 MAF NCHROBS"]
        for i, (bp, frq_a1, maf) in enumerate(rows):
            snp = f"rs{chrom}_{i}"
            bim.append(f"{chrom}\t{snp}\t0\t{bp}\tA\tG")
            a1, a2 = ("A", "G") if frq_a1 == "A1" else ("G", "A")
            frq.append(f" {chrom} {snp} {a1} {a2} {maf} 200")
        (root / f"tiny.{chrom}.bim").write_text("\n".join(bim) + "\n")
        (root / f"tiny.{chrom}.frq").write_text("\n".join(frq) + "\n")
    lines = [
        f"{chrom_name}\ttest\t{feature}\t{start}\t{end}\t.\t+\t.\t{T.format(g=g)}"
        for feature, start, end, g in gtf_rows
    ]
    if other_chrom:
        lines.append(f"chrX\ttest\tCDS\t1\t100000\t.\t+\t.\t{T.format(g=9)}")
    (root / "genes.gtf").write_text("#comment\n" + "\n".join(lines) + "\n")
    return str(root / "tiny."), root / "genes.gtf"


def test_gtf_backgrounds_exact_values(tmp_path):
    stem, gtf = write_tiny(tmp_path)
    built = build_backgrounds(stem, ["1", "2"], gtf=gtf)
    assert built is not None and [s.source for s in built.sources] == [str(gtf)]
    (table,) = built.tables("1")
    assert table.names == list(GTF_NAMES) == [
        "coding", "coding.extend.500", "utr", "utr.extend.500", "intron", "intron.extend.500",
    ]  # fmt: skip
    assert table.snp is None  # thin: one row per bim SNP
    short = {n: n.replace("extend.500", "ext") for n in GTF_NAMES}
    expected = np.array(
        [
            [sign * (short[n] in MEMBERS_1[bp].split()) for n in GTF_NAMES]
            for (bp, _, _), sign in zip(TINY_1, SIGNS_1, strict=True)
        ],
        dtype=float,
    )
    np.testing.assert_array_equal(table.values, expected)
    (table2,) = built.tables("2")  # no GTF feature on chromosome 2 (nor chrX in the panel)
    assert table2.values.shape == (3, 6) and not table2.values.any()
    counts = built.describe()["annotations"][str(gtf)]
    assert counts == {n: int((expected[:, j] != 0).sum()) for j, n in enumerate(GTF_NAMES)}


def test_panel_chromosomes_the_gtf_lacks_are_warned_of_with_their_snps(tmp_path, logs):
    """The tiny GTF has rows on chr1 (and chrX) alone: chromosome 2's 3 SNPs count as
    outside every gene, and the log says so (before: silently)."""
    stem, gtf = write_tiny(tmp_path)
    build_backgrounds(stem, ["1", "2"], gtf=gtf)
    assert (
        f"{gtf}: no coding, UTR or exon row lies on panel chromosome(s) 2 (3 SNPs): their "
        "SNPs count as outside every gene; give a GTF of the panel's whole genome, or leave "
        "those chromosomes out (--chroms)"
    ) in logs.text
    logs.clear()
    build_backgrounds(stem, ["1"], gtf=gtf)
    assert "outside every gene" not in logs.text


def test_chromosome_names_with_or_without_chr(tmp_path):
    stem, gtf = write_tiny(tmp_path, chrom_name="1")
    bare = build_backgrounds(stem, ["1"], gtf=gtf).tables("1")[0].values
    stem, gtf = write_tiny(tmp_path, chrom_name="chr1")
    prefixed = build_backgrounds(stem, ["1"], gtf=gtf).tables("1")[0].values
    np.testing.assert_array_equal(bare, prefixed)
    assert bare.any()


def test_maf_bins_exact_values_and_edges(tmp_path):
    stem, _ = write_tiny(tmp_path)
    built = build_backgrounds(stem, ["1", "2"], maf_bins=5)
    # pooled common (MAF ≥ 0.05) MAFs of both chromosomes, sorted:
    # .05 .1 .1 .15 .2 .2 .25 .3 .3 .33 .35 .4 .42 .45 .5 (0.02, 0 and NA left out)
    np.testing.assert_allclose(built.maf_edges, [0, 0.14, 0.23, 0.312, 0.404, 0.5])
    (table,) = built.tables("1")
    assert table.names == [f"maf_bin{k}" for k in range(1, 6)]
    # bin (1-based) of each chromosome-1 SNP; 0: in none (MAF 0 or NA); the rare 0.02 is in bin 1
    bins_1 = [0, 3, 2, 4, 1, 5, 2, 1, 5, 4, 1, 3, 4, 1, 0]
    expected = np.zeros((15, 5))
    for i, (b, s) in enumerate(zip(bins_1, SIGNS_1, strict=True)):
        if b:
            expected[i, b - 1] = s
    np.testing.assert_array_equal(table.values, expected)
    (table2,) = built.tables("2")
    np.testing.assert_array_equal(
        table2.values, [[0, 0, 1, 0, 0], [0, -1, 0, 0, 0], [0, 0, 0, 0, 1]]
    )
    # together with a GTF: bins first, then the GTF annotations, as two sources
    both = build_backgrounds(stem, ["1", "2"], maf_bins=5, gtf=tmp_path / "genes.gtf")
    assert [t.names for t in both.tables("1")] == [table.names, list(GTF_NAMES)]


def test_maf_bin_edges_and_ties():
    maf = np.array([0.1] * 10 + [0.3] * 10 + [0.01, 0.0, np.nan])
    edges = maf_bin_edges(maf, 4)
    np.testing.assert_allclose(edges, [0, 0.1, 0.2, 0.3, 0.5])
    # lower edge closed, upper open; the last bin closed at 0.5; MAF 0 / NA in none
    np.testing.assert_array_equal(
        assign_maf_bins(maf, edges)[[0, 10, 20, 21, 22]], [1, 3, 0, -1, -1]
    )
    np.testing.assert_array_equal(assign_maf_bins(np.array([0.5, 0.2, 0.1999]), edges), [3, 2, 1])
    with pytest.raises(ValueError, match=r"no panel SNP with MAF ≥ 0\.05"):
        maf_bin_edges(np.array([0.01, 0.02]), 3)


def test_interval_cover_is_half_open():
    starts, ends = np.array([10, 12, 30]), np.array([20, 15, 31])  # overlapping, 0-based
    pos = np.array([9, 10, 14, 19, 20, 29, 30, 31])
    np.testing.assert_array_equal(covered(starts, ends, pos), [0, 1, 1, 1, 0, 0, 1, 0])


def test_empty_annotations_are_dropped_and_logged(tmp_path, caplog):
    # one single-exon coding transcript: no UTR rows, no intron
    rows = [("exon", 901, 1600, 1), ("CDS", 901, 1600, 1)]
    stem, gtf = write_tiny(tmp_path, gtf_rows=rows)
    with caplog.at_level(logging.WARNING, logger="crossreg"):
        built = build_backgrounds(stem, ["1", "2"], gtf=gtf)
    (table,) = built.tables("1")
    assert table.names == ["coding", "coding.extend.500"]
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 4 and any("utr.extend.500" in m for m in dropped)
    # 950, 1001, 1500 in the CDS (901-1600); 501, 700, 2000, 2001 only in its extension
    np.testing.assert_array_equal(table.values[:9, 0], [0, 0, 0, 1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(table.values[:9, 1], [0, -1, -1, 1, 1, 1, 1, 1, 0])


def test_bad_gtfs_stop_with_a_clear_error(tmp_path):
    rows = [("gene", 901, 5000, 1), ("transcript", 901, 5000, 1)]
    stem, gtf = write_tiny(tmp_path, gtf_rows=rows, other_chrom=False)
    with pytest.raises(ValueError, match=r"genes\.gtf: no CDS.*exon"):
        build_backgrounds(stem, ["1"], gtf=gtf)
    with pytest.raises(ValueError, match="no CDS"):
        gtf_regions(gtf)
    stem, gtf = write_tiny(tmp_path, gtf_rows=TINY_GTF, chrom_name="chr5")
    with pytest.raises(ValueError) as err:
        build_backgrounds(stem, ["1", "2"], gtf=gtf)
    assert str(err.value) == (
        f"{gtf}: none of its chromosomes with a coding, UTR or exon row (5, X) is one of the "
        f"chromosomes of the panel {stem} (1, 2), with or without 'chr': rename the GTF's "
        "chromosomes (its first column) to the panel's, or give the GTF of the panel's genome"
    )
    # chromosomes shared, but no SNP in any feature: named as such
    far = [("CDS", 900_000, 900_100, 1)]
    stem, gtf = write_tiny(tmp_path, gtf_rows=far, other_chrom=False)
    with pytest.raises(ValueError, match=r"no SNP of the panel .*\(GTF chromosomes: 1\)"):
        build_backgrounds(stem, ["1", "2"], gtf=gtf)
    with pytest.raises(ValueError, match="≥ 1"):
        build_backgrounds(stem, ["1"], maf_bins=-2)
    assert build_backgrounds(stem, ["1"]) is None


def test_built_backgrounds_are_not_scaled_by_either_alpha(tmp_path):
    # MAF bins built in the run give the results of the same ±1 values given as a file
    # that no alpha scales; --background-alpha, which could not scale them, is refused
    # without a background file rather than ignored
    world = write_world(tmp_path)
    stem = str(tmp_path / "panel.")
    (table,) = build_backgrounds(stem, [CHROM], maf_bins=3).tables(CHROM)
    assert set(np.unique(table.values)) <= {-1.0, 0.0, 1.0}
    with gzip.open(tmp_path / f"bins.{CHROM}.sannot.gz", "wt") as handle:  # thin: bim order
        handle.write("\t".join(table.names) + "\n")
        handle.write("".join("\t".join(f"{x:g}" for x in row) + "\n" for row in table.values))
    assert len(table.values) == len(world["snp"])
    built = run_world(tmp_path, tmp_path / "built", alpha=0.0, background_maf_bins=3, plots=False)
    given = run_world(
        tmp_path, tmp_path / "given", alpha=0.0, background_sannot_chr=[str(tmp_path / "bins.")],
        plots=False,
    )  # fmt: skip
    assert built["p"].to_list() == given["p"].to_list()
    for column in ("mu", "se_mu", "z_fast", "r_f", "h2v"):
        np.testing.assert_allclose(built[column], given[column], rtol=1e-12)
    with pytest.raises(ValueError, match=r"--background-alpha 0 scales --background-sannot-chr"):
        run_world(tmp_path, tmp_path / "b0", background_alpha=0.0, background_maf_bins=3)
    assert not (tmp_path / "b0").exists()


# --- the joint regression on the estimator tests' world, through the command line --------


def world_gtf(path, bp):
    """8 two-exon transcripts 27 SNPs apart (odd ones without a transcript row); returns
    the 1-based inclusive intervals of each annotation as the test derives them."""
    lines, truth = [], {n: [] for n in GTF_NAMES}
    for t in range(8):
        j = 27 * t + 2
        exon_a, exon_b = (bp[j] + 200, bp[j + 3] + 600), (bp[j + 8] - 300, bp[j + 12] + 600)
        rows = [
            ("exon", *exon_a), ("five_prime_utr", bp[j] + 200, bp[j + 1] + 600),
            ("CDS", bp[j + 1] + 601, bp[j + 3] + 600), ("exon", *exon_b),
            ("CDS", bp[j + 8] - 300, bp[j + 10] + 300),
            ("stop_codon", bp[j + 10] + 301, bp[j + 10] + 303),
            ("three_prime_utr", bp[j + 10] + 304, bp[j + 12] + 600),
        ]  # fmt: skip
        if t % 2 == 0:
            rows.insert(0, ("transcript", exon_a[0], exon_b[1]))
        for feature, start, end in rows:
            lines.append(f"chr{CHROM}\tt\t{feature}\t{start}\t{end}\t.\t-\t.\t{T.format(g=t)}")
            kind = {"CDS": "coding", "stop_codon": "coding"}.get(feature)
            kind = "utr" if feature.endswith("utr") else kind
            if kind:
                truth[kind].append((start, end))
        truth["intron"].append((exon_a[1] + 1, exon_b[0] - 1))
    for kind in ("coding", "utr", "intron"):
        truth[f"{kind}.extend.500"] = [(s - 500, e + 500) for s, e in truth[kind]]
    path.write_text("\n".join(lines) + "\n")
    return truth


def test_joint_regression_with_built_backgrounds_matches_the_dense_reference(tmp_path):
    world = write_world(tmp_path)
    bp, pair, snp = world["bp"], world["pair"], world["snp"]
    # rewrite the .frq so bim A1 is the major allele of some SNPs and the .frq's A1 is
    # bim A2 for some: (frq A1 is bim A1?, MAF column = f or 1 − f) by SNP index mod 4
    frq = tmp_path / f"panel.{CHROM}.frq"
    maf = np.array([float(line.split()[4]) for line in frq.read_text().splitlines()[1:]])
    lines, f_a1 = [" CHR SNP A1 A2 MAF NCHROBS"], []
    for i, m in enumerate(maf):
        same, value = [(True, m), (True, 1 - m), (False, 1 - m), (False, m)][i % 4]
        a1, a2 = pair[i] if same else pair[i][::-1]
        lines.append(f"{CHROM} {snp[i]} {a1} {a2} {float(value)!r} 120")
        f_a1.append(value if same else 1 - value)
    frq.write_text("\n".join(lines) + "\n")
    f_a1 = np.array(f_a1)
    sign = np.where((f_a1 > 0) & (f_a1 < 1), np.where(f_a1 <= 0.5, 1.0, -1.0), 0.0)
    assert (sign == -1).sum() > 50 and sign[3] == 0  # SNP 3 is monomorphic
    folded_maf = np.minimum(f_a1, 1 - f_a1)
    truth = world_gtf(tmp_path / "genes.gtf", bp)

    root = str(tmp_path)
    code = main([
        "sldp", "--bfile-chr", f"{root}/panel.", "--print-snps", f"{root}/print_snps.txt",
        "--ld-blocks", f"{root}/blocks.bed", "--ldscores-chr", f"{root}/ld.",
        "--sannot-chr", f"{root}/annot.", "--sumstats", f"{root}/trait.sumstats.gz",
        "--background-sannot-chr", f"{root}/bg.", "--background-maf-bins", "3",
        "--background-gtf", f"{root}/genes.gtf", "--seed", "3", "--flips", "300000",
        "--jk-blocks", str(JK_BLOCKS), "--verbose-thresh", "1", "--out", f"{root}/out",
    ])  # fmt: skip
    assert code == 0
    ours = pl.read_csv(tmp_path / "out" / "results.tsv", separator="\t")

    common = folded_maf[folded_maf >= 0.05]
    edges = np.quantile(common, [1 / 3, 2 / 3])
    maf_cols = np.zeros((len(bp), 3))
    for i, m in enumerate(folded_maf):
        if m > 0:
            maf_cols[i, 0 if m < edges[0] else 1 if m < edges[1] else 2] = sign[i]
    gtf_cols = np.array(
        [
            [sign[i] * any(s <= bp[i] <= e for s, e in truth[n]) for n in GTF_NAMES]
            for i in range(len(bp))
        ]
    )
    assert (gtf_cols != 0).sum(axis=0).min() >= 8
    v = np.hstack([world["bg"], maf_cols, gtf_cols, world["v"]])
    n_background = 1 + 3 + len(GTF_NAMES)

    expected, _ = dense_expected(world, v, n_background)
    assert ours["annot"].to_list() == ["pred1", "NA", "null"]
    assert ours["p"].to_list() == expected["p"].tolist()
    for column, key in (("mu", "mu"), ("se_mu", "se"), ("z_fast", "z_fast")):
        np.testing.assert_allclose(ours[column], expected[key], rtol=1e-8)
    # the background changes the estimates (the joint regression, not the marginal one)
    alone, _ = dense_expected(world, world["v"], 0)
    assert not np.allclose(alone["mu"], ours["mu"], rtol=1e-3)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    settings = summary["settings"]
    assert settings["background_names"] == [
        "bgmaf", "maf_bin1", "maf_bin2", "maf_bin3", *GTF_NAMES,
    ]  # fmt: skip
    assert settings["background_maf_bins"] == 3
    np.testing.assert_allclose(settings["background_built"]["maf_edges"][1:3], edges)
