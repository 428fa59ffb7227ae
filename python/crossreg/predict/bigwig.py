"""Genome-wide predictions as BigWig tracks: ``crossreg predict --bigwig OUTDIR``.

Whole chromosomes (or BED regions) are tiled with model windows whose central bins abut
(:mod:`crossreg.model.tiling`); the chosen tracks of one head are predicted window by window and
written at the model's resolution, one BigWig per track (``OUTDIR/<identifier>.bw``, with
``OUTDIR/tracks.tsv`` listing each track's index in the head (what ``--targets`` takes),
identifier, description, file and index in the targets table). Bins no window
lying on the chromosome predicts (about ``crop · bin_width`` bp at each chromosome end, and
chromosomes shorter than a window) have no value in the BigWigs; ``OUTDIR/summary.json``
counts them.

Predictions are kept in chunks of windows on disk as they finish, through the chunk store
``crossreg sad`` uses (:class:`crossreg.variants.chunk_store.ChunkStore`, in
``OUTDIR.partial/``): memory holds one chunk, a killed run continues with ``resume`` after
its last finished chunk, and the BigWigs are written from the chunks in one pass at the
end, into a hidden folder beside ``OUTDIR`` that takes its place whole when every file is
done (:func:`crossreg.io.atomic_dir.atomic_directory`): ``OUTDIR`` must be absent or empty,
or hold the BigWigs of an earlier run to replace with ``overwrite``; with ``resume``, a
finished ``OUTDIR`` whose ``summary.json`` records this run's settings is left as it is
(one of other settings is refused naming them, unless ``overwrite``). With ``shard``
(``"i/n"``, or each rank under ``torchrun``) a process predicts the i-th of n contiguous
shares of the windows, in whole chunks (so the BigWigs are the bytes one run writes), into
``OUTDIR.shard-i-of-n.partial/``, where it also records the settings every shard must
share (checked when it starts and when it ends); the process that finishes last writes
the BigWigs from every shard's chunks. The chunks keep the
predictions as float32, or as float16 with ``chunk_dtype``. A run whose chunks and BigWigs
do not fit the free space is refused before it predicts (:mod:`crossreg.predict.scratch`;
without ``space_check`` it is only warned of);
a disk that fills meanwhile stops the run with an error naming the file before libBigWig
writes past the free space (:mod:`crossreg.io.bigwig_write`); the chunks stay, for
``resume`` once there is room. ``summary.json`` records the bytes of the chunks and of the
BigWigs.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from crossreg.genome import Genome
from crossreg.io import partial
from crossreg.io.atomic import atomic_write
from crossreg.io.bigwig_write import BIGWIG_FOLDER
from crossreg.io.finished import Changes, finished_run, recorded_settings
from crossreg.io.replaceable import check_replaceable
from crossreg.io.targets import Target
from crossreg.io.write_errors import OutputError
from crossreg.model.inference import (
    InferenceOptions,
    gives_back_cuda_settings,
    keep_head_tracks,
    load_head,
    model_device,
)
from crossreg.model.seqnn import SeqNN
from crossreg.model.tiling import Geometry, plan_tiles
from crossreg.predict.bigwig_chunks import full_store, predict_chunks
from crossreg.predict.bigwig_files import SUMMARY_FILE, run_meta
from crossreg.predict.bigwig_request import (
    check_request,
    coverage_summary,
    nothing_to_predict,
    requested_intervals,
)
from crossreg.predict.bigwig_settings import SHARE_KEY, SHARES, run_setting_changes, run_settings
from crossreg.predict.bigwig_shards import (
    check_shard_settings,
    remaining_chunks,
    shard_layout,
    shard_root,
    shard_windows,
    write_when_complete,
)
from crossreg.predict.scratch import space_needed
from crossreg.shard import Shard
from crossreg.step_defaults import DEFAULT_CHUNK_WINDOWS
from crossreg.variants.chunk_store import (
    ChunkStore,
    kept_when_stopped,
    partial_dir,
    refuse_partial,
)
from crossreg.variants.sad_shards import refuse_shard_under_torchrun, torchrun_shard

log = logging.getLogger("crossreg")


@dataclass(frozen=True)
class BigWigRun:
    """What a run wrote: the folder, its tracks, the windows it predicted and whether
    the BigWigs are written (a shard that is not the last to finish leaves that to it)."""

    outdir: Path
    tracks: int
    windows: int
    written: bool


@gives_back_cuda_settings
def write_bigwigs(
    model_dir: str | os.PathLike[str],
    fasta: str | os.PathLike[str],
    outdir: str | os.PathLike[str],
    *,
    head: str | None = None,
    chroms: Sequence[str] | None = None,
    bed: str | os.PathLike[str] | None = None,
    tracks: str | Sequence[str] | None = None,
    options: InferenceOptions = InferenceOptions(),
    chunk_windows: int = DEFAULT_CHUNK_WINDOWS,
    chunk_dtype: str = "float32",
    resume: bool = False,
    shard: Shard | str | None = None,
    overwrite: bool = False,
    space_check: bool = True,
    head_option: str = "--head",
) -> BigWigRun:
    """Predict `head`'s tracks (those `tracks` selects,
    :func:`crossreg.io.targets_select.select_targets`) along the chromosomes `chroms` (default
    all of `fasta`) or the regions of `bed`, and write one BigWig per track into `outdir`
    at the model's bin width (see the module's docstring); `overwrite` replaces the
    BigWigs of an earlier run in `outdir`. The chunks keep the predictions as
    `chunk_dtype` (:data:`crossreg.step_defaults.CHUNK_DTYPES`); a run that cannot fit
    them and the BigWigs in the free space is refused before predicting
    (:mod:`crossreg.predict.scratch`), or only warned of without `space_check`. A resume
    refused for other settings names the head's option as `head_option` (``crossreg
    predict`` passes the spelling typed: ``--genome``)."""
    outdir = Path(outdir).absolute()  # "." has no name to put the partial store beside
    if isinstance(shard, str):
        shard = Shard.parse(shard)
    check_request(chunk_windows, chunk_dtype, chroms, bed)
    refuse_shard_under_torchrun(shard)
    shard = shard or torchrun_shard()
    root = shard_root(outdir, shard)
    done = resume and (outdir / SUMMARY_FILE).is_file() and not partial.left_over(partial_dir(root))
    check_replaceable(outdir, overwrite or done, BIGWIG_FOLDER, "--bigwig")
    if not resume:
        refuse_partial(root, "model, FASTA, chromosomes or regions and options", outdir)
    model, config, head = load_head(model_dir, head, options)
    targets: list[Target] = list(config.targets[head])
    chosen = keep_head_tracks(model, head, targets, tracks)
    targets = [targets[i] for i in chosen]
    genome = Genome(fasta, hash_content=True)
    geometry = Geometry.of(model)
    intervals = requested_intervals(genome, fasta, chroms, bed, geometry)
    tiles = plan_tiles(intervals, genome.sizes, geometry)
    summary = coverage_summary(intervals, tiles)
    if not tiles:
        raise ValueError(nothing_to_predict(intervals, genome.sizes, geometry, fasta, bed))
    start, stop = shard_windows(shard, len(tiles), chunk_windows)
    _announce(model, head, len(targets), options, summary, (start, stop), len(tiles), shard)
    settings = run_settings(model_dir, genome, bed, chroms, head, tracks, options, chunk_windows)
    if chunk_dtype != "float32":  # absent for float32 (ABSENT_SETTINGS): earlier runs match
        settings["chunk_dtype"] = chunk_dtype
    changes = functools.partial(run_setting_changes, head_option=head_option)
    if done and _finished(outdir, settings, overwrite, changes):
        return BigWigRun(outdir, len(targets), stop - start, True)
    shares = {SHARE_KEY: SHARES} if shard is not None else {}
    shared = {**settings, "shards": shard.count, **shares} if shard is not None else None
    store = ChunkStore(root, unit="windows", output=outdir, changes=changes)
    state = store.open(
        {**settings, "shard": str(shard), **shares}, resume=resume, total=stop - start
    )
    if shared is not None:
        with atomic_write(store.root / partial.RUN_FILE) as handle:
            json.dump(shared, handle, sort_keys=True, default=str)
    shards, bounds = shard_layout(outdir, root, shard, len(tiles), chunk_windows)
    meta = run_meta(model_dir, head, fasta, geometry, len(tiles), summary, settings)
    with kept_when_stopped(store, stop - start):  # while predicting and writing the BigWigs
        if shared is not None:
            check_shard_settings(outdir, shared, changes)
        remaining = remaining_chunks(shards, bounds, tiles, chunk_windows)
        need = space_needed(
            outdir, store.root, remaining, tiles, genome.sizes, geometry, len(targets), chunk_dtype
        )
        log.info(need.describe())
        need.check(skip=not space_check)
        try:
            state = predict_chunks(
                model,
                genome,
                tiles,
                head,
                options,
                store,
                state,
                start,
                stop,
                chunk_windows,
                chunk_dtype,
            )
        except OutputError as err:
            raise full_store(err, store, stop - start) from err
        written = write_when_complete(
            outdir,
            shards,
            bounds,
            tiles,
            chunk_windows,
            genome,
            targets,
            geometry,
            meta,
            chosen,
            shared,
            changes,
        )
    return BigWigRun(outdir, len(targets), stop - start, written)


def _announce(
    model: SeqNN,
    head: str,
    tracks: int,
    options: InferenceOptions,
    summary: Mapping[str, int],
    windows: tuple[int, int],
    total: int,
    shard: Shard | None,
) -> None:
    """Log what the run predicts: its `windows` ``[start, stop)`` of the `total`, the
    bins they cover of those asked for, the head, the device and the options."""
    start, stop = windows
    log.info(
        "predicting %d windows of %d bp%s (%s of %s bins) with the '%s' head (%d tracks) on "
        "%s%s; %s bins lie where no window fits and get no value",
        stop - start,
        model.seq_length,
        "" if shard is None else f" (shard {shard}: windows {start}-{stop} of {total})",
        f"{summary['predicted_bins']:,}",
        f"{summary['requested_bins']:,}",
        head,
        tracks,
        model_device(model),
        options.describe(),
        f"{summary['requested_bins'] - summary['predicted_bins']:,}",
    )


def _finished(
    outdir: Path, settings: Mapping[str, object], overwrite: bool, changes: Changes
) -> bool:
    """With ``--resume`` and no chunk store: whether `outdir`, a finished run's (whose
    ``summary.json``, written with the BigWigs into a folder that replaces `outdir` whole,
    records its `settings`), is this run's (:func:`~crossreg.io.finished.finished_run`:
    other settings are refused, named by `changes`). With `overwrite` one of other settings, or
    of an earlier crossreg, is replaced, as without ``--resume``; without it, one of an
    earlier crossreg is refused as then."""
    recorded = recorded_settings(outdir / SUMMARY_FILE)
    now = json.loads(json.dumps(settings, default=str))
    if not isinstance(recorded, Mapping) and not overwrite:
        check_replaceable(outdir, False, BIGWIG_FOLDER, "--bigwig")  # refused, as then
    if overwrite and isinstance(recorded, Mapping) and changes(recorded, now):
        return False  # replaced, as --overwrite replaces it without --resume
    return finished_run(outdir, recorded, now, changes, again="with --overwrite")
