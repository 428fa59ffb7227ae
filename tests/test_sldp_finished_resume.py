"""crossreg sldp --resume of a run that had finished (a cluster job requeued after it
ended): summary.json, written last, records every input by content and every option that
changes the numbers, so such a resume computes nothing when they are the same, is
refused naming each that differs (the outputs left as they are), and computes again,
saying why, outputs of an earlier crossreg, whose summary records none, one whose summary
cannot be read, and one without a table; figures it lacks (or holds cut short) are drawn
from results.tsv."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import pytest

from crossreg.cli import main
from crossreg.stats.sldp import outputs
from crossreg.stats.sldp.checkpoint import CHECKPOINT
from tests.test_sldp_resume import INPUTS, command_line, computed_chroms, files_of, run


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """A copy of the two-chromosome SLDP world (tests/sldp_world.py), to change files in."""
    return Path(shutil.copytree(INPUTS, tmp_path / "inputs"))


def regressions(monkeypatch) -> list[int]:
    """A list that grows by one for each phenotype's sign flips drawn from now on."""
    drawn: list[int] = []
    real = outputs.regress

    def regress(*args, **kwargs):
        drawn.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(outputs, "regress", regress)
    return drawn


def test_a_resume_of_a_finished_run_computes_nothing(world, tmp_path, monkeypatch, capsys):
    # before: the pass and every phenotype's sign flips were computed again
    argv = [*command_line(world), "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    before = files_of(tmp_path / "out")
    computed, drawn = computed_chroms(monkeypatch), regressions(monkeypatch)
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 0
    assert computed == [] and drawn == []
    printed = capsys.readouterr()
    assert f"{tmp_path / 'out'} is complete for these settings; nothing to do" in printed.err
    results = tmp_path / "out" / "results.tsv"
    assert f"SLDP of 2 phenotype(s) × 3 annotation(s) in {results}" in printed.out
    runs_log = "crossreg-runs.jsonl"
    after = files_of(tmp_path / "out")
    assert {k: v for k, v in after.items() if k != runs_log} == {
        k: v for k, v in before.items() if k != runs_log
    }
    # copies of the inputs at other paths are the same run's
    copy = Path(shutil.copytree(world, tmp_path / "staged"))
    run(copy, tmp_path / "out", resume=True)
    assert computed == [] and drawn == []


def test_a_resume_of_a_run_finished_with_other_settings_is_refused_naming_each(
    world, tmp_path, monkeypatch
):
    out = tmp_path / "out"
    run(world, out)
    before = files_of(out)
    computed, drawn = computed_chroms(monkeypatch), regressions(monkeypatch)
    changed = {"seed": 5, "flips": 3_000, "jk_blocks": 12, "verbose_thresh": 0.5, "alpha": 0.0}
    with pytest.raises(ValueError) as refused:
        run(world, out, resume=True, **changed)
    message = str(refused.value)
    assert message.startswith(f"--resume: {out} is complete from a run with other settings (")
    for named in (
        "--seed 0 then, 5 now",
        "--flips 2000 then, 3000 now",
        "--jk-blocks 10 then, 12 now",
        "--verbose-thresh 1.0 then, 0.5 now",
        "--alpha -1.0 then, 0.0 now",
    ):
        assert named in message
    assert message.endswith("or without --resume to compute it again with these")
    # the same files, a background read as a marginal annotation: other numbers
    with pytest.raises(ValueError) as refused:
        run(world, out, resume=True, sannot_chr=[str(world / "annot."), str(world / "bg.")],
            background_sannot_chr=[])  # fmt: skip
    assert "--background-sannot-chr 1 stem(s) then, 0 stem(s) now; " in str(refused.value)
    assert "--sannot-chr 1 stem(s) then, 2 stem(s) now)" in str(refused.value)
    sumstats = world / "pheno_b.sumstats.gz"
    sumstats.write_bytes(sumstats.read_bytes() + b"\n")  # an edited input
    with pytest.raises(ValueError, match=rf"{re.escape(str(sumstats))}: [\d,]+ bytes then"):
        run(world, out, resume=True)
    assert computed == [] and drawn == []
    assert files_of(out) == before  # left as it was


def finished_run(world: Path, out: Path, caplog, **options) -> list[str]:
    """The log of a --resume of the finished run in `out` (whose outputs the caller
    changed): it must compute every chromosome and phenotype again, to the bytes of an
    uninterrupted run."""
    clean = files_of(out.parent / "clean")
    with caplog.at_level(logging.INFO, logger="crossreg"):
        run(world, out, resume=True, **options)
    assert files_of(out) == clean
    return caplog.text


@pytest.fixture
def finished(world, tmp_path) -> Path:
    """A finished run's outputs in tmp_path/out, and a copy in tmp_path/clean."""
    run(world, tmp_path / "clean")
    return Path(shutil.copytree(tmp_path / "clean", tmp_path / "out"))


def test_outputs_of_an_earlier_crossreg_are_computed_again(world, finished, monkeypatch, caplog):
    summary = finished / "summary.json"
    written = json.loads(summary.read_text())
    del written["run"]  # as an earlier crossreg wrote it
    summary.write_text(json.dumps(written, indent=2))
    computed, drawn = computed_chroms(monkeypatch), regressions(monkeypatch)
    text = finished_run(world, finished, caplog)
    assert f"{finished} records no settings (an earlier crossreg wrote it); computing" in text
    assert computed == ["1", "22"] and len(drawn) == 2


def test_a_finished_run_whose_summary_cannot_be_read_is_computed_again(
    world, finished, monkeypatch, caplog
):
    summary = finished / "summary.json"
    summary.write_bytes(summary.read_bytes()[:100])  # cut short
    computed = computed_chroms(monkeypatch)
    text = finished_run(world, finished, caplog)
    assert f"{finished}: its record of the settings, {summary}, cannot be read (" in text
    assert "earlier crossreg" not in text
    assert computed == ["1", "22"]


def test_a_finished_run_without_the_figures_asked_for_draws_them_from_its_results(
    world, tmp_path, monkeypatch, caplog
):
    """A --no-plots run resumed with plots, figures deleted, or an SVG asked for: drawn
    from results.tsv, and listed in summary.json, to an uninterrupted run's bytes, with no
    block pass or sign flips (there was a whole run, the pass and flips again)."""
    run(world, tmp_path / "clean", plots=True)
    run(world, tmp_path / "svg", plots=True, svg=True)
    out = tmp_path / "out"
    run(world, out)  # --no-plots
    computed, drawn = computed_chroms(monkeypatch), regressions(monkeypatch)
    text = finished_run(world, out, caplog, plots=True)
    said = "is complete for these settings but lacks z_heatmap.png, z_correlation.png; drawing"
    assert f"{out} {said}" in text
    (out / "z_correlation.png").unlink()
    finished_run(world, out, caplog, plots=True)
    run(world, out, resume=True, plots=True, svg=True)
    assert files_of(out) == files_of(tmp_path / "svg")
    assert json.loads((out / "summary.json").read_text())["figures"] == [
        "z_heatmap.png", "z_heatmap.svg", "z_correlation.png", "z_correlation.svg"
    ]  # fmt: skip
    (out / "z_heatmap.png").write_bytes(b"")  # emptied, or cut short: drawn again
    cut = (out / "z_correlation.svg").read_bytes()[:-100]
    (out / "z_correlation.svg").write_bytes(cut)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="crossreg"):
        run(world, out, resume=True, plots=True, svg=True)
    said = "is complete for these settings but lacks z_heatmap.png, z_correlation.svg; drawing"
    assert f"{out} {said}" in caplog.text
    assert files_of(out) == files_of(tmp_path / "svg")
    (out / "z_heatmap.png").unlink()  # without --svg: the SVGs go, as in a run without it
    finished_run(world, out, caplog, plots=True)
    assert computed == [] and drawn == []
    assert not (out / CHECKPOINT).exists()
    (out / "results.tsv").unlink()  # removed by hand: the summary alone does not answer
    text = finished_run(world, out, caplog, plots=True)
    assert f"{out} lacks results.tsv, which this run writes" in text
    assert computed == ["1", "22"]


def test_a_finished_run_without_some_chunk_tables_is_computed_again(
    world, finished, monkeypatch, caplog
):
    """Chunk tables deleted by hand: the resume names them and writes them again (it said
    nothing to do, the tables left missing)."""
    tables = sorted(p.relative_to(finished).as_posix() for p in finished.rglob("chunks/*/*.tsv"))
    assert len(tables) == 6  # 2 phenotypes × 3 annotations, every p below --verbose-thresh 1
    (finished / tables[1]).unlink()
    computed = computed_chroms(monkeypatch)
    text = finished_run(world, finished, caplog)
    assert f"{finished} lacks {tables[1]}, which this run writes; computing it again" in text
    assert computed == ["1", "22"]
    for table in tables:
        (finished / table).unlink()
    text = finished_run(world, finished, caplog)
    named = ", ".join(tables[:3])
    assert f"{finished} lacks {named}, and 3 other chunk tables, which this run writes" in text
    computed.clear()
    text = finished_run(world, finished, caplog)  # all there again: nothing to do
    assert f"{finished} is complete for these settings; nothing to do" in text
    assert computed == []
    (finished / "results.tsv").write_text("not a table\n")  # edited by hand
    text = finished_run(world, finished, caplog)
    assert f"{finished} lacks a readable results.tsv (" in text


def test_a_first_run_stopped_before_it_logged_itself_is_rerun_into_its_folder(
    world, tmp_path, monkeypatch
):
    """A first run stopped after writing its outputs and removing its checkpoint, before
    its run log (SIGTERM at the end), leaves them with no log; a rerun without --resume was
    refused until they were removed. They are sldp's own files: it writes them anew."""
    import crossreg.cli as cli

    out = tmp_path / "out"
    argv = [*command_line(world), "--out", str(out)]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "record_run", interrupted)
    assert main(argv) == 130
    assert sorted(p.name for p in out.iterdir()) == ["chunks", "results.tsv", "summary.json"]
    monkeypatch.undo()
    (out / "notes.txt").write_text("mine\n")
    assert main(argv) == 1
    (out / "notes.txt").unlink()
    assert main(argv) == 0
    assert (out / "crossreg-runs.jsonl").is_file()
