"""The denovo step: the groups read, the tests run, and their tables, ``summary.json``
and figures written into its folder."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from crossreg.errors import Interrupted
from crossreg.io.atomic import atomic_write
from crossreg.io.tables import tsv_text
from crossreg.plots import check_plot_options, remove_stale_figures
from crossreg.progress import Progress, progress
from crossreg.stats.denovo_files import FIGURE_STEMS, TABLES, output_names
from crossreg.stats.denovo_inputs import load_groups
from crossreg.stats.denovo_tables import check_settings, run_tests


def write_report(
    out: str | os.PathLike[str], report: dict, *, meter: Progress | None = None
) -> Path:
    """``tracks.tsv``, ``components.tsv``, ``component_scores.tsv`` (each variant, its
    carrier, group, label, chrom, pos, REF and ALT, with its scores on the first
    components, what ``components.png`` shows), ``individuals.tsv`` and ``summary.json``
    in `out`, each file counted on `meter` once written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        if name not in report:
            continue
        with atomic_write(out / f"{name}.tsv") as handle:
            handle.write(tsv_text(report[name]))
        if meter is not None:
            meter.update()
    with atomic_write(out / "summary.json") as handle:
        json.dump(report["summary"], handle, indent=1)
    if meter is not None:
        meter.update()
    return out


def remove_earlier_outputs(out: Path) -> None:
    """Remove an earlier run's tables, ``summary.json`` and figures from `out`, before this
    run writes its own: a run stopped while writing or drawing then leaves only its own
    files (no ``summary.json`` until its tables are all written), never a mix of two runs
    that reads as one."""
    for name in (*(f"{table}.tsv" for table in TABLES), "summary.json"):
        (out / name).unlink(missing_ok=True)
    remove_stale_figures(out, FIGURE_STEMS, [])


def write_denovo(
    groups: Mapping[str, tuple[str | os.PathLike[str], str | os.PathLike[str]]],
    out: str | os.PathLike[str],
    *,
    sample_field: str = "SAMPLE",
    components: int = 10,
    folds: int = 5,
    seed: int = 0,
    plots: bool = True,
    svg: bool = False,
) -> dict:
    """The denovo step: `groups` maps ``case`` and ``control`` to ``(vcf, sad)``; runs the
    per-track, per-component and per-person tests and writes their tables and
    ``summary.json`` into `out` (see :func:`write_report`) and, unless `plots` is off, the
    figures ``tracks_q.png``, ``components.png`` and ``risk_score.png``
    (:mod:`crossreg.stats.denovo_figures`; SVG too with `svg`); returns the summary. An
    earlier run's files in `out` are removed before the tables are written
    (:func:`remove_earlier_outputs`); their writing shows its progress in files."""
    check_plot_options(plots, svg)
    check_settings(components=components, folds=folds)
    out = Path(out)
    before = "is as it was" if out.exists() else "was not made"
    try:
        data = load_groups(groups, sample_field=sample_field)
        report = run_tests(data, components=components, folds=folds, seed=seed)
    except KeyboardInterrupt:
        raise Interrupted(f"nothing was written: {out} {before}; rerun to test again") from None
    remove_earlier_outputs(out)
    files = sum(name in report for name in TABLES) + 1
    figures = len(FIGURE_STEMS) * (1 + svg) if plots else 0
    desc = "writing the tables and figures" if plots else "writing the tables"
    try:
        with progress(files + figures, desc, "files") as meter:
            write_report(out, report, meter=meter)
            if plots:
                from crossreg.stats.denovo_figures import plot_denovo

                plot_denovo(out, svg=svg, meter=meter)
    except KeyboardInterrupt:
        raise Interrupted(_stopped_writing(out)) from None
    return report["summary"]


def _stopped_writing(out: Path) -> str:
    """What a run stopped while writing its files leaves in `out`: some of its own files
    and none of an earlier run's (:func:`remove_earlier_outputs`)."""
    written = [name for name in output_names() if (out / name).exists()]
    held = f"only {', '.join(written)}" if written else "none of its files"
    return f"{out} holds {held} of this run, and no earlier run's; rerun to write them all"
