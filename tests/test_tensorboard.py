"""With ``tensorboard`` installed, ``crossreg train`` writes the figures of ``metrics.csv``
(and the learning rate) as TensorBoard events beside it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from crossreg.data.store import DataStore
from crossreg.train.board import FOLDER, SCALARS
from crossreg.train.options import TrainOptions
from crossreg.train.trainer import train
from tests.pipeline import small_params

pytest.importorskip("tensorboard")
pytest.importorskip("torch.utils.tensorboard")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def test_events_hold_the_metrics_of_every_epoch_and_phase(
    tmp_path: Path, stores: dict[str, Path]
) -> None:
    tracks = {name: DataStore(d).num_targets for name, d in stores.items()}
    params = tmp_path / "params.json"
    params.write_text(json.dumps(small_params(tracks)))
    # seed 1 draws steps of each genome in both capped joint epochs: every row has a loss
    options = TrainOptions(max_epochs=2, steps_per_epoch=4, finetune_epochs=1, seed=1)
    run = train(params, list(stores.values()), tmp_path / "run", options)
    with open(run / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["phase"] for r in rows} == {"joint", "human", "mouse"}

    events = event_accumulator.EventAccumulator(str(run / FOLDER))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    expected = {f"{r['phase']}/{r['genome']}/{c}" for r in rows for c in SCALARS}
    expected |= {f"{phase}/learning_rate" for phase in ("joint", "human", "mouse")}
    assert tags == expected
    for row in rows:
        for column in SCALARS:
            [event] = [
                e
                for e in events.Scalars(f"{row['phase']}/{row['genome']}/{column}")
                if e.step == int(row["epoch"])
            ]
            assert event.value == pytest.approx(float(row[column]), rel=1e-6, abs=1e-7)
    rates = events.Scalars("joint/learning_rate")
    assert [e.step for e in rates] == [1, 2]
    assert rates[0].value == pytest.approx(small_params(tracks)["train"]["learning_rate"])


def test_without_tensorboard_nothing_is_written(tmp_path: Path, monkeypatch) -> None:
    from crossreg.train import board

    monkeypatch.setattr(board, "summary_writer", lambda folder: None)
    writer = board.MetricsBoard(tmp_path)
    row = {"phase": "joint", "epoch": 1, "genome": "human", **dict.fromkeys(SCALARS, 0.5)}
    writer.epoch([row], 0.01)
    writer.close()
    assert not (tmp_path / FOLDER).exists()
