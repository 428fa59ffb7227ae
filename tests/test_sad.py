"""``crossreg sad``: Basenji's SAD scores end to end, window building, outputs and errors."""

from __future__ import annotations

import gzip
import json
import logging
import shutil
from pathlib import Path

import h5py
import numpy as np
import polars as pl
import pytest

from crossreg.cli import build_parser, main
from crossreg.dna import one_hot
from crossreg.genome import Genome
from crossreg.io.targets_read import read_targets
from crossreg.io.vcf import Variant, read_vcf
from crossreg.model.checkpoint import load_checkpoint
from crossreg.model.inference import InferenceOptions
from crossreg.variants.alleles import Allele
from crossreg.variants.sad_percentiles import PERCENTILES
from crossreg.variants.scoring import allele_windows, score_alleles, scored_alleles

FIXTURES = Path(__file__).parent / "data" / "basenji_fixtures"
RUNS = {  # fixture run -> (GELU form, extra options)
    "gelu1702_default": ("sigmoid1702", []),
    "gelu1702_rc_shifts": ("sigmoid1702", ["--rc", "--shifts", "1,0,-1"]),
    "tanh_default": ("tanh", []),
    "tanh_rc_shifts": ("tanh", ["--rc", "--shifts", "1,0,-1"]),
}


@pytest.fixture(scope="module")
def fixture() -> dict[str, np.ndarray]:
    with np.load(FIXTURES / "sad_fixture.npz") as data:
        return dict(data)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """The fixture genome and VCF, and the joint mini model imported in both GELU forms."""
    root = tmp_path_factory.mktemp("sad")
    shutil.copy(FIXTURES / "genome_chr2.fa", root / "genome.fa")
    shutil.copy(FIXTURES / "sad_snps.vcf", root / "snps.vcf")
    for gelu in ("sigmoid1702", "tanh"):
        args = ["import-basenji", "--params", str(FIXTURES / "params_joint_mini.json")]
        for genome, weights in (("human", "model0_best.h5"), ("mouse", "model1_best.h5")):
            args += ["--weights", str(FIXTURES / weights), "--genome", genome]
            args += ["--targets", str(FIXTURES / f"targets_{genome}_mini.txt")]
        assert main([*args, "--out", str(root / gelu), "--gelu", gelu]) == 0
    return root


def _run(argv: list[str]) -> int:
    """Run a subcommand, letting its errors raise (``main`` would log them)."""
    args = build_parser().parse_args(argv)
    return args.run(args)


@pytest.mark.parametrize("run", list(RUNS))
def test_sad_h5_equals_basenji(work, fixture, run, caplog):
    gelu, extra = RUNS[run]
    out = work / f"{run}.h5"
    argv = ["sad", "--model", str(work / gelu), "--genome", "human", "--fasta"]
    argv += [str(work / "genome.fa"), "--vcf", str(work / "snps.vcf"), "--out", str(out)]
    with caplog.at_level(logging.WARNING, logger="crossreg"):
        assert _run([*argv, "--batch-size", "3", *extra]) == 0
    assert "rs_swapped" in caplog.text  # scored as written, and said so
    with h5py.File(out) as got:
        for key in ("snp", "chr", "ref_allele", "alt_allele"):  # bytes, as Basenji writes
            assert got[key].dtype.kind == "S"
            np.testing.assert_array_equal(got[key][:].astype(str), fixture[key], err_msg=key)
        # identifiers as Basenji writes them; labels are the descriptions, as
        # basenji_sad.py -t writes them (the fixture ran without a table: empty labels)
        assert got["target_ids"].dtype.kind == got["target_labels"].dtype.kind == "S"
        np.testing.assert_array_equal(got["target_ids"][:].astype(str), fixture["target_ids"])
        table = read_targets(FIXTURES / "targets_human_mini.txt")
        assert got["target_labels"][:].astype(str).tolist() == table.descriptions
        for key in ("pos", "percentiles"):
            assert got[key].dtype == fixture[key].dtype
            np.testing.assert_array_equal(got[key][:], fixture[key], err_msg=key)
        assert got["SAD"].dtype == np.float16 and got["SAD_pct"].dtype == np.float16
        # float32 SAD within 1e-4 of Basenji's, so float16 within one rounding step
        np.testing.assert_allclose(
            got["SAD"][:].astype(np.float32), fixture[f"{run}_SAD_f32"], rtol=1e-3, atol=1e-4
        )
        np.testing.assert_allclose(
            got["SAD_pct"][:].astype(np.float32),
            fixture[f"{run}_SAD_pct"].astype(np.float32),
            rtol=2e-3,
            atol=2e-4,
        )
        assert got.attrs["genome"] == "human"


@pytest.mark.parametrize("run", list(RUNS))
def test_sad_float32_equals_basenji(work, fixture, run):
    gelu, extra = RUNS[run]
    model, _ = load_checkpoint(work / gelu)
    genome = Genome(work / "genome.fa")
    alleles = scored_alleles(read_vcf(work / "snps.vcf"), genome, source="snps.vcf")
    options = InferenceOptions(rc=True, shifts=(1, 0, -1)) if extra else InferenceOptions()
    got = np.concatenate(list(score_alleles(model, alleles, genome, "human", options)))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, fixture[f"{run}_SAD_f32"], rtol=0, atol=1e-4)


def test_windows_place_the_variant_as_basenji_does(work, fixture):
    genome = Genome(work / "genome.fa")
    alleles = scored_alleles(read_vcf(work / "snps.vcf"), genome, source="snps.vcf")
    ref, alt = allele_windows(alleles, genome, 8192)
    np.testing.assert_array_equal((ref == ord("N")).sum(axis=1), fixture["window_N_count"])
    assert (ref[:, 4095] == [ord(a) for a in fixture["ref_allele"]]).all()
    assert (alt[:, 4095] == [ord(a) for a in fixture["alt_allele"]]).all()
    assert ((ref != alt).sum(axis=1) == 1).all()
    # N reads as 0.25 in every channel in SAD windows
    assert (one_hot(ref[:1], dtype=np.float32, n_value=0.25)[0, 0] == 0.25).all()


@pytest.fixture()
def small_genome(tmp_path) -> Genome:
    (tmp_path / "g.fa").write_text(">c\nAACCGGTTACGT\n")
    return Genome(tmp_path / "g.fa")


def test_indel_windows_of_each_rule(small_genome):
    # window of 6 around 0-based pos 5 (T): starts at pos - 2 = 3 -> "CGGTTA", then "CG"
    deletion = Allele(Variant("c", 5, "GTT", ("G",)), "G")
    insertion = Allele(Variant("c", 5, "G", ("GAAA",)), "GAAA")
    snp = Allele(Variant("c", 5, "G", ("A",)), "A")
    ref, alt = allele_windows([deletion, insertion, snp], small_genome, 6, indel="left")
    assert [bytes(r) for r in ref] == [b"CGGTTA"] * 3
    assert bytes(alt[0]) == b"CGGACG"  # TT deleted, the next genome bases move in
    assert bytes(alt[1]) == b"CGGAAA"  # AAA inserted, the right end pushed out
    assert bytes(alt[2]) == b"CGATTA"
    # Basenji's: 8 bases read for the deletion, its reference cut to 6 from the middle;
    # the insertion's 9-base alternative loses 1 base at the front and 2 at the back
    ref, alt = allele_windows([deletion, insertion, snp], small_genome, 6)
    assert [bytes(r) for r in ref] == [b"GGTTAC", b"CGGTTA", b"CGGTTA"]
    assert [bytes(a) for a in alt] == [b"CGGACG", b"GGAAAT", b"CGATTA"]


@pytest.mark.parametrize("symbolic", ["<NON_REF>", "<*>", "*", "<DEL>"])
def test_a_symbolic_alt_beside_a_deletion_leaves_its_windows_as_they_are(small_genome, symbolic):
    # a gVCF writes each deletion as "GTT -> G,<NON_REF>": the symbolic ALT is skipped, and
    # its text length must not move the windows of the deletion scored beside it
    plain = Allele(Variant("c", 5, "GTT", ("G",)), "G")
    gvcf = Allele(Variant("c", 5, "GTT", ("G", symbolic)), "G")
    for rule in ("basenji", "left"):
        ref, alt = allele_windows([plain, gvcf], small_genome, 6, indel=rule)
        assert bytes(ref[0]) == bytes(ref[1]) and bytes(alt[0]) == bytes(alt[1])


def test_deletion_at_the_chromosome_end_pulls_in_n(small_genome):
    ref, alt = allele_windows([Allele(Variant("c", 10, "GT", ("G",)), "G")], small_genome, 6)
    # window of 6 around 0-based pos 10 starts at 8: "ACGT" then N
    assert bytes(ref[0]) == b"ACGTNN" and bytes(alt[0]) == b"ACGNNN"


def test_bad_records_name_themselves(small_genome, caplog):
    wrong = Variant("c", 0, "G", ("T",), id="rs_wrong")
    with pytest.raises(ValueError, match=r"rs_wrong at c:1 has REF G but the genome has A"):
        scored_alleles([wrong], small_genome, source="x.vcf")
    with pytest.raises(ValueError, match=r"rs_other.*chromosome not in"):
        scored_alleles([Variant("chr9", 0, "A", ("C",), id="rs_other")], small_genome, source="x")
    symbolic = Variant("c", 0, "A", ("<DEL>", "C", "*"), id="rs_multi")
    with caplog.at_level(logging.DEBUG, logger="crossreg"):
        alleles = scored_alleles([symbolic], small_genome, source="x.vcf")
    assert [a.alt for a in alleles] == ["C"] and "skipped 2" in caplog.text
    first = small_genome.fetch("c", 0, 4).decode()
    long_ref = Variant("c", 0, first, (first[0],), id="rs_long")
    assert scored_alleles([long_ref], small_genome, source="x.vcf", seq_length=4) == []
    assert len(scored_alleles([long_ref], small_genome, source="x.vcf")) == 1
    assert Allele(Variant("c", 0, "A", ("C",)), "C").label == "c:1:A>C"


def test_a_ref_mismatch_names_its_vcf_line(work, tmp_path):
    """A record whose REF the genome contradicts stops sad (the native survey) and ism
    (the Python reader) naming the VCF's line, as the readers' own errors do, so a user
    finds it in a VCF of millions of records; nothing is written."""
    genome = Genome(work / "genome.fa")
    chrom = next(iter(genome.sizes))
    base = genome.fetch(chrom, 999, 1000).decode().upper()
    wrong, alt = [b for b in "ACGT" if b != base][:2]  # neither the genome's base
    vcf = _vcf_with(work, [f"{chrom}\t1000\trs_wrong\t{wrong}\t{alt}\t.\t.\t."], "wrong.vcf")
    line = len(vcf.read_text().splitlines())
    expected = (
        f"{vcf}:{line}: variant rs_wrong at {chrom}:1000 has REF {wrong} but the genome has {base}"
    )
    argv = ["--model", str(work / "tanh"), "--genome", "human", "--fasta", str(work / "genome.fa")]
    for step in ("sad", "ism"):
        out = tmp_path / f"{step}.h5"
        with pytest.raises(ValueError) as caught:
            _run([step, *argv, "--vcf", str(vcf), "--out", str(out)])
        assert str(caught.value).startswith(expected), step
        assert not list(tmp_path.glob(f"{step}.h5*"))


def test_an_indel_whose_alt_alone_matches_the_genome_stops(small_genome):
    """Basenji scores a record whose ALT matches the genome as if REF and ALT were swapped;
    for an indel its shared first base alone makes a deletion's ALT match, so crossreg
    takes that for SNPs only and stops on an indel whose REF is not the genome's."""
    deletion = Variant("c", 0, "AG", ("A",), id="rs_del")  # the genome has AA
    with pytest.raises(ValueError, match=r"rs_del at c:1 has REF AG but the genome has AA"):
        scored_alleles([deletion], small_genome, source="x.vcf")
    swapped_snp = Variant("c", 0, "G", ("A",), id="rs_snp")
    assert [a.alt for a in scored_alleles([swapped_snp], small_genome, source="x.vcf")] == ["A"]


@pytest.mark.parametrize("alts", [("A", "T"), ("T", "A")])
def test_a_swapped_multiallelic_snp_scores_every_alt_against_its_ref(small_genome, alts):
    # genome base A at c:1; REF G with the genome's base among its ALTs, first or not
    swapped = Variant("c", 0, "G", alts, id="rs_swapped_multi")
    alleles = scored_alleles([swapped], small_genome, source="x.vcf")
    assert [a.alt for a in alleles] == list(alts)
    ref, alt = allele_windows(alleles, small_genome, 4)
    # REF spliced into every reference window (as Basenji does), each ALT into its own
    assert [bytes(r) for r in ref] == [b"NGAC"] * 2
    assert [bytes(a) for a in alt] == [f"N{x}AC".encode() for x in alts]


def test_tsv_output_and_the_mouse_head_on_human_variants(work):
    base = ["sad", "--model", str(work / "tanh"), "--fasta", str(work / "genome.fa")]
    base += ["--vcf", str(work / "snps.vcf")]
    assert _run([*base, "--genome", "mouse", "--out", str(work / "mouse.tsv")]) == 0
    assert _run([*base, "--genome", "mouse", "--out", str(work / "mouse.h5")]) == 0
    table = pl.read_csv(work / "mouse.tsv", separator="\t")
    assert table.columns[:5] == ["snp", "chrom", "pos", "ref", "alt"]
    assert len(table.columns) == 5 + 3 and table.height == 8
    with h5py.File(work / "mouse.h5") as h5:
        values = table.select(table.columns[5:]).to_numpy()
        np.testing.assert_allclose(values, h5["SAD"][:].astype(np.float32), rtol=1e-3, atol=1e-4)
        assert [s.decode() for s in h5["target_ids"][:]] == table.columns[5:]
        np.testing.assert_array_equal(h5["percentiles"][:], PERCENTILES)


def test_errors_leave_no_output(work):
    out = work / "bad.h5"
    base = ["sad", "--model", str(work / "tanh"), "--fasta", str(work / "genome.fa")]
    with pytest.raises(ValueError, match="choose one with --head"):
        _run([*base, "--vcf", str(work / "snps.vcf"), "--out", str(out)])
    with pytest.raises(ValueError, match=r"must end in \.h5 or \.tsv"):
        _run([*base, "--genome", "human", "--vcf", str(work / "snps.vcf"), "--out", "x.npy"])
    assert not out.exists() and not list(work.glob(".bad.h5*"))


def _vcf_with(work: Path, extra_records: list[str], name: str) -> Path:
    """The fixture VCF with `extra_records` appended."""
    path = work / name
    path.write_text((work / "snps.vcf").read_text() + "".join(r + "\n" for r in extra_records))
    return path


def test_records_off_the_fasta_are_skipped_counted_and_recorded(work, caplog):
    off = [
        "chrUn_x\t10\tu1\tA\tC\t.\t.\t.",
        "chrM\t5\tm1\tA\tG\t.\t.\t.",
        "chrM\t9\tm2\tC\tT\t.\t.\t.",
    ]
    vcf = _vcf_with(work, off, "with_off.vcf")
    base = ["sad", "--model", str(work / "tanh"), "--genome", "human"]
    base += ["--fasta", str(work / "genome.fa"), "--vcf", str(vcf)]
    with caplog.at_level(logging.WARNING, logger="crossreg"):
        assert _run([*base, "--out", str(work / "off.h5")]) == 0
    assert "skipped 3 records on 2 chromosome(s) the FASTA lacks: chrM:2,chrUn_x:1" in caplog.text
    assert _run([*base, "--out", str(work / "plain.h5"), "--vcf", str(work / "snps.vcf")]) == 0
    with h5py.File(work / "off.h5") as got, h5py.File(work / "plain.h5") as plain:
        assert got.attrs["skipped_records"] == 3
        assert got.attrs["skipped_chromosomes"] == "chrM:2,chrUn_x:1"
        np.testing.assert_array_equal(got["SAD"][:], plain["SAD"][:])
        np.testing.assert_array_equal(got["snp"][:], plain["snp"][:])
    assert _run([*base, "--out", str(work / "off.tsv")]) == 0
    meta = json.loads((work / "off.tsv.json").read_text())
    assert meta["skipped_records"] == 3 and meta["genome"] == "human"
    # --strict keeps stopping at the first such record, and writes nothing
    with pytest.raises(ValueError, match=r"u1 at chrUn_x:10 is on a chromosome not in"):
        _run([*base, "--strict", "--out", str(work / "strict.h5")])
    assert not (work / "strict.h5").exists()


def test_a_vcf_with_no_record_on_the_fasta_stops_with_the_naming_hint(work):
    renamed = work / "renamed.vcf"
    lines = (work / "snps.vcf").read_text().splitlines()
    body = [line.removeprefix("chr") if not line.startswith("#") else line for line in lines]
    renamed.write_text("\n".join(body) + "\n")
    argv = ["sad", "--model", str(work / "tanh"), "--genome", "human", "--fasta"]
    argv += [str(work / "genome.fa"), "--vcf", str(renamed), "--out", str(work / "none.h5")]
    with pytest.raises(ValueError, match=r"chromosome not in.*chr"):
        _run(argv)
    assert not (work / "none.h5").exists()


def test_records_named_without_the_fastas_chr_prefix_stop_the_run(work):
    """A VCF mixing ``2`` and ``chr2`` lost the ``2`` records to the skip warning (as if
    the FASTA lacked that chromosome); they are a naming mismatch, refused with the hint
    as a BigWig's or a GTF's, before anything is scored or written; the error names the
    first record on that chromosome, after one on a chromosome the FASTA lacks (chrM)."""
    records = ["chrM\t5\tm1\tA\tG\t.\t.\t.", "2\t40000\tbare1\tA\tC\t.\t.\t."]
    vcf = _vcf_with(work, [*records, "2\t41000\tbare2\tA\tC\t.\t.\t."], "bare.vcf")
    line = vcf.read_text().splitlines().index(records[1]) + 1  # the message names the line
    fasta = work / "genome.fa"
    out = work / "bare.h5"
    argv = ["sad", "--model", str(work / "tanh"), "--genome", "human", "--fasta", str(fasta)]
    with pytest.raises(ValueError) as caught:
        _run([*argv, "--vcf", str(vcf), "--out", str(out)])
    assert str(caught.value) == (
        f"{vcf}:{line}: variant bare1 at 2:40000 is on a chromosome not in {fasta}; did you mean "
        "'chr2'? The names here carry the 'chr' prefix: rename the chromosomes of one file to "
        "match the other"
    )
    assert not out.exists() and not list(work.glob("bare.h5*"))


def test_records_past_the_end_or_in_gaps(small_genome):
    size = small_genome.sizes["c"]
    past = Variant("c", size + 49_000_000, "A", ("G",), id="rs_far")
    with pytest.raises(
        ValueError, match=rf"rs_far at c:{size + 49_000_001} lies past the end of c \({size:,} bp"
    ):
        scored_alleles([past], small_genome, source="x.vcf")
    in_gap = Variant("c", size + 10, "N", ("A",), id="rs_gap")
    assert scored_alleles([in_gap], small_genome, source="x.vcf") == []


def test_a_truncated_gzip_vcf_stops_with_one_error_line(work, tmp_path, logs):
    whole = gzip.compress((work / "snps.vcf").read_bytes())
    vcf = tmp_path / "trunc.vcf.gz"
    vcf.write_bytes(whole[: len(whole) - 12])
    out = tmp_path / "t.h5"
    argv = ["sad", "--model", str(work / "tanh"), "--genome", "human", "--fasta"]
    argv += [str(work / "genome.fa"), "--vcf", str(vcf), "--out", str(out)]
    assert main(argv) == 1
    assert "trunc.vcf.gz: the gzip stream is truncated or corrupt after line" in logs.text
    assert not out.exists() and not (tmp_path / "t.h5.partial").exists()


def test_a_vcf_or_shard_without_variants_writes_an_empty_output_with_a_warning(
    work, tmp_path, caplog
):
    """An empty part of a VCF split by chromosome, or a shard past the records, is a normal
    part of a pipeline: sad writes an output of 0 alleles (which sad-merge joins), and says
    so and why in a warning (it was one INFO line, 'scoring 0 alleles')."""
    lines = (work / "snps.vcf").read_text().splitlines(keepends=True)
    empty = tmp_path / "empty.vcf"
    empty.write_text("".join(x for x in lines if x.startswith("#")))
    one = tmp_path / "one.vcf"
    one.write_text("".join(x for x in lines if x.startswith("#")) + lines[-1])
    symbolic = tmp_path / "symbolic.vcf"
    record = lines[-1].split("\t")
    symbolic.write_text(empty.read_text() + "\t".join([*record[:4], "<DEL>", *record[5:]]))
    base = ["sad", "--model", str(work / "tanh"), "--genome", "human"]
    base += ["--fasta", str(work / "genome.fa"), "--no-plots"]
    cases = [
        (empty, [], "the VCF has no records"),
        (one, ["--shard", "0/2"], "shard 0/2 holds none of the VCF's 1 records"),
        (symbolic, [], "every allele of its 1 records is skipped"),
    ]
    for k, (vcf, extra, why) in enumerate(cases):
        caplog.clear()
        out = tmp_path / f"s{k}.h5"
        with caplog.at_level(logging.WARNING, logger="crossreg"):
            assert _run([*base, "--vcf", str(vcf), *extra, "--out", str(out)]) == 0
        warned = [r.getMessage() for r in caplog.records if "no variants scored" in r.message]
        assert warned == [f"{vcf}: no variants scored: {why}; the output is written with 0 alleles"]
        with h5py.File(out) as got:
            assert got["SAD"].shape == (0, 5) and len(got["snp"]) == 0
    # the shards of the one-record VCF merge into the file one run writes
    assert _run([*base, "--vcf", str(one), "--shard", "1/2", "--out", str(tmp_path / "s3.h5")]) == 0
    merged = tmp_path / "merged.h5"
    argv = ["sad-merge", "--no-plots", "--out", str(merged), str(tmp_path / "s1.h5")]
    assert _run([*argv, str(tmp_path / "s3.h5")]) == 0
    assert _run([*base, "--vcf", str(one), "--out", str(tmp_path / "whole.h5")]) == 0
    with h5py.File(merged) as got, h5py.File(tmp_path / "whole.h5") as whole:
        np.testing.assert_array_equal(got["SAD"][:], whole["SAD"][:])
        np.testing.assert_array_equal(got["snp"][:], whole["snp"][:])
    # the shards of the empty VCF merge into an empty file, with the warning
    shards = [tmp_path / f"empty{i}.h5" for i in range(2)]
    for i, shard in enumerate(shards):
        assert _run([*base, "--vcf", str(empty), "--shard", f"{i}/2", "--out", str(shard)]) == 0
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="crossreg"):
        assert _run(["sad-merge", "--no-plots", "--out", str(merged), *map(str, shards)]) == 0
    assert caplog.messages == [
        f"{merged}: no variants scored: none of its 2 shards holds an allele; the output is "
        "written with 0 alleles"
    ]
    with h5py.File(merged) as got:
        assert got["SAD"].shape == (0, 5)


def test_the_summary_line_counts_skipped_alleles(work, tmp_path, capsys):
    vcf = tmp_path / "gvcf.vcf"
    lines = (work / "snps.vcf").read_text().splitlines()
    body = [line.split("\t") for line in lines if not line.startswith("#")]
    body[1][4] += ",<NON_REF>"
    body[2][4] += ",*"
    body[3][4] += "," + body[3][3].lower()  # ALT equal to REF: SAD 0 whatever the model
    vcf.write_text(
        "\n".join([*(x for x in lines if x.startswith("#")), *map("\t".join, body)]) + "\n"
    )
    base = ["sad", "--model", str(work / "tanh"), "--fasta", str(work / "genome.fa")]
    assert (
        main([*base, "--genome", "human", "--vcf", str(vcf), "--out", str(tmp_path / "s.h5")]) == 0
    )
    out = capsys.readouterr().out
    assert "SAD of 8 alleles" in out
    assert "(3 alleles skipped (ALT equals REF: 1; symbolic or missing ALT: 2))" in out
