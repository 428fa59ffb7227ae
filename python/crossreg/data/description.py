"""What a store's ``dataset.json`` (and a track shard's ``shard.json``) records beyond the
build's options: its input files by path and content, the rows of each split, the tracks'
statistics; and those JSON files written as the store writes them."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crossreg.data.plan import Plan
from crossreg.data.store import SHARD_FORMAT, SHARD_METADATA, SHARD_VERSION
from crossreg.genome import Genome
from crossreg.io.atomic import atomic_write
from crossreg.io.identity import content_identity
from crossreg.shard import Shard


@dataclass(frozen=True)
class InputFiles:
    """The input files of a build: the FASTA, the targets table and the optional BEDs."""

    fasta: str | os.PathLike[str]
    targets: str | os.PathLike[str]
    regions: str | os.PathLike[str] | None = None
    gaps: str | os.PathLike[str] | None = None
    blacklist: Sequence[str | os.PathLike[str]] = ()
    unmappable: str | os.PathLike[str] | None = None

    def paths(self) -> dict[str, object]:
        """The metadata's ``inputs``: each input file's absolute path (None when not
        given)."""
        return {
            "fasta": str(Path(self.fasta).resolve()),
            "targets": str(Path(self.targets).resolve()),
            "regions": str(Path(self.regions).resolve()) if self.regions else None,
            "gaps": str(Path(self.gaps).resolve()) if self.gaps else None,
            "blacklist": [str(Path(b).resolve()) for b in self.blacklist],
            "unmappable": str(Path(self.unmappable).resolve()) if self.unmappable else None,
        }

    def content(self, genome: Genome) -> dict[str, object]:
        """The metadata's ``input_content``: the FASTA's and BEDs' size and SHA-256
        (:func:`~crossreg.io.identity.content_identity`; the FASTA's taken as `genome` was
        loaded), by which a track shard is matched with the others wherever its inputs
        lay; the targets table is matched by its rows (``targets.txt`` without the file
        column), each BigWig being read by one shard alone."""

        def identity(path: str | os.PathLike[str] | None) -> dict[str, object] | None:
            return content_identity(path) if path else None

        return {
            "fasta": genome.content_identity(),
            "regions": identity(self.regions),
            "gaps": identity(self.gaps),
            "blacklist": [content_identity(b) for b in self.blacklist],
            "unmappable": identity(self.unmappable),
        }


def split_rows(plan: Plan) -> dict[str, dict[str, int]]:
    """The metadata's ``splits``: each split's first row and number of windows."""
    rows: dict[str, dict[str, int]] = {}
    offset = 0
    for name in plan.windows.split_names():
        count = int((plan.windows.splits == name).sum())
        rows[name] = {"offset": offset, "count": count}
        offset += count
    return rows


def json_stats(stats: dict) -> dict:
    """A track's statistics as `dataset.json` holds them: non-finite ones (a BigWig
    holding +inf) as None (null)."""
    return {
        key: None if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in stats.items()
    }


def write_json(path: Path, content: dict) -> None:
    """Write `content` as the store's JSON files are written (indent 1, strict JSON: no
    NaN or Infinity), atomically."""
    with atomic_write(path) as handle:
        json.dump(content, handle, indent=1, allow_nan=False)


def write_shard_description(
    work: Path, metadata: dict[str, object], shard: Shard, first: int, stop: int
) -> None:
    """Write ``shard.json`` into `work`: `shard`, of the tracks ``[first, stop)``, around
    the store's `metadata`."""
    write_json(
        work / SHARD_METADATA,
        {
            "format": SHARD_FORMAT,
            "format_version": SHARD_VERSION,
            "shard": {
                "index": shard.index,
                "count": shard.count,
                "first_track": first,
                "stop_track": stop,
            },
            "dataset": metadata,
        },
    )
