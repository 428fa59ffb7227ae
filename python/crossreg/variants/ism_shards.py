"""Which ``crossreg ism --shard i/n`` files make up one run, checked before a merge.

A shard holds a contiguous range of the run's sites (:func:`shard_sites`),
which depends on its ``i/n`` and on the run's ``--chunk-size``. Shards of one cut (one n,
one chunk size) are checked as ``sad-merge`` checks its shards: each once, in order
(:func:`crossreg.variants.sad_shards.check_shards`). Shards of several cuts, such as a
failed shard scored again with another ``--chunk-size``, or a share scored again as
several shards of a larger n, merge when they were scored with the same inputs and
options but for how they were batched (the chunk and batch sizes) and ``--device``
(:func:`crossreg.variants.shard_layout.scored_alike`) and their sites tile the run: given
in site order, each site in exactly one shard, the last one ending the run (a shard
``n-1/n`` does). A gap or an overlap is refused naming its sites, and for a gap the
shards that would fill it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crossreg.shard import Shard
from crossreg.variants.sad_shards import check_named_alike, check_shards, other_run
from crossreg.variants.shard_layout import rounding, scored_alike

#: What a shard records of its place in the run (``shard_settings`` may be absent from a
#: shard of an earlier crossreg, which is then refused as another run's).
SHARD_KEYS = ("shard_index", "shard_count", "shard_records", "run_settings")
#: What to do about a shard that cannot be read or is not whole.
ISM_REMEDY = "score this shard again with crossreg ism --shard i/n"


@dataclass(frozen=True)
class ShardFile:
    """A shard file: its cut (`shard` of the run's sites in chunks of `chunk_size`) and
    the sites ``[start, stop)`` of the run it holds."""

    path: Path
    shard: Shard
    chunk_size: int
    start: int
    stop: int

    def __str__(self) -> str:
        return (
            f"{self.path} (sites {self.start}-{self.stop}: --shard {self.shard} "
            f"--chunk-size {self.chunk_size})"
        )


def shard_sites(shard: Shard | None, sites: int, chunk_size: int) -> tuple[int, int]:
    """Sites ``[first, last)`` of shard `shard` of a run of `sites` (all without one): its
    contiguous share (:meth:`crossreg.shard.Shard.bounds`) of the run's chunks of
    `chunk_size` sites, so that each chunk is scored whole, in its batches, as one run
    scores it, and the merged shards hold the bytes one run writes. A shard past the
    last chunk (more shards than chunks) has no site."""
    if shard is None:
        return 0, sites
    start, stop = shard.bounds(-(-sites // chunk_size))
    return min(start * chunk_size, sites), min(stop * chunk_size, sites)


def check_ism_shards(
    paths: Sequence[Path], metas: Sequence[Mapping[str, object]], inputs: str
) -> None:
    """Stop unless `paths` (with their attributes `metas`) are shards of one ``crossreg
    ism`` run that together hold each of its sites once, in order; shards scored with
    other `inputs` (named in the refusal) are refused naming what differs."""
    if any("shard_count" not in meta for meta in metas):
        bad = next(p for p, m in zip(paths, metas, strict=True) if "shard_count" not in m)
        raise ValueError(f"{bad}: not a shard of a crossreg ism --shard run")
    files = [_shard_file(path, meta) for path, meta in zip(paths, metas, strict=True)]
    for path, meta in zip(paths, metas, strict=True):
        if not scored_alike(metas[0], meta):
            raise other_run(paths[0], metas[0], path, meta, inputs)
    check_named_alike(paths, metas, inputs)
    if len({(f.shard.count, f.chunk_size) for f in files}) == 1:
        check_shards(paths, metas, command="crossreg ism", inputs=inputs)
    else:
        _check_tiling(files)


def _shard_file(path: Path, meta: Mapping[str, object]) -> ShardFile:
    """The shard `path` as its attributes `meta` describe it."""
    missing = [key for key in SHARD_KEYS if key not in meta]
    if missing:
        raise ValueError(
            f"{path}: not a whole crossreg ism shard (no {', '.join(missing)} attribute); "
            f"{ISM_REMEDY}"
        )
    start, stop = (int(x) for x in np.asarray(meta["shard_records"]))
    shard = Shard(int(meta["shard_index"]), int(meta["shard_count"]))  # type: ignore[call-overload]
    return ShardFile(path, shard, rounding(meta).get("chunk_size", 0), start, stop)


def _check_tiling(files: Sequence[ShardFile]) -> None:
    """Stop unless the shards, of several cuts, hold each site of the run once, in order."""
    held = [f for f in files if f.start < f.stop]  # an empty shard holds no site
    ends = [f.stop for f in files if f.shard.index == f.shard.count - 1]
    ordered = sorted(held, key=lambda f: f.start)
    problem = _gaps_and_overlaps(ordered, ends)
    if problem is not None:
        raise ValueError(problem)
    if not ends:
        last = ordered[-1] if ordered else files[-1]
        raise ValueError(
            f"none of the shards is the last of its run (n-1/n), which ends where the run "
            f"does: give the shards that hold the sites after {last}, to the run's last"
        )
    if ordered != held:
        raise ValueError(
            "give the shards in the order of their sites: " + ", ".join(map(str, ordered))
        )


def _gaps_and_overlaps(held: Sequence[ShardFile], ends: Sequence[int]) -> str | None:
    """The first gap or overlap of the non-empty shards `held`, taken in their order, as
    a refusal; None when they tile ``[0, end)`` (`ends`: the run's end as each shard
    ``n-1/n`` given records it)."""
    done, before = 0, None
    for file in held:
        if file.start > done:
            return _gap(done, file.start, before, file, held, ends)
        if file.start < done:
            assert before is not None
            return (
                f"sites {file.start}-{min(done, file.stop)} of the run are in two shards, "
                f"{before} and {file}: give each site's shard once (a shard scored again "
                "with another --chunk-size or n holds other sites than the one it replaces)"
            )
        done, before = file.stop, file
    if ends and done < max(ends):
        return _gap(done, max(ends), before, None, held, ends)
    return None


def _gap(
    start: int,
    stop: int,
    before: ShardFile | None,
    after: ShardFile | None,
    held: Sequence[ShardFile],
    ends: Sequence[int],
) -> str:
    """The refusal of sites ``[start, stop)`` that no shard holds, with the shards that
    would fill the gap."""
    where = [f"after {before}"] if before is not None else []
    where += [f"before {after}"] if after is not None else []
    around = f" ({', '.join(where)})" if where else ""
    fix = _filling(start, stop, [f for f in (before, after) if f is not None], held, ends)
    return f"sites {start}-{stop} of the run are in no shard given{around}: {fix}"


def _filling(
    start: int,
    stop: int,
    near: Sequence[ShardFile],
    held: Sequence[ShardFile],
    ends: Sequence[int],
) -> str:
    """What to score to fill the gap ``[start, stop)``: shards of a cut given (first the
    cuts of the shards `near` it) that hold exactly its sites, else shards of a cut that
    hold them and replace the given shards they overlap, else every shard again."""
    if not ends:  # where each cut's shards lie depends on the run's end
        return "give the shards that hold them, and the run's last shard (n-1/n)"
    total = max(ends)
    given = [(f.shard.count, f.chunk_size) for f in held]
    cuts = sorted(  # the cut most shards share first, then those of the shards near
        dict.fromkeys((f.shard.count, f.chunk_size) for f in [*near, *held]),
        key=given.count,
        reverse=True,
    )
    replacing = []
    for count, chunk in cuts:
        bounds = [shard_sites(Shard(i, count), total, chunk) for i in range(count)]
        inside = [i for i, (a, b) in enumerate(bounds) if start <= a < b <= stop]
        if inside and bounds[inside[0]][0] == start and bounds[inside[-1]][1] == stop:
            return f"score {_shards(inside, count, chunk)} and give {_them(inside)} too"
        cover = [i for i, (a, b) in enumerate(bounds) if a < stop and b > start]
        low, high = bounds[cover[0]][0], bounds[cover[-1]][1]
        replaced = [f for f in held if f.start < high and f.stop > low]
        if all(low <= f.start and f.stop <= high for f in replaced):
            names = ", ".join(str(f.path) for f in replaced)
            where = f"in place of {names}" if replaced else "too"
            replacing.append(
                f"score {_shards(cover, count, chunk)} and give {_them(cover)} {where}"
            )
    if replacing:
        return replacing[0]
    return "score every shard again with one --chunk-size"


def _shards(indices: Sequence[int], count: int, chunk: int) -> str:
    """``--shard i/n --chunk-size C``, or ``--shard i/n to j/n`` (`indices` contiguous)."""
    if len(indices) == 1:
        return f"--shard {indices[0]}/{count} with --chunk-size {chunk}"
    return f"--shard {indices[0]}/{count} to {indices[-1]}/{count} with --chunk-size {chunk}"


def _them(indices: Sequence[int]) -> str:
    """The pronoun for the shards `indices`."""
    return "it" if len(indices) == 1 else "them"
