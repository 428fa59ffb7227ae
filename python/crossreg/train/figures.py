"""Training curves from ``metrics.csv``: train loss, validation loss and validation
Pearson R per epoch, one colour per head, one line style per phase (the joint phase
solid, each genome's fine-tuning dashed and continuing after the joint epochs, past a
dotted divider; a ``crossreg finetune`` run, without a joint phase, has its new head's
curve alone and no divider). An empty cell (the training loss of a genome that took no
step in an epoch) is left out of its curve."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from crossreg.plots import (
    check_plot_options,
    colours,
    new_figure,
    remove_stale_figures,
    save_figure,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: (column of metrics.csv, panel title, y label)
PANELS = (
    ("train_loss", "training loss", "Poisson loss"),
    ("valid_loss", "validation loss", "Poisson loss"),
    ("valid_pearson_r", "validation Pearson R", "mean Pearson R over tracks"),
)
FIGURE = "training.png"


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The rows of a ``metrics.csv``."""
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def curves(rows: list[dict[str, str]]) -> dict[tuple[str, str], tuple[list[int], dict]]:
    """``(phase, genome)`` → (epochs on one axis, ``{column: values}``): fine-tuning
    epochs are counted on after the joint phase's last epoch."""
    joint_end = max((int(r["epoch"]) for r in rows if r["phase"] == "joint"), default=0)
    out: dict[tuple[str, str], tuple[list[int], dict]] = {}
    for row in rows:
        epochs, values = out.setdefault((row["phase"], row["genome"]), ([], {}))
        epoch = int(row["epoch"])
        epochs.append(epoch if row["phase"] == "joint" else joint_end + epoch)
        for column, _, _ in PANELS:
            values.setdefault(column, []).append(_number(row[column]))
    return out


def _number(cell: str) -> float:
    """A cell of ``metrics.csv`` as a number; NaN where it is empty."""
    return float(cell) if cell else math.nan


def _present(epochs: list[int], values: list[float]) -> tuple[list[int], list[float]]:
    """The points of a curve that have a value (NaN marks an empty cell)."""
    kept = [(e, v) for e, v in zip(epochs, values, strict=True) if not math.isnan(v)]
    return [e for e, _ in kept], [v for _, v in kept]


def best_epoch(out: str | os.PathLike[str]) -> int | None:
    """The epoch of the run's ``best/`` checkpoint (of its main phase), None without one."""
    try:
        config = json.loads((Path(out) / "best" / "config.json").read_text())
    except (OSError, ValueError):
        return None
    epoch = config.get("epoch") if isinstance(config, dict) else None
    return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else None


def training_figure(
    rows: list[dict[str, str]], *, title: str = "", best: int | None = None
) -> Figure:
    """Three panels (train loss, validation loss, validation R) against epoch; one line
    per head and phase, labelled ``head (joint)``, ``head (fine-tuned)`` or, for a run of
    one genome (whose only phase ``metrics.csv`` names ``joint``), ``head (alone)``; with
    `best`, a grey line marks the epoch that ``best/`` holds."""
    lines = curves(rows)
    genomes = list(dict.fromkeys(genome for _, genome in lines))
    together = len({genome for phase, genome in lines if phase == "joint"}) > 1
    palette = colours(genomes)
    joint_end = max((int(r["epoch"]) for r in rows if r["phase"] == "joint"), default=0)
    fig = new_figure(figsize=(12, 3.6))
    axes = fig.subplots(1, len(PANELS))
    for ax, (column, name, unit) in zip(axes, PANELS, strict=True):
        for (phase, genome), (epochs, values) in lines.items():
            tuned = phase != "joint"
            ax.plot(
                *_present(epochs, values[column]),
                color=palette[genome],
                linestyle="--" if tuned else "-",
                marker="^" if tuned else "o",
                markersize=3,
                label=f"{genome} ({'fine-tuned' if tuned else 'joint' if together else 'alone'})",
            )
        if joint_end and any(phase != "joint" for phase, _ in lines):
            ax.axvline(joint_end + 0.5, color="0.6", linestyle=":", linewidth=0.8)
        if best is not None:
            ax.axvline(best, color="0.4", linewidth=2, alpha=0.3, label=f"best epoch {best}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(unit)
        ax.set_title(name, fontsize=10)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[-1].legend(frameon=False, fontsize=8)
    fig.suptitle(title or run_title(list(lines)), fontsize=11)
    return fig


def run_title(lines: list[tuple[str, str]]) -> str:
    """The default title of a run's curves, naming the heads its `lines` (``(phase,
    genome)``) train and how: ``training curves: human + mouse trained jointly``,
    ``...: human trained alone``, ``...: liver fine-tuned``, so that the figures of a
    joint and a single-genome run tell themselves apart."""
    joint = [genome for phase, genome in lines if phase == "joint"]
    tuned = list(dict.fromkeys(genome for phase, genome in lines if phase != "joint"))
    parts = []
    if joint:
        parts.append(f"{' + '.join(joint)} trained {'jointly' if len(joint) > 1 else 'alone'}")
    if tuned:
        parts.append(f"{' + '.join(tuned)} fine-tuned")
    return f"training curves: {', then '.join(parts)}"


def plot_training(out: str | os.PathLike[str], *, svg: bool = False, title: str = "") -> list[Path]:
    """Draw ``training.png`` (and ``training.svg`` with `svg`) in the training output
    directory `out` from its ``metrics.csv``; returns the files written (none when the
    run has no finished epoch)."""
    out = Path(out)
    rows = read_rows(out / "metrics.csv") if (out / "metrics.csv").exists() else []
    if not rows:
        return []
    figure = training_figure(rows, title=title, best=best_epoch(out))
    return save_figure(figure, out / FIGURE, svg=svg)


def update_training_figures(
    out: str | os.PathLike[str], *, plots: bool, svg: bool = False
) -> list[Path]:
    """Draw the training figures (:func:`plot_training`) unless `plots` is off, and remove
    those of an earlier run into `out` (a resumed one's) that this did not redraw: they
    would disagree with ``metrics.csv``. Returns the files written."""
    check_plot_options(plots, svg)
    written = plot_training(out, svg=svg) if plots else []
    remove_stale_figures(Path(out), [Path(FIGURE).stem], written)
    return written
