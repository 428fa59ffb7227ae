"""``crossreg sad``'s figures: per-track score distributions, the top variants' tracks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from crossreg.cli import build_parser, main
from crossreg.errors import Interrupted
from crossreg.variants import sad_chunks
from crossreg.variants.sad_attrs import read_attrs
from crossreg.variants.sad_figures import (
    SadSummary,
    distribution_figure,
    figure_paths,
    plot_sad,
    summarise,
    top_tracks,
    top_variants_figure,
    track_order,
)
from crossreg.variants.sad_percentiles import PERCENTILES
from crossreg.variants.sad_read import read_sad
from crossreg.variants.sad_tsv import metadata_path

FIXTURES = Path(__file__).parent / "data" / "basenji_fixtures"


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sad_figures")
    shutil.copy(FIXTURES / "genome_chr2.fa", root / "genome.fa")
    shutil.copy(FIXTURES / "sad_snps.vcf", root / "snps.vcf")
    args = ["-q", "import-basenji", "--params", str(FIXTURES / "params_joint_mini.json")]
    for genome, weights in (("human", "model0_best.h5"), ("mouse", "model1_best.h5")):
        args += ["--weights", str(FIXTURES / weights), "--genome", genome]
        args += ["--targets", str(FIXTURES / f"targets_{genome}_mini.txt")]
    assert main([*args, "--out", str(root / "model")]) == 0
    return root


def _sad(work: Path, out: Path, *extra: str) -> None:
    argv = ["sad", "--model", str(work / "model"), "--fasta", str(work / "genome.fa")]
    argv += ["--vcf", str(work / "snps.vcf"), "--genome", "human", "--out", str(out), *extra]
    args = build_parser().parse_args(argv)
    assert args.run(args) == 0


@pytest.mark.parametrize("suffix", [".h5", ".tsv"])
def test_figures_show_the_written_scores(work, suffix):
    out = work / f"scores{suffix}"
    _sad(work, out)
    paths = figure_paths(out)
    assert paths["distribution"].name == "scores.score_distribution.png"
    for key in ("distribution", "top"):
        assert paths[key].read_bytes()[:4] == b"\x89PNG"
    sad = read_sad(out)
    values = sad.values.astype(np.float64)
    summary = summarise(out)
    assert summary.alleles == len(values) and summary.identifiers == sad.identifiers

    # the distribution: each track's median over all alleles, in the drawn order
    order = track_order(summary)
    median = distribution_figure(summary).axes[0].lines[0].get_ydata()
    expect = np.quantile(values, PERCENTILES, axis=0).T
    at = int(np.abs(PERCENTILES - 0.5).argmin())
    tolerance = 2e-3 * np.abs(values).max()  # the .h5 keeps float16 percentiles
    np.testing.assert_allclose(median, expect[order, at], atol=tolerance)

    # the top variants: the alleles with the largest |SAD|, strongest first, and their rows
    peak = np.abs(values).max(axis=1)
    rows = summary.top["row"].to_list()
    assert sorted(peak[rows], reverse=True) == list(peak[rows])
    assert peak[rows[-1]] >= np.delete(peak, rows).max(initial=0)
    heat = top_variants_figure(summary).axes[0].images[0].get_array()
    np.testing.assert_allclose(heat, values[rows][:, top_tracks(summary)], rtol=1e-6)
    table = pl.read_csv(paths["table"], separator="\t")
    assert table["snp"].to_list() == [sad.labels[r] for r in rows]
    np.testing.assert_allclose(table["max_abs"], peak[rows], rtol=1e-5)
    # each top allele's track with its description, from a .tsv as from an .h5
    targets = pl.read_csv(FIXTURES / "targets_human_mini.txt", separator="\t")
    described = dict(zip(targets["identifier"], targets["description"], strict=True))
    assert sad.descriptions == [described[t] for t in sad.identifiers]
    assert table["description"].to_list() == [described[t] for t in table["track"]]


def test_no_plots_and_svg(work):
    _sad(work, work / "bare.h5", "--no-plots")
    assert not any(p.exists() for p in figure_paths(work / "bare.h5").values())
    _sad(work, work / "vector.tsv", "--svg")
    for key in ("distribution", "top"):
        assert figure_paths(work / "vector.tsv")[key].with_suffix(".svg").exists()


def test_profiles_alone_draw_no_figures_and_say_why(work, logs):
    out = work / "profiles.h5"
    _sad(work, out, "--stats", "REF,ALT")
    assert out.exists()
    assert not any(p.exists() for p in figure_paths(out).values())
    assert "no figures: they show an (alleles × tracks) statistic" in logs.text
    _sad(work, work / "mixed.h5", "--stats", "REF,D2")  # drawn from D2
    assert figure_paths(work / "mixed.h5")["top"].exists()
    assert summarise(work / "mixed.h5").stat == "D2"


def test_each_statistic_is_labelled_by_what_it_is() -> None:
    # before: every statistic was labelled "alt − ref, summed over bins"
    from crossreg.variants.sad_figures import stat_label
    from crossreg.variants.sad_names import PROFILE_STATS, STAT_MEANINGS, STAT_NAMES

    assert set(STAT_MEANINGS) == set(STAT_NAMES) - set(PROFILE_STATS)
    assert stat_label("SAD") == "SAD (alt − ref, summed over bins)"
    assert stat_label("D2") == "D2 (√Σ (alt − ref)² over bins)"
    assert stat_label("SAX") == "SAX (alt − ref at the bin of largest |alt − ref|)"


def test_a_tsv_whose_fields_look_numeric_then_not_draws_its_figures(tmp_path):
    # 105 alleles on chromosome 1 with numeric IDs, then one on X with an rs ID: the
    # fields were read back with their types guessed from the first 100 rows, and failed
    from crossreg.variants.sad_figures import plot_sad
    from crossreg.variants.sad_tsv import write_tsv

    n = 106
    labels = [f"{i:03d}" for i in range(n - 1)] + ["rs9"]
    part = {
        "snp": np.array(labels, dtype="S"),
        "chr": np.array(["1"] * (n - 1) + ["X"], dtype="S"),
        "pos": np.arange(1, n + 1) * 100,
        "ref_allele": np.array([b"A"] * n),
        "alt_allele": np.array([b"G"] * n),
        "SAD": np.linspace(-1, 2, 2 * n, dtype=np.float32).reshape(n, 2),
    }
    out = tmp_path / "ensembl.tsv"
    write_tsv(out, [part], ["SAD"], ["t0", "t1"], ["CAGE:a", "DNASE:b"], {"stats": "SAD"})
    written = plot_sad(out)
    assert set(figure_paths(out).values()) <= set(written)
    table = pl.read_csv(figure_paths(out)["table"], separator="\t", infer_schema=False)
    assert table["snp"].to_list()[:3] == ["rs9", "104", "103"]
    assert table["chrom"].to_list()[:2] == ["X", "1"]
    assert table["pos"].to_list()[:2] == [str(100 * n), str(100 * (n - 1))]


def test_a_rerun_removes_the_gene_table_and_figures_it_does_not_write(work, logs):
    # the earlier run's files, beside the new output, described other variants
    gtf = work / "genes.gtf"
    gtf.write_text('chr2\tt\tgene\t12000\t13000\t.\t+\t.\tgene_id "G1";\n')
    out = work / "rerun.h5"
    paths = figure_paths(out)
    svgs = [paths[key].with_suffix(".svg") for key in ("distribution", "top")]
    genes = work / "rerun.genes.tsv"
    _sad(work, out, "--gtf", str(gtf), "--svg")
    assert genes.exists() and all(p.exists() for p in [*paths.values(), *svgs])
    _sad(work, out, "--no-plots")
    assert not genes.exists() and not any(p.exists() for p in [*paths.values(), *svgs])
    _sad(work, out, "--svg")
    _sad(work, out)  # PNG only: the earlier SVGs go
    assert all(p.exists() for p in paths.values()) and not any(p.exists() for p in svgs)
    _sad(work, out, "--stats", "REF,ALT")  # nothing to draw
    assert not any(p.exists() for p in paths.values())


def test_an_output_of_the_other_kind_keeps_the_files_named_after_its_stem(work, logs):
    # run.h5 and run.tsv share run.genes.tsv and the figures' names: a run into one of
    # them that draws nothing, without a GTF, does not remove the other's
    gtf = work / "genes.gtf"
    gtf.write_text('chr2\tt\tgene\t12000\t13000\t.\t+\t.\tgene_id "G1";\n')
    h5 = work / "run.h5"
    _sad(work, h5, "--gtf", str(gtf))
    kept = [work / "run.genes.tsv", *figure_paths(h5).values()]
    assert all(p.exists() for p in kept)
    _sad(work, work / "run.tsv", "--no-plots")
    assert all(p.exists() for p in kept)


def _drawn_titles(monkeypatch) -> list[str]:
    """The titles of the figures drawn from here on (the axes' title text objects), as
    they are saved."""
    import crossreg.variants.sad_figures as sad_figures

    titles: list[str] = []
    save = sad_figures.save_figure

    def recording(fig, path, **kwargs):
        titles.append(fig.axes[0].title.get_text())
        return save(fig, path, **kwargs)

    monkeypatch.setattr(sad_figures, "save_figure", recording)
    return titles


@pytest.mark.parametrize("suffix", [".h5", ".tsv"])
def test_the_figures_say_whose_variants_which_head_scored(work, monkeypatch, suffix):
    """Human variants scored with the mouse head: the titles name both, from what the
    output records (before: "human head: ..." or "mouse head: ...", the variants' genome
    nowhere, and plot_sad(out) redrew them untitled)."""
    titles = _drawn_titles(monkeypatch)
    out = work / f"cross{suffix}"
    _sad(work, out, "--genome", "mouse", "--variants-genome", "human")
    assert read_attrs(out)["variants_genome"] == "human"
    assert read_attrs(out)["genome"] == "mouse"
    assert titles == [
        "human variants, mouse head: SAD per track over 8 alleles",
        "human variants, mouse head: top 8 alleles by largest |SAD| on any track",
    ]
    titles.clear()
    plot_sad(out)  # redrawn from the file alone: titled as the run drew them
    assert titles[0].startswith("human variants, mouse head: SAD per track")
    assert titles[1].startswith("human variants, mouse head: top 8 alleles")


def test_an_output_that_does_not_name_the_variants_genome_names_its_fasta(work, monkeypatch):
    """A run without --variants-genome, and an earlier crossreg's file without the field,
    still draw: their titles name the FASTA the variants are on; a file that records
    neither the FASTA nor the head draws with the plain heading."""
    titles = _drawn_titles(monkeypatch)
    out = work / "unnamed.h5"
    _sad(work, out)
    assert "variants_genome" not in read_attrs(out)
    assert titles[0] == "variants on genome.fa, human head: SAD per track over 8 alleles"
    earlier = work / "earlier.tsv"  # as an earlier crossreg wrote it
    _sad(work, earlier, "--variants-genome", "human", "--no-plots")
    meta = metadata_path(earlier)
    recorded = json.loads(meta.read_text())
    del recorded["variants_genome"]
    meta.write_text(json.dumps(recorded))
    titles.clear()
    assert plot_sad(earlier)
    assert (
        titles[1]
        == "variants on genome.fa, human head: top 8 alleles by largest |SAD| on any track"
    )
    meta.write_text(json.dumps({"stats": "SAD", "target_labels": recorded["target_labels"]}))
    titles.clear()
    assert plot_sad(earlier)
    assert titles[0] == "SAD per track over 8 alleles"


def test_merged_shards_are_titled_as_one_run(work, monkeypatch):
    # before: sad-merge titled its figures "mouse: ...", which read as the mouse genome's
    titles = _drawn_titles(monkeypatch)
    shards = [work / f"part{i}.h5" for i in range(2)]
    for i, shard in enumerate(shards):
        named = ["--genome", "mouse", "--variants-genome", "human", "--no-plots"]
        _sad(work, shard, *named, "--shard", f"{i}/2")
    merged = work / "merged.h5"
    assert main(["-q", "sad-merge", "--out", str(merged), *map(str, shards)]) == 0
    assert read_attrs(merged)["variants_genome"] == "human"
    assert [t.split(":")[0] for t in titles] == ["human variants, mouse head"] * 2


def _stopped_at_the_third_chunk(work: Path, out: Path, monkeypatch, *extra: str) -> None:
    """A run of chunks of 3 alleles stopped (Ctrl-C) with two kept in ``OUT.partial/``."""
    real, calls = sad_chunks.score_stats, []

    def stopping(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(sad_chunks, "score_stats", stopping)
        with pytest.raises(Interrupted, match="6 of 8 alleles kept"):
            _sad(work, out, "--chunk-size", "3", *extra)


@pytest.mark.parametrize("before", [[], ["--variants-genome", "mouse"]])
def test_chunks_resume_with_another_variants_genome(work, monkeypatch, before):
    """It names the variants' genome in the titles, changing no score: chunks left by a run
    without it (as one from before the option was) or with another name resume, and the
    output is the bytes of a run given this name from the start (before: refused as a
    settings change, "--variants-genome none then, human now")."""
    named = work / "named_from_the_start.h5"
    _sad(work, named, "--chunk-size", "3", "--variants-genome", "human", "--no-plots")
    out = work / f"resumed_{len(before)}.h5"
    _stopped_at_the_third_chunk(work, out, monkeypatch, *before, "--no-plots")
    _sad(work, out, "--chunk-size", "3", "--variants-genome", "human", "--no-plots", "--resume")
    assert out.read_bytes() == named.read_bytes()
    assert read_attrs(out)["variants_genome"] == "human"


@pytest.mark.parametrize(
    ("first", "then", "given"),
    [
        ([], "not given then, human now", "no --variants-genome"),
        (["--variants-genome", "mouse"], "mouse then, human now", "--variants-genome mouse"),
    ],
)
def test_a_finished_output_resumed_with_another_variants_genome_says_what_to_do(
    work, first, then, given
):
    """A finished output holds this run's scores under another name: refused, saying
    that the name changes no score and how to leave the file as it is (before: the
    generic refusal, which said to compute it again)."""
    out = work / f"finished_{len(first)}.tsv"
    _sad(work, out, *first, "--no-plots")
    written = {p.name: p.read_bytes() for p in work.glob(f"{out.stem}*")}
    with pytest.raises(ValueError) as refused:
        _sad(work, out, "--variants-genome", "human", "--no-plots", "--resume")
    assert str(refused.value) == (
        f"--resume: {out} is complete from a run with other settings (--variants-genome "
        f"{then}), which name the variants' genome in the figures' titles and change no "
        f"score: resume with {given} to leave it as it is, or rerun without --resume to "
        "score it again under this name"
    )
    assert {p.name: p.read_bytes() for p in work.glob(f"{out.stem}*")} == written
    _sad(work, out, *first, "--no-plots", "--resume")  # as the advice says: nothing to do
    assert {p.name: p.read_bytes() for p in work.glob(f"{out.stem}*")} == written


def test_shards_of_which_some_name_the_variants_genome_merge_named(work):
    """A shard given --variants-genome and one not (the name added to the job's script
    midway) are one run's: the merged file names the genome; shards naming two genomes
    are refused naming both."""
    shards = [work / f"label{i}.h5" for i in range(3)]
    for i, named in enumerate(([], ["--variants-genome", "human"], [])):
        _sad(work, shards[i], *named, "--no-plots", "--shard", f"{i}/3")
    merged = work / "label_merged.h5"
    assert main(["-q", "sad-merge", "--no-plots", "--out", str(merged), *map(str, shards)]) == 0
    attrs = read_attrs(merged)
    assert attrs["variants_genome"] == "human"
    assert json.loads(str(attrs["settings"]))["variants_genome"] == "human"
    # each agrees with the first, which names none: the two names are refused all the same
    _sad(work, shards[2], "--variants-genome", "mouse", "--no-plots", "--shard", "2/3")
    argv = ["sad-merge", "--no-plots", "--out", str(work / "label_refused.h5")]
    args = build_parser().parse_args([*argv, *map(str, shards)])
    with pytest.raises(ValueError) as refused:
        args.run(args)
    assert str(refused.value) == (
        f"{shards[2]}: a shard of another run than {shards[1]} (--variants-genome human then, "
        "mouse now); score every shard with the same model, FASTA, VCF and options"
    )
    assert not (work / "label_refused.h5").exists()


def test_every_track_shows_its_ranges_with_the_legend_off_the_data():
    # before: an assay's band ran from its first track's centre to its last's, so a lone
    # track (the demo's one ATAC track) drew no range at all and the first and last of
    # each assay half of theirs; the legend sat on the data at the upper right
    descriptions = ["ATAC:a", "CAGE:a", "CAGE:b", "CAGE:c", "DNASE:a", "DNASE:b"]
    n = len(descriptions)
    spread = np.arange(1, n + 1, dtype=np.float64)[:, None]
    summary = SadSummary(
        "SAD",
        100,
        [f"t{i}" for i in range(n)],
        descriptions,
        PERCENTILES.astype(np.float64),
        spread * (PERCENTILES - 0.5)[None, :] * 10,
        pl.DataFrame(),
        np.zeros((0, n), dtype=np.float32),
    )
    fig = distribution_figure(summary)
    fig.draw_without_rendering()
    (ax,) = fig.axes
    order = track_order(summary)
    at = {level: int(np.abs(PERCENTILES - level).argmin()) for level in (0.01, 0.25, 0.75, 0.99)}
    for x, track in enumerate(order):
        for low, high in ((0.01, 0.99), (0.25, 0.75)):
            want = summary.track_pct[track, [at[low], at[high]]]
            assert any(
                bar.get_x() <= x - 0.3
                and bar.get_x() + bar.get_width() >= x + 0.3
                and np.allclose([bar.get_y(), bar.get_y() + bar.get_height()], want)
                for bar in ax.patches
            ), (descriptions[track], low, high)
    assert not ax.get_legend().get_window_extent().overlaps(ax.get_window_extent())
    low, high = ax.get_ylim()  # the widest range clear of the frame
    drawn = summary.track_pct[:, [at[0.01], at[0.99]]]
    assert low < drawn.min() and high > drawn.max()
