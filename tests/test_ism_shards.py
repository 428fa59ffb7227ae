"""``crossreg ism --shard i/n`` and ``crossreg ism-merge``: the shards of a run, merged, are
the bytes one run writes (an empty shard too, inputs staged at other paths too, with the
figures one run draws), a shard resumes, and shards of other runs, missing or repeated
ones are refused, naming them, with nothing written."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from crossreg.cli import build_parser, main
from crossreg.io.identity import settings_hash
from crossreg.variants import ism_score, ism_settings
from crossreg.variants.ism_merge import merge_ism
from tests.pipeline import small_ism_world, within_float16_rounding

SITES = 5  # 3 chunks of 2 sites: [0, 2), [2, 4), [4, 5)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A one-chromosome genome, the small model and a BED of :data:`SITES` regions."""
    root = small_ism_world(tmp_path_factory.mktemp("ism_shards"), seed=4)
    rows = [
        f"chr1\t{9000 + 700 * i}\t{9030 + 700 * i}\tr{i}\t0\t{'+-'[i % 2]}" for i in range(SITES)
    ]
    (root / "sites.bed").write_text("\n".join(rows) + "\n")
    return root


def _argv(work: Path, out: Path, *extra: str, inputs: Path | None = None) -> list[str]:
    """``crossreg ism`` on the BED's sites, its inputs read from `inputs` (default `work`)."""
    where = inputs or work
    argv = ["ism", "--model", str(where / "model"), "--fasta", str(where / "genome.fa")]
    argv += ["--bed", str(where / "sites.bed"), "--width", "4", "--chunk-size", "2"]
    return [*argv, "--out", str(out), *extra]


def _run(argv: list[str]) -> int:
    """The command, its errors raised (``main`` would print them)."""
    args = build_parser().parse_args(argv)
    return args.run(args)


def _shards(work: Path, name: str, count: int, *extra: str) -> list[Path]:
    """Score shards 0/count … of the run into ``name.i.h5``."""
    paths = [work / f"{name}.{i}.h5" for i in range(count)]
    for i, path in enumerate(paths):
        assert main(_argv(work, path, "--shard", f"{i}/{count}", "--no-plots", *extra)) == 0
    return paths


def _merge(out: Path, shards: list[Path], *extra: str) -> int:
    return _run(["ism-merge", "--out", str(out), *extra, *map(str, shards)])


@pytest.fixture(scope="module")
def whole(work) -> Path:
    """One unsharded run, without figures."""
    out = work / "whole.h5"
    assert main(_argv(work, out, "--no-plots")) == 0
    return out


def _sites(path: Path) -> list[str]:
    with h5py.File(path, "r") as h5:
        return [label.decode() for label in h5["label"][()]]


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_shards_merged_are_the_bytes_of_one_run(work, whole, count, capsys):
    shards = _shards(work, f"n{count}", count)
    labels = [_sites(path) for path in shards]
    in_order = [label for share in labels for label in share]
    assert in_order == [f"r{i}" for i in range(SITES)]  # contiguous, in site order
    if count == 2:  # whole chunks of 2 sites: chunk 0, then chunks 1 and 2
        assert labels == [["r0", "r1"], ["r2", "r3", "r4"]]
    if count == 4:  # 3 chunks for 4 shards: shard 0 holds none
        assert labels[0] == []
    with h5py.File(shards[-1], "r") as h5:
        assert (h5.attrs["shard_index"], h5.attrs["shard_count"]) == (count - 1, count)
    merged = work / f"merged{count}.h5"
    capsys.readouterr()
    assert _merge(merged, shards, "--no-plots") == 0
    assert f"{count} shards, ISM of {SITES} sites × 4 bp × 3 tracks" in capsys.readouterr().out
    assert merged.read_bytes() == whole.read_bytes()
    assert not (work / f"merged{count}.figures").exists()


def test_the_merge_draws_the_figures_one_run_draws(work):
    one = work / "drawn.h5"
    assert main(_argv(work, one, "--targets", "0-1")) == 0
    shards = _shards(work, "drawn_shard", 2, "--targets", "0-1")
    assert not any(work.glob("drawn_shard.*.figures"))  # a shard draws none
    merged = work / "drawn_merged.h5"
    assert _merge(merged, shards) == 0
    assert merged.read_bytes() == one.read_bytes()
    mine = sorted(p.name for p in (work / "drawn_merged.figures").iterdir())
    theirs = sorted(p.name for p in (work / "drawn.figures").iterdir())
    assert mine == theirs and len([n for n in mine if n.endswith(".png")]) == SITES * 2


@pytest.mark.parametrize("count", [2, 4])
def test_vcf_shards_merged_keep_each_records_position_and_alleles(work, count):
    """A VCF of SNPs and deletions in shards (of 4, one empty): the merge joins each
    record's ``pos``, ``ref_allele`` and ``alt_allele`` into the bytes one run writes."""
    seq = (work / "genome.fa").read_text().splitlines()[1]
    vcf = work / "records.vcf"
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT"]
    for i in range(SITES):
        pos = 9000 + 700 * i
        ref, alt = (seq[pos : pos + 3], seq[pos]) if i % 2 else (seq[pos], "CA"[seq[pos] != "A"])
        lines.append(f"chr1\t{pos + 1}\tv{i}\t{ref}\t{alt}")
    vcf.write_text("\n".join(lines) + "\n")

    def argv(out: Path, *extra: str) -> list[str]:
        given = _argv(work, out, "--no-plots", *extra)
        given[given.index("--bed") : given.index("--bed") + 2] = ["--vcf", str(vcf)]
        return given

    one = work / f"records{count}.h5"
    assert main(argv(one)) == 0
    shards = [work / f"records{count}.{i}.h5" for i in range(count)]
    for i, shard in enumerate(shards):
        assert main(argv(shard, "--shard", f"{i}/{count}")) == 0
    merged = work / f"records{count}_merged.h5"
    assert _merge(merged, shards, "--no-plots") == 0
    assert merged.read_bytes() == one.read_bytes()
    with h5py.File(merged, "r") as h5:
        assert h5["pos"][:].tolist() == [9001 + 700 * i for i in range(SITES)]
        assert [len(r) for r in h5["ref_allele"][:]] == [1, 3, 1, 3, 1]
        assert all(len(a) == 1 for a in h5["alt_allele"][:])


def test_shards_of_an_earlier_crossreg_merge_drawing_the_tracks_they_recorded(work):
    """Shards whose settings hold the kept tracks' indices and which tracks the merge
    draws (``figure_tracks``), as an earlier crossreg recorded them, merge and draw a
    figure per site and kept track."""
    shards = _shards(work, "earlier", 2, "--targets", "0-1")
    for path in shards:
        with h5py.File(path, "a") as h5:
            settings = json.loads(h5.attrs["shard_settings"])
            assert settings.pop("tracks") == "0-1" and "figure_tracks" not in settings
            settings |= {"targets": [0, 1], "figure_tracks": ism_settings.FIGURES_EACH}
            h5.attrs["shard_settings"] = json.dumps(settings, sort_keys=True)
            h5.attrs["run_settings"] = settings_hash(settings)
    merged = work / "earlier.h5"
    assert _merge(merged, shards) == 0
    assert len(list((work / "earlier.figures").glob("*.png"))) == SITES * 2


def test_a_shard_refuses_figures_it_would_not_draw(work):
    with pytest.raises(ValueError, match=r"a shard draws no figures.*crossreg ism-merge"):
        _run(_argv(work, work / "fig.0.h5", "--shard", "0/2", "--figures", str(work / "f")))
    assert not (work / "fig.0.h5").exists() and not (work / "f").exists()


def _datasets(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as h5:
        return {name: h5[name][()] for name in h5}


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal arrays, NaN equal to NaN."""
    return np.array_equal(a, b, equal_nan=np.asarray(a).dtype.kind == "f")


def _attrs(path: Path) -> dict[str, object]:
    with h5py.File(path, "r") as h5:
        return dict(h5.attrs.items())


def test_a_run_records_its_inputs_paths_and_content(work, whole):
    attrs = _attrs(whole)
    assert attrs["model"] == str(work / "model") and attrs["fasta"] == str(work / "genome.fa")
    assert attrs["source"] == str(work / "sites.bed")
    inputs = json.loads(str(attrs["inputs"]))
    assert sorted(inputs) == ["bed", "fasta", "model"]
    bed = (work / "sites.bed").read_bytes()
    assert inputs["bed"] == {"sha256": hashlib.sha256(bed).hexdigest(), "size": len(bed)}
    fasta = (work / "genome.fa").read_bytes()
    assert inputs["fasta"] == {"sha256": hashlib.sha256(fasta).hexdigest(), "size": len(fasta)}
    assert sorted(inputs["model"]) == ["config_sha256", "save_id"]


def test_shards_of_inputs_staged_at_other_paths_record_each_shards_paths(work, whole):
    staged = work / "staged"
    staged.mkdir()
    shutil.copytree(work / "model", staged / "model")
    for name in ("genome.fa", "sites.bed"):
        shutil.copyfile(work / name, staged / name)
    first = work / "staged.0.h5"
    assert main(_argv(work, first, "--shard", "0/2", "--no-plots")) == 0
    second = work / "staged.1.h5"
    assert main(_argv(work, second, "--shard", "1/2", "--no-plots", inputs=staged)) == 0
    merged = work / "staged.h5"
    assert _merge(merged, [first, second], "--no-plots") == 0
    mine, theirs = _datasets(merged), _datasets(whole)
    assert mine.keys() == theirs.keys()
    assert all(_same(mine[k], theirs[k]) for k in mine)
    attrs, one_run = _attrs(merged), _attrs(whole)
    for key, name in (("model", "model"), ("fasta", "genome.fa"), ("source", "sites.bed")):
        assert list(attrs.pop(key)) == [str(work / name), str(staged / name)]  # per shard
        one_run.pop(key)
    assert json.loads(str(attrs.pop("shard_layout"))) == [
        {"shard": "0/2", "chunk_size": 2, "batch_size": 16, "device": "cpu", "sites": [0, 2]},
        {"shard": "1/2", "chunk_size": 2, "batch_size": 16, "device": "cpu", "sites": [2, 5]},
    ]
    assert attrs.keys() == one_run.keys() and "chunk_sizes" not in attrs
    assert all(np.array_equal(attrs[k], one_run[k]) for k in attrs)  # "inputs" too


def test_shards_of_other_cuts_of_one_chunk_size_merge_to_the_bytes_of_one_run(work, whole):
    """Shard 1/2 scored again as shards 2/4 and 3/4: the same chunks of 2 sites."""
    first = _shards(work, "recut", 2)[0]
    quarters = [work / f"recut.q{i}.h5" for i in (2, 3)]
    for i, path in zip((2, 3), quarters, strict=True):
        assert main(_argv(work, path, "--shard", f"{i}/4", "--no-plots")) == 0
    assert [_sites(path) for path in quarters] == [["r2", "r3"], ["r4"]]
    merged = work / "recut.h5"
    assert _merge(merged, [first, *quarters], "--no-plots") == 0
    assert merged.read_bytes() == whole.read_bytes()


def test_a_shard_scored_again_with_another_chunk_size_merges_and_says_so(work, whole):
    """Shard 1/2 (sites 2-5) scored again with --chunk-size 1: its sites are batched as a
    run of chunks of 1 batches them, so the merged scores are that run's there, and one
    run's of chunks of 2 to float16 rounding."""
    first = _shards(work, "rechunk", 2)[0]
    second = work / "rechunk.1.h5"
    assert main(_argv(work, second, "--shard", "1/2", "--no-plots", "--chunk-size", "1")) == 0
    merged = work / "rechunk.h5"
    assert _merge(merged, [first, second], "--no-plots") == 0
    ones = work / "ones.h5"
    assert main(_argv(work, ones, "--no-plots", "--chunk-size", "1")) == 0
    mine, twos, by_ones = _datasets(merged), _datasets(whole), _datasets(ones)
    for name in ("sum", "center"):
        assert np.array_equal(mine[name][:2], twos[name][:2], equal_nan=True)
        assert np.array_equal(mine[name][2:], by_ones[name][2:], equal_nan=True)
        assert within_float16_rounding(mine[name], twos[name])
    assert all(_same(mine[k], twos[k]) for k in twos if k not in ("sum", "center"))
    attrs, one_run = _attrs(merged), _attrs(whole)
    assert list(attrs.pop("chunk_sizes")) == [1, 2]
    assert json.loads(str(attrs.pop("shard_layout"))) == [
        {"shard": "0/2", "chunk_size": 2, "batch_size": 16, "device": "cpu", "sites": [0, 2]},
        {"shard": "1/2", "chunk_size": 1, "batch_size": 16, "device": "cpu", "sites": [2, 5]},
    ]
    claimed, whole_run = (json.loads(str(a.pop("settings"))) for a in (attrs, one_run))
    assert claimed.pop("chunk_size") == [1, 2] and whole_run.pop("chunk_size") == 2
    assert claimed == whole_run  # before: the first shard's chunk size, 2
    assert attrs.keys() == one_run.keys()
    assert all(np.array_equal(attrs[k], one_run[k]) for k in attrs)


def test_a_shard_scored_again_with_a_smaller_batch_size_merges_and_says_so(work, whole):
    """Shard 1/2 scored again with --batch-size 5 (the usual fix after running out of GPU
    memory): before, ism-merge refused it as another run's ("--batch-size 16 then, 5
    now"), though batching changes the scores only by rounding."""
    first = _shards(work, "rebatch", 2)[0]
    second = work / "rebatch.1.h5"
    assert main(_argv(work, second, "--shard", "1/2", "--no-plots", "--batch-size", "5")) == 0
    merged = work / "rebatch.h5"
    assert _merge(merged, [first, second], "--no-plots") == 0
    fives = work / "fives.h5"
    assert main(_argv(work, fives, "--no-plots", "--batch-size", "5")) == 0
    mine, sixteens, by_fives = _datasets(merged), _datasets(whole), _datasets(fives)
    for name in ("sum", "center"):
        assert np.array_equal(mine[name][:2], sixteens[name][:2], equal_nan=True)
        assert np.array_equal(mine[name][2:], by_fives[name][2:], equal_nan=True)
        assert within_float16_rounding(mine[name], sixteens[name])
    assert all(_same(mine[k], sixteens[k]) for k in sixteens if k not in ("sum", "center"))
    attrs, one_run = _attrs(merged), _attrs(whole)
    assert list(attrs.pop("batch_sizes")) == [5, 16]
    assert json.loads(str(attrs.pop("shard_layout"))) == [
        {"shard": "0/2", "chunk_size": 2, "batch_size": 16, "device": "cpu", "sites": [0, 2]},
        {"shard": "1/2", "chunk_size": 2, "batch_size": 5, "device": "cpu", "sites": [2, 5]},
    ]
    claimed, whole_run = (json.loads(str(a.pop("settings"))) for a in (attrs, one_run))
    assert claimed["options"].pop("batch_size") == [5, 16]
    assert whole_run["options"].pop("batch_size") == 16
    assert claimed == whole_run  # before: the first shard's batch size, 16
    assert attrs.keys() == one_run.keys()
    assert all(np.array_equal(attrs[k], one_run[k]) for k in attrs)


def test_a_shard_of_another_batch_size_and_another_setting_is_refused_naming_the_other(work):
    shards = _shards(work, "rebatch_width", 2)
    argv = _argv(work, shards[1], "--shard", "1/2", "--no-plots", "--batch-size", "5")
    argv[argv.index("--width") + 1] = "5"
    assert main(argv) == 0
    with pytest.raises(ValueError) as refused:
        _merge(work / "rebatch_width.h5", shards, "--no-plots")
    assert f"another run than {shards[0]} (--width 4 then, 5 now); score" in str(refused.value)


def test_shards_that_ran_on_other_devices_merge_and_record_each_ones(work, whole):
    """Shards of --device auto on a GPU node and a CPU node recorded the same setting
    (auto): the merged file said nothing of where each was scored."""
    assert _attrs(whole)["device"] == "cpu"
    shards = _shards(work, "devices", 2)
    gpu = "cuda: NVIDIA H100 80GB HBM3"
    with h5py.File(shards[1], "a") as h5:  # as a shard scored on a GPU node records it
        h5.attrs["device"] = gpu
    merged = work / "devices.h5"
    assert _merge(merged, shards, "--no-plots") == 0
    mine, theirs = _datasets(merged), _datasets(whole)
    assert mine.keys() == theirs.keys() and all(_same(mine[k], theirs[k]) for k in mine)
    attrs, one_run = _attrs(merged), _attrs(whole)
    assert list(attrs.pop("device")) == ["cpu", gpu]
    assert json.loads(str(attrs.pop("shard_layout"))) == [
        {"shard": "0/2", "chunk_size": 2, "batch_size": 16, "device": "cpu", "sites": [0, 2]},
        {"shard": "1/2", "chunk_size": 2, "batch_size": 16, "device": gpu, "sites": [2, 5]},
    ]
    one_run.pop("device")
    assert attrs.keys() == one_run.keys()
    assert all(np.array_equal(attrs[k], one_run[k]) for k in attrs)


def test_shards_that_miss_or_repeat_sites_are_refused_naming_them(work):
    halves = _shards(work, "tile", 2)  # sites 0-2 and 2-5 in chunks of 2
    cut = {}
    for name, shard, chunk in [("c3", "1/2", "3"), ("c1", "1/2", "1"), ("q2", "2/4", "2")]:
        cut[name] = work / f"tile.{name}.h5"
        argv = _argv(work, cut[name], "--shard", shard, "--no-plots", "--chunk-size", chunk)
        assert main(argv) == 0
    out = work / "tile.h5"
    with pytest.raises(ValueError) as refused:  # 1/2 in chunks of 3 holds sites 3-5
        _merge(out, [halves[0], cut["c3"]], "--no-plots")
    assert str(refused.value) == (
        f"sites 2-3 of the run are in no shard given (after {halves[0]} (sites 0-2: --shard "
        f"0/2 --chunk-size 2), before {cut['c3']} (sites 3-5: --shard 1/2 --chunk-size 3)): "
        f"score --shard 1/2 with --chunk-size 2 and give it in place of {cut['c3']}"
    )
    with pytest.raises(ValueError) as refused:
        _merge(out, [halves[0], cut["c1"], cut["q2"]], "--no-plots")
    assert str(refused.value).startswith(
        f"sites 2-4 of the run are in two shards, {cut['c1']} (sites 2-5: --shard 1/2 "
        f"--chunk-size 1) and {cut['q2']} (sites 2-4: --shard 2/4 --chunk-size 2): give each "
        "site's shard once"
    )
    with pytest.raises(ValueError, match=r"none of the shards is the last of its run \(n-1/n\)"):
        _merge(out, [halves[0], cut["q2"]], "--no-plots")
    with pytest.raises(ValueError) as refused:
        _merge(out, [cut["c1"], halves[0]], "--no-plots")
    assert str(refused.value) == (
        f"give the shards in the order of their sites: {halves[0]} (sites 0-2: --shard 0/2 "
        f"--chunk-size 2), {cut['c1']} (sites 2-5: --shard 1/2 --chunk-size 1)"
    )
    assert not out.exists() and not list(work.glob(".tile.h5*"))


def test_a_shard_still_being_scored_is_refused(work):
    shards = _shards(work, "busy", 2)
    (work / "busy.1.h5.partial").mkdir()  # a rerun of shard 1/2 under way
    out = work / "busy.h5"
    with pytest.raises(ValueError) as refused:
        _merge(out, shards, "--no-plots")
    assert str(refused.value).startswith(
        f"{shards[1]}: {work / 'busy.1.h5.partial'} is beside it, so a run scoring this shard "
        "is under way or was stopped"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("option", "value", "change"),
    [
        ("--width", "5", "--width 4 then, 5 now"),
        ("--targets", "0-2", "(--targets every track then, 0-2 now)"),  # before: 2 lines
    ],
)
def test_a_shard_of_other_settings_is_refused_naming_them(work, option, value, change):
    first = work / f"set{option}.0.h5"
    assert main(_argv(work, first, "--shard", "0/2", "--no-plots")) == 0
    second = work / f"set{option}.1.h5"
    argv = _argv(work, second, "--shard", "1/2", "--no-plots")
    if option in argv:
        argv[argv.index(option) + 1] = value
    else:
        argv += [option, value]
    assert main(argv) == 0
    out = work / f"set{option}.h5"
    with pytest.raises(ValueError) as refused:
        _merge(out, [first, second], "--no-plots")
    message = str(refused.value)
    assert message.startswith(f"{second}: a shard of another run than {first} (")
    assert change in message and "figure tracks" not in message
    assert message.endswith("score every shard with the same model, FASTA, sites and options")
    assert not out.exists() and not list(work.glob(f".set{option}.h5*"))


def test_missing_and_repeated_shards_are_named(work, whole):
    shards = _shards(work, "gap", 3)
    out = work / "gap.h5"
    with pytest.raises(ValueError) as refused:
        _merge(out, [shards[0], shards[2]], "--no-plots")
    assert str(refused.value) == (
        f"the run has 3 shards; 2 were given: {shards[0]} (0/3), {shards[2]} (2/3); missing: 1/3"
    )
    with pytest.raises(ValueError) as refused:
        _merge(out, [shards[0], shards[1], shards[1]], "--no-plots")
    assert str(refused.value).endswith("; missing: 2/3; given twice: 1/3")
    with pytest.raises(ValueError, match=r"shard 2/3 given in place 1; give the shards in order"):
        _merge(out, [shards[0], shards[2], shards[1]], "--no-plots")
    with pytest.raises(ValueError, match="not a shard of a crossreg ism --shard run"):
        _merge(out, [whole], "--no-plots")
    with pytest.raises(ValueError, match=f"{shards[0]}: a crossreg ism file, not a SAD one; join"):
        _run(["sad-merge", "--out", str(out), *map(str, shards)])
    assert not out.exists()


def _stopping_at_the_second_chunk() -> Callable[..., Any]:
    """ISM's site scoring, interrupted (Ctrl-C) when it is called for a second chunk."""
    real, calls = ism_score._site_effects, []

    def stopped(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:  # the shard's second chunk
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    return stopped


def test_a_stopped_shard_resumes_to_the_bytes_of_an_unbroken_one(work, monkeypatch):
    unbroken = _shards(work, "unbroken", 2)[1]  # sites 2-5: two chunks
    real, stopped = ism_score._site_effects, _stopping_at_the_second_chunk()
    monkeypatch.setattr(ism_score, "_site_effects", stopped)
    out = work / "stopped.1.h5"
    argv = _argv(work, out, "--shard", "1/2", "--no-plots")
    assert main(argv) == 130
    assert not out.exists() and (work / "stopped.1.h5.partial").is_dir()
    monkeypatch.setattr(ism_score, "_site_effects", real)
    with pytest.raises(ValueError, match=r"--shard 1/2 then, 0/2 now"):
        _run([*_argv(work, out, "--shard", "0/2", "--no-plots"), "--resume"])
    assert _run([*argv, "--resume"]) == 0
    assert out.read_bytes() == unbroken.read_bytes()


def test_a_stopped_shard_of_an_earlier_crossreg_resumes(work, monkeypatch):
    """``OUT.partial/`` of a shard stopped under an earlier crossreg, whose settings hold
    the kept tracks' indices and ``figure_tracks``: a resume with the same --targets
    continues it, and its shards merge with the figures of each kept track."""
    real, stopped = ism_score._site_effects, _stopping_at_the_second_chunk()
    first = _shards(work, "resumed_earlier", 2, "--targets", "1")[0]
    with h5py.File(first, "a") as h5:
        settings = json.loads(h5.attrs["shard_settings"])
        settings = {k: v for k, v in settings.items() if k != "tracks"}
        settings |= {"targets": [1], "figure_tracks": ism_settings.FIGURES_EACH}
        h5.attrs["shard_settings"] = json.dumps(settings, sort_keys=True)
        h5.attrs["run_settings"] = settings_hash(settings)
    out = work / "resumed_earlier.1.h5"
    out.unlink()
    monkeypatch.setattr(ism_score, "_site_effects", stopped)
    argv = _argv(work, out, "--shard", "1/2", "--no-plots", "--targets", "1")
    assert main(argv) == 130
    monkeypatch.setattr(ism_score, "_site_effects", real)
    store = work / "resumed_earlier.1.h5.partial"
    stored = json.loads((store / "settings.json").read_text())
    stored = {k: v for k, v in stored.items() if k != "tracks"} | {"targets": [1]}
    stored |= {"figure_tracks": ism_settings.FIGURES_EACH}
    (store / "settings.json").write_text(json.dumps(stored, sort_keys=True))
    progress = json.loads((store / "progress.json").read_text())
    (store / "progress.json").write_text(json.dumps(progress | {"settings": settings_hash(stored)}))
    assert _run([*argv, "--resume"]) == 0
    merged = work / "resumed_earlier.h5"
    assert _merge(merged, [first, out]) == 0
    assert len(list((work / "resumed_earlier.figures").glob("*.png"))) == SITES


def test_each_shard_scores_whole_chunks_of_the_run(work, monkeypatch):
    """A prediction's last bits can depend on the other sequences of its batch, and a
    chunk's sequences are batched on their own: shards that split a chunk would batch its
    sites otherwise than one run, so they take whole chunks."""
    real = ism_score._site_effects
    chunks: list[list[str]] = []

    def recorded(model, scored, *args, **kwargs):
        chunks.append([site.label for site in scored.sites])
        return real(model, scored, *args, **kwargs)

    monkeypatch.setattr(ism_score, "_site_effects", recorded)
    assert main(_argv(work, work / "chunks.h5", "--no-plots")) == 0
    one_run = list(chunks)
    assert one_run == [["r0", "r1"], ["r2", "r3"], ["r4"]]
    for count in (2, 3):
        chunks.clear()
        _shards(work, f"chunks{count}", count)
        assert chunks == one_run


def test_a_shard_whose_scores_do_not_read_back_is_named_and_nothing_is_written(work):
    shards = _shards(work, "damaged", 2)
    with h5py.File(shards[1], "r") as h5:
        offset = h5["sum"].id.get_chunk_info(0).byte_offset
    data = bytearray(shards[1].read_bytes())
    data[offset + 10] ^= 0xFF  # a chunk now fails its checksum
    shards[1].write_bytes(bytes(data))
    out = work / "damaged.h5"
    with pytest.raises(ValueError) as refused:
        _merge(out, shards, "--no-plots")
    assert str(refused.value).startswith(f"{shards[1]}: its data do not read back (")
    assert str(refused.value).endswith("score this shard again with crossreg ism --shard i/n")
    assert not out.exists() and not list(work.glob(".damaged.h5*"))


@pytest.mark.parametrize(
    "error",
    [
        KeyError("Unable to synchronously open object (message size exceeds buffer end)"),
        RuntimeError("Unable to synchronously get attribute value (bad local heap signature)"),
        TypeError("Unknown string encoding"),
        OSError("Unable to synchronously read data (wrong B-tree signature)"),
    ],
)
def test_a_shard_hdf5_cannot_parse_is_named(work, monkeypatch, error):
    """A shard whose structure HDF5 cannot parse (a damaged heap, link, object header or
    stored type; these are the errors h5py raised for bytes flipped in such places) stops
    the merge with an error naming the shard, not HDF5's bare error, and writes nothing.
    (A byte flipped at random can also crash the HDF5 library itself: no check made from
    Python catches that, so the errors are raised here where h5py raised them.)"""
    shards = _shards(work, "flip", 2)

    def unreadable(self, name):
        raise error

    monkeypatch.setattr(h5py.AttributeManager, "__getitem__", unreadable)
    with pytest.raises(ValueError, match=re.escape(str(shards[0]))):
        merge_ism(work / "flip.h5", shards, plots=False)
    assert not list(work.glob(".flip.h5*")) and not (work / "flip.h5").exists()


def test_a_shard_whose_dataset_is_not_one_is_named(work):
    shards = _shards(work, "typed", 2)
    with h5py.File(shards[1], "a") as h5:
        del h5["seqs"]
        h5["seqs"] = np.dtype("f4")  # a stored type where the dataset was
    with pytest.raises(ValueError, match=r"typed.1.h5: not a whole crossreg ism shard \(no seqs"):
        _merge(work / "typed.h5", shards, "--no-plots")


def test_an_interrupt_while_the_merge_draws_says_how_to_finish(work, monkeypatch):
    """The merged file is complete; a rerun of ism-merge (no scoring) draws the figures."""
    from crossreg.variants import ism_figures

    shards = _shards(work, "drawing", 2)

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ism_figures, "plot_ism_file", stopped)
    out = work / "drawing.h5"
    with pytest.raises(KeyboardInterrupt) as raised:
        _merge(out, shards)
    message = str(raised.value)
    assert message.startswith(f"{out} is complete, its figures in {work / 'drawing.figures'}")
    assert message.endswith(
        "(or run the same crossreg ism-merge again, which merges the shards anew)"
    )
    assert "scores again" not in message
    monkeypatch.undo()
    assert main(["ism-merge", "--out", str(out), *map(str, shards)]) == 0
    assert len(list((work / "drawing.figures").glob("*.png"))) == SITES


def test_shards_given_another_device_merge_to_one_runs_bytes(work, whole):
    """--device cpu on one node, auto on another (both ran on the CPU here): before,
    ism-merge refused the second as another run's ("--device cpu then, auto now"), though
    the device changes scores only by rounding, and each shard records where it ran."""
    shards = [work / f"device.{i}.h5" for i in range(2)]
    for i, (path, device) in enumerate(zip(shards, ["cpu", "auto"], strict=True)):
        assert main(_argv(work, path, "--shard", f"{i}/2", "--no-plots", "--device", device)) == 0
    merged = work / "device.h5"
    assert _merge(merged, shards, "--no-plots") == 0
    assert merged.read_bytes() == whole.read_bytes()  # both ran on the CPU: one run's bytes
    with h5py.File(shards[1], "a") as h5:  # a shard of a crossreg that recorded no device
        del h5.attrs["device"]
    with pytest.raises(ValueError, match=r"\(--device cpu then, auto now\); score"):
        _merge(work / "device_unrecorded.h5", shards, "--no-plots")
