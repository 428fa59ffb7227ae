"""``crossreg ism --shard i/n`` and ``crossreg ism-merge``: the shards of a run, merged, are
the bytes one run writes (an empty shard too, inputs staged at other paths too, with the
figures one run draws), a shard resumes, and shards of other runs, missing or repeated
ones are refused, naming them, with nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import pytest

from crossreg.cli import build_parser, main
from crossreg.variants import ism
from tests.pipeline import small_ism_world

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


def test_a_shard_refuses_figures_it_would_not_draw(work):
    with pytest.raises(ValueError, match=r"a shard draws no figures.*crossreg ism-merge"):
        _run(_argv(work, work / "fig.0.h5", "--shard", "0/2", "--figures", str(work / "f")))
    assert not (work / "fig.0.h5").exists() and not (work / "f").exists()


def test_shards_of_inputs_staged_at_other_paths_merge(work, whole):
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
    # the attributes are the first shard's, whose paths are the unsharded run's
    assert merged.read_bytes() == whole.read_bytes()


@pytest.mark.parametrize(
    ("option", "value", "change"),
    [
        ("--width", "5", "--width 4 then, 5 now"),
        ("--chunk-size", "3", "--chunk-size 2 then, 3 now"),
        ("--batch-size", "4", "--batch-size 16 then, 4 now"),
        ("--targets", "0-2", "--targets: figure tracks the strongest (no --targets) then, each"),
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
    assert change in message and "--figure-tracks" not in message  # no such option
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


def test_a_stopped_shard_resumes_to_the_bytes_of_an_unbroken_one(work, monkeypatch):
    unbroken = _shards(work, "unbroken", 2)[1]  # sites 2-5: two chunks
    real = ism._site_effects
    calls = []

    def stopped(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the shard's second chunk
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(ism, "_site_effects", stopped)
    out = work / "stopped.1.h5"
    argv = _argv(work, out, "--shard", "1/2", "--no-plots")
    assert main(argv) == 130
    assert not out.exists() and (work / "stopped.1.h5.partial").is_dir()
    monkeypatch.setattr(ism, "_site_effects", real)
    with pytest.raises(ValueError, match=r"--shard 1/2 then, 0/2 now"):
        _run([*_argv(work, out, "--shard", "0/2", "--no-plots"), "--resume"])
    assert _run([*argv, "--resume"]) == 0
    assert out.read_bytes() == unbroken.read_bytes()


def test_each_shard_scores_whole_chunks_of_the_run(work, monkeypatch):
    """A prediction's last bits can depend on the other sequences of its batch, and a
    chunk's sequences are batched on their own: shards that split a chunk would batch its
    sites otherwise than one run, so they take whole chunks."""
    real = ism._site_effects
    chunks: list[list[str]] = []

    def recorded(model, scored, *args, **kwargs):
        chunks.append([site.label for site in scored.sites])
        return real(model, scored, *args, **kwargs)

    monkeypatch.setattr(ism, "_site_effects", recorded)
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
