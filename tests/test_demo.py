"""``crossreg demo --fast``: every step runs and the summary holds what it promises."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import polars as pl
import pytest
from scipy.stats import binomtest

from crossreg.cli import main
from crossreg.data.store import DataStore
from crossreg.demo import demo_params, step_count
from crossreg.demo_clock import CLOCK_FILE
from crossreg.demo_settings import WORLD
from crossreg.demo_summary import ism_summary, store_ceilings
from crossreg.demo_variants import ISM_WIDTH
from crossreg.errors import CommandError
from crossreg.report_summary import DEMO_FOLDERS
from crossreg.runlog import RUNS_FILE
from crossreg.synth.motifs import bundled_motifs
from crossreg.synth.species import DEFAULT_GENOMES
from crossreg.synth.world import MANIFEST
from crossreg.train.state import JSON_FILE
from crossreg.variants.ism_motifs import ENRICHMENT
from crossreg.variants.ism_site_figure import importance
from crossreg.variants.sad_figures import recorded_title
from crossreg.variants.scored_by import figure_title
from tests.browser import CHROMIUM, figures_loaded, screenshot
from tests.pipeline import split_world


def test_fast_demo_writes_every_step_and_the_summary(tmp_path, logs, monkeypatch, capfd):
    monkeypatch.setenv("CROSSREG_PROGRESS", "log")
    monkeypatch.setenv("CROSSREG_PROGRESS_INTERVAL", "0")
    monkeypatch.delenv("RANK", raising=False)
    out = tmp_path / "demo"
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main(["demo", "--fast", "--out", str(out)]) == 0
    says_which_step_it_is_on(logs.messages, capfd.readouterr().err)
    the_report_shows_every_figure(out, tmp_path)
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["genomes"]) == {"human", "mouse"}
    for genome, assays in summary["genomes"].items():
        assert set(assays) == {"ALL", "DNASE", "ATAC", "CHIP", "CAGE"}
        for row in assays.values():
            assert 0.5 < row["ceiling"] <= 1.0
            assert row["joint_over_ceiling"] == pytest.approx(
                row["test_r_joint"] / row["ceiling"], abs=2e-3
            )
            assert 0.0 <= row["reachable_ceiling"] <= row["ceiling"] + 1e-2
            assert row["joint_over_reachable"] == pytest.approx(
                row["test_r_joint"] / row["reachable_ceiling"], abs=2e-3
            )
            assert -1.0 <= row["test_r_joint"] <= 1.0 and -1.0 <= row["test_r_single"] <= 1.0
            assert 0 <= row["improved_by_joint"] <= row["tracks"]
            p = binomtest(row["improved_by_joint"], row["tracks"], 0.5).pvalue
            assert row["binomial_p"] == float(f"{p:.3g}") > 0  # 3 significant digits
        assert (out / "compare" / genome / "scatter.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / "evaluate" / f"joint_on_{genome}" / "metrics.tsv").exists()
        assert (out / "models" / genome / "best" / "model.safetensors").exists()
    assert (out / "models" / "joint" / "metrics.csv").exists()
    assert "joint R" in (out / "summary.txt").read_text()
    # Figure 3: every head of the joint model on every genome's held-out sites
    assert set(summary["transfer"]) == {
        f"{h}_head_on_{g}" for h in ("human", "mouse") for g in ("human", "mouse")
    }
    for key, assays in summary["transfer"].items():
        assert "CAGE" in assays and "DNASE" in assays, key
        for assay, row in assays.items():
            assert {"pairs", "raw_r", "normalised_r_matched", "normalised_r_unmatched"} <= set(row)
            assert row["pairs"] > 0 and row.get("tss", row.get("sites", 0)) > 0, (key, assay)
        assert (out / "transfer" / key / "matrix.tsv").exists()
    assert "transfer at held-out sites" in (out / "summary.txt").read_text()
    # planted variants scored with both heads of the joint model, across species too
    assert set(summary["variants"]) == {
        f"{h}_head_on_{g}" for h in ("human", "mouse") for g in ("human", "mouse")
    }
    for row in summary["variants"].values():
        assert row["pairs_with_effect"] > 0 and 0 <= row["sign_agreement"] <= 1
    assert (out / "variants" / "joint_mouse_head_on_human.tsv").exists()
    # each table's figures say whose variants which head scored
    for head in ("human", "mouse"):
        for genome in ("human", "mouse"):
            table = out / "variants" / f"joint_{head}_head_on_{genome}.tsv"
            assert recorded_title(table) == f"{genome} variants, {head} head"
        panel = out / "sldp" / f"panel.{head}_head.sad.h5"
        assert recorded_title(panel) == f"human variants, {head} head"
    denovo = summary["denovo"]
    assert denovo["cases"] == denovo["controls"] == 20 and 0 <= denovo["risk_auc"] <= 1
    assert (out / "denovo" / "report" / "tracks.tsv").exists()
    assert "de novo variants of 20 cases" in (out / "summary.txt").read_text()
    # SLDP of the panel's SAD from both heads against every tissue's statistics
    assert set(summary["sldp"]) == {
        f"{h}_head_on_{t}" for h in ("human", "mouse") for t in ("liver", "macrophage", "null")
    }
    mouse_tracks = DataStore(out / "data" / "mouse").num_targets
    assert summary["sldp"]["mouse_head_on_null"]["tracks"] == mouse_tracks
    assert summary["sldp"]["mouse_head_on_liver"]["tracks"] > 0
    assert (out / "sldp" / "results" / "z_heatmap.png").read_bytes()[:4] == b"\x89PNG"
    assert "SLDP of the panel" in (out / "summary.txt").read_text()
    # saturation mutagenesis around planted motif-breaking variants, with figures
    ism = summary["ism"]
    assert ism["sites"] == 3 and 0 <= ism["mean_share_on_motif"] <= 1
    assert 0 < ism["mean_share_by_chance"] < 1 and 0 <= ism["sites_motif_named"] <= 3
    assert len(list((out / "ism" / "figures").glob("*.png"))) == 3
    with h5py.File(out / "ism" / "planted_breaks.ism.h5") as handle:  # whose sites, which head
        assert figure_title(dict(handle.attrs)) == "human variants, human head"
    # the ceilings: measured against noise-free targets of the same windows
    data = out / "data"
    ceilings = store_ceilings(data / "human", data / "human.noise_free")
    measured = DataStore(data / "human").targets("test").astype(np.float64)
    clean = DataStore(data / "human.noise_free").targets("test").astype(np.float64)
    for k, (identifier, r) in enumerate(ceilings.items()):
        expected = np.corrcoef(measured[..., k].ravel(), clean[..., k].ravel())[0, 1]
        assert r == pytest.approx(expected, abs=1e-6), identifier
    assert all(
        r == pytest.approx(1.0) for r in store_ceilings(data / "mouse", data / "mouse").values()
    )
    # the reachable ceiling: a model returning the in-window truth reaches 1, and the
    # in-window truth is no closer to the measurements than the noise-free truth
    in_window = data / "human.in_window"
    truth = DataStore(in_window).targets("test").astype(np.float64)
    for k, r in enumerate(store_ceilings(in_window, in_window).values()):
        # 1 where the in-window truth varies over the test windows (a ChIP factor without
        # sites there has only the regional chromatin level, which no window encodes: 0)
        assert r == pytest.approx(1.0 if truth[..., k].std() > 0 else 0.0)
    reachable = store_ceilings(data / "human", in_window)
    for identifier, r in reachable.items():
        assert 0 <= r <= ceilings[identifier] + 1e-2, identifier
    with pytest.raises(CommandError, match="same windows"):
        store_ceilings(data / "human", data / "mouse.noise_free")
    a_stopped_run_resumes_where_it_stopped(out, summary, logs, monkeypatch)


def a_stopped_run_resumes_where_it_stopped(out: Path, summary: dict, logs, monkeypatch) -> None:
    """``--resume`` keeps the world, the finished trainings and SAD tables, redoes what
    is missing, and ends with the summary an unbroken run wrote, timed over its sittings,
    one terminated (SIGTERM) part way among them; it refuses a world made with other
    settings."""
    import crossreg.demo_steps

    trained = {p: p.read_bytes() for p in (out / "models").rglob("*") if p.is_file()}
    gone = out / "variants" / "joint_mouse_head_on_human.tsv"
    gone.unlink()
    (out / "summary.json").unlink()

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)

    with monkeypatch.context() as scoring:  # the resume is terminated scoring the lost table
        scoring.setattr(crossreg.demo_steps, "write_sad", terminated)
        assert main(["demo", "--fast", "--resume", "--out", str(out)]) == 128 + signal.SIGTERM
    (first, _), (stopped, ended) = _sittings(out)
    assert first == pytest.approx(summary["seconds"], abs=0.05) and stopped > 0 and ended
    logs.clear()
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main(["demo", "--fast", "--resume", "--out", str(out)]) == 0
    total = step_count(DEFAULT_GENOMES)
    steps = [line for line in logs.messages if re.match(r"\[\d+/\d+\] ", line)]
    assert [line.split("]")[0] for line in steps] == [f"[{k}/{total}" for k in range(1, total + 1)]
    kept = [line for line in logs.messages if line.startswith("kept from the stopped run: ")]
    assert kept[0].endswith(str(out / "synth"))
    assert not any(line.endswith(gone.name) for line in kept)
    assert len(kept) == 1 + 4 - 1 + 2 + 2  # world, SAD of variants, cohorts, panel
    for path, data in trained.items():
        if path.name in ("training.png", "training.svg") or "tensorboard" in path.parts:
            continue  # redrawn from the same metrics
        if path.name == RUNS_FILE:
            continue  # the resumed run's commands are logged beside the earlier ones
        assert path.read_bytes() == data, path
    resumed = json.loads((out / "summary.json").read_text())
    timed = ("seconds", "sittings", "sitting_seconds")
    assert (resumed["sittings"], summary["sittings"]) == (3, 1)  # the terminated one too
    assert resumed["seconds"] == round(sum(seconds for seconds, _ in _sittings(out)), 1)
    assert resumed["seconds"] > summary["seconds"] + stopped
    assert {k: v for k, v in resumed.items() if k not in timed} == {
        k: v for k, v in summary.items() if k not in timed
    }
    logs.clear()
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main(["demo", "--resume", "--out", str(out)]) == 1
    assert any("(--preset tiny then, mini now)" in line for line in logs.messages)


def says_which_step_it_is_on(lines: list[str], stderr: str) -> None:
    """Each step logs ``[k/N] name``, then its command line, then its own progress (the
    trainings' from their own processes when they run side by side on the CPU)."""
    steps = [(k, line) for k, line in enumerate(lines) if re.match(r"\[\d+/\d+\] ", line)]
    total = step_count(DEFAULT_GENOMES)
    numbers = [line.split("]")[0] for _, line in steps]
    assert numbers == [f"[{k}/{total}" for k in range(1, total + 1)]
    names = [line.split("] ")[1] for _, line in steps]
    assert names[:5] == [
        "synth",
        "split",
        "data human",
        "data human.noise_free",
        "data human.in_window",
    ]
    assert "train joint" in names and names[-1] == "ism planted_breaks.ism.h5"
    for k, _ in steps:
        assert lines[k + 1].startswith("$ crossreg ")
    train_at = names.index("train joint")
    following = lines[steps[train_at][0] : steps[train_at + 1][0]]
    progress = "joint epoch 1: 1/8 steps"
    if any(line.startswith(progress) for line in following):
        return  # trained in this process, one model after another
    # side by side: each process's lines are led by the run they come from
    for run in ("joint", "human", "mouse"):
        assert f"INFO {run}: {progress}" in stderr, run


def the_report_shows_every_figure(out: Path, tmp_path: Path) -> None:
    """``report.html`` embeds every figure of the run and lists every demo step's command;
    in a browser every figure loads (when Chromium is installed)."""
    page = out / "report.html"
    text = page.read_text()
    pngs = list(out.rglob("*.png"))
    assert len(pngs) >= 5 and text.count('class="figure"') == len(pngs)
    # every step, and the demo command itself (before: written before the demo's own entry)
    assert text.count("<code>crossreg ") == step_count(DEFAULT_GENOMES) + 1
    assert "<code>crossreg demo --fast --out" in text
    # the report names a demo step's folder when it is missing: it knows them all
    assert {p.name for p in out.iterdir() if p.is_dir()} == set(DEMO_FOLDERS)
    assert "Steps of the demo without their folder" not in text and "No summary" not in text
    if CHROMIUM is not None:
        assert figures_loaded(page) == (len(pngs), len(pngs))
        assert screenshot(page, tmp_path / "report.png")[:4] == b"\x89PNG"


def test_three_genomes_train_one_trunk_end_to_end(tmp_path):
    """``synth --genomes 3`` → ``split`` on the three pairwise nets → ``data`` per genome →
    ``train`` of one trunk with three heads → ``evaluate`` and ``transfer`` of the third
    genome's head: the commands a user runs, as ``demo --genomes 3`` does (fewer steps)."""
    genomes = ("human", "mouse", "rat")
    world = tmp_path / "world"
    assert main(["-q", "synth", "--genomes", "3", "--no-cohorts", "--out", str(world)]) == 0
    manifest = json.loads((world / "manifest.json").read_text())
    split_world(world, manifest, tmp_path / "split")
    components = (tmp_path / "split" / "components.tsv").read_text()
    assert all(name in components for name in genomes)
    stores = {}
    for name in genomes:
        entry = {k: world / v for k, v in manifest["genomes"][name].items() if isinstance(v, str)}
        stores[name] = tmp_path / "data" / name
        data = ["-q", "data", "--genome", name, "--fasta", str(entry["fasta"])]
        data += ["--targets", str(entry["targets"]), "--gaps", str(entry["gaps"])]
        data += ["--regions", str(tmp_path / "split" / f"{name}.regions.bed")]
        data += ["--seq-length", "8192", "--stride", "4096", "--crop", "8"]
        assert main([*data, "--out", str(stores[name])]) == 0
    tracks = {name: DataStore(stores[name]).num_targets for name in genomes}
    params = tmp_path / "params.json"
    params.write_text(json.dumps(demo_params(tracks)))
    train = ["-q", "train", "--params", str(params), "--max-epochs", "1"]
    train += ["--steps-per-epoch", "3", "--out", str(tmp_path / "joint")]
    assert main([*train, *(a for s in stores.values() for a in ("--data", str(s)))]) == 0
    model = tmp_path / "joint" / "best"
    config = json.loads((model / "config.json").read_text())
    assert set(config["genomes"]) == set(genomes)
    evaluate = ["-q", "evaluate", "--model", str(model), "--data", str(stores["rat"])]
    assert main([*evaluate, "--genome", "rat", "--out", str(tmp_path / "eval")]) == 0
    rows = (tmp_path / "eval" / "metrics.tsv").read_text().splitlines()[1:]
    assert len(rows) == tracks["rat"] == 24 and rows[0].startswith("rn_")
    transfer = ["-q", "transfer", "--model", str(model), "--head", "rat"]
    transfer += ["--data", str(stores["human"]), "--gtf", str(world / "human" / "genes.gtf")]
    assert main([*transfer, "--out", str(tmp_path / "transfer")]) == 0
    pairs = (tmp_path / "transfer" / "transfer.tsv").read_text()
    assert "rn_CAGE_liver" in pairs and "hs_CAGE_liver" in pairs


def test_each_step_logs_its_run_in_its_output_folder(tmp_path):
    """A demo step appends its command to the run log of the folder it writes, as the
    command alone would, so ``crossreg report`` of a sub-folder lists what made it."""
    from crossreg.demo_steps import counting, run_step
    from crossreg.runlog import RUNS_FILE, read_runs

    out = tmp_path / "demo"
    model = out / "models" / "joint"
    train = ["train", "--params", "p.json", "--out", str(model)]
    sad = ["sad", "--vcf", "v.vcf", "--out", str(out / "variants" / "x.tsv")]
    with counting(2, out):
        run_step(train, model.mkdir, parents=True)
        run_step(sad, (out / "variants").mkdir)
    assert [r["command"] for r in read_runs(model / RUNS_FILE)] == ["crossreg " + " ".join(train)]
    (run,) = read_runs(out / "variants" / RUNS_FILE)
    assert run["command"] == "crossreg " + " ".join(sad)
    assert not (out / RUNS_FILE).exists()


@pytest.mark.parametrize("preset", ["mini", "small"])
def test_each_configuration_builds_a_model_of_its_windows(preset):
    """The demo's model maps a window of each configuration to its cropped 128-bp bins;
    ``small`` (the paper's proportions) has 32,768-bp windows and a deeper trunk."""
    import torch

    from crossreg.demo import demo_params
    from crossreg.demo_settings import CONFIGURATIONS
    from crossreg.model.params import parse_params
    from crossreg.model.seqnn import SeqNN

    settings = CONFIGURATIONS[preset]
    params = demo_params({"human": 24, "mouse": 24}, settings)
    model = SeqNN(parse_params(params).model).eval()
    x = torch.zeros(1, settings.seq_length, 4)
    with torch.no_grad():
        y = model(x, "mouse")
    bins = settings.seq_length // 128 - 2 * settings.crop_bins
    assert y.shape == (1, bins, 24)
    blocks = [b for b in params["model"]["trunk"] if b["name"] == "dilated_residual"]
    assert blocks[0]["repeat"] == settings.residual_blocks
    if preset == "small":
        assert settings.seq_length >= 32_768 and settings.region_size == 1_000_000


def test_demo_options_set_the_configuration_they_name(tmp_path, monkeypatch, capsys):
    """``--preset``, ``--epochs``, ``--panel-snps`` and ``--seed`` reach the settings the
    demo runs with; unnamed fields keep the preset's values."""
    import crossreg.demo
    from crossreg.demo_settings import FAST, SMALL

    seen = []

    def run_demo(out, settings, resume, report):
        seen.append(settings)
        return {"settings": {"preset": settings.preset}, "seconds": 1.5, "genomes": {}}

    monkeypatch.setattr(crossreg.demo, "run_demo", run_demo)
    argv = ["demo", "--out", str(tmp_path), "--preset", "small", "--epochs", "7"]
    assert main([*argv, "--panel-snps", "5000", "--seed", "3"]) == 0
    (settings,) = seen
    assert capsys.readouterr().out.startswith("crossreg demo (small preset, 1.5 s)\n")
    assert (settings.preset, settings.max_epochs, settings.panel_snps, settings.seed) == (
        "small",
        7,
        5000,
        3,
    )
    assert settings.seq_length == SMALL.seq_length
    assert main(["demo", "--out", str(tmp_path), "--fast"]) == 0
    assert seen[1].panel_snps == FAST.panel_snps
    with pytest.raises(SystemExit) as stop:
        main(["demo", "--out", str(tmp_path), "--panel-snps", "0"])
    assert stop.value.code == 2
    assert (
        "argument --panel-snps: must be a whole number from 1 to 2,147,483,647, got 0"
        in capsys.readouterr().err
    )
    assert len(seen) == 2


def _skip_steps_after_synth(monkeypatch) -> None:
    """Replace every demo step after the world's making by one that does nothing, and the
    summary table by a fixed text."""
    import crossreg.demo as demo

    for step in ("_split_world", "_train_demo_models"):
        monkeypatch.setattr(demo, step, lambda *args: None)
    for step in ("_transfer_at_tss", "score_variants", "denovo_tests", "sldp_of_panel"):
        monkeypatch.setattr(demo, step, lambda *args: {})
    monkeypatch.setattr(demo, "ism_of_planted_sites", lambda *args: {})
    monkeypatch.setattr(demo, "format_summary", lambda summary: "the table\n")


def test_run_demo_logs_and_leaves_stdout_to_the_command(tmp_path, monkeypatch, capsys, logs):
    """Called from Python, the demo writes its summary and report and logs where they
    are; the summary table on stdout is the command's, as a library prints nothing."""
    import crossreg.demo as demo
    from crossreg.demo_settings import FAST

    monkeypatch.setattr(demo, "_make_world", lambda synth, settings, resume: {"genomes": {}})
    _skip_steps_after_synth(monkeypatch)
    monkeypatch.setattr(demo, "write_report", lambda folder: folder / "report.html")
    with logs.at_level(logging.INFO, logger="crossreg"):
        summary = demo.run_demo(tmp_path, FAST)
    assert summary["settings"]["preset"] == "tiny"
    assert (tmp_path / "summary.txt").read_text() == "the table\n"
    assert f"report: {tmp_path / 'report.html'}" in logs.messages
    assert capsys.readouterr().out == ""


def _fake_clock(monkeypatch) -> list[float]:
    """Make the demo's clock (:mod:`crossreg.demo_clock`) read ``now[0]`` seconds; returns
    `now`, which the test's steps advance."""
    import time
    from types import SimpleNamespace

    import crossreg.demo_clock as demo_clock

    now = [0.0]
    clock = SimpleNamespace(
        perf_counter=lambda: now[0], strftime=time.strftime, localtime=time.localtime
    )
    monkeypatch.setattr(demo_clock, "time", clock)
    return now


def _taking(now: list[float], seconds: float, then: BaseException | None = None):
    """A demo step that takes `seconds` on the clock `now`, then raises `then` if given."""

    def step(*args):
        now[0] += seconds
        if then is not None:
            raise then
        return {}

    return step


def _headline(summary: dict) -> str:
    """summary.txt's first line, of the summary's settings and time."""
    from crossreg.demo_summary import format_summary

    timed = ("settings", "seconds", "sittings", "sitting_seconds")
    kept = {key: summary[key] for key in timed if key in summary}
    return format_summary({**kept, "genomes": {}}).splitlines()[0]


def _sittings(out: Path) -> list[tuple[float, bool]]:
    """Each sitting's seconds and whether it ended, as the demo's time record holds them."""
    recorded = json.loads((out / CLOCK_FILE).read_text())["sittings"]
    return [(sitting["seconds"], sitting["ended"]) for sitting in recorded]


def test_a_resumed_demo_states_the_time_of_all_its_sittings(tmp_path, monkeypatch):
    """A resumed demo's summary gives the run's time over every sitting its time record
    (demo-time.json) holds, those stopped part way too, which the run log never records
    (before: the sittings the run log recorded since its last ``crossreg demo`` without
    ``--resume``: here an earlier run's 500 s and this one, 2 sittings)."""
    import crossreg.demo as demo
    from crossreg.demo_settings import FAST

    monkeypatch.setattr(demo, "_make_world", lambda synth, settings, resume: {"genomes": {}})
    _skip_steps_after_synth(monkeypatch)
    now = _fake_clock(monkeypatch)
    monkeypatch.setattr(demo, "_transfer_at_tss", _taking(now, 12.5))
    out = tmp_path / "demo"
    out.mkdir()
    finished = {"command": "crossreg demo --fast --out demo", "seconds": 500.0}
    (out / RUNS_FILE).write_text(json.dumps(finished) + "\n")  # an earlier, finished run
    stopped = [  # this run's first sitting, terminated, and a resume whose step failed
        {"started": "2026-12-06T09:00:00+0000", "seconds": 1945.553, "ended": True},
        {"started": "2026-12-06T09:40:00+0000", "seconds": 73.25, "ended": True},
    ]
    (out / CLOCK_FILE).write_text(json.dumps({"sittings": stopped}))
    summary = demo.run_demo(out, FAST, resume=True, report=False)
    assert (summary["seconds"], summary["sittings"], summary["sitting_seconds"]) == (
        2031.3,
        3,
        12.5,
    )
    assert (
        _headline(summary) == "crossreg demo (tiny preset, 2031.3 s in 3 sittings, this one 12.5 s)"
    )
    assert _sittings(out) == [(1945.553, True), (73.25, True), (12.5, True)]
    # a summary written before sittings were counted reads as it did
    old = {"settings": {"preset": "mini"}, "seconds": 66.9, "genomes": {}}
    assert _headline(old) == "crossreg demo (mini preset, 66.9 s)"


def test_a_sitting_stopped_part_way_counts_and_an_earlier_run_does_not(tmp_path, monkeypatch):
    """A new run into a finished demo's folder, interrupted, resumed into a step that
    fails and resumed again to the end costs its three sittings, and not the earlier
    run's time (before: the earlier run's 500 s and the last sitting's, as the run log
    records only finished sittings)."""
    import crossreg.demo as demo
    from crossreg.demo_settings import FAST

    monkeypatch.setattr(demo, "_make_world", lambda synth, settings, resume: {"genomes": {}})
    _skip_steps_after_synth(monkeypatch)
    now = _fake_clock(monkeypatch)
    out = tmp_path / "demo"
    monkeypatch.setattr(demo, "_transfer_at_tss", _taking(now, 500.0))
    demo.run_demo(out, FAST, report=False)
    finished = {"command": f"crossreg demo --fast --out {out}", "seconds": 500.0}
    (out / RUNS_FILE).write_text(json.dumps(finished) + "\n")  # as the command logs it
    assert _sittings(out) == [(500.0, True)]
    monkeypatch.setattr(demo, "_transfer_at_tss", _taking(now, 7.2, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        demo.run_demo(out, FAST, report=False)  # a new run, not resumed: its own record
    assert _sittings(out) == [(7.2, True)]
    monkeypatch.setattr(demo, "_transfer_at_tss", _taking(now, 2.5, CommandError("failed")))
    with pytest.raises(CommandError):
        demo.run_demo(out, FAST, resume=True, report=False)
    monkeypatch.setattr(demo, "_transfer_at_tss", _taking(now, 1.0))
    summary = demo.run_demo(out, FAST, resume=True, report=False)
    assert (summary["seconds"], summary["sittings"], summary["sitting_seconds"]) == (10.7, 3, 1.0)
    assert _sittings(out) == [(7.2, True), (2.5, True), (1.0, True)]


def test_a_finished_demo_resumed_adds_no_sitting(tmp_path, monkeypatch):
    """A resume of a demo that finished with these settings has nothing to do: the run's
    time stays as it was, and its summary as it was (before: a second sitting, here
    counted alone, as its run log held no ``crossreg demo``); one that trains further
    (more --epochs) adds its sitting."""
    from dataclasses import replace

    import crossreg.demo as demo
    from crossreg.demo_settings import FAST

    monkeypatch.setattr(demo, "_make_world", lambda synth, settings, resume: {"genomes": {}})
    _skip_steps_after_synth(monkeypatch)
    now = _fake_clock(monkeypatch)
    monkeypatch.setattr(demo, "_transfer_at_tss", _taking(now, 100.0))
    first = demo.run_demo(tmp_path, FAST, report=False)
    written = (tmp_path / "summary.json").read_text()
    monkeypatch.setattr(demo, "_transfer_at_tss", _taking(now, 5.0))
    again = demo.run_demo(tmp_path, FAST, resume=True, report=False)
    assert again == first and (again["seconds"], again["sittings"]) == (100.0, 1)
    assert (tmp_path / "summary.json").read_text() == written
    assert _sittings(tmp_path) == [(100.0, True)]
    further = demo.run_demo(tmp_path, replace(FAST, max_epochs=3), resume=True, report=False)
    assert (further["seconds"], further["sittings"], further["sitting_seconds"]) == (105.0, 2, 5.0)


def test_a_sitting_killed_outright_counts_to_its_last_finished_step(tmp_path, logs):
    """A demo killed outright (SIGKILL) records its time up to its last finished step,
    which a resume counts, warning that the sitting was killed; a record that does not
    read, or none, is named and the run's time counts from the resume."""
    import subprocess
    import sys

    from crossreg.demo_clock import earlier_sittings

    script = """
import os, signal, sys, time
from pathlib import Path
import crossreg.demo as demo
from crossreg.demo_settings import FAST
from crossreg.demo_steps import run_step
demo._make_world = lambda synth, settings, resume: {"genomes": {}}
def split(out, *args):
    run_step(["split", "--out", str(out / "split")], time.sleep, 0.2)
    os.kill(os.getpid(), signal.SIGKILL)
demo._split_world = split
demo.run_demo(Path(sys.argv[1]), FAST, report=False)
"""
    out = tmp_path / "demo"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "python")}
    killed = subprocess.run([sys.executable, "-c", script, str(out)], env=env, check=False)
    assert killed.returncode == -signal.SIGKILL
    ((seconds, ended),) = _sittings(out)
    assert seconds >= 0.2 and not ended
    with logs.at_level(logging.INFO, logger="crossreg"):
        (sitting,) = earlier_sittings(out)
    assert sitting["seconds"] == seconds
    assert any(
        "was killed outright: its time counts to its last finished step" in m for m in logs.messages
    )
    (out / CLOCK_FILE).write_text('{"sittings": [{"seconds": "n/a"}]}')
    logs.clear()
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert earlier_sittings(out) == []
    assert any(
        f"{out / CLOCK_FILE}: not a record of the demo's sittings" in m for m in logs.messages
    )
    (out / CLOCK_FILE).unlink()  # a demo stopped by a version without the record
    logs.clear()
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert earlier_sittings(out) == []
    assert f"{out / CLOCK_FILE}: no record of the earlier sittings' time" in logs.text


def test_the_summary_names_the_accessibility_class_dnase_and_atac():
    """The transfer table names its accessibility class ``DNASE/ATAC`` (before: ``DNASE``,
    whose 6 pairs, ATAC's among them, sat below an accuracy table of 5 DNASE tracks)."""
    from crossreg.demo_summary import format_summary

    row = {"pairs": 6, "sites": 807, "raw_r": 0.776, "normalised_pairs": 6}
    row |= {"normalised_r_matched": 0.8242, "normalised_r_unmatched": -0.1577}
    summary = {"settings": {"preset": "mini"}, "seconds": 1.0, "genomes": {}}
    summary["transfer"] = {"human_head_on_human": {"DNASE": row}}
    lines = format_summary(summary).splitlines()
    assert "DNASE/ATAC, one class, at the 10% most variable bins" in lines[4]
    assert lines[5].split()[:4] == ["head", "on", "genome", "assay"]
    assert lines[6] == (
        "human head on human    DNASE/ATAC     6    807   0.776          6          0.824"
        "           -0.158"
    )


def test_a_finished_demo_resumed_says_its_outputs_are_complete(tmp_path, monkeypatch, logs):
    """A resumed demo that had finished with these settings keeps its outputs as complete
    (before: "kept from the stopped run" of a run that had not stopped); one that stopped,
    or finished with other settings (fewer --epochs), keeps them from the stopped run."""
    from dataclasses import replace

    import crossreg.demo as demo
    from crossreg.demo_settings import FAST
    from crossreg.demo_steps import keep

    def make_world(synth, settings, resume):
        if resume:
            keep(["synth", "--out", str(synth)], synth)
        return {"genomes": {}}

    monkeypatch.setattr(demo, "_make_world", make_world)
    _skip_steps_after_synth(monkeypatch)

    def resumed(settings) -> str:
        logs.clear()
        with logs.at_level(logging.INFO, logger="crossreg"):
            demo.run_demo(tmp_path, settings, resume=True, report=False)
        (said,) = [m for m in logs.messages if str(tmp_path / "synth") in m and "$" not in m]
        return said

    demo.run_demo(tmp_path, FAST, report=False)
    synth = tmp_path / "synth"
    assert resumed(FAST) == f"{synth} is complete for these settings; nothing to do"
    # a model trained to another cap than these settings give it (an earlier version's
    # single-genome models, capped at the joint model's epochs) is trained on
    options = tmp_path / "models" / "joint" / "train_options.json"
    options.parent.mkdir(parents=True)
    options.write_text(json.dumps({"max_epochs": FAST.max_epochs + 1}))
    assert resumed(FAST) == f"kept from the stopped run: {synth}"
    options.write_text(json.dumps({"max_epochs": FAST.max_epochs}))
    assert resumed(FAST) == f"{synth} is complete for these settings; nothing to do"
    assert resumed(replace(FAST, max_epochs=3)) == f"kept from the stopped run: {synth}"
    # that run finished with 3 epochs; one stopped before its summary was written
    (tmp_path / "summary.json").write_text('{"settings": "cut sh')
    assert resumed(FAST) == f"kept from the stopped run: {synth}"
    (tmp_path / "summary.json").unlink()
    assert resumed(FAST) == f"kept from the stopped run: {synth}"


def test_resume_scores_again_what_predates_the_model(tmp_path, monkeypatch):
    """A resumed demo keeps a SAD table written after the model's last save, and scores
    afresh a table or an interrupted run that predates it (a training resumed for more
    epochs saved the model again)."""
    import os

    import crossreg.demo_steps
    from crossreg.model.inference import InferenceOptions
    from crossreg.variants.chunk_store import partial_dir

    model = tmp_path / "best"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"weights")
    scored: list[list[str]] = []
    monkeypatch.setattr(crossreg.demo_steps, "run_step", lambda argv, *a, **k: scored.append(argv))

    def sad(table: Path) -> None:
        argv = ["sad", "--out", str(table)]
        crossreg.demo_steps.sad_step(
            argv, model, tmp_path, tmp_path, table, "human", "human", InferenceOptions(), True
        )

    fresh, stale, interrupted = tmp_path / "fresh.h5", tmp_path / "stale.h5", tmp_path / "i.h5"
    fresh.write_bytes(b"scores")
    stale.write_bytes(b"scores")
    partial_dir(interrupted).mkdir()
    past = (model / "model.safetensors").stat().st_mtime_ns - 10**9
    for old in (stale, partial_dir(interrupted)):
        os.utime(old, ns=(past, past))
    sad(fresh)
    assert scored == [] and fresh.exists()
    sad(stale)
    assert scored == [["sad", "--out", str(stale)]] and not stale.exists()
    sad(interrupted)
    assert scored[-1] == ["sad", "--out", str(interrupted)]  # afresh, not --resume
    assert not partial_dir(interrupted).exists()
    partial_dir(interrupted).mkdir()  # stopped after the model's last save: continued
    sad(interrupted)
    assert scored[-1] == ["sad", "--out", str(interrupted), "--resume"]


def test_a_sad_step_whose_partial_links_to_another_disk_keeps_the_link(tmp_path, monkeypatch):
    """A resumed demo's SAD step with ``OUT.partial`` linked to a scratch folder: a store
    that predates the model is emptied behind the link (rmtree of the link stopped the
    step: 'Cannot call rmtree on a symbolic link') and scored afresh, the link kept; an
    empty linked folder is no run to continue."""
    import os

    import crossreg.demo_steps
    from crossreg.model.inference import InferenceOptions
    from crossreg.variants.chunk_store import partial_dir

    model = tmp_path / "best"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"weights")
    scored: list[list[str]] = []
    monkeypatch.setattr(crossreg.demo_steps, "run_step", lambda argv, *a, **k: scored.append(argv))
    table = tmp_path / "t.h5"
    scratch = tmp_path / "scratch"
    (scratch / "chunk-000000").mkdir(parents=True)
    (scratch / "progress.json").write_text("{}")
    partial_dir(table).symlink_to(scratch)
    past = (model / "model.safetensors").stat().st_mtime_ns - 10**9
    os.utime(scratch, ns=(past, past))
    argv = ["sad", "--out", str(table)]
    crossreg.demo_steps.sad_step(
        argv, model, tmp_path, tmp_path, table, "human", "human", InferenceOptions(), True
    )
    assert scored == [argv]  # afresh, not --resume
    assert partial_dir(table).is_symlink() and list(scratch.iterdir()) == []


@pytest.mark.parametrize("step", ["ism", "evaluate"])
def test_a_stopped_step_is_continued_on_resume_and_scored_afresh_otherwise(
    tmp_path, monkeypatch, step
):
    """The demo's ISM and evaluate steps continue a run stopped midway when the demo
    resumes (ISM called write_ism without resume, so every later demo --resume stopped at
    the left-over OUT.partial/ with 'rerun with --resume'; evaluate without --resume
    refuses its left-over checkpoint), and score afresh when the demo does not resume or
    the model was saved since."""
    import os

    import crossreg.demo_steps
    from crossreg.evaluate.checkpoint import checkpoint_dir
    from crossreg.variants.chunk_store import partial_dir

    model = tmp_path / "best"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"weights")
    calls: list[tuple[list[str], bool]] = []

    def run_step(argv, step, *args, resume, **kwargs):
        calls.append((argv, resume))

    monkeypatch.setattr(crossreg.demo_steps, "run_step", run_step)
    out = tmp_path / ("sites.ism.h5" if step == "ism" else "joint_on_human")
    argv = [step, "--out", str(out)]
    if step == "ism":
        partial = partial_dir(out)

        def run(resume: bool) -> None:
            crossreg.demo_steps.ism_step(argv, model, out, resume, tmp_path, out)
    else:
        partial = checkpoint_dir(out)

        def run(resume: bool) -> None:
            crossreg.demo_steps.evaluate_step(argv, model, tmp_path, out, "human", resume)

    partial.mkdir(parents=True)
    run(True)
    assert calls[-1] == ([*argv, "--resume"], True) and partial.exists()
    run(False)
    assert calls[-1] == (argv, False) and not partial.exists()
    partial.mkdir()
    past = (model / "model.safetensors").stat().st_mtime_ns - 10**9
    os.utime(partial, ns=(past, past))
    run(True)
    assert calls[-1] == (argv, False) and not partial.exists()


def test_ism_summary_counts_only_positions_on_the_chromosome(tmp_path: Path) -> None:
    """A site 10 bp from a chromosome start: its first 10 positions score NaN (not
    mutated) and count neither in the share on the motif nor in the share by chance."""
    off, motif = 10, (20, 30)  # positions of the span
    reference = np.zeros((1, ISM_WIDTH, 4), np.float32)
    reference[0, off:, 0] = 1  # an A at every position on the chromosome
    per_base = np.ones(ISM_WIDTH)
    per_base[motif[0] : motif[1]] = 2.0
    scores = np.zeros((1, ISM_WIDTH, 4, 1), np.float32)
    scores[0, :, 0, 0] = -0.75 * per_base  # importance 4/3 x |reference base's score|
    scores[0, :off] = np.nan
    path = tmp_path / "sites.ism.h5"
    with h5py.File(path, "w") as handle:
        handle["sum"] = scores
        handle["seqs"] = reference.astype(bool)
        handle["chr"] = np.array([b"chr1"])
        handle["start"] = np.array([-off])
        handle["pos"] = np.array([motif[0] - off + 1])  # the VCF's 1-based POS, on the motif
    sites = pl.DataFrame({"chrom": ["chr1"], "start": [motif[0] - off], "end": [motif[1] - off]})
    summary = ism_summary(path, sites)
    on_motif, elsewhere = 2.0 * 10, 1.0 * (ISM_WIDTH - off - 10)
    assert summary["sites"] == 1
    assert summary["mean_share_on_motif"] == round(on_motif / (on_motif + elsewhere), 3)
    assert summary["mean_share_by_chance"] == round(10 / (ISM_WIDTH - off), 3)
    assert summary["sites_above_chance"] == 1


def test_ism_summary_finds_the_motif_site_under_the_variant_pos(tmp_path: Path) -> None:
    """The motif site is the one under the variant's POS, wherever it lies in the span (a
    deletion's REF starts left of the centre): a site under the centre but not under POS
    is not the variant's."""
    seq = np.eye(4, dtype=np.float32)[np.zeros(ISM_WIDTH, dtype=int)]
    _ism_site_file(tmp_path / "site.ism.h5", seq, np.ones(ISM_WIDTH))
    centre = ISM_WIDTH // 2 - 1  # 0-based
    under_centre = pl.DataFrame({"chrom": ["chr1"], "start": [centre], "end": [centre + 5]})
    under_pos = pl.DataFrame({"chrom": ["chr1"], "start": [centre - 8], "end": [centre - 3]})
    with h5py.File(tmp_path / "site.ism.h5", "a") as handle:
        handle["pos"][0] = centre - 4 + 1  # a deletion's POS, 4 bases left of the centre
    assert ism_summary(tmp_path / "site.ism.h5", under_centre)["sites"] == 0
    assert ism_summary(tmp_path / "site.ism.h5", under_pos)["sites"] == 1


def _ism_site_file(path: Path, seq: np.ndarray, per_base: np.ndarray) -> None:
    """An ISM table of one site at chr1:0 over the one-hot `seq` whose reference bases score
    3/4 of `per_base` (importance `per_base`) on its only track."""
    scores = np.zeros((1, len(seq), 4, 1), np.float32)
    scores[0, :, :, 0] = 0.75 * per_base[:, None] * seq
    with h5py.File(path, "w") as handle:
        handle["sum"] = scores
        handle["seqs"] = seq[None].astype(bool)
        handle["chr"] = np.array([b"chr1"])
        handle["start"] = np.array([0])
        handle["pos"] = np.array([len(seq) // 2])  # the VCF's 1-based POS: the span's centre


def test_ism_summary_counts_the_figures_that_name_the_planted_motif(tmp_path: Path) -> None:
    """A CTCF site planted in random DNA: a figure whose importance lies on it names CTCF
    there; one whose importance lies elsewhere, or a site planted as another TF, does not."""
    motifs = list(bundled_motifs().values())
    ctcf = bundled_motifs()["CTCF"]
    rng = np.random.default_rng(3)
    bases = rng.integers(0, 4, ISM_WIDTH)
    at = (ISM_WIDTH - ctcf.length) // 2
    bases[at : at + ctcf.length] = ctcf.counts.argmax(axis=0)
    seq = np.eye(4, dtype=np.float32)[bases]
    on_site = np.full(ISM_WIDTH, 0.01)
    on_site[at : at + ctcf.length] = 1.0
    elsewhere = np.full(ISM_WIDTH, 0.01)
    elsewhere[:10] = 1.0
    site = {"chrom": ["chr1"], "start": [at], "end": [at + ctcf.length]}
    planted = pl.DataFrame({**site, "tf": ["CTCF"]})
    for name, per_base, sites, expected in [
        ("on", on_site, planted, 1),
        ("off", elsewhere, planted, 0),
        ("other", on_site, pl.DataFrame({**site, "tf": ["GATA1"]}), 0),
    ]:
        _ism_site_file(tmp_path / f"{name}.ism.h5", seq, per_base)
        summary = ism_summary(tmp_path / f"{name}.ism.h5", sites, motifs)
        assert summary["sites"] == 1 and summary["sites_motif_named"] == expected, name
    assert "sites_motif_named" not in ism_summary(tmp_path / "on.ism.h5", planted)


def test_a_training_that_replaces_a_run_logs_overwrite(tmp_path, monkeypatch):
    # before: the log said "crossreg train ... --out models/joint", which, run again
    # alone, was refused as its folder holds a run
    import crossreg.demo_steps as steps
    from crossreg.runlog import RUNS_FILE, read_runs
    from crossreg.train.side_by_side import TrainRun

    calls = []
    monkeypatch.setattr(steps, "train", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setattr(steps, "usable_cores", lambda: 1)
    out = tmp_path / "demo"
    fresh, stopped = out / "models" / "joint", out / "models" / "human"
    (stopped / "last").mkdir(parents=True)
    jobs = {
        name: (["train", "--out", str(f)], TrainRun(Path("p.json"), (), f, overwrite=True))
        for name, f in (("joint", fresh), ("human", stopped))
    }
    with steps.counting(2, out):
        steps.train_models(jobs, resume=True)
    assert [c["overwrite"] for c in calls] == [True, False]
    assert read_runs(fresh / RUNS_FILE)[0]["command"].endswith(f"{fresh} --overwrite")
    assert read_runs(stopped / RUNS_FILE)[0]["command"].endswith(f"{stopped} --resume")


def test_out_of_other_files_is_refused_before_any_work(tmp_path, monkeypatch, logs):
    """``--out`` is new, empty or an earlier demo's (finished: its run log names the demo;
    stopped: its world, or the hidden folder it was being written in, is there); a folder
    of the user's files is refused before the demo starts, so that its last steps
    (summary.txt, report.html) overwrite nothing of theirs."""
    import crossreg.demo
    import crossreg.demo_summary

    ran = []
    monkeypatch.setattr(crossreg.demo, "run_demo", lambda out, *a, **k: ran.append(Path(out)))
    monkeypatch.setattr(crossreg.demo_summary, "format_summary", lambda summary: "")
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "report.html").write_text("my report")
    for resume in ([], ["--resume"]):
        logs.clear()
        assert main(["demo", "--fast", *resume, "--out", str(mine)]) == 1
        assert any("files no finished crossreg demo wrote (report.html" in m for m in logs.messages)
    assert ran == [] and (mine / "report.html").read_text() == "my report"
    stopped, finished = tmp_path / "stopped", tmp_path / "finished"
    (stopped / "synth").mkdir(parents=True)
    (stopped / "split").mkdir()
    killed = tmp_path / "killed"  # while its world was being written
    (killed / ".synth.partial").mkdir(parents=True)
    early = tmp_path / "early"  # before its world was begun: its time record alone
    early.mkdir()
    (early / CLOCK_FILE).write_text('{"sittings": []}')
    finished.mkdir()
    (finished / RUNS_FILE).write_text(
        json.dumps({"command": f"crossreg demo --fast --out {finished}", "seconds": 1.0}) + "\n"
    )
    (finished / "summary.txt").write_text("an earlier demo's summary")
    for out in (tmp_path / "new", stopped, finished, killed, early):
        assert main(["demo", "--fast", "--out", str(out)]) == 0
    assert main(["demo", "--fast", "--resume", "--out", str(stopped)]) == 0
    assert ran == [tmp_path / "new", stopped, finished, killed, early, stopped]


def test_resume_on_another_world_is_refused_before_saying_it_is_kept(tmp_path, logs):
    """``--resume`` with settings other than the stopped run's is refused with its one
    error, before the step is counted: the world was said to be kept (``[1/32] synth``,
    ``kept from the stopped run``) and then refused."""
    world = tmp_path / "demo" / "synth"
    world.mkdir(parents=True)
    manifest = {"preset": "tiny", "seed": 0, "genomes": {"human": {}, "mouse": {}}}
    (world / "manifest.json").write_text(json.dumps(manifest))
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main(["demo", "--fast", "--seed", "1", "--resume", "--out", str(world.parent)]) == 1
    # before: "holds a world of preset tiny, seed 0 and 2 genomes, not tiny, 1 and 2"
    assert any("other settings (--seed 0 then, 1 now)" in m for m in logs.messages)
    assert not any(m.startswith(("kept from", "[1/")) for m in logs.messages)


def test_resume_with_fewer_epochs_than_the_models_trained_is_refused_first(tmp_path, logs):
    """``--resume --epochs 1`` on a demo whose models trained three epochs kept the
    three-epoch models while summary.json recorded one epoch; it is refused before any
    step, naming both numbers."""
    out = tmp_path / "demo"
    world = out / "synth"
    world.mkdir(parents=True)
    manifest = {"preset": "tiny", "seed": 0, "genomes": {"human": {}, "mouse": {}}}
    (world / "manifest.json").write_text(json.dumps(manifest))
    last = out / "models" / "joint" / "last"
    last.mkdir(parents=True)
    state = {"extra": {"run": {"phase": "joint", "epoch": 3, "finished_phases": []}}}
    (last / "training_state.json").write_text(json.dumps(state))
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main(["demo", "--fast", "--epochs", "1", "--resume", "--out", str(out)]) == 1
    refusal = f"the model {last.parent} has trained 3 epochs, more than the 1 that --epochs 1"
    assert any(refusal in m and "resume with --epochs 3 or more" in m for m in logs.messages)
    assert not any(m.startswith(("kept from", "[1/")) for m in logs.messages)


def test_single_genome_models_may_take_as_many_steps_as_the_joint_model():
    """A joint epoch holds both genomes' batches (the mini world's 206 human and 184 mouse
    batches: 390 steps); with the joint model's 24 epochs and patience 5 the single-genome
    models trained about half its steps, still improving at their last epoch, and compare
    credited joint training with what was only more steps. Their caps and patience scale
    with the steps an epoch takes; where --steps-per-epoch caps every epoch alike, they
    stay the joint model's."""
    from crossreg.demo_schedules import single_genome_schedules
    from crossreg.demo_settings import FAST, MINI

    schedules = single_genome_schedules(MINI, {"human": 206, "mouse": 184})
    assert schedules == {"human": (45, 9), "mouse": (51, 11)}
    for genome, batches in {"human": 206, "mouse": 184}.items():
        assert abs(schedules[genome][0] * batches - 24 * 390) <= batches / 2
    assert single_genome_schedules(FAST, {"human": 206, "mouse": 184}) == {
        "human": (2, 1),
        "mouse": (2, 1),
    }
    assert single_genome_schedules(replace(MINI, steps_per_epoch=200), {"a": 150, "b": 400}) == {
        "a": (32, 7),
        "b": (24, 5),
    }


def test_a_single_genome_model_is_held_to_its_own_scaled_epochs_on_resume(tmp_path, logs, stores):
    """A single-genome model may train more epochs than ``--epochs`` (its epochs are
    shorter than the joint model's): a resume keeps it up to its own cap and refuses past
    it, naming the ``--epochs`` that would allow it."""
    out = tmp_path / "demo"
    (out / "synth").mkdir(parents=True)
    manifest = {"preset": "mini", "seed": 0, "genomes": {"human": {}, "mouse": {}}}
    (out / "synth" / "manifest.json").write_text(json.dumps(manifest))
    for genome, train in (("human", 100), ("mouse", 40)):  # batches of 4: 25 and 10
        meta = json.loads((stores[genome] / "dataset.json").read_text())
        meta["splits"] = {"train": {"offset": 0, "count": train}}
        (out / "data" / genome).mkdir(parents=True)
        (out / "data" / genome / "dataset.json").write_text(json.dumps(meta))
    last = out / "models" / "mouse" / "last"
    last.mkdir(parents=True)
    state = {"extra": {"run": {"phase": "single", "epoch": 8, "finished_phases": []}}}
    (last / "training_state.json").write_text(json.dumps(state))
    # a joint epoch takes 35 steps, a mouse epoch 10: --epochs 2 lets the mouse model train
    # round(2 * 3.5) = 7 epochs, --epochs 3 lets it train 10
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main(["demo", "--epochs", "2", "--resume", "--out", str(out)]) == 1
    refusal = f"the model {last.parent} has trained 8 epochs, more than the 7 that --epochs 2"
    assert any(refusal in m and "resume with --epochs 3 or more" in m for m in logs.messages)


def test_the_demos_stores_record_the_worlds_assembly_not_the_fasta_name(tmp_path, monkeypatch):
    """Every world's FASTA is ``genome.fa``: without ``--assembly`` each store recorded the
    assembly 'genome', and transfer's messages named the store's genome 'human (genome)'."""
    import crossreg.demo_stores
    from crossreg.demo_settings import FAST

    calls = []
    monkeypatch.setattr(
        crossreg.demo_stores, "run_step", lambda argv, *a, **k: calls.append((argv, k))
    )
    files = {k: tmp_path / f"{k}.x" for k in ("fasta", "blacklist", "unmappable", "gaps")}
    crossreg.demo_stores.build_store(
        "human", files, tmp_path / "t.txt", tmp_path / "r.bed", tmp_path, FAST
    )
    ((argv, kwargs),) = calls
    assert argv[argv.index("--assembly") + 1] == "synth-tiny-seed0"
    assert kwargs["options"].assembly == "synth-tiny-seed0"


def test_a_demo_stopped_part_way_leaves_no_earlier_summary(tmp_path, monkeypatch):
    """A demo run again into a finished one's folder (another seed) and stopped after its
    first steps leaves no summary or report of the earlier run; before, the earlier
    summary.txt and report.html stayed beside the new run's evaluate and compare tables,
    and ``crossreg report`` showed the earlier run's R above the new run's."""
    import crossreg.demo as demo
    from crossreg.demo_settings import FAST

    monkeypatch.setattr(demo, "_make_world", lambda synth, settings, resume: {"genomes": {}})
    _skip_steps_after_synth(monkeypatch)
    monkeypatch.setattr(demo, "write_report", lambda folder: (folder / "report.html").touch())
    demo.run_demo(tmp_path, FAST)
    written = ("summary.json", "summary.txt", "report.html")
    assert all((tmp_path / name).is_file() for name in written)

    def stopped(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "_transfer_at_tss", stopped)
    with pytest.raises(KeyboardInterrupt):
        demo.run_demo(tmp_path, FAST)
    assert [name for name in written if (tmp_path / name).exists()] == []


@pytest.mark.parametrize("other", ["seed", "epochs"])
def test_a_refused_resume_keeps_the_finished_demos_summary(tmp_path, other):
    """``demo --resume`` with another --seed than its world's, or fewer --epochs than its
    models trained, is refused before any step; the earlier summary.json, summary.txt and
    report.html had already been removed, so a mistyped option cost a finished demo its
    summary and report."""
    import dataclasses

    import crossreg.demo as demo
    from crossreg.demo_settings import FAST

    world = tmp_path / WORLD
    world.mkdir()
    made = {"preset": FAST.preset, "seed": FAST.seed, "genomes": {"human": {}, "mouse": {}}}
    (world / MANIFEST).write_text(json.dumps(made))
    trained = tmp_path / "models" / "joint" / "last" / JSON_FILE
    trained.parent.mkdir(parents=True)
    trained.write_text(json.dumps({"extra": {"run": {"epoch": FAST.max_epochs}}}))
    written = ("summary.json", "summary.txt", "report.html")
    for name in written:
        (tmp_path / name).write_text("the finished run's\n")
    if other == "seed":
        settings = dataclasses.replace(FAST, seed=FAST.seed + 1)
        # before: "holds a world of preset fast, seed 0 and 2 genomes, not fast, 1 and 2"
        refusal = (
            rf"world made with other settings \(--seed {FAST.seed} then, {FAST.seed + 1} now\)"
        )
    else:
        settings = dataclasses.replace(FAST, max_epochs=FAST.max_epochs - 1)
        refusal = "has trained"
    with pytest.raises(CommandError, match=refusal):
        demo.run_demo(tmp_path, settings, resume=True)
    assert [name for name in written if (tmp_path / name).is_file()] == list(written)
    assert not (tmp_path / CLOCK_FILE).exists()  # no sitting counted


def test_ism_summary_judges_a_site_off_a_chromosome_end_as_its_figure_does(
    tmp_path: Path,
) -> None:
    """A CTCF site in a span whose first 10 positions lie off the chromosome: the figure,
    drawn over the positions on it, takes the span's mean |importance| over those, and at
    this importance does not mark CTCF (its bases carry under twice the mean); the summary
    counts it as the figure shows it, not over the whole span with the 10 off it as 0."""
    motifs = list(bundled_motifs().values())
    ctcf = bundled_motifs()["CTCF"]
    off = 10
    rng = np.random.default_rng(3)
    bases = rng.integers(0, 4, ISM_WIDTH)
    at = (ISM_WIDTH - ctcf.length) // 2
    bases[at : at + ctcf.length] = ctcf.counts.argmax(axis=0)
    seq = np.eye(4, dtype=np.float32)[bases]
    seq[:off] = 0
    on = ISM_WIDTH - off
    # the importance on the chromosome sums to 0.55 * on: a mean of 0.55 over it, 0.46 over
    # the span, so CTCF's bases (1.0) carry under twice the first and over twice the second
    per_base = np.full(ISM_WIDTH, (0.55 * on - ctcf.length) / (on - ctcf.length))
    per_base[at : at + ctcf.length] = 1.0
    per_base[:off] = 0
    scores = np.zeros((1, ISM_WIDTH, 4, 1), np.float32)
    scores[0, :, :, 0] = 0.75 * per_base[:, None] * seq
    scores[0, :off] = np.nan
    path = tmp_path / "edge.ism.h5"
    with h5py.File(path, "w") as handle:
        handle["sum"] = scores
        handle["seqs"] = seq[None].astype(bool)
        handle["chr"] = np.array([b"chr1"])
        handle["start"] = np.array([-off])
        handle["pos"] = np.array([at - off + 1])  # the VCF's 1-based POS, on CTCF's first base
    on_chromosome = slice(off, None)
    drawn = importance(scores[0, on_chromosome, :, 0], seq[on_chromosome])
    floor = ENRICHMENT * float(np.abs(drawn).mean())
    assert floor > 1.0 > ENRICHMENT * float(np.abs(drawn).sum()) / ISM_WIDTH  # the case
    planted = pl.DataFrame(
        {"chrom": ["chr1"], "start": [at - off], "end": [at - off + ctcf.length], "tf": ["CTCF"]}
    )
    summary = ism_summary(path, planted, motifs)
    assert summary["sites"] == 1 and summary["sites_motif_named"] == 0


def test_a_sitting_that_fails_where_its_time_cannot_be_saved_raises_its_own_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A step's error, not the full disk's met while saving the sitting's time, is raised;
    the failed save is logged."""
    from crossreg import demo_clock

    with demo_clock.sitting_clock(tmp_path, resume=False, finished=False):
        pass
    assert json.loads((tmp_path / CLOCK_FILE).read_text())["sittings"][0]["ended"]

    def full_disk(self: demo_clock.DemoClock, *, ended: bool = False) -> None:
        raise OSError(28, "No space left on device")

    with (
        pytest.raises(RuntimeError, match="the step's own error"),
        demo_clock.sitting_clock(tmp_path, resume=True, finished=False),
    ):
        monkeypatch.setattr(demo_clock.DemoClock, "save", full_disk)
        raise RuntimeError("the step's own error")
    assert "this sitting's time could not be saved" in caplog.text


class _ReadError(Exception):
    """Raised by a step stub once it has noted the model a step reads."""


def test_every_step_after_training_reads_the_checkpoint_the_training_saves(
    tmp_path, monkeypatch, stores
):
    """Each training run writes into its own folder under models/, its best checkpoint in
    ``best`` there; evaluate reads the joint and the genome's own model from theirs, and
    transfer, SAD, de novo, SLDP and ISM the joint model's, all through one path
    (:func:`crossreg.demo_settings.best_model`)."""
    import crossreg.demo as demo
    import crossreg.demo_variants as variants
    from crossreg.demo_settings import FAST, JOINT, best_model

    out = tmp_path / "demo"
    jobs: dict = {}
    monkeypatch.setattr(demo, "train_models", lambda found, resume: jobs.update(found))
    demo._train_demo_models(out, stores, FAST, False)
    assert set(jobs) == {JOINT, *stores}
    saved = {}
    for run, (argv, job) in jobs.items():
        assert argv[argv.index("--out") + 1] == str(job.out)
        assert job.params.parent == job.out.parent == out / "models"
        saved[run] = job.out / "best"  # where the trainer saves the best epoch
    assert all(best_model(out, run) == saved[run] for run in jobs)

    read: list[tuple[str, Path]] = []

    def note(step: str, model: Path) -> None:
        read.append((step, Path(model)))
        raise _ReadError

    def evaluate(argv, model, *args):
        read.append(("evaluate", Path(model)))
        return {}

    monkeypatch.setattr(demo, "evaluate_step", evaluate)

    def step(argv, write, *args, **kw):
        if argv[0] == "transfer":
            read.append(("transfer", Path(args[0])))
        raise _ReadError

    monkeypatch.setattr(demo, "run_step", step)
    with pytest.raises(_ReadError):  # the compare after both evaluations
        demo._evaluate_genome(out, "human", stores["human"], False)
    assert read == [("evaluate", saved[JOINT]), ("evaluate", saved["human"])]
    read.clear()
    synth = stores["human"].parent / "synth"
    manifest = json.loads((synth / MANIFEST).read_text())
    with pytest.raises(_ReadError):
        demo._transfer_at_tss(out, synth, manifest, stores)
    monkeypatch.setattr(variants, "sad_step", lambda argv, model, *args: note("sad", model))
    monkeypatch.setattr(variants, "ism_step", lambda argv, model, *args, **kw: note("ism", model))
    for step, args in (
        (variants.score_variants, (manifest, stores, False)),
        (variants.denovo_tests, (manifest, False)),
        (variants.sldp_of_panel, (manifest, FAST, False)),
        (variants.ism_of_planted_sites, (manifest, FAST, False)),
    ):
        with pytest.raises(_ReadError):
            step(out, synth, *args)
    assert [step for step, _ in read] == ["transfer", "sad", "sad", "sad", "ism"]
    assert {model for _, model in read} == {saved[JOINT]}
