"""Predict tracks for DNA windows with a crossreg checkpoint.

Windows are whole FASTA records of the model's input length, or BED regions of a FASTA,
each centred in a window of the model's length (off-chromosome parts are N, encoded as
zeros as in Basenji's prediction path; a region up to a window long gets bins over its
central ``bins × bin_width`` bp only); a region longer than the model's input window
is tiled into several windows as ``--bigwig`` tiles chromosomes (:mod:`crossreg.model.tiling`),
the ``.h5`` saying which bins of each window tile it (``first_bin``, ``bin_count``).
Predictions ``(N, bins, tracks)`` float32 are written as ``.npy`` or as ``.h5`` together
with target labels and window coordinates. :func:`predict` is the same for one-hot arrays
in Python.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from crossreg import _lazy
from crossreg.errors import Interrupted
from crossreg.genome import Genome
from crossreg.io.atomic import atomic_path
from crossreg.io.bed import Interval, check_within, read_bed
from crossreg.io.h5 import H5_FILE_BYTES, attrs_bytes, dataset_bytes, strings_bytes, written_h5
from crossreg.io.rows import fill_rows
from crossreg.io.space import allocated_memmap
from crossreg.io.targets import Target
from crossreg.model.inference import (
    InferenceOptions,
    gives_back_cuda_settings,
    keep_head_tracks,
    load_head,
    model_device,
    predict_batch,
    provenance,
    run_inference,
)
from crossreg.model.seqnn import SeqNN
from crossreg.model.tiling import Geometry, Tile, check_whole_records, tile_interval
from crossreg.progress import Progress, progress

log = logging.getLogger("crossreg")

OUTPUT_SUFFIXES = (".npy", ".h5")

__getattr__, __dir__ = _lazy.lazy_submodules(__name__, __path__, globals())


@dataclass(frozen=True)
class Window:
    """One input window ``chrom:[start, end)`` (0-based half-open) and its label; of a
    tiled region's windows, output bins ``[first_bin, first_bin + bin_count)`` are the
    ones that tile it (the last window, moved back to fit its chromosome, repeats bins of
    the one before); ``bin_count`` None: all of them."""

    name: str
    chrom: str
    start: int
    end: int
    first_bin: int = 0
    bin_count: int | None = None


def record_windows(genome: Genome, seq_length: int) -> list[Window]:
    """One window per FASTA record; every record must be `seq_length` bp long
    (:func:`crossreg.model.tiling.check_whole_records`)."""
    check_whole_records(genome.sizes, seq_length, source=genome.path)
    return [Window(name, name, 0, size) for name, size in genome.sizes.items()]


def region_windows(
    intervals: Sequence[Interval], genome: Genome, seq_length: int, *, source: str
) -> list[Window]:
    """A `seq_length` window centred on each interval (named by its BED name column, else
    ``chrom:start-end``); intervals must lie on the genome's chromosomes."""
    check_within(intervals, genome.sizes, source=source, fasta=genome.path)
    windows = []
    for iv in intervals:
        start = (iv.start + iv.end) // 2 - seq_length // 2
        name = iv.extra[0] if iv.extra else f"{iv.chrom}:{iv.start}-{iv.end}"
        windows.append(Window(name, iv.chrom, start, start + seq_length))
    if not windows:
        raise ValueError(f"{source}: the BED file has no regions")
    return windows


def tiled_region_windows(
    intervals: Sequence[Interval], genome: Genome, geometry: Geometry, *, source: str
) -> list[Window]:
    """As :func:`region_windows`, except that a region longer than the model's input window
    becomes the windows whose central bins tile it (:func:`crossreg.model.tiling.tile_interval`),
    named ``NAME:1`` .. ``NAME:k``, each with the bins it keeps (:class:`Window`); stops
    when such a region's chromosome is shorter than a window. A region up to a window long
    (a BED of input windows, say) is centred in one window, whose bins cover only its
    central ``bins × bin_width`` bp. The ends of a long region within a window's crop of
    its chromosome's ends, which no window on the chromosome predicts, get no row: a
    warning counts them (:func:`uncovered_ends`)."""
    windows = []
    cut_short: list[tuple[str, int, int]] = []
    for iv in intervals:
        length = iv.end - iv.start
        if length <= geometry.seq_length:
            windows += region_windows([iv], genome, geometry.seq_length, source=source)
            continue
        name = iv.extra[0] if iv.extra else f"{iv.chrom}:{iv.start}-{iv.end}"
        tiles = tile_interval(iv.chrom, iv.start, iv.end, genome.sizes[iv.chrom], geometry)
        if not tiles:
            raise ValueError(
                f"{source}: region {name} is {iv.end - iv.start:,} bp, longer than the "
                f"model's {geometry.seq_length:,}-bp window, and no window fits on "
                f"{iv.chrom} ({genome.sizes[iv.chrom]:,} bp) to tile it"
            )
        log.info(
            "%s: region %s (%s bp) is longer than the model's %s-bp window; tiled into "
            "%d windows %s:1..%s:%d whose kept bins abut",
            source,
            name,
            f"{length:,}",
            f"{geometry.seq_length:,}",
            len(tiles),
            name,
            name,
            len(tiles),
        )
        for k, tile in enumerate(tiles, start=1):
            end = tile.start + geometry.seq_length
            windows.append(Window(f"{name}:{k}", iv.chrom, tile.start, end, tile.first, tile.count))
        before, after = uncovered_ends(iv.start, iv.end, tiles, geometry)
        if before or after:
            cut_short.append((name, before, after))
    if not windows:
        raise ValueError(f"{source}: the BED file has no regions")
    if cut_short:
        name, before, after = cut_short[0]
        log.warning(
            "%s: %d long region(s) reach within a window's crop of a chromosome end, where "
            "no window on the chromosome predicts, and have no rows there (e.g. %s: its "
            "first %s bp and last %s bp); --bigwig leaves the same bins out",
            source,
            len(cut_short),
            name,
            f"{before:,}",
            f"{after:,}",
        )
    return windows


def require_one_row_per_region(
    intervals: Sequence[Interval], windows: Sequence[Window], seq_length: int, *, source: str
) -> None:
    """Stop when a region was tiled into several windows (:func:`tiled_region_windows`): a
    ``.npy`` holds no names or coordinates, so its rows would no longer be the BED's
    regions in order."""
    if len(windows) == len(intervals):
        return
    long = [iv for iv in intervals if iv.end - iv.start > seq_length]
    first = long[0]
    name = first.extra[0] if first.extra else f"{first.chrom}:{first.start}-{first.end}"
    raise ValueError(
        f"{source}: {len(long)} region(s) longer than the model's {seq_length:,}-bp window "
        f"(e.g. {name}, {first.end - first.start:,} bp) are tiled into several windows each "
        f"({len(intervals)} regions give {len(windows)} windows), and a .npy has no names or "
        "coordinates to tell its rows apart: write an .h5 (--out NAME.h5), which records each "
        "window's region and the bins that tile it, or use --bigwig"
    )


def uncovered_ends(
    start: int, end: int, tiles: Sequence[Tile], geometry: Geometry
) -> tuple[int, int]:
    """The bp at the start and at the end of the region ``[start, end)`` that its `tiles`'
    kept bins do not cover (0 and 0 away from a chromosome's ends)."""
    w = geometry.bin_width
    covered_from = tiles[0].start_bin * w
    covered_to = (tiles[-1].start_bin + tiles[-1].count) * w
    return max(0, covered_from - start), max(0, end - covered_to)


def predict(
    model: SeqNN,
    one_hot: npt.ArrayLike,
    head: str | None = None,
    options: InferenceOptions = InferenceOptions(),
) -> npt.NDArray[np.float32]:
    """Predictions ``(B, bins, tracks)`` float32 (numpy, on the host) of `head` for DNA.

    `one_hot` is ``(B, L, 4)`` with ``L = model.seq_length`` (another length is refused),
    channels A, C, G, T, and an N (or any other base) as an all-zero row, as
    :func:`crossreg.dna.one_hot` and :meth:`crossreg.genome.Genome.one_hot_many` make it
    (float32 by default). Any dtype: integer or bool one-hot (their ``dtype=np.uint8``)
    becomes float32 on the model's device, so it travels there at a quarter of the size;
    float input is used as is. `options` gives the rc/shift ensemble and the precision;
    the model runs where it is, on the whole array as one batch."""
    return predict_batch(model, np.asarray(one_hot), head, options).cpu().numpy()


def predict_windows(
    model: SeqNN,
    fasta: Genome,
    windows: Sequence[Window],
    head: str | None = None,
    options: InferenceOptions = InferenceOptions(),
) -> Iterable[npt.NDArray[np.float32]]:
    """Yield predictions ``(b, bins, tracks)`` on the host batch by batch, in window order."""

    def load(chunk: Sequence[Window]) -> npt.NDArray[np.uint8]:
        chroms, starts = [w.chrom for w in chunk], [w.start for w in chunk]
        return fasta.one_hot_many(chroms, starts, model.seq_length, dtype=np.uint8)

    return run_inference(
        model, head, windows, options, load=load, reduce=lambda pred, _: pred.cpu().numpy()
    )


@gives_back_cuda_settings
def write_predictions(
    model_dir: str | os.PathLike[str],
    fasta: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    head: str | None = None,
    bed: str | os.PathLike[str] | None = None,
    tracks: str | Sequence[str] | None = None,
    options: InferenceOptions = InferenceOptions(),
) -> Path:
    """The predict step: predict every record of `fasta` (or every region of `bed`, centred
    in a window of the model's length, or tiled when longer than a window predicts:
    :func:`tiled_region_windows`) with `head` of the checkpoint in `model_dir` and write
    them to `out` (``.npy`` or ``.h5``, see :func:`save_predictions`). `tracks` keeps only
    the tracks it names, in that order (:func:`crossreg.io.targets_select.select_targets`): the
    head is cut to them, and the ``.h5`` labels are theirs."""
    out = Path(out)
    check_output_suffix(out)
    model, config, head = load_head(model_dir, head, options)
    every = config.targets[head]
    targets = [every[i] for i in keep_head_tracks(model, head, every, tracks)]
    attrs: dict[str, object] = {}
    if tracks is not None:
        attrs["tracks"] = tracks if isinstance(tracks, str) else ",".join(tracks)
    genome = Genome(fasta)
    if bed is None:
        windows = record_windows(genome, model.seq_length)
    else:
        intervals = read_bed(bed)
        check_within(intervals, genome.sizes, source=str(bed), fasta=genome.path)
        windows = tiled_region_windows(intervals, genome, Geometry.of(model), source=str(bed))
        if out.suffix == ".npy":
            require_one_row_per_region(intervals, windows, model.seq_length, source=str(bed))
    log.info(
        "predicting %d windows of %d bp with the '%s' head (%d tracks) on %s%s",
        len(windows),
        model.seq_length,
        head,
        len(targets),
        model_device(model),
        options.describe(),
    )
    with progress(len(windows), "predicting", "windows") as meter:
        try:
            save_predictions(
                out,
                counted(predict_windows(model, genome, windows, head, options), meter),
                windows,
                (model.output_length(), model.num_targets(head)),
                targets=targets,
                attrs={
                    **provenance(model_dir, head, config, options),
                    "bin_width": config.bin_width,
                    "crop_bins": list(config.crop),
                    **attrs,
                },
            )
        except KeyboardInterrupt:
            raise Interrupted(
                f"{meter.done:,} of {len(windows):,} windows predicted; {out} is written whole "
                "once all are, so it is left as it was: rerun to predict them again (--bigwig "
                "keeps its finished chunks for --resume)"
            ) from None
    log.info("wrote %s", out)
    return out


def counted(
    batches: Iterable[npt.NDArray[np.float32]], meter: Progress
) -> Iterator[npt.NDArray[np.float32]]:
    """`batches`, each counted as its windows on `meter` once the caller has taken it."""
    for batch in batches:
        yield batch
        meter.update(len(batch))


def check_output_suffix(out: Path) -> None:
    """Stop before any work when `out` is neither ``.npy`` nor ``.h5``."""
    if out.suffix not in OUTPUT_SUFFIXES:
        raise ValueError(f"{out}: the output must end in .npy or .h5")


def save_predictions(
    out: str | os.PathLike[str],
    batches: Iterable[npt.NDArray[np.float32]],
    windows: Sequence[Window],
    shape: tuple[int, int],
    *,
    targets: Sequence[Target] = (),
    attrs: dict[str, object] | None = None,
) -> Path:
    """Stream `batches` into `out` (``.npy`` or ``.h5``) of shape ``(len(windows),) + shape``,
    under a temporary name renamed when complete. ``.h5`` also holds ``target_ids``,
    ``target_labels`` and the windows (``name``, ``chrom``, ``start``, ``end``, and
    ``first_bin``/``bin_count``: the rows' bins that tile a region, all for other windows)."""
    out = Path(out)
    check_output_suffix(out)
    full_shape = (len(windows), *shape)
    with atomic_path(out) as tmp:
        if out.suffix == ".npy":
            array = allocated_memmap(tmp, np.float32, full_shape)
            fill_rows(array, batches)
            array.flush()
            del array
        else:
            import h5py

            strings = h5py.string_dtype()
            texts = {
                "target_ids": np.array([t.identifier for t in targets], dtype=strings),
                "target_labels": np.array([t.description for t in targets], dtype=strings),
                "name": np.array([w.name for w in windows], dtype=strings),
                "chrom": np.array([w.chrom for w in windows], dtype=strings),
            }
            counts = [shape[0] if w.bin_count is None else w.bin_count for w in windows]
            numbers = {
                "start": np.array([w.start for w in windows], dtype=np.int64),
                "end": np.array([w.end for w in windows], dtype=np.int64),
                "first_bin": np.array([w.first_bin for w in windows], dtype=np.int64),
                "bin_count": np.array(counts, dtype=np.int64),
            }
            bound = (
                H5_FILE_BYTES
                + dataset_bytes(full_shape, np.float32, (1, *shape))
                + sum(strings_bytes(values) for values in texts.values())
                + sum(dataset_bytes(values.shape, values.dtype) for values in numbers.values())
                + attrs_bytes(attrs or {})
            )
            with written_h5(tmp, bound) as handle:
                preds = handle.create_dataset(
                    "preds", shape=full_shape, dtype="f4", chunks=(1, *shape), fletcher32=True
                )
                fill_rows(preds, batches)
                for key, values in {**texts, **numbers}.items():
                    handle[key] = values
                for key, value in (attrs or {}).items():
                    handle.attrs[key] = value
    return out
