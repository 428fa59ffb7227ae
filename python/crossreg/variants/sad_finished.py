"""A finished SAD or ISM output recognised on ``--resume``: the run it records (refused
when of other settings), and the figures it lacks drawn again."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crossreg.io.finished import Changes, Recorded, Unreadable, finished_run, settings_object
from crossreg.io.partial import left_over
from crossreg.model.inference import model_device
from crossreg.model.seqnn import SeqNN
from crossreg.plots import check_plot_options, figure_intact
from crossreg.shard import Shard
from crossreg.variants.chunk_store import partial_dir
from crossreg.variants.sad_attrs import read_attrs
from crossreg.variants.sad_settings import setting_changes
from crossreg.variants.sad_tsv import last_written
from crossreg.variants.shard_layout import without_labels


def finished_output(
    out: Path,
    run: dict[str, Any],
    *,
    redrawn: Sequence[str] = (),
    changes: Changes = setting_changes,
) -> bool:
    """Whether `out` (a SAD or ISM output) holds this `run` (its settings and shard, as
    its ``settings`` attribute records them), finished: no ``OUT.partial/`` (removed once
    the output is written) and the output (a ``.tsv``'s metadata, written after it)
    recording these settings (:func:`~crossreg.io.finished.finished_run`, which logs
    that the caller draws the figures `redrawn` it lacks; other settings are refused,
    named by `changes`)."""
    last = last_written(out)
    if left_over(partial_dir(out)) or not last.is_file():
        return False
    recorded = _recorded_run(out, last)
    _refuse_another_label(out, recorded, run, changes)
    return finished_run(out, recorded, run, changes, redrawn=redrawn)


def _refuse_another_label(
    out: Path, recorded: Recorded, run: dict[str, Any], changes: Changes
) -> None:
    """Stop a ``--resume`` of the finished output `out`, whose run `recorded` the same
    settings as this `run` but another ``--variants-genome`` (given or not), saying so:
    the file holds this run's scores, its name for the variants' genome (in the figures'
    titles) is another, and the fix is that option, not the scores."""
    if not isinstance(recorded, dict) or changes(without_labels(recorded), without_labels(run)):
        return
    changed = changes(recorded, run)
    if not changed:
        return
    then = recorded.get("variants_genome")
    given = f"--variants-genome {then}" if then is not None else "no --variants-genome"
    raise ValueError(
        f"--resume: {out} is complete from a run with other settings ({'; '.join(changed)}), "
        "which name the variants' genome in the figures' titles and change no score: resume "
        f"with {given} to leave it as it is, or rerun without --resume to score it again "
        "under this name"
    )


def _recorded_run(out: Path, last: Path) -> Recorded:
    """The run a finished SAD or ISM output `out` records (its ``settings``): None for one
    of an earlier crossreg, :class:`~crossreg.io.finished.Unreadable` where `last` (the
    ``.h5``, or a ``.tsv``'s metadata) is damaged or cut short."""
    try:
        recorded = read_attrs(out).get("settings")
        before = None if recorded is None else json.loads(str(recorded))
    except (OSError, UnicodeDecodeError, ValueError) as err:  # a JSONDecodeError, a damaged .h5
        return Unreadable(last, str(err))
    return settings_object(last, before)


def lacking_figures(
    out: Path, stats: Sequence[str], cells: int, *, plots: bool, svg: bool
) -> list[str]:
    """The files of the figures `plots` asks for of the SAD output `out` (of `stats`,
    alleles × tracks `cells`) that are missing or not whole
    (:func:`~crossreg.plots.figure_intact`: a stop while drawing them, a copy cut short);
    none when it has no figures (no alleles or tracks, only the bin profiles)."""
    check_plot_options(plots, svg)
    from crossreg.variants.sad_figures import figure_files, first_stat

    if not plots or not cells or first_stat(list(stats)) is None:
        return []
    return [p.name for p in figure_files(out, svg=svg) if not figure_intact(p)]


def draw_lost(out: Path, lost: Sequence[str], plots: bool, svg: bool) -> None:
    """Draw the figures of the finished output `out` when some are `lost`
    (:func:`lacking_figures`)."""
    check_plot_options(plots, svg)
    from crossreg.variants.sad_figures import draw_figures

    if lost:
        draw_figures(out, plots=plots, svg=svg)


def run_record(settings: dict[str, object], shard: Shard | None, model: SeqNN) -> dict[str, Any]:
    """What a SAD or ISM output records of its run, as JSON values, for a ``--resume`` of
    it once finished (:func:`finished_output`): its `settings` with the kind of device the
    `model` ran on (``auto`` resolved, as ``crossreg evaluate`` records it) and its
    `shard` (``"None"`` for the whole run)."""
    options = settings["options"]
    assert isinstance(options, dict)
    device = model_device(model).type
    run = {**settings, "options": {**options, "device": device}, "shard": str(shard)}
    return json.loads(json.dumps(run, sort_keys=True, default=str))
