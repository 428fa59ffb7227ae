"""``crossreg import-basenji``: what it needs of the targets table, the genome names it
refuses, and an --out that already exists."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import h5py
import pytest

from crossreg.cli import build_parser, main
from crossreg.io.atomic_dir import CONTENTS_FILE
from crossreg.model.checkpoint import read_config
from crossreg.runlog import RUNS_FILE, read_runs

FIXTURES = Path(__file__).parent / "data" / "basenji_fixtures"
PARAMS = FIXTURES / "params_joint_mini.json"
WEIGHTS = {"human": FIXTURES / "model0_best.h5", "mouse": FIXTURES / "model1_best.h5"}
TARGETS = {g: FIXTURES / f"targets_{g}_mini.txt" for g in WEIGHTS}


def _argv(out: Path, *heads: tuple[str, str], params: Path = PARAMS, targets=None) -> list[str]:
    """import-basenji of the fixture files: one (--genome name, file's genome) per head."""
    argv = ["-q", "import-basenji", "--params", str(params)]
    for name, genome in heads:
        table = (targets or {}).get(name, TARGETS[genome])
        argv += ["--weights", str(WEIGHTS[genome]), "--targets", str(table), "--genome", name]
    return [*argv, "--out", str(out)]


def _run(argv: list[str]) -> int:
    """Run a subcommand, letting its errors raise (``main`` would log them)."""
    args = build_parser().parse_args(argv[1:])
    return args.run(args)


def _with_columns(path: Path, table: Path, keep: list[str], genome: str | None = None) -> Path:
    """`table` with only the columns `keep` (and a ``genome`` column of `genome`)."""
    rows = [line.split("\t") for line in table.read_text().splitlines()]
    rows[0][0] = rows[0][0] or "index"
    columns = [rows[0].index(name) for name in keep]
    lines = [[row[c] for c in columns] for row in rows]
    if genome is not None:
        lines = [[*lines[0], "genome"]] + [[*line, genome] for line in lines[1:]]
    path.write_text("".join("\t".join(line) + "\n" for line in lines))
    return path


def _refuse(constant: str) -> None:
    raise AssertionError(f"{constant} is not JSON")


def test_the_targets_table_needs_only_identifier_and_description(tmp_path):
    table = _with_columns(tmp_path / "tracks.txt", TARGETS["human"], ["identifier", "description"])
    assert main(_argv(tmp_path / "ck", ("human", "human"), targets={"human": table})) == 0
    targets = read_config(tmp_path / "ck").targets["human"]
    assert [t.identifier for t in targets] == ["t0", "t1", "t2", "t3", "t4"]
    assert targets[4].description == "CAGE:human mini track 4"
    assert [t.index for t in targets] == [0, 1, 2, 3, 4]
    assert targets[0].files == () and math.isinf(targets[0].clip)
    assert (targets[0].scale, targets[0].sum_stat) == (1.0, "sum")
    # strict JSON: "no clip" is null, not Infinity
    config = json.loads((tmp_path / "ck" / "config.json").read_text(), parse_constant=_refuse)
    assert config["targets"]["human"][0]["clip"] is None
    nameless = _with_columns(tmp_path / "nameless.txt", TARGETS["human"], ["description"])
    with pytest.raises(ValueError, match=r"lacks column\(s\) identifier;.*identifier description"):
        _run(_argv(tmp_path / "x", ("human", "human"), targets={"human": nameless}))


def test_a_genome_name_the_one_head_contradicts_is_refused(tmp_path):
    data = json.loads(PARAMS.read_text())
    del data["model"]["head_human"]
    params = tmp_path / "params_mouse_mini.json"
    params.write_text(json.dumps(data))
    argv = _argv(tmp_path / "wrong", ("human", "mouse"), params=params)
    with pytest.raises(ValueError) as err:
        _run(argv)
    assert str(err.value) == (
        f"--genome human: {params} has one head, 'head_mouse', which predicts mouse; give "
        "--genome mouse, or the params of the human model"
    )
    assert not (tmp_path / "wrong").exists()
    for name in ("mouse", "mm10"):  # another name for the genome is no contradiction
        assert main(_argv(tmp_path / name, (name, "mouse"), params=params)) == 0


def test_a_genome_name_the_tables_genome_column_contradicts_is_refused(tmp_path):
    keep = ["index", "identifier", "file", "clip", "scale", "sum_stat", "description"]
    mouse_rows = _with_columns(tmp_path / "t1.txt", TARGETS["human"], keep, genome="1")
    with pytest.raises(ValueError) as err:
        _run(_argv(tmp_path / "wrong", ("human", "human"), targets={"human": mouse_rows}))
    assert str(err.value) == (
        f"--genome human: every track of {mouse_rows} has genome 1, which is mouse in the "
        "paper's numbering (0 human, 1 mouse); give --genome mouse, or the human targets table"
    )
    human_rows = _with_columns(tmp_path / "t0.txt", TARGETS["human"], keep, genome="0")
    other = _with_columns(tmp_path / "t7.txt", TARGETS["human"], keep, genome="7")
    for i, table in enumerate((human_rows, other)):
        assert main(_argv(tmp_path / f"ok{i}", ("human", "human"), targets={"human": table})) == 0


def test_an_existing_checkpoint_is_replaced_only_with_overwrite(tmp_path, logs):
    out = tmp_path / "ck"
    assert main(_argv(out, ("human", "human"), ("mouse", "mouse"))) == 0
    (out / "notes.txt").write_text("mine\n")
    argv = _argv(out, ("human", "human"))
    assert main(argv) == 1
    assert logs.records[-1].getMessage() == (
        f"--out {out} already holds a checkpoint; pass --overwrite to replace it or choose "
        "another --out"
    )
    assert list(read_config(out).genomes) == ["human", "mouse"]
    # a file crossreg did not write there is not removed (before: --overwrite deleted it)
    assert main([*argv, "--overwrite"]) == 1
    assert logs.records[-1].getMessage() == (
        f"--out {out} holds a checkpoint and also notes.txt, which crossreg did not write "
        "there and --overwrite would remove; move them out or choose another --out"
    )
    assert (out / "notes.txt").read_text() == "mine\n"
    (out / "notes.txt").unlink()
    assert main([*argv, "--overwrite"]) == 0
    assert list(read_config(out).genomes) == ["human"]
    # replaced whole: what the folder held before is gone, and its run log holds this run
    names = [CONTENTS_FILE, "config.json", RUNS_FILE, "model.safetensors"]
    assert sorted(p.name for p in out.iterdir()) == names
    assert [run["command"].endswith("--overwrite") for run in read_runs(out / RUNS_FILE)] == [True]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]  # nothing left beside it


def test_overwrite_replaces_only_a_folder_crossreg_wrote(tmp_path, monkeypatch):
    # before: any folder holding a config.json was a checkpoint, removed whole
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "results.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match=r"has no \.crossreg-contents listing what crossreg"):
        _run([*_argv(folder, ("human", "human")), "--overwrite"])
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "results.csv"]
    out = tmp_path / "ck"
    _run(_argv(out, ("human", "human")))
    monkeypatch.chdir(out)
    with pytest.raises(ValueError, match="holds the current directory"):
        _run([*_argv(out, ("human", "human")), "--overwrite"])
    assert (out / "model.safetensors").is_file()


def test_an_out_that_is_not_a_checkpoint_is_refused(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")
    for extra in ([], ["--overwrite"]):
        with pytest.raises(ValueError, match="exists, is not empty and is not a checkpoint;"):
            _run([*_argv(folder, ("human", "human")), *extra])
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(ValueError, match="is a file, where crossreg writes a folder"):
        _run(_argv(file, ("human", "human")))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(_argv(empty, ("human", "human"))) == 0
    assert list(read_config(empty).genomes) == ["human"]


def test_a_damaged_weights_file_stops_with_a_message_not_a_traceback(tmp_path, logs):
    # before: h5py's KeyError traceback ("object 'moving_mean:0' doesn't exist"), exit 1
    damaged = tmp_path / "model0_best.h5"
    shutil.copy(WEIGHTS["human"], damaged)
    damaged.chmod(0o644)
    with h5py.File(damaged, "r+") as handle:
        del handle["model_weights/batch_normalization_3/batch_normalization_3/moving_mean:0"]
    argv = _argv(tmp_path / "ck", ("human", "human"))
    argv[argv.index(str(WEIGHTS["human"]))] = str(damaged)
    assert main(argv) == 1
    assert logs.records[-1].getMessage() == (
        f"{damaged}: layer 'batch_normalization_3' lists weight "
        "'batch_normalization_3/moving_mean:0' but the file holds no such dataset; the file is "
        "damaged or incomplete; download the Basenji weights file again"
    )
    assert not logs.records[-1].exc_info
    assert not (tmp_path / "ck").exists()


def test_a_file_of_another_head_than_genome_picks_names_the_genome_to_give(tmp_path):
    # before: "layer 'dense_1' ... is Dense kernel [..., 5] but the params build Dense
    # kernel [..., 3] at 'heads.mouse'. Are these the right params (and head) for this file?"
    with pytest.raises(
        ValueError,
        match=r"model0_best\.h5: its head, layer 'dense' \(kernel \[48, 5\]\), predicts 5 "
        r"tracks, as the params' 'head_human' does, but --genome mouse picks 'head_mouse' "
        r"\(kernel \[48, 3\]\); give --genome human",
    ):
        _run(_argv(tmp_path / "out", ("mouse", "human")))
    assert not (tmp_path / "out").exists()


def test_an_interrupt_once_the_checkpoint_is_replaced_keeps_and_records_the_run(
    tmp_path, logs, monkeypatch
):
    """Ctrl-C right after the new checkpoint replaced the old one said "interrupted" and
    recorded no run, though the checkpoint was complete: the run is finished and recorded,
    and the line says so. Stopped before the replacement, the old checkpoint stays and
    the message says that nothing was written."""
    import crossreg.model.keras_import as keras_import

    out = tmp_path / "ck"
    assert main(_argv(out, ("human", "human"), ("mouse", "mouse"))) == 0
    argv = [*_argv(out, ("human", "human")), "--overwrite"]
    save = keras_import.save_checkpoint

    def killed_while_saving(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(keras_import, "save_checkpoint", killed_while_saving)
    assert main(argv) == 130
    assert f"nothing was written: {out} is as it was; rerun the command" in logs.text
    assert list(read_config(out).genomes) == ["human", "mouse"]
    monkeypatch.setattr(keras_import, "save_checkpoint", save)

    def killed_after_the_swap(message, *args):
        if message.startswith("wrote "):
            raise KeyboardInterrupt

    monkeypatch.setattr(keras_import.log, "info", killed_after_the_swap)
    assert main(argv) == 0
    monkeypatch.undo()
    assert f"interrupted after {out} was written whole: the checkpoint is complete" in logs.text
    assert list(read_config(out).genomes) == ["human"]
    assert [run["command"].endswith("--overwrite") for run in read_runs(out / RUNS_FILE)] == [True]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]
