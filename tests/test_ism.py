"""``crossreg ism``: saturation mutagenesis equals SAD, mean removal, a planted motif, the
``scores.h5`` layout and figures end to end, and bad sites."""

from __future__ import annotations

import argparse
import copy
import gzip
import re
from typing import cast

import h5py
import numpy as np
import pytest
import torch

from crossreg.cli import build_parser, main
from crossreg.commands.ism import parse_stats
from crossreg.dna import one_hot, reverse_complement
from crossreg.genome import Genome
from crossreg.io.targets import Target
from crossreg.io.vcf import Variant, read_vcf
from crossreg.model.checkpoint import make_config, save_checkpoint
from crossreg.model.inference import InferenceOptions, predict_batch
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.variants import ism_figures
from crossreg.variants.alleles import Allele, on_genome
from crossreg.variants.ism import write_ism
from crossreg.variants.ism_score import (
    center_bins,
    mutation_effects,
    remove_position_mean,
    site_mutations,
)
from crossreg.variants.ism_site_figure import VariantMark, importance
from crossreg.variants.ism_sites import (
    Site,
    bed_sites,
    site_codes,
    span_starts,
    vcf_sites,
)
from crossreg.variants.ism_span import mutated_span
from crossreg.variants.scoring import allele_windows, reference_starts, score_alleles
from tests.pipeline import SEQ_LENGTH, small_params

BASES = "ACGT"
CHROM_LENGTH = 3 * SEQ_LENGTH
VARIANT_POS = 10_000  # 0-based; its window lies inside the chromosome


def _targets(n: int) -> list[Target]:
    return [
        Target(i, f"T{i}", (f"t{i}.bw",), 32.0, 1.0, "sum", f"assay {'DNASE' if i else 'CAGE'}:{i}")
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("ism")
    rng = np.random.default_rng(7)
    seq = "".join(BASES[i] for i in rng.integers(0, 4, CHROM_LENGTH))
    (root / "genome.fa").write_text(f">chr1\n{seq}\n")
    params = small_params({"human": 3}, dropout=0.0)
    model = SeqNN(parse_params(params).model, generator=torch.Generator().manual_seed(5)).eval()
    save_checkpoint(root / "model", model, make_config(model, params, {"human": _targets(3)}))
    ref = seq[VARIANT_POS]
    alts = ",".join(b for b in BASES if b != ref)
    (root / "snps.vcf").write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t{VARIANT_POS + 1}\trs1\t{ref}\t{alts}\t.\t.\t.\n"
    )
    (root / "regions.bed").write_text("chr1\t12000\t12100\tpeak1\n")
    return {"root": root, "model": model, "genome": Genome(root / "genome.fa"), "seq": seq}


def test_site_window_is_sads_reference_window(world):
    genome, model = world["genome"], world["model"]
    ref = world["seq"][VARIANT_POS]
    variant = Variant("chr1", VARIANT_POS, ref, ("A" if ref != "A" else "C",), id="rs1")
    sites = vcf_sites([variant], genome, model.seq_length, source="test")
    sad_ref, _ = allele_windows([Allele(variant, variant.alts[0])], genome, model.seq_length)
    np.testing.assert_array_equal(site_codes(sites, genome, model.seq_length), sad_ref)
    start, end = mutated_span(model.seq_length, 200)
    assert (start, end) == (SEQ_LENGTH // 2 - 100, SEQ_LENGTH // 2 + 100)
    assert sites[0].window_start + start + 99 == VARIANT_POS  # the variant at index 99


def test_telomere_breakends_are_sites_at_the_chromosomes_ends(tmp_path):
    """A structural-variant callset's telomeric breakends, at VCF's POS 0 and N+1, are
    sites whose windows centre on the N just off the chromosome (read as any site's near
    an end); they stopped ISM, POS 0 in the reader and N+1 as 'runs past the end'."""
    fasta = tmp_path / "g.fa"
    fasta.write_text(">chr1\n" + "ACGT" * 25 + "\n")
    vcf = tmp_path / "sv.vcf"
    vcf.write_text(
        "#CHROM\tPOS\tID\tREF\tALT\n"
        "chr1\t0\tbnd_X\tN\t.[chr1:50[\n"
        "chr1\t101\tbnd_Y\tN\t]chr1:50].\n"
    )
    genome = Genome(fasta)
    sites = vcf_sites(read_vcf(vcf), genome, 16, source=str(vcf))
    assert [(s.label, s.window_start) for s in sites] == [("bnd_X", -8), ("bnd_Y", 93)]
    codes = site_codes(sites, genome, 16)
    assert bytes(codes[0][:8]) == b"N" * 8 and bytes(codes[1][8:]) == b"N" * 8


@pytest.mark.parametrize(
    ("ref_length", "alt_lengths"), [(3, (1,)), (6, (1,)), (5, (2, 1)), (4, (4, 2)), (1, (3,))]
)
def test_an_indel_site_window_is_sads_reference_window(world, ref_length, alt_lengths):
    """A deletion's window is framed as SAD (and Basenji) frame it: REF ``e // 2`` bases
    before ``L/2 - 1``, ``e`` how much longer REF is than the longest ALT."""
    genome, seq, length = world["genome"], world["seq"], world["model"].seq_length
    ref = seq[VARIANT_POS : VARIANT_POS + ref_length]
    alts = tuple(seq[VARIANT_POS] + "T" * (n - 1) for n in alt_lengths)
    variant = Variant("chr1", VARIANT_POS, ref, alts, id="indel")
    (site,) = vcf_sites([variant], genome, length, source="test")
    for alt in alts:
        allele = Allele(variant, alt)
        sad_ref, _ = allele_windows([allele], genome, length)
        np.testing.assert_array_equal(site_codes([site], genome, length), sad_ref)
        assert [site.window_start] == reference_starts(
            [allele], length, [VARIANT_POS - length // 2 + 1], "basenji"
        )
    extra = max(0, ref_length - max(alt_lengths))
    assert VARIANT_POS - site.window_start == length // 2 - 1 - extra // 2


class MotifModel(torch.nn.Module):
    """Counts exact matches of an 8-mer, binned by 16 bp; track 1 is a constant."""

    seq_length = 512
    stride = 16  # bp per output bin
    motif = "GATTACCA"

    def __init__(self) -> None:
        super().__init__()
        weight = torch.zeros(1, 4, len(self.motif))
        for i, base in enumerate(self.motif):
            weight[0, BASES.index(base), i] = 1.0
        self.weight = torch.nn.Parameter(weight, requires_grad=False)

    def forward(self, x: torch.Tensor, head: str | None = None) -> torch.Tensor:
        k = len(self.motif)
        hits = torch.nn.functional.conv1d(
            torch.nn.functional.pad(x.transpose(1, 2), (0, k - 1)), self.weight
        )
        hits = torch.relu(hits - (k - 1))[:, 0]  # 1 at an exact match, else 0
        binned = hits.reshape(len(x), -1, 16).sum(-1)
        return torch.stack([binned, torch.ones_like(binned)], dim=-1)


def test_a_planted_motif_carries_the_importance(tmp_path):
    rng = np.random.default_rng(11)
    seq = [BASES[i] for i in rng.integers(0, 4, 2000)]
    plant = 1000 + 3  # the motif's first base in the genome
    seq[plant : plant + 8] = MotifModel.motif
    (tmp_path / "g.fa").write_text(">chrM\n" + "".join(seq) + "\n")
    genome = Genome(tmp_path / "g.fa")
    model = MotifModel()
    width = 48
    sites = [Site("motif", "chrM", 1000 + 8 - 256)]  # window centred near the motif
    (effects,) = list(mutation_effects(model, sites, genome, width=width, stats=("sum", "center")))
    span_first = sites[0].window_start + mutated_span(512, width)[0]
    scores = remove_position_mean(effects["sum"])[..., 0]
    ref = np.eye(4)[[BASES.index(b) for b in seq[span_first : span_first + width]]]
    weight = np.abs(importance(scores, ref))
    motif_positions = np.arange(plant - span_first, plant - span_first + 8)
    share = weight[motif_positions].sum() / weight.sum()
    assert share > 0.99  # all of it here: no 7-of-8 near-match elsewhere in the span
    np.testing.assert_allclose(importance(scores, ref)[motif_positions], 1.0, atol=1e-6)
    # every mutation of the motif loses the one hit; the constant track never moves
    assert np.allclose(effects["sum"][motif_positions][ref[motif_positions] == 0][:, 0], -1)
    assert np.all(effects["sum"][..., 1] == 0)
    # the hit lies at window base 251, in bin 15 of 32: one of the two central bins 15-16,
    # so the center statistic loses exactly what the sum loses
    np.testing.assert_array_equal(effects["center"], effects["sum"])
    # 24 bp further left the window puts the hit at base 275, in bin 17: its first 5 bases
    # are still mutated and lose the hit in the sum, never in the central bins
    shifted = [Site("motif", "chrM", sites[0].window_start - 24)]
    (moved,) = list(mutation_effects(model, shifted, genome, width=width, stats=("sum", "center")))
    lost = moved["sum"][..., 0] == -1
    assert lost.sum() == 5 * 3 and lost[width - 5 :].any(axis=1).all()
    assert np.all(moved["center"] == 0)


def test_a_minus_strand_region_is_mutated_reverse_complemented(tmp_path):
    """As basenji_sat_bed.py: the window of a '-' region is reverse-complemented, so a motif
    on the minus strand is found, and the span is stored in the region's orientation."""
    rng = np.random.default_rng(11)
    seq = [BASES[i] for i in rng.integers(0, 4, 2000)]
    seq[1003:1011] = reverse_complement(MotifModel.motif)
    (tmp_path / "g.fa").write_text(">chrM\n" + "".join(seq) + "\n")
    (tmp_path / "r.bed").write_text("chrM\t1003\t1011\tfwd\t0\t+\nchrM\t1003\t1011\trev\t0\t-\n")
    genome, model, width = Genome(tmp_path / "g.fa"), MotifModel(), 48
    plus, minus = bed_sites(tmp_path / "r.bed", genome, 512)
    assert (plus.strand, minus.strand) == ("+", "-")
    codes = site_codes([plus, minus], genome, 512)
    np.testing.assert_array_equal(codes[1], reverse_complement(codes[0]))
    starts = span_starts([plus, minus], 512, width)
    np.testing.assert_array_equal(starts, [1007 - 24, 1007 - 24])  # both span [983, 1031)
    span = codes[1, 256 - 24 : 256 + 24].tobytes().decode()
    assert span == reverse_complement("".join(seq[983:1031]))
    assert span[20:28] == MotifModel.motif
    (fwd, rev) = list(mutation_effects(model, [plus, minus], genome, width=width))
    scores = remove_position_mean(rev["sum"])[..., 0]
    ref = one_hot(codes[1, 256 - 24 : 256 + 24], dtype=np.float32)
    np.testing.assert_allclose(importance(scores, ref)[20:28], 1.0, atol=1e-6)
    assert np.all(fwd["sum"][20:28, :, 0] >= 0)  # no motif to lose on the plus strand


def test_ism_before_mean_removal_equals_sad_of_the_snp(world):
    """The issue's test: a single-base ISM effect (sum over bins, not mean-removed) is the
    SAD of that SNP, scored in the same window."""
    genome, model = world["genome"], world["model"]
    ref = world["seq"][VARIANT_POS]
    variant = Variant("chr1", VARIANT_POS, ref, tuple(b for b in BASES if b != ref), id="rs1")
    width = 6
    sites = vcf_sites([variant], genome, model.seq_length, source="test")
    options = InferenceOptions(batch_size=5, rc=True, shifts=(1, 0, -1))
    (effects,) = list(
        mutation_effects(model, sites, genome, width=width, stats=("sum",), options=options)
    )
    at = width // 2 - 1  # the variant's index in the mutated span
    alleles = [Allele(variant, alt) for alt in variant.alts]
    sad = np.concatenate(list(score_alleles(model, alleles, genome, options=options)))
    for k, alt in enumerate(variant.alts):
        np.testing.assert_allclose(
            effects["sum"][at, BASES.index(alt)], sad[k], rtol=1e-4, atol=1e-4
        )
    assert np.all(effects["sum"][at, BASES.index(ref)] == 0)
    assert np.abs(sad).max() > 1e-3  # not trivially zero


def test_position_means_are_removed_exactly(world):
    genome, model = world["genome"], world["model"]
    sites = [Site("r", "chr1", 12_050 - SEQ_LENGTH // 2)]
    cut = copy.deepcopy(model)
    cut.keep_tracks(cut.genomes[0], [2, 0])
    (effects,) = list(
        mutation_effects(cut, sites, genome, width=5, options=InferenceOptions(batch_size=7))
    )
    for stat in ("sum", "center"):
        assert effects[stat].shape == (5, 4, 2)
        scores = remove_position_mean(effects[stat])
        np.testing.assert_allclose(scores.sum(axis=1), 0.0, atol=1e-5)
        # differences between bases are kept
        np.testing.assert_allclose(
            scores[:, 1] - scores[:, 0], effects[stat][:, 1] - effects[stat][:, 0], atol=1e-5
        )
    assert center_bins(96) == slice(47, 49) and center_bins(5) == slice(2, 3)


def test_each_base_takes_its_three_others_an_n_all_four():
    """Basenji's ISM: the reference, then per position the 3 bases other than its own (4 at
    an N, 0 in every channel); a position off the chromosome is not mutated."""
    span = one_hot("ACNT", dtype=np.uint8)
    mutants = site_mutations(span, np.array([True, True, True, False]))
    expected = [(-1, -1), (0, 1), (0, 2), (0, 3), (1, 0), (1, 2), (1, 3)]
    expected += [(2, 0), (2, 1), (2, 2), (2, 3)]
    assert [tuple(m) for m in mutants.tolist()] == expected
    everywhere = site_mutations(one_hot("GATTACA", dtype=np.uint8), np.ones(7, dtype=bool))
    assert len(everywhere) == 1 + 3 * 7


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


def test_cli_writes_scores_h5_and_figures(world, capsys):
    root = world["root"]
    out, figures = root / "ism_vcf.h5", root / "figures"
    argv = ["ism", "--model", str(root / "model"), "--fasta", str(root / "genome.fa")]
    argv += ["--vcf", str(root / "snps.vcf"), "--out", str(out), "--width", "6"]
    argv += ["--batch-size", "8", "--figures", str(figures)]
    assert main(argv) == 0
    assert "ISM of 1 sites" in capsys.readouterr().out
    with h5py.File(out) as h5:
        assert set(h5) == {
            "label", "chr", "start", "end", "strand", "seqs", "pos", "ref_allele", "alt_allele",
            "sum", "center", "target_ids", "target_labels",
        }  # fmt: skip
        assert h5["sum"].shape == h5["center"].shape == (1, 6, 4, 3)
        assert h5["sum"].fletcher32 and h5["center"].fletcher32  # a checksum per chunk
        assert h5["sum"].dtype == np.float16 and h5["seqs"].dtype == bool
        assert h5["seqs"].shape == (1, 6, 4) and (h5["seqs"][:].sum(-1) == 1).all()
        assert h5["label"][0] == b"rs1" and h5["chr"][0] == b"chr1" and h5["strand"][0] == b"+"
        assert h5["start"][0] == VARIANT_POS - 2 and h5["end"][0] == VARIANT_POS + 4
        seq = world["seq"][VARIANT_POS - 2 : VARIANT_POS + 4]
        assert "".join(BASES[i] for i in h5["seqs"][0].argmax(-1)) == seq
        np.testing.assert_allclose(h5["sum"][:].astype(np.float32).sum(axis=2), 0, atol=2e-2)
        assert h5.attrs["genome"] == "human" and h5.attrs["alt_applied"] == np.False_
        assert list(h5["target_ids"][:].astype(str)) == ["T0", "T1", "T2"]
    pngs = sorted(figures.glob("*.png"))
    assert len(pngs) == 1 and pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    out_bed = root / "ism_bed.h5"
    argv = ["ism", "--model", str(root / "model"), "--fasta", str(root / "genome.fa")]
    argv += ["--bed", str(root / "regions.bed"), "--out", str(out_bed), "--width", "4"]
    argv += ["--targets", "T2,*CAGE*", "--stats", "center", "--figures", str(root / "f2")]
    assert main(argv) == 0
    with h5py.File(out_bed) as h5:
        assert "sum" not in h5 and h5["center"].shape == (1, 4, 4, 2)
        assert not {"pos", "ref_allele", "alt_allele"} & set(h5)  # a region has no record
        assert list(h5["target_ids"][:].astype(str)) == ["T2", "T0"]
        assert h5["start"][0] == 12_050 - 2 and h5["label"][0] == b"peak1"
    assert len(list((root / "f2").glob("*.png"))) == 2  # one per chosen track


def test_cli_draws_beside_the_output_by_default_svg_on_request_none_without_plots(
    world, tmp_path, capsys
):
    root = world["root"]
    base = ["ism", "--model", str(root / "model"), "--fasta", str(root / "genome.fa")]
    base += ["--vcf", str(root / "snps.vcf"), "--width", "4", "--batch-size", "8"]
    assert main([*base, "--out", str(tmp_path / "a.h5"), "--svg"]) == 0
    assert "1 figures in" in capsys.readouterr().out
    pngs = sorted((tmp_path / "a.figures").glob("*.png"))
    assert len(pngs) == 1 and pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pngs[0].with_suffix(".svg").stat().st_size > 0
    assert main([*base, "--out", str(tmp_path / "b.h5"), "--no-plots"]) == 0
    assert "figures in" not in capsys.readouterr().out
    assert (tmp_path / "b.h5").exists() and not (tmp_path / "b.figures").exists()
    assert {p.parent.name for p in tmp_path.rglob("*.png")} == {"a.figures"}
    # --figures names the folder; --no-plots wins over it
    assert main([*base, "--out", str(tmp_path / "c.h5"), "--figures", str(tmp_path / "f")]) == 0
    assert len(list((tmp_path / "f").glob("*.png"))) == 1
    assert not (tmp_path / "c.figures").exists()
    argv = [*base, "--out", str(tmp_path / "d.h5"), "--figures", str(tmp_path / "g"), "--no-plots"]
    assert main(argv) == 0
    assert not (tmp_path / "g").exists() and not (tmp_path / "d.figures").exists()


def test_each_vcf_site_stores_its_records_position_and_alleles(world, tmp_path, monkeypatch):
    """A SNP and a deletion: ``pos`` is the record's POS (1-based, as in SAD files), and
    its REF's bases are rows ``pos - 1 - start`` on of ``seqs`` (row 4 of 10 for the SNP,
    one earlier for the deletion, 2 bases longer than its longest ALT); each figure marks those
    columns with the alleles named."""
    root, seq = world["root"], world["seq"]
    snp, deletion = VARIANT_POS, VARIANT_POS + 40
    snp_alt = "A" if seq[snp] != "A" else "C"
    deleted = seq[deletion : deletion + 4]
    vcf = tmp_path / "two.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t{snp + 1}\trs1\t{seq[snp]}\t{snp_alt}\t.\t.\t.\n"
        f"chr1\t{deletion + 1}\tdel1\t{deleted}\t{deleted[0]},{deleted[:2]}\t.\t.\t.\n"
    )
    out = tmp_path / "two.h5"
    drawn: list[tuple[str, object]] = []

    def record(path, scores, seq, **kwargs):
        drawn.append((kwargs["title"].splitlines()[-1].split()[0], kwargs["variant"]))
        return []

    monkeypatch.setattr(ism_figures, "plot_site", record)
    argv = ["ism", "--model", str(root / "model"), "--fasta", str(root / "genome.fa")]
    argv += ["--vcf", str(vcf), "--out", str(out), "--width", "10"]
    assert main(argv) == 0
    with h5py.File(out) as h5:
        assert h5["pos"][:].tolist() == [snp + 1, deletion + 1]
        assert h5["ref_allele"][:].tolist() == [seq[snp].encode(), deleted.encode()]
        assert h5["alt_allele"][:].tolist() == [
            snp_alt.encode(),
            f"{deleted[0]},{deleted[:2]}".encode(),
        ]
        rows = h5["pos"][:] - 1 - h5["start"][:]
        assert rows.tolist() == [4, 3]
        for row, ref, span in zip(rows, [seq[snp], deleted], h5["seqs"][:], strict=True):
            assert "".join(BASES[i] for i in span[row : row + len(ref)].argmax(-1)) == ref
    assert drawn == [
        ("rs1", VariantMark(4, 5, f"{seq[snp]}>{snp_alt}")),
        ("del1", VariantMark(3, 7, f"{deleted}>{deleted[0]},{deleted[:2]}")),
    ]


def test_a_minus_strand_bed_region_is_stored_in_its_orientation(world, tmp_path):
    root = world["root"]
    bed = tmp_path / "stranded.bed"
    bed.write_text("chr1\t12000\t12100\tfwd\t0\t+\nchr1\t12000\t12100\trev\t0\t-\n")
    out = tmp_path / "stranded.h5"
    argv = ["ism", "--model", str(root / "model"), "--fasta", str(root / "genome.fa")]
    argv += ["--bed", str(bed), "--out", str(out), "--width", "4", "--no-plots"]
    assert main(argv) == 0
    with h5py.File(out) as h5:
        assert h5["strand"][:].tolist() == [b"+", b"-"]
        assert h5["start"][:].tolist() == [12_048, 12_048] and h5["end"][:].tolist() == [12_052] * 2
        seqs = h5["seqs"][:]
        np.testing.assert_array_equal(seqs[1], seqs[0][::-1, ::-1])  # reverse complement
        assert not np.allclose(h5["sum"][0], h5["sum"][1][::-1, ::-1])


def test_plots_check_the_figures_folder_before_any_work(world, tmp_path, monkeypatch):
    root = world["root"]
    base = ["ism", "--model", str(root / "model"), "--fasta", str(root / "genome.fa")]
    base += ["--bed", str(root / "regions.bed"), "--width", "2"]
    (tmp_path / "taken").write_text("a file")
    (tmp_path / "b.figures").write_text("a file")

    def no_work(*args, **kwargs):
        raise AssertionError("the model was loaded before the figures folder was checked")

    monkeypatch.setattr("crossreg.variants.ism.load_head", no_work)
    for extra, out in ([["--figures", str(tmp_path / "taken")], "a.h5"], [[], "b.h5"]):
        with pytest.raises(ValueError, match=r"--figures .*: is a file, where crossreg writes"):
            _run([*base, *extra, "--out", str(tmp_path / out)])
        assert not (tmp_path / out).exists()
    monkeypatch.undo()
    no_plots = [*base, "--figures", str(tmp_path / "taken"), "--no-plots"]
    assert _run([*no_plots, "--out", str(tmp_path / "c.h5")]) == 0


def test_a_statistic_given_twice_is_refused(capsys):
    assert parse_stats("center, sum") == ["center", "sum"]
    with pytest.raises(argparse.ArgumentTypeError, match="statistic sum is given more than once"):
        parse_stats("sum,center,sum")
    argv = ["ism", "--model", "m", "--fasta", "f", "--bed", "b", "--out", "o.h5"]
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--stats", "sum,sum"])
    assert "statistic sum is given more than once in 'sum,sum'" in capsys.readouterr().err


def test_stats_given_as_one_string_are_refused_with_the_list_form(world, tmp_path):
    genome, model = world["genome"], world["model"]
    with pytest.raises(TypeError, match=r"stats must be a list of names, e\.g\. \['sum'\]"):
        list(mutation_effects(model, [], genome, stats="sum"))
    root, out = world["root"], tmp_path / "ism.h5"
    with pytest.raises(TypeError, match="stats must be a list of names"):
        write_ism(root / "model", root / "genome.fa", out, bed=root / "regions.bed", stats="sum")
    assert not out.exists()
    with pytest.raises(ValueError, match="statistics are sum, center; got mean"):
        list(mutation_effects(model, [], genome, stats=["mean"]))
    with pytest.raises(ValueError, match="give each statistic once; got sum, sum"):
        list(mutation_effects(model, [], genome, stats=["sum", "sum"]))


def test_bad_sites_stop_naming_the_record_and_leave_no_output(world, tmp_path):
    root = world["root"]
    base = ["ism", "--model", str(root / "model"), "--fasta", str(root / "genome.fa")]
    cases = {
        "off.bed": ("chr1\t100\t200\tok\nchr1\t70000\t70100\tfar\n", "chr1:70000-70100"),
        "chr9.bed": ("chr9\t100\t200\n", "chr9"),
        "chr9.vcf": ("chr9\t500\trs_off\tA\tG\t.\t.\t.\n", "rs_off"),
        "strand.bed": ("chr1\t100\t200\tx\t0\tplus\n", r"strand.bed:1: strand \(column 6\)"),
        "past.vcf": (f"chr1\t{CHROM_LENGTH + 5}\trs_past\tA\tG\t.\t.\t.\n", "rs_past"),
        # a header and no records: nothing to mutate or draw; the error says why and that
        # sad, not ism, takes an empty part of a VCF split by chromosome
        "empty.vcf": ("", r"empty\.vcf: the VCF has no records, so there is no site to mutate"),
    }
    for name, (body, named) in cases.items():
        path = tmp_path / name
        header = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        path.write_text((header if name.endswith(".vcf") else "") + body)
        out = tmp_path / "out" / f"{name}.h5"
        flag = "--vcf" if name.endswith(".vcf") else "--bed"
        with pytest.raises(ValueError, match=named):
            _run([*base, flag, str(path), "--out", str(out), "--width", "4"])
        assert not out.parent.exists() or not list(out.parent.iterdir())
    with pytest.raises(ValueError, match=r"must end in \.h5"):
        _run([*base, "--bed", str(root / "regions.bed"), "--out", str(tmp_path / "x.tsv")])
    # --strict decides what happens to VCF records off the FASTA; a BED would ignore it
    strict = [*base, "--bed", str(root / "regions.bed"), "--out", str(tmp_path / "s.h5")]
    with pytest.raises(ValueError, match="--strict: only with --vcf"):
        _run([*strict, "--strict"])
    assert not (tmp_path / "s.h5").exists()


def test_vcf_sites_word_their_refusals_as_sad_does(tmp_path):
    """A record named without the FASTA's ``chr`` prefix among ones with it was skipped
    as off the FASTA, and a record past a chromosome's end had a wording of its own; both
    now stop as SAD's survey stops them, naming the VCF, the record and the fix."""
    fasta = tmp_path / "g.fa"
    fasta.write_text(">chr1\n" + "ACGT" * 25 + "\n")
    genome = Genome(fasta)
    on = Variant("chr1", 10, "G", ("T",), id="rs_on")
    bare = Variant("1", 20, "A", ("C",), id="rs_bare")
    with pytest.raises(ValueError) as caught:
        on_genome([on, bare], genome, source="x.vcf")
    assert str(caught.value).startswith(
        f"x.vcf: variant rs_bare at 1:21 is on a chromosome not in {fasta}; did you mean 'chr1'?"
    )
    past = Variant("chr1", 104, "A", ("G",), id="rs_past")
    with pytest.raises(ValueError) as caught:
        vcf_sites([past], genome, 16, source="x.vcf")
    assert str(caught.value) == (
        "x.vcf: variant rs_past at chr1:105 lies past the end of chr1 (100 bp in the FASTA); "
        "check the genome build"
    )


@pytest.mark.parametrize(("ref", "alt"), [("other", "<DEL>"), ("N", "A"), ("other", "*")])
def test_a_wrong_ref_stops_even_when_no_alt_is_scorable(world, ref: str, alt: str):
    # ISM writes REF into the window: before, these put a base that is not the genome's there
    found = world["seq"][VARIANT_POS]
    ref = "A" if ref == "other" and found != "A" else "C" if ref == "other" else ref
    variant = Variant("chr1", VARIANT_POS, ref, (alt,), id="rs_bad")
    message = rf"rs_bad at chr1:{VARIANT_POS + 1} has REF {ref} but the genome has {found}"
    with pytest.raises(ValueError, match=message):
        vcf_sites([variant], world["genome"], world["model"].seq_length, source="test")


def test_ism_differs_from_sad_only_where_the_window_holds_n(world, capsys):
    """N is 0 in ISM windows (Basenji's ISM) and 0.25 in SAD's: a single mutation's effect
    equals the SNP's SAD without N (above) and SAD with N encoded as 0 near an end."""
    genome, model = world["genome"], world["model"]
    pos = 100  # the window runs off the chromosome's start
    ref = world["seq"][pos]
    alt = next(b for b in BASES if b != ref)
    variant = Variant("chr1", pos, ref, (alt,), id="near_start")
    sites = vcf_sites([variant], genome, model.seq_length, source="test")
    (effects,) = list(mutation_effects(model, sites, genome, width=4, stats=("sum",)))
    ism = effects["sum"][1, BASES.index(alt)]  # the variant at index 1 of the span
    allele = Allele(variant, alt)
    sad = np.concatenate(list(score_alleles(model, [allele], genome)))[0]
    ref_window, alt_window = allele_windows([allele], genome, model.seq_length)
    assert (ref_window == ord("N")).sum() > 1000
    x = one_hot(np.concatenate([ref_window, alt_window]), dtype=np.float32, n_value=0.0)
    pred = predict_batch(model, x).cpu().numpy()
    np.testing.assert_allclose(ism, (pred[1] - pred[0]).sum(axis=0), rtol=1e-4, atol=1e-5)
    assert not np.allclose(ism, sad, rtol=1e-3, atol=1e-4)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["ism", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "N is encoded as 0, as Basenji's ISM does, where SAD uses 0.25" in shown
    assert "equals the SNP's SAD only when the window holds no N" in shown
    assert "one site per record, the window SAD builds for its REF" in shown
    assert "Basenji also scores each ALT's sequence" in shown
    assert "complemented where the strand (column 6) is" in shown


def test_records_off_the_fasta_are_skipped_and_counted_as_sad_does(world, tmp_path, logs, capsys):
    root = world["root"]
    off = "chr9\t100\tx9\tA\tG\t.\t.\t.\nchrM\t5\tm1\tA\tG\t.\t.\t.\n"
    vcf = tmp_path / "mixed.vcf"
    vcf.write_text((root / "snps.vcf").read_text() + off)
    base = ["ism", "--model", str(root / "model"), "--fasta", str(root / "genome.fa")]
    base += ["--vcf", str(vcf), "--width", "4", "--no-plots"]
    assert main([*base, "--out", str(tmp_path / "mixed.h5")]) == 0
    assert "(2 records off the FASTA's chromosomes skipped)" in capsys.readouterr().out
    assert "skipped 2 records on 2 chromosome(s) the FASTA lacks: chr9:1,chrM:1" in logs.text
    with h5py.File(tmp_path / "mixed.h5") as h5:
        assert h5["label"][:].tolist() == [b"rs1"]
        assert h5.attrs["skipped_records"] == 2
        assert h5.attrs["skipped_chromosomes"] == "chr9:1,chrM:1"
    with pytest.raises(ValueError, match=r"x9 at chr9:100 is on a chromosome not in"):
        _run([*base, "--out", str(tmp_path / "strict.h5"), "--strict"])
    assert not (tmp_path / "strict.h5").exists()


def test_a_truncated_gzip_vcf_stops_with_one_error_line(world, tmp_path, logs):
    root = world["root"]
    whole = gzip.compress((root / "snps.vcf").read_bytes())
    vcf = tmp_path / "trunc.vcf.gz"
    vcf.write_bytes(whole[: len(whole) - 12])
    argv = ["ism", "--model", str(root / "model"), "--fasta", str(root / "genome.fa")]
    argv += ["--vcf", str(vcf), "--out", str(tmp_path / "t.h5"), "--width", "4"]
    assert main(argv) == 1
    assert "trunc.vcf.gz: the gzip stream is truncated or corrupt after line" in logs.text
    assert "re-download or re-compress it" in logs.text
    assert not (tmp_path / "t.h5").exists()


def test_a_label_or_track_outside_ascii_stops_before_any_scoring(world, tmp_path, monkeypatch):
    """The ``.h5`` stores labels, chromosomes and tracks as ASCII bytes, as SAD's does: a
    BED name, VCF ID or track description with another character stops the run, naming
    it, before any site is scored."""
    root = world["root"]
    (tmp_path / "names.bed").write_text("chr1\t12000\t12100\tpeak1\nchr1\t12000\t12100\tenh_α\n")
    vcf = (root / "snps.vcf").read_text().replace("\trs1\t", "\trs_é\t")
    (tmp_path / "ids.vcf").write_text(vcf)
    params = small_params({"human": 3}, dropout=0.0)
    targets = _targets(3)
    targets[1] = Target(1, "T1", ("t1.bw",), 32.0, 1.0, "sum", "pancreatic β cell")
    save_checkpoint(
        tmp_path / "model", world["model"], make_config(world["model"], params, {"human": targets})
    )

    def no_scoring(*args, **kwargs):
        raise AssertionError("sites were scored before their labels were checked")

    monkeypatch.setattr("crossreg.variants.ism_score._site_effects", no_scoring)
    model, fasta, bed = root / "model", root / "genome.fa", root / "regions.bed"
    cases = [
        (model, {"bed": tmp_path / "names.bed"}, r"names\.bed:2: region chr1:12000-12100 \(enh_α"),
        (model, {"vcf": tmp_path / "ids.vcf"}, rf"the record at chr1:{VARIANT_POS + 1} \(rs_é\)"),
        (tmp_path / "model", {"bed": bed}, r"track 'T1' \('pancreatic β cell'\) has a charac"),
    ]
    for checkpoint, sites, named in cases:
        out = tmp_path / "out.h5"
        with pytest.raises(ValueError, match=named):
            write_ism(checkpoint, fasta, out, width=2, plots=False, **sites)
        assert not out.exists()
    # a track outside the kept ones is not stored, so it does not stop the run
    monkeypatch.undo()
    write_ism(
        tmp_path / "model",
        fasta,
        tmp_path / "kept.h5",
        bed=bed,
        width=2,
        tracks="T0,T2",
        plots=False,
    )
    with h5py.File(tmp_path / "kept.h5") as h5:
        assert h5["target_ids"][:].tolist() == [b"T0", b"T2"]


def _expected_scores(model, window: np.ndarray, span_start: int, rows: range) -> np.ndarray:
    """Mean-removed ``sum`` scores ``(len(rows), 4, tracks)`` of mutating `rows` of the span
    starting at `span_start` in the one-hot `window` (N as 0), predicted here one by one."""
    x = one_hot(window, dtype=np.float32, n_value=0.0)
    mutants = []
    for row in rows:
        for base in range(4):
            mutant = x.copy()
            mutant[span_start + row] = np.eye(4)[base]
            mutants.append(mutant)
    pred = predict_batch(model, np.stack([x, *mutants])).cpu().numpy().sum(axis=1)
    effects = (pred[1:] - pred[0]).reshape(len(rows), 4, -1)
    return remove_position_mean(effects)


def test_positions_off_the_chromosome_are_not_mutated(world, tmp_path, logs):
    """A span running off a chromosome keeps its coordinates (start -3 for a SNP at chr1:1
    with width 8) with NaN scores and no reference base at its positions off the
    chromosome, on either strand; its positions on the chromosome are scored as usual."""
    root, model, seq, width = world["root"], world["model"], world["seq"], 8
    header = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    first, last = seq[0], seq[-1]
    vcf = tmp_path / "ends.vcf"
    vcf.write_text(
        f"{header}chr1\t1\trs_first\t{first}\t{'A' if first != 'A' else 'C'}\t.\t.\t.\n"
        f"chr1\t{CHROM_LENGTH}\trs_last\t{last}\t{'A' if last != 'A' else 'C'}\t.\t.\t.\n"
    )
    bed = tmp_path / "ends.bed"
    bed.write_text("chr1\t0\t2\trev\t0\t-\n")
    fasta = root / "genome.fa"
    write_ism(
        root / "model", fasta, tmp_path / "v.h5", vcf=vcf, width=width, stats=["sum"], plots=False
    )
    assert "2 of 2 sites have a mutated span running off a chromosome end" in logs.text
    write_ism(
        root / "model", fasta, tmp_path / "b.h5", bed=bed, width=width, stats=["sum"], plots=False
    )
    with h5py.File(tmp_path / "v.h5") as h5:
        starts, ends = h5["start"][:].tolist(), h5["end"][:].tolist()
        scores, seqs = h5["sum"][:].astype(np.float32), h5["seqs"][:]
    assert starts == [-3, CHROM_LENGTH - 4] and ends == [5, CHROM_LENGTH + 4]
    off = {0: range(0, 3), 1: range(4, 8)}
    for site, rows in off.items():
        on = [r for r in range(width) if r not in rows]
        assert np.isnan(scores[site, list(rows)]).all() and not seqs[site, list(rows)].any()
        assert np.isfinite(scores[site, on]).all() and (seqs[site, on].sum(-1) == 1).all()
    span_start = mutated_span(model.seq_length, width)[0]
    window, _ = allele_windows(
        [Allele(Variant("chr1", 0, first, ("A",), id="rs_first"), "")],
        world["genome"],
        model.seq_length,
    )
    expected = _expected_scores(model, window[0], span_start, range(3, width))
    np.testing.assert_allclose(scores[0, 3:], expected, rtol=2e-3, atol=2e-5)
    with h5py.File(tmp_path / "b.h5") as h5:
        assert (h5["start"][0], h5["end"][0], h5["strand"][0]) == (-3, 5, b"-")
        minus = h5["sum"][0].astype(np.float32)  # rows 5-7: genome positions -1 to -3
        assert np.isnan(minus[5:]).all() and np.isfinite(minus[:5]).all()
        np.testing.assert_array_equal(
            h5["seqs"][0, :5], one_hot(reverse_complement(seq[:5]), dtype=np.float32).astype(bool)
        )


def test_no_plots_removes_an_earlier_runs_figures_once_the_output_is_written(world, tmp_path):
    root = world["root"]
    base = ["ism", "--model", str(root / "model"), "--fasta", str(root / "genome.fa")]
    base += ["--width", "2", "--out", str(tmp_path / "x.h5")]
    figures = tmp_path / "x.figures"
    assert _run([*base, "--bed", str(root / "regions.bed")]) == 0
    (drawn,) = figures.glob("0000_*.png")
    (figures / "notes.png").write_bytes(b"not ours")
    (tmp_path / "far.bed").write_text("chr1\t70000\t70100\tfar\n")
    with pytest.raises(ValueError, match="chr1:70000-70100"):
        _run([*base, "--bed", str(tmp_path / "far.bed"), "--no-plots"])
    assert drawn.exists()  # a failed run leaves the earlier run's output and figures
    (tmp_path / "other.bed").write_text("chr1\t11000\t11100\tother\n")
    assert _run([*base, "--bed", str(tmp_path / "other.bed"), "--no-plots"]) == 0
    assert sorted(p.name for p in figures.iterdir()) == ["notes.png"]
    with h5py.File(tmp_path / "x.h5") as h5:
        assert h5["label"][:].tolist() == [b"other"]


def test_an_interrupt_while_drawing_says_the_output_is_complete(world, tmp_path, monkeypatch):
    # scoring can take hours: an interrupt among the figures must not send the user to
    # score again
    from crossreg.errors import Interrupted
    from crossreg.variants import ism_figures

    root, out = world["root"], tmp_path / "ism.h5"

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ism_figures, "plot_site", interrupt)
    with pytest.raises(KeyboardInterrupt) as err:
        write_ism(root / "model", root / "genome.fa", out, bed=root / "regions.bed", width=2)
    assert isinstance(err.value, Interrupted)
    assert re.search(r"ism\.h5 is complete, its figures in .* are not", str(err.value))
    with h5py.File(out) as handle:
        assert handle["sum"].shape[:2] == (len(handle["label"]), 2)


class CountModel(torch.nn.Module):
    """A long window scored cheaply: the count of each base per 1,024-bp bin."""

    seq_length = 1 << 16
    stride = 1024

    def __init__(self) -> None:
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1), requires_grad=False)  # its device

    def forward(self, x: torch.Tensor, head: str | None = None) -> torch.Tensor:
        return x.reshape(len(x), -1, 1024, 4).sum(2)


def _ism_peak_bytes(genome: Genome, sites: list[Site]) -> int:
    """The peak of traced memory while scoring `sites`, each site's effects checked: the
    one mutated base (index L/2) moves one count from its reference base to the mutant."""
    import tracemalloc

    middle = CountModel.seq_length // 2
    bases = genome.fetch_many(["c"] * len(sites), [s.window_start + middle for s in sites], 1)
    tracemalloc.start()
    try:
        model = cast(SeqNN, CountModel())  # a SeqNN's seq_length, stride and forward
        effects = mutation_effects(model, sites, genome, width=1, stats=("sum",))
        for site, ref in zip(effects, bases[:, 0], strict=True):
            expected = np.eye(4) - np.eye(4)[BASES.index(chr(ref))]
            expected[BASES.index(chr(ref))] = 0
            np.testing.assert_array_equal(site["sum"][0], expected)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_sites_grow(tmp_path):
    """Each site's whole window (Basenji2's is 131,072 bp) is read only for the batches
    scoring it: reading every site's window at once to cut out their mutated spans held
    sites × window bytes several times over (tens of GB for 100,000 variants)."""
    rng = np.random.default_rng(3)
    (tmp_path / "g.fa").write_text(">c\n" + "".join(BASES[i] for i in rng.integers(0, 4, 1 << 17)))
    genome = Genome(tmp_path / "g.fa")
    many = [Site(f"s{i}", "c", 100 * i) for i in range(600)]
    few = _ism_peak_bytes(genome, many[:60])
    peak = _ism_peak_bytes(genome, many)
    assert peak < 2 * few, (few, peak)  # 10 times the sites, not 10 times the memory
