"""What a training run may do with its output folder: continue the run there, start one
in a folder without a run, or replace an earlier run only when asked."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from crossreg.io.atomic import restore_previous


def check_run_folder(out: str | os.PathLike[str], *, resume: bool, overwrite: bool = False) -> None:
    """`out` holds a ``last/`` checkpoint to continue from when `resume`, and none (a run
    that a new one would replace) otherwise, unless `overwrite` lets a new run replace it.
    Raises :class:`ValueError` naming the folder and the fix. Checked before any work, so
    that an earlier run is never lost by mistake."""
    if resume and overwrite:
        raise ValueError("resume and overwrite exclude each other; choose one")
    last = Path(out) / "last"
    restore_previous(last)  # a run killed while replacing it may have left it aside
    if resume and not last.is_dir():
        raise ValueError(
            f"--resume: {last} does not exist (no finished epoch to continue from); start "
            "without --resume"
        )
    if not resume and not overwrite and last.is_dir():
        raise ValueError(
            f"{out} holds a run ({last}); continue it with --resume (Python: resume=True), "
            "or start again with --overwrite (Python: overwrite=True), which replaces it, or "
            "into a new output folder"
        )


def remove_earlier_finetunes(out: str | os.PathLike[str]) -> None:
    """Remove the ``finetune_<genome>/`` checkpoints in `out` of a run that a new one
    replaces (``overwrite``), once the new run's first ``last/`` has replaced the earlier
    one's: they belong to that run, and a new run writes its own only after its joint
    phase."""
    for earlier in sorted(Path(out).glob("finetune_*")):
        if earlier.is_dir():
            shutil.rmtree(earlier)
