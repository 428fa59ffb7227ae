"""The folder a ``crossreg predict --bigwig`` run writes: one BigWig per track from the
chunks' values, ``tracks.tsv`` and ``summary.json``."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from crossreg.io.bigwig_write import TRACKS_FILE, BigWigFile, SpaceGuard
from crossreg.io.file_names import safe_characters
from crossreg.io.targets import Target
from crossreg.model.tiling import Geometry, Tile
from crossreg.progress import progress

#: BigWigs written at once in the final pass (each pass reads every chunk once)
OPEN_FILES = 64
SUMMARY_FILE = "summary.json"


def track_file_names(targets: Sequence[Target]) -> list[str]:
    """One file name per track: the :func:`~crossreg.io.file_names.safe_characters` of its
    identifier (then ``_<index>`` when two agree)."""
    names = [safe_characters(t.identifier) or "track" for t in targets]
    seen: set[str] = set()
    unique = []
    for i, name in enumerate(names):
        name = name if names.count(name) == 1 else f"{name}_{i}"
        while name in seen:
            name += "_"
        seen.add(name)
        unique.append(f"{name}.bw")
    return unique


def write_track_files(
    outdir: Path,
    chunks: Sequence[tuple[Path, Sequence[Tile]]],
    sizes: dict[str, int],
    targets: Sequence[Target],
    geometry: Geometry,
    meta: dict[str, object],
    positions: Sequence[int] | None = None,
) -> int:
    """One BigWig per track from the chunks' values into the folder `outdir`, then
    ``tracks.tsv`` and ``summary.json`` (`meta` with the track count and the BigWigs'
    bytes, ``bigwig_bytes``); returns the BigWigs' bytes. ``tracks.tsv`` gives each
    track's ``index`` in the head, `positions` (default ``0 .. tracks-1``), which
    ``--targets`` takes, and its ``table_index``, the index of the targets table."""
    names = track_file_names(targets)
    header = dict(sizes)
    w = geometry.bin_width
    advice = "free at least {short} there and rerun with --resume (the predictions are kept)"
    guard = SpaceGuard(outdir, advice)
    with progress(len(targets), "writing BigWigs", "tracks") as meter:
        for group in range(0, len(targets), OPEN_FILES):
            members = range(group, min(group + OPEN_FILES, len(targets)))
            with contextlib.ExitStack() as stack:
                files = []
                for t in members:
                    bw = BigWigFile(outdir / names[t], header, guard)
                    stack.callback(bw.abandon)  # closes nothing closed already
                    files.append(bw)
                for values_path, chunk_tiles in chunks:
                    values = np.load(values_path, mmap_mode="r")
                    ends = np.cumsum([t.count for t in chunk_tiles])
                    for bw, t in zip(files, members, strict=True):
                        row = np.ascontiguousarray(values[t], dtype=np.float64)
                        for tile, end in zip(chunk_tiles, ends, strict=True):
                            bw.add_steps(
                                tile.chrom,
                                tile.position(geometry),
                                row[end - tile.count : end],
                                span=w,
                                step=w,
                            )
                for bw in files:
                    bw.close()
            meter.update(len(members))
    positions = range(len(targets)) if positions is None else positions
    with open(outdir / TRACKS_FILE, "w") as handle:
        handle.write("index\tidentifier\tdescription\tfile\ttable_index\n")
        for position, target, name in zip(positions, targets, names, strict=True):
            handle.write(
                f"{position}\t{target.identifier}\t{target.description}\t{name}\t{target.index}\n"
            )
    written = sum((outdir / name).stat().st_size for name in names)
    with open(outdir / SUMMARY_FILE, "w") as handle:
        json.dump({**meta, "tracks": len(targets), "bigwig_bytes": written}, handle, indent=1)
    return written


def run_meta(
    model_dir: str | os.PathLike[str],
    head: str,
    fasta: str | os.PathLike[str],
    geometry: Geometry,
    windows: int,
    summary: Mapping[str, int],
    settings: Mapping[str, object],
) -> dict[str, object]:
    """What ``summary.json`` records of a run besides its tracks and bytes: the model,
    head and FASTA, the window geometry, the windows, the bins asked for and predicted
    (`summary`) and the `settings` a resumed run must share."""
    return {
        "model": str(model_dir),
        "head": head,
        "fasta": str(fasta),
        "bin_width": geometry.bin_width,
        "seq_length": geometry.seq_length,
        "windows": windows,
        **summary,
        "settings": json.loads(json.dumps(settings, default=str)),
    }
