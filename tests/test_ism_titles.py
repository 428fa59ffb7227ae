"""``crossreg ism --variants-genome``: the output records whose sites which head scored,
as ``crossreg sad`` records it, and every figure's title says so, a merge's too."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest

from crossreg.cli import build_parser, main
from crossreg.errors import Interrupted
from crossreg.variants import ism_score, ism_site_figure
from tests.pipeline import small_ism_world


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """The small one-head (human) model, its genome and a BED of two regions."""
    root = small_ism_world(tmp_path_factory.mktemp("ism_titles"), seed=6)
    (root / "sites.bed").write_text("chr1\t9000\t9030\tr0\nchr1\t9700\t9730\tr1\n")
    return root


def _argv(work: Path, out: Path, *extra: str) -> list[str]:
    argv = ["ism", "--model", str(work / "model"), "--fasta", str(work / "genome.fa")]
    argv += ["--bed", str(work / "sites.bed"), "--width", "4", "--chunk-size", "1"]
    return [*argv, "--out", str(out), *extra]


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


@pytest.fixture
def titles(monkeypatch) -> list[str]:
    """The logo titles of the figures drawn, from their matplotlib text objects."""
    drawn: list[str] = []

    def keep(fig, out, svg=False):
        drawn.append(fig.axes[0].title.get_text())
        return []

    monkeypatch.setattr(ism_site_figure, "save_figure", keep)
    return drawn


def test_the_run_records_the_sites_genome_and_titles_its_figures(work, titles):
    # before: ism took no --variants-genome, and its titles named neither head nor genome
    out = work / "named.h5"
    assert main(_argv(work, out, "--head", "human", "--variants-genome", "human")) == 0
    with h5py.File(out) as h5:
        assert h5.attrs["variants_genome"] == "human" and h5.attrs["genome"] == "human"
        assert json.loads(h5.attrs["settings"])["variants_genome"] == "human"
    lines = [title.split("\n") for title in titles]
    assert [first for first, _ in lines] == ["human regions, human head"] * 2
    assert [site.split()[:2] for _, site in lines] == [
        ["r0", "chr1:9,014-9,017"],
        ["r1", "chr1:9,714-9,717"],
    ]


def test_a_run_without_it_names_its_fasta(work, titles):
    out = work / "unnamed.h5"
    assert main(_argv(work, out)) == 0
    with h5py.File(out) as h5:
        assert "variants_genome" not in h5.attrs
        assert "variants_genome" not in json.loads(h5.attrs["settings"])
    assert len(titles) == 2
    assert all(t.startswith("regions on genome.fa, human head\nr") for t in titles)


def test_a_resume_with_another_sites_genome_is_refused(work):
    out = work / "resumed.h5"
    assert main(_argv(work, out, "--variants-genome", "human", "--no-plots")) == 0
    with pytest.raises(ValueError, match="--variants-genome human then, mouse now") as err:
        _run(_argv(work, out, "--variants-genome", "mouse", "--no-plots", "--resume"))
    assert "change no score: resume with --variants-genome human to leave it" in str(err.value)
    with pytest.raises(ValueError, match="--variants-genome is empty"):
        _run(_argv(work, work / "empty.h5", "--variants-genome", " "))


def test_merged_shards_are_titled_as_one_run(work, titles):
    shards = [work / f"part{i}.h5" for i in range(2)]
    for i, shard in enumerate(shards):
        argv = _argv(work, shard, "--variants-genome", "human", "--no-plots")
        assert main([*argv, "--shard", f"{i}/2"]) == 0
    merged = work / "merged.h5"
    assert main(["ism-merge", "--out", str(merged), *map(str, shards)]) == 0
    with h5py.File(merged) as h5:
        assert h5.attrs["variants_genome"] == "human"
    assert len(titles) == 2
    assert all(t.startswith("human regions, human head\nr") for t in titles)


def test_chunks_resume_with_a_sites_genome_they_were_not_given(work, monkeypatch):
    """Chunks left by a run without --variants-genome (as one from before the option was)
    resume with it: it changes no score, and the output is the bytes of a run given it
    from the start (before: refused, "--variants-genome none then, human now")."""
    named = work / "named_from_the_start.h5"
    assert main(_argv(work, named, "--variants-genome", "human", "--no-plots")) == 0
    out = work / "stopped.h5"
    real, scored = ism_score._site_effects, [0]

    def stopped(*args, **kwargs):
        for effects in real(*args, **kwargs):
            if scored[0] == 1:
                raise KeyboardInterrupt
            scored[0] += 1
            yield effects

    with monkeypatch.context() as patch:
        patch.setattr(ism_score, "_site_effects", stopped)
        with pytest.raises(Interrupted, match="1 of 2 sites kept"):
            _run(_argv(work, out, "--no-plots"))
    assert _run(_argv(work, out, "--variants-genome", "human", "--no-plots", "--resume")) == 0
    assert out.read_bytes() == named.read_bytes()


def test_shards_of_which_one_names_the_sites_genome_merge_named(work):
    shards = [work / f"label{i}.h5" for i in range(2)]
    for i, named in enumerate(([], ["--variants-genome", "human"])):
        argv = _argv(work, shards[i], *named, "--no-plots", "--shard", f"{i}/2")
        assert main(argv) == 0
    merged = work / "label_merged.h5"
    assert main(["ism-merge", "--no-plots", "--out", str(merged), *map(str, shards)]) == 0
    with h5py.File(merged) as h5:
        assert h5.attrs["variants_genome"] == "human"
        assert json.loads(h5.attrs["settings"])["variants_genome"] == "human"
