"""``crossreg sad --gtf``: gene-level scores, alt − ref summed over each gene's TSS bins."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from crossreg.cli import build_parser, main
from crossreg.dna import one_hot
from crossreg.genome import Genome
from crossreg.io.vcf import read_vcf
from crossreg.model.checkpoint import load_checkpoint
from crossreg.model.inference import predict_batch
from crossreg.variants.genes import GENE_COLUMNS, GeneIndex, genes_path
from crossreg.variants.sad import write_sad
from crossreg.variants.scoring import allele_windows, scored_alleles

FIXTURES = Path(__file__).parent / "data" / "basenji_fixtures"
SNP, DEL, LONE = 30_000, 61_000, 90_000  # 0-based variant positions on chr2


def _gtf_line(gene: str, feature: str, start0: int, end0: int, strand: str, tx: str = "") -> str:
    attrs = f'gene_id "{gene}";' + (f' transcript_id "{tx}";' if tx else "")
    return "\t".join(["chr2", "t", feature, str(start0 + 1), str(end0), ".", strand, ".", attrs])


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """The fixture genome and mini model, a VCF (a SNP, a deletion, a SNP with no gene near)
    and a GTF around them."""
    root = tmp_path_factory.mktemp("sad_genes")
    shutil.copy(FIXTURES / "genome_chr2.fa", root / "genome.fa")
    genome = Genome(root / "genome.fa")

    def base(pos: int, n: int = 1) -> str:
        return genome.fetch("chr2", pos, pos + n).decode().upper()

    snp_alt = next(b for b in "ACGT" if b != base(SNP))
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [
        f"chr2\t{SNP + 1}\tsnp1\t{base(SNP)}\t{snp_alt}\t.\t.\t.",
        f"chr2\t{DEL + 1}\tdel1\t{base(DEL, 4)}\t{base(DEL)}\t.\t.\t.",
        f"chr2\t{LONE + 1}\tlone\t{base(LONE)}\t{next(b for b in 'ACGT' if b != base(LONE))}"
        "\t.\t.\t.",
    ]
    (root / "v.vcf").write_text("\n".join(lines) + "\n")
    gtf = [
        # two transcripts, TSSs in different bins of the SNP's window
        _gtf_line("GTWO", "gene", SNP - 1000, SNP + 3000, "+"),
        _gtf_line("GTWO", "transcript", SNP - 1000, SNP + 3000, "+", "T1"),
        _gtf_line("GTWO", "transcript", SNP + 100, SNP + 3000, "+", "T2"),
        # minus strand: the TSS is the transcript's end; its start is outside the window
        _gtf_line("GMINUS", "transcript", SNP - 9000, SNP + 500, "-", "T3"),
        # two TSSs in the same bin: counted twice, the bin summed once
        _gtf_line("GSAME", "transcript", SNP + 2000, SNP + 4000, "+", "T4"),
        _gtf_line("GSAME", "transcript", SNP + 2001, SNP + 4000, "+", "T5"),
        # far from every variant: no row
        _gtf_line("GFAR", "transcript", SNP + 12_000, SNP + 15_000, "+", "T6"),
        # a gene record only, near the deletion
        _gtf_line("GDEL", "gene", DEL + 40, DEL + 900, "+"),
    ]
    (root / "genes.gtf").write_text("\n".join(gtf) + "\n")
    args = ["import-basenji", "--params", str(FIXTURES / "params_joint_mini.json")]
    for name, weights in (("human", "model0_best.h5"), ("mouse", "model1_best.h5")):
        args += ["--weights", str(FIXTURES / weights), "--genome", name]
        args += ["--targets", str(FIXTURES / f"targets_{name}_mini.txt")]
    assert main([*args, "--out", str(root / "model"), "--gelu", "tanh"]) == 0
    return root


def _expected(
    work: Path, tss: dict[str, dict[str, list[int]]]
) -> dict[tuple[str, str], np.ndarray]:
    """Plain numpy: per (snp, gene), Σ over the distinct bins of the TSSs of `tss` (per
    allele label: gene → 0-based TSSs) of alt − ref, from predict_batch of both windows."""
    model, _ = load_checkpoint(work / "model")
    genome = Genome(work / "genome.fa")
    alleles = scored_alleles(read_vcf(work / "v.vcf"), genome, source="v.vcf")
    ref, alt = allele_windows(alleles, genome, model.seq_length)
    x = one_hot(np.concatenate([ref, alt]), dtype=np.float32, n_value=0.25)
    pred = predict_batch(model, x, "human").cpu().numpy()
    n, bins, width = len(alleles), model.output_length(), model.stride
    out = {}
    for i, a in enumerate(alleles):
        first = a.variant.pos - (model.seq_length // 2 - 1)
        first += (model.seq_length - bins * width) // 2
        for gene, sites in tss.get(a.label, {}).items():
            idx = sorted({(p - first) // width for p in sites})
            assert all(0 <= b < bins for b in idx)
            out[(a.label, gene)] = (pred[n + i, idx] - pred[i, idx]).sum(axis=0)
    return out


@pytest.fixture(scope="module")
def gene_run(work) -> Path:
    """A SAD run with the GTF into ``run.tsv`` (gene table ``run.genes.tsv``)."""
    out = work / "run.tsv"
    write_sad(work / "model", work / "genome.fa", work / "v.vcf", out, head="human",
              gtf=work / "genes.gtf")  # fmt: skip
    return out


def test_gene_scores_equal_numpy(work, gene_run):
    path = genes_path(gene_run)
    assert path.name == "run.genes.tsv"
    table = pl.read_csv(path, separator="\t", schema_overrides={"gene_id": pl.Utf8})
    assert table.columns == [*GENE_COLUMNS, "t0", "t1", "t2", "t3", "t4"]
    rows = {(r["snp"], r["gene_id"]): r for r in table.iter_rows(named=True)}
    assert sorted(rows) == [
        ("del1", "GDEL"),
        ("snp1", "GMINUS"),
        ("snp1", "GSAME"),
        ("snp1", "GTWO"),
    ]  # GFAR is outside every window; 'lone' has no gene
    assert rows[("snp1", "GTWO")]["tss_count"] == 2
    assert rows[("snp1", "GTWO")]["tss_distance"] == 100
    assert rows[("snp1", "GSAME")]["tss_count"] == 2
    assert rows[("snp1", "GMINUS")]["tss_distance"] == 499  # the end, not the start
    assert rows[("del1", "GDEL")]["tss_distance"] == 40
    expected = _expected(
        work,
        {
            "snp1": {
                "GTWO": [SNP - 1000, SNP + 100],
                "GMINUS": [SNP + 499],
                "GSAME": [SNP + 2000, SNP + 2001],
            },
            "del1": {"GDEL": [DEL + 40]},
        },
    )
    for key, want in expected.items():
        got = np.array([rows[key][t] for t in ("t0", "t1", "t2", "t3", "t4")], dtype=np.float32)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6, err_msg=str(key))
    # two bins summed: differs from either TSS's bin alone
    one = _expected(work, {"snp1": {"GTWO": [SNP + 100]}})[("snp1", "GTWO")]
    assert not np.allclose(expected[("snp1", "GTWO")], one)
    meta = json.loads(gene_run.with_name(gene_run.name + ".json").read_text())
    assert meta["gene_rows"] == 4


def test_window_bounds():
    """A TSS in the first and the last bp of the output bins counts; one bp outside does not."""
    from crossreg.io.vcf import Variant
    from crossreg.variants.alleles import Allele

    seq_length, bins, width, pos = 1024, 8, 64, 500
    first = pos - (seq_length // 2 - 1) + (seq_length - bins * width) // 2
    last = first + bins * width - 1
    index = GeneIndex({"A": [("c", first)], "B": [("c", last)], "C": [("c", first - 1)],
                       "D": [("c", last + 1)]})  # fmt: skip
    variant = Variant("c", pos, "A", ("C",), id="v")
    pairs = index.pairs([Allele(variant, "C")], seq_length, bins, width)
    assert [(p.gene_id, p.bins) for p in pairs] == [("A", (0,)), ("B", (bins - 1,))]


def test_a_window_past_the_chromosome_start_places_its_tsss_from_the_window_start():
    """A variant 10 bp into its chromosome has a window starting 501 bp before it (Basenji
    pads it with N): its output bins start at -245, so a TSS at 0 is in bin 245 // 64 = 3,
    and its distance is counted from the variant."""
    from crossreg.io.vcf import Variant
    from crossreg.variants.alleles import Allele

    seq_length, bins, width, pos = 1024, 8, 64, 10
    first = pos - (seq_length // 2 - 1) + (seq_length - bins * width) // 2
    assert first == -245
    index = GeneIndex({"A": [("c", 0)], "B": [("c", 5), ("c", 300)], "C": [("c", 267)]})
    pairs = index.pairs(
        [Allele(Variant("c", pos, "A", ("C",), id="v"), "C")], seq_length, bins, width
    )
    assert [(p.gene_id, p.tss_count, p.distance, p.bins) for p in pairs] == [
        ("A", 1, 10, (3,)),
        ("B", 1, 5, (3,)),  # the bins end before 267: C, and B at 300, lie past them
    ]


def test_cli_gtf_writes_gene_table_with_h5(work, gene_run):
    out = work / "cli.h5"
    argv = ["sad", "--model", str(work / "model"), "--genome", "human", "--fasta"]
    argv += [str(work / "genome.fa"), "--vcf", str(work / "v.vcf"), "--out", str(out)]
    args = build_parser().parse_args([*argv, "--gtf", str(work / "genes.gtf"), "--batch-size", "1"])
    assert args.run(args) == 0
    table = pl.read_csv(work / "cli.genes.tsv", separator="\t")
    reference = pl.read_csv(genes_path(gene_run), separator="\t")
    assert table["gene_id"].to_list() == reference["gene_id"].to_list()
    np.testing.assert_allclose(
        table["t4"].to_numpy(), reference["t4"].to_numpy(), rtol=1e-4, atol=1e-6
    )
    import h5py

    with h5py.File(out) as handle:
        assert int(handle.attrs["gene_rows"]) == 4
    assert not list(work.glob(".cli.genes.tsv.*"))  # the temporary name is gone


@contextmanager
def stopped_in_second_chunk(monkeypatch) -> Iterator[None]:
    """The SAD run in the block stops with an error in its second chunk (the first kept)."""
    from crossreg.variants import sad_chunks

    real, calls = sad_chunks.score_stats, []

    def stopping(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("stopped in chunk 2")
        return real(*args, **kwargs)

    monkeypatch.setattr(sad_chunks, "score_stats", stopping)
    with pytest.raises(RuntimeError, match="chunk 2"):
        yield
    monkeypatch.setattr(sad_chunks, "score_stats", real)


def test_gene_tables_resume_and_merge_to_the_same_bytes(work, monkeypatch):
    from crossreg.variants.sad_join import merge_shards

    def run(out: Path, **extra) -> None:
        write_sad(work / "model", work / "genome.fa", work / "v.vcf", out, head="human",
                  gtf=work / "genes.gtf", chunk_size=1, **extra)  # fmt: skip

    run(work / "one.h5")
    with stopped_in_second_chunk(monkeypatch):
        run(work / "again.h5")
    run(work / "again.h5", resume=True)
    shards = [work / f"genes{i}.h5" for i in range(2)]
    for i, path in enumerate(shards):
        run(path, shard=f"{i}/2")
    merge_shards(work / "merged.h5", shards)
    one = genes_path(work / "one.h5").read_bytes()
    assert one.count(b"\n") == 5  # the header and 4 rows
    for other in ("again.h5", "merged.h5"):
        assert genes_path(work / other).read_bytes() == one
        assert (work / other).read_bytes() == (work / "one.h5").read_bytes()


def test_indel_rule_and_clustering_reach_the_output(work):
    argv = ["sad", "--model", str(work / "model"), "--genome", "human", "--fasta"]
    argv += [str(work / "genome.fa"), "--vcf", str(work / "v.vcf")]
    outs = {}
    for name, extra in (("basenji", []), ("left", ["--indel", "left"]),
                        ("realign", ["--indel", "realign"])):  # fmt: skip
        outs[name] = work / f"rule_{name}.h5"
        args = build_parser().parse_args([*argv, "--out", str(outs[name]), *extra])
        assert args.run(args) == 0
    import h5py

    with (
        h5py.File(outs["basenji"]) as basenji,
        h5py.File(outs["left"]) as left,
        h5py.File(outs["realign"]) as realigned,
    ):
        assert [f.attrs["indel"] for f in (basenji, left, realigned)] == [*outs]
        assert left.attrs["cluster_bp"] == 0
        snps = [0, 2]  # the deletion (row 1) is framed and compared differently; SNPs are not
        for other in (left, realigned):
            np.testing.assert_array_equal(basenji["SAD"][snps], other["SAD"][snps])
            assert not np.array_equal(basenji["SAD"][1], other["SAD"][1])
    args = build_parser().parse_args([*argv, "--out", str(work / "x.h5"), "--indel", "right"])
    with pytest.raises(ValueError, match="unknown indel rule"):
        args.run(args)


def test_a_gtf_named_without_the_chr_prefix_is_refused_with_the_hint(work, logs):
    genome = Genome(work / "genome.fa")  # chr2
    ensembl = work / "ensembl.gtf"  # Ensembl's names: 2, not chr2
    ensembl.write_text((work / "genes.gtf").read_text().replace("chr2\t", "2\t"))
    with pytest.raises(ValueError, match=r"chromosome '2' is not in .*did you mean 'chr2'\?"):
        GeneIndex.from_gtf(ensembl).check_chromosomes(ensembl, genome)
    # some genes on a chromosome the FASTA lacks: left out, counted, with the FASTA's names
    some = work / "some.gtf"
    lines = (work / "genes.gtf").read_text().splitlines(keepends=True)
    some.write_text("".join(lines[:-1]) + lines[-1].replace("chr2\t", "scaffold_9\t"))
    GeneIndex.from_gtf(some).check_chromosomes(some, genome)
    assert (
        f"1 of the 5 genes of {some} lie on chromosomes absent from the 1 chromosome of "
        f"{genome.path}: scaffold_9 (1); they are left out (the genome's are chr2)"
    ) in logs.text
    GeneIndex.from_gtf(work / "genes.gtf").check_chromosomes(work / "genes.gtf", genome)
    assert logs.text.count("lie on chromosomes absent") == 1
    stray = work / "stray.gtf"  # a GTF of another genome: a TSS past chr2's end
    end = genome.sizes["chr2"]
    stray.write_text(
        (work / "genes.gtf").read_text()
        + f"chr2\tt\ttranscript\t{end + 100}\t{end + 900}\t.\t+\t.\t"
        + 'gene_id "S"; transcript_id "S.1";\n'
    )
    with pytest.raises(
        ValueError, match=rf"gene 'S' at chr2:{end + 100:,}, past chr2's {end:,} bp"
    ):
        GeneIndex.from_gtf(stray).check_chromosomes(stray, genome)
    out = work / "ensembl.h5"
    argv = ["sad", "--model", str(work / "model"), "--genome", "human", "--fasta"]
    argv += [str(work / "genome.fa"), "--vcf", str(work / "v.vcf"), "--out", str(out)]
    assert main([*argv, "--gtf", str(ensembl)]) == 1
    assert "rename the chromosomes" in logs.records[-1].getMessage()
    assert not out.exists() and not genes_path(out).exists()


def test_a_gtf_on_none_of_the_fastas_chromosomes_is_refused_naming_both(work, logs):
    """Another naming than the chr prefix (every gene on scaffold_9, the FASTA's chr2):
    before, a warning, and a run whose gene table was empty; now an error naming the GTF,
    the chromosomes of each and the fix, before anything is written."""
    other = work / "other.gtf"
    other.write_text((work / "genes.gtf").read_text().replace("chr2\t", "scaffold_9\t"))
    out = work / "other.h5"
    argv = ["sad", "--model", str(work / "model"), "--genome", "human", "--fasta"]
    argv += [str(work / "genome.fa"), "--vcf", str(work / "v.vcf"), "--out", str(out)]
    assert main([*argv, "--gtf", str(other)]) == 1
    said = logs.records[-1].getMessage()
    assert (
        f"{other}: none of its 5 genes lies on one of the 1 chromosome of "
        f"{work / 'genome.fa'}: its genes lie on scaffold_9 (5); the genome's are chr2; "
        f"e.g. gene 'GTWO' ({other}:1): the GTF names its chromosomes otherwise or is of "
        "another genome; rename the GTF's chromosomes (its first column) to the genome's, "
        f"or give the GTF of the genome of {work / 'genome.fa'}"
    ) in said
    assert not out.exists() and not genes_path(out).exists()
    assert not list(work.glob("other.*.h5")) and not list(work.glob(".other*"))


def test_runs_and_shards_scored_with_other_gtfs_do_not_mix(work, tmp_path, monkeypatch):
    from crossreg.variants.sad_join import merge_shards

    def run(out: Path, gtf: Path | None, **extra) -> None:
        write_sad(work / "model", work / "genome.fa", work / "v.vcf", out, head="human",
                  gtf=gtf, chunk_size=1, plots=False, **extra)  # fmt: skip

    with stopped_in_second_chunk(monkeypatch):
        run(tmp_path / "r.h5", None)  # stopped without --gtf
    with pytest.raises(ValueError, match="left by a run with other settings"):
        run(tmp_path / "r.h5", work / "genes.gtf", resume=True)  # resumed with it

    shards = [tmp_path / f"s{i}.h5" for i in range(2)]
    run(shards[0], work / "genes.gtf", shard="0/2")
    run(shards[1], None, shard="1/2")
    with pytest.raises(ValueError, match="a shard of another run"):
        merge_shards(tmp_path / "m.h5", shards)
    run(shards[1], work / "genes.gtf", shard="1/2")
    moved = genes_path(shards[1]).rename(tmp_path / "elsewhere.tsv")
    with pytest.raises(ValueError, match=r"s1\.genes\.tsv: missing"):
        merge_shards(tmp_path / "m.h5", shards)
    assert not (tmp_path / "m.h5").exists()  # nothing written before the check
    moved.rename(genes_path(shards[1]))
    merge_shards(tmp_path / "m.h5", shards)
    assert genes_path(tmp_path / "m.h5").exists()


@pytest.mark.parametrize(
    ("feature", "strand"), [("CDS", "+"), ("transcript", ".")], ids=["cds", "unstranded"]
)
def test_a_gtf_without_gene_records_is_named_as_such(tmp_path, logs, feature, strand):
    # before: "none of its genes is on the FASTA's chromosomes (the GTF has , ...)"; and an
    # unstranded transcript was given its start as its TSS
    shutil.copy(FIXTURES / "genome_chr2.fa", tmp_path / "genome.fa")
    cds = tmp_path / "cds.gtf"
    attrs = 'gene_id "G1"; transcript_id "T1";'
    cds.write_text(f"chr2\tx\t{feature}\t12100\t13000\t.\t{strand}\t0\t{attrs}\n")
    GeneIndex.from_gtf(cds).check_chromosomes(cds, Genome(tmp_path / "genome.fa"))
    assert "cds.gtf: the GTF has no transcript, exon or gene records on a strand" in logs.text
    assert "lie on chromosomes absent" not in logs.text
