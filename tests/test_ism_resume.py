"""``crossreg ism`` keeps its finished sites on a stop and continues with ``--resume`` to the
bytes an unbroken run writes."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from crossreg.cli import build_parser, main
from crossreg.errors import Interrupted
from crossreg.io.identity import settings_hash
from crossreg.variants import ism, ism_draw, ism_figures, ism_score
from tests.pipeline import small_ism_world

SITES = 12

# crossreg's command line, each site's scores held back a moment so that a signal lands
# while the run is scoring
SLOW = """
import sys, time
from crossreg.variants import ism_score
real = ism_score._site_effects
def slow(*args, **kwargs):
    for effects in real(*args, **kwargs):
        time.sleep(0.3)
        yield effects
ism_score._site_effects = slow
from crossreg.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A one-chromosome genome, the small model and a BED of :data:`SITES` regions."""
    root = small_ism_world(tmp_path_factory.mktemp("ism_resume"), seed=3)
    rows = [
        f"chr1\t{9000 + 500 * i}\t{9020 + 500 * i}\tr{i}\t0\t{'+-'[i % 2]}" for i in range(SITES)
    ]
    (root / "sites.bed").write_text("\n".join(rows) + "\n")
    return root


def _argv(work: Path, out: Path, *extra: str) -> list[str]:
    argv = ["ism", "--model", str(work / "model"), "--fasta", str(work / "genome.fa")]
    argv += ["--bed", str(work / "sites.bed"), "--width", "4", "--chunk-size", "2"]
    return [*argv, "--no-plots", "--out", str(out), *extra]


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


@pytest.fixture(scope="module")
def unbroken(work) -> Path:
    out = work / "unbroken.h5"
    assert main(_argv(work, out)) == 0
    assert not (work / "unbroken.h5.partial").exists()
    return out


def _kept(out: Path) -> int:
    """The sites the run writing `out` has kept so far."""
    try:
        progress = (out.with_name(out.name + ".partial") / "progress.json").read_text()
    except FileNotFoundError:
        return 0
    return int(json.loads(progress)["alleles_done"])


def _stopping_after(sites: int) -> Callable[..., Iterator[Any]]:
    """ISM's site scoring, interrupted (Ctrl-C) once `sites` sites are scored."""
    real, scored = ism_score._site_effects, [0]

    def stopped(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for effects in real(*args, **kwargs):
            if scored[0] == sites:
                raise KeyboardInterrupt
            scored[0] += 1
            yield effects

    return stopped


def _stopped_mid_run(work: Path, out: Path, signum: int) -> subprocess.CompletedProcess:
    """Run ism (slowed) and send it `signum` once 2 of its chunks (4 sites) are kept."""
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW, *_argv(work, out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while _kept(out) < 4 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_run_keeps_its_sites_and_resumes_to_the_same_bytes(work, unbroken, signum):
    out = work / f"stopped-{signum}.h5"
    done = _stopped_mid_run(work, out, signum)
    assert done.returncode == (130 if signum == signal.SIGINT else 143), done.stderr
    partial = out.with_name(out.name + ".partial")
    kept = _kept(out)
    assert 4 <= kept < SITES and not out.exists()
    last = done.stderr.strip().splitlines()[-1]
    assert last.endswith(
        f"{kept} of {SITES} sites kept in {partial}; rerun with --resume to continue"
    ), done.stderr
    assert "Traceback" not in done.stderr
    with pytest.raises(FileExistsError, match=r"rerun with --resume to continue it \(same model"):
        _run(_argv(work, out))
    assert _run([*_argv(work, out), "--resume"]) == 0
    assert not partial.exists()
    assert out.read_bytes() == unbroken.read_bytes()


def test_a_partial_linked_to_another_disk_keeps_the_sites_there(work, unbroken, tmp_path):
    """``OUT.partial`` linked to a folder on a bigger disk: a stop keeps the sites there
    and the link (before: the run failed making the folder), a resume writes the bytes of
    an unbroken run, emptying the folder and keeping the link."""
    out, scratch = tmp_path / "linked.h5", tmp_path / "scratch"
    scratch.mkdir()
    partial = tmp_path / "linked.h5.partial"
    partial.symlink_to(scratch)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ism_score, "_site_effects", _stopping_after(4))  # two chunks of 2 sites
        with pytest.raises(Interrupted, match=f"4 of {SITES} sites kept in {partial}"):
            _run(_argv(work, out))
    assert partial.is_symlink() and len(list(scratch.glob("chunk-*"))) == 2
    assert _run(_argv(work, out, "--resume")) == 0
    assert out.read_bytes() == unbroken.read_bytes()
    assert partial.is_symlink() and list(scratch.iterdir()) == []


def test_a_resume_with_other_inputs_or_options_is_refused_naming_them(work, unbroken):
    out = work / "changed.h5"
    done = _stopped_mid_run(work, out, signal.SIGINT)
    assert done.returncode == 130, done.stderr
    other = work / "other.bed"
    other.write_text("".join((work / "sites.bed").read_text().splitlines(keepends=True)[:-1]))
    argv = _argv(work, out, "--resume", "--width", "5", "--targets", "0-1", "--stats", "sum")
    argv[argv.index(str(work / "sites.bed"))] = str(other)
    with pytest.raises(ValueError) as refused:
        _run(argv)
    message = str(refused.value)
    assert message.startswith(f"{out}.partial: left by a run with other settings (")
    for change in (
        f"--bed: {(work / 'sites.bed').stat().st_size:,} bytes then, {other.stat().st_size:,} now",
        "--stats sum,center then, sum now",
        "--targets every track then, 0-1 now",
        "--width 4 then, 5 now",
    ):
        assert change in message
    assert _run(_argv(work, out, "--resume", "--batch-size", "16")) == 0
    assert out.read_bytes() == unbroken.read_bytes()


def test_a_refusal_names_targets_as_given(work, tmp_path):
    """``--targets`` by identifier and by a word of the descriptions, stopped and resumed
    with others: the refusal words them as typed (before: the kept tracks' indices, '0,1
    then, 2 now')."""
    out = tmp_path / "named.h5"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ism_score, "_site_effects", _stopping_after(2))  # one chunk of 2 sites
        with pytest.raises(Interrupted, match=f"2 of {SITES} sites kept"):
            _run(_argv(work, out, "--targets", "T0,T1"))
    with pytest.raises(ValueError) as refused:
        _run(_argv(work, out, "--resume", "--targets", "t:2"))
    assert "(--targets T0,T1 then, t:2 now)" in str(refused.value)
    assert _run(_argv(work, out, "--resume", "--targets", "T0,T1")) == 0
    with pytest.raises(ValueError) as refused:
        _run(_argv(work, out, "--resume"))
    assert "(--targets T0,T1 then, every track now)" in str(refused.value)


def _as_recorded_earlier(settings: dict) -> dict:
    """`settings` as an earlier crossreg recorded them: the kept tracks' indices
    (``targets``, here every one of the 3) where ``--targets`` as given is now."""
    assert settings.pop("tracks") is None
    return settings | {"targets": [0, 1, 2]}


def test_a_finished_output_recording_track_indices_resumes(work, unbroken, tmp_path, logs):
    """An output of an earlier crossreg, whose settings hold the kept tracks' indices:
    a resume keeping the same tracks leaves it as it is, one keeping others is refused
    naming the indices as such."""
    out = tmp_path / "earlier.h5"
    out.write_bytes(unbroken.read_bytes())
    with h5py.File(out, "a") as h5:
        h5.attrs["settings"] = json.dumps(_as_recorded_earlier(json.loads(h5.attrs["settings"])))
    recorded = out.read_bytes()
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert _run(_argv(work, out, "--resume")) == 0
    assert f"{out} is complete for these settings; nothing to do" in logs.text
    assert out.read_bytes() == recorded
    with pytest.raises(ValueError) as refused:
        _run(_argv(work, out, "--resume", "--targets", "T1"))
    assert (
        "(--targets 0,1,2 (the tracks' indices, as an earlier crossreg recorded them) then, T1 now)"
    ) in str(refused.value)
    assert out.read_bytes() == recorded


def test_a_partial_run_recording_track_indices_resumes(work, unbroken, tmp_path):
    """``OUT.partial/`` of an earlier crossreg, its settings holding the kept tracks'
    indices: a resume keeping the same tracks continues it to the bytes of an unbroken
    run (but for the settings recorded as they were begun)."""
    out = tmp_path / "earlier.h5"
    real, scored = ism_score._site_effects, []

    def stopped(*args, **kwargs):
        for effects in real(*args, **kwargs):
            if len(scored) == 4:
                raise KeyboardInterrupt
            scored.append(1)
            yield effects

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ism_score, "_site_effects", stopped)
        with pytest.raises(Interrupted):
            _run(_argv(work, out))
    store = out.with_name(out.name + ".partial")
    settings = _as_recorded_earlier(json.loads((store / "settings.json").read_text()))
    (store / "settings.json").write_text(json.dumps(settings, sort_keys=True))
    progress = json.loads((store / "progress.json").read_text())
    (store / "progress.json").write_text(
        json.dumps(progress | {"settings": settings_hash(settings)})
    )
    with pytest.raises(ValueError) as refused:
        _run(_argv(work, out, "--resume", "--targets", "0-1"))
    assert (
        "(--targets 0,1,2 (the tracks' indices, as an earlier crossreg recorded them) "
        "then, 0-1 now)" in str(refused.value)
    )
    assert _run(_argv(work, out, "--resume")) == 0
    with h5py.File(out, "r") as h5, h5py.File(unbroken, "r") as whole:
        assert json.loads(h5.attrs["settings"])["targets"] == [0, 1, 2]
        for name in whole:
            nan = name in ("sum", "center")
            assert np.array_equal(h5[name][()], whole[name][()], equal_nan=nan)


def test_resume_without_a_partial_run_starts_from_the_beginning(work, unbroken):
    out = work / "fresh.h5"
    assert _run(_argv(work, out, "--resume")) == 0
    assert out.read_bytes() == unbroken.read_bytes()


def test_chunks_of_other_sizes_write_the_same_scores(work, unbroken):
    """Each chunk is scored on its own, and a prediction's last bits depend on the other
    sequences in its batch: scores agree to float16 rounding across chunk sizes, the rest
    exactly."""
    out = work / "one_chunk.h5"
    argv = _argv(work, out)
    argv[argv.index("--chunk-size") + 1] = str(SITES)
    assert main(argv) == 0
    with h5py.File(unbroken, "r") as a, h5py.File(out, "r") as b:
        assert sorted(a) == sorted(b) and dict(a.attrs).keys() == dict(b.attrs).keys()
        for key in a:
            one, other = a[key][()], b[key][()]
            if key in ("sum", "center"):
                scale = float(np.abs(one.astype(np.float32)).max())
                np.testing.assert_allclose(other, one, rtol=2e-3, atol=2e-3 * scale)
            else:
                np.testing.assert_array_equal(one, other)


def test_a_resume_of_a_finished_run_does_nothing(work, unbroken, tmp_path, monkeypatch, logs):
    """A job requeued after it finished: the output is left as it is, no site is scored."""
    out = tmp_path / "done.h5"
    out.write_bytes(unbroken.read_bytes())
    written = out.stat().st_mtime_ns
    scored: list[int] = []
    monkeypatch.setattr(ism_score, "_site_effects", lambda *a, **k: scored.append(1) or iter(()))
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert _run(_argv(work, out, "--resume")) == 0
    assert f"{out} is complete for these settings; nothing to do" in logs.text
    assert not scored and out.stat().st_mtime_ns == written
    assert out.read_bytes() == unbroken.read_bytes()


def test_a_resume_of_a_run_finished_with_other_settings_is_refused(work, unbroken, tmp_path):
    out = tmp_path / "done.h5"
    out.write_bytes(unbroken.read_bytes())
    with pytest.raises(ValueError, match="is complete from a run with other settings") as err:
        _run(_argv(work, out, "--resume", "--width", "5", "--shard", "0/2"))
    assert "--width 4 then, 5 now" in str(err.value)
    assert "--shard none (the whole run) then, 0/2 now" in str(err.value)
    assert out.read_bytes() == unbroken.read_bytes()


def test_a_resume_of_an_output_recording_no_settings_scores_it_again(work, unbroken, tmp_path):
    """An output of an earlier crossreg, which recorded no settings: scored again."""
    out = tmp_path / "old.h5"
    out.write_bytes(unbroken.read_bytes())
    with h5py.File(out, "a") as h5:
        del h5.attrs["settings"]
    assert _run(_argv(work, out, "--resume")) == 0
    assert out.read_bytes() == unbroken.read_bytes()


def test_a_resume_of_a_finished_run_draws_figures_it_lacks(work, unbroken, tmp_path, logs, capsys):
    """A run stopped while drawing its figures, or one of them cut short: a resume draws
    them without scoring, saying so (before: "nothing to do", then it drew them); one
    whose figures are all drawn leaves them as they are, and counts them (before: '0
    figures in')."""
    out = tmp_path / "done.h5"
    out.write_bytes(unbroken.read_bytes())
    argv = [a for a in _argv(work, out, "--resume") if a != "--no-plots"]
    folder = ism_draw.figures_folder(out)
    said = f"{out} is complete for these settings but lacks its figures in {folder}; drawing"
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert _run(argv) == 0
    assert said in logs.text and "nothing to do" not in logs.text
    pngs = sorted(p.name for p in folder.glob("*.png"))
    assert len(pngs) == SITES
    figures = {name: (folder / name).read_bytes() for name in pngs}
    assert out.read_bytes() == unbroken.read_bytes()
    (folder / pngs[-1]).unlink()  # as a stop while drawing leaves them
    (folder / pngs[0]).write_bytes(figures[pngs[0]][:100])  # as a copy cut short leaves it
    logs.clear()
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert _run(argv) == 0
    assert said in logs.text
    assert {p.name: p.read_bytes() for p in folder.glob("*.png")} == figures
    drawn = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    capsys.readouterr()
    assert _run(argv) == 0
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == drawn
    assert f"; {SITES} figures in {folder}" in capsys.readouterr().out


def test_a_stop_while_drawing_says_a_resume_draws_the_figures(
    work, unbroken, tmp_path, monkeypatch
):
    """Ctrl-C while the figures are drawn: the message names --resume, which draws them
    without scoring."""
    out = tmp_path / "stopped.h5"
    argv = [a for a in _argv(work, out) if a != "--no-plots"]
    real = ism_figures.plot_ism_file

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ism_figures, "plot_ism_file", stopped)
    with pytest.raises(Interrupted, match="a rerun with --resume draws only them"):
        _run(argv)
    monkeypatch.setattr(ism_figures, "plot_ism_file", real)
    monkeypatch.setattr(ism_score, "_site_effects", lambda *a, **k: pytest.fail("scored again"))
    assert _run([*argv, "--resume"]) == 0
    assert len(list(ism_draw.figures_folder(out).glob("*.png"))) == SITES
    assert out.read_bytes() == unbroken.read_bytes()


def test_a_run_resumed_on_another_device_records_both(work, unbroken, tmp_path, monkeypatch):
    """Stopped on a GPU node, resumed on a CPU node: before, the file recorded only the
    CPU, as if every site were scored there."""
    out = tmp_path / "moved.h5"
    gpu = "cuda: NVIDIA H100 80GB HBM3"
    real, chunks = ism_score._site_effects, []

    def stopped(*args, **kwargs):
        chunks.append(1)
        if len(chunks) == 3:  # two chunks kept
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(ism_score, "_site_effects", stopped)
    monkeypatch.setattr(ism, "device_label", lambda device: gpu)
    with pytest.raises(Interrupted, match="4 of 12 sites kept"):
        _run(_argv(work, out))
    monkeypatch.undo()  # the real scoring and device
    assert _run([*_argv(work, out), "--resume"]) == 0
    with h5py.File(out, "r") as h5, h5py.File(unbroken, "r") as whole:
        assert list(h5.attrs["device"]) == [gpu, "cpu"]
        assert json.loads(h5.attrs["settings"])["options"]["device"] == ["cpu", "cuda"]
        for name in ("sum", "center"):  # all scored on the CPU here
            assert np.array_equal(h5[name][()], whole[name][()], equal_nan=True)


@pytest.fixture(scope="module")
def two_heads(work, tmp_path_factory) -> Path:
    """:func:`work`'s genome and sites with a model of two heads of the same tracks,
    ``human`` and ``mouse``."""
    import torch

    from crossreg.io.targets import Target
    from crossreg.model.checkpoint import make_config, save_checkpoint
    from crossreg.model.params import parse_params
    from crossreg.model.seqnn import SeqNN
    from tests.pipeline import small_params

    root = tmp_path_factory.mktemp("ism_two_heads")
    for name in ("genome.fa", "sites.bed"):
        (root / name).write_bytes((work / name).read_bytes())
    params = small_params({"human": 3, "mouse": 3}, dropout=0.0)
    model = SeqNN(parse_params(params).model, generator=torch.Generator().manual_seed(5))
    targets = [Target(i, f"T{i}", (f"t{i}.bw",), 32.0, 1.0, "sum", f"t:{i}") for i in range(3)]
    heads = {"human": targets, "mouse": targets}
    save_checkpoint(root / "model", model, make_config(model, params, heads))
    return root


@pytest.mark.parametrize("spelling", ["--head", "--genome"])
def test_a_resume_with_another_head_names_the_option_as_typed(two_heads, tmp_path, spelling):
    """Of a finished run and of an interrupted one's chunks alike."""
    done, cut = tmp_path / "done.h5", tmp_path / "cut.h5"
    assert _run(_argv(two_heads, done, "--head", "human")) == 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ism_score, "_site_effects", _stopping_after(2))
        with pytest.raises(Interrupted):
            _run(_argv(two_heads, cut, "--head", "human"))
    for out, refused in ((done, "is complete from"), (cut, "left by")):
        with pytest.raises(ValueError, match=f"{refused} a run with other settings") as err:
            _run(_argv(two_heads, out, spelling, "mouse", "--resume"))
        assert f"{spelling} human then, mouse now" in str(err.value)
