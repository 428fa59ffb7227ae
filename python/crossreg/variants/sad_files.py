"""SAD output files: Basenji's ``.h5`` layout, the ``.tsv``, the gene table, and merging.

Every output is written in one uninterrupted pass from *parts* — the finished chunks of a
run (:class:`crossreg.variants.sad_stream.ChunkStore`) or the shard files of a sharded one
— each a mapping from a dataset name to rows (a memory-mapped ``.npy`` or an HDF5
dataset). Rows are copied in blocks of a size fixed by the row's size (:func:`block_rows`),
counted from the first row, and attributes are written in sorted order, so the same rows
give the same bytes however they were computed: in one run or several resumed ones, in
one process or in shards. Percentiles are exact and take bounded memory whatever the
number of rows (:func:`crossreg.variants.sad_percentiles.float16_percentiles`).

The ``.h5`` holds, in this order: each statistic ``(alleles, tracks)`` float16 (``REF``/
``ALT``: ``(alleles, bins, tracks)``), ``snp``, ``chr``, ``pos`` (1-based), ``ref_allele``,
``alt_allele``, ``target_ids``, ``target_labels``, ``percentiles`` and ``{stat}_pct``
(tracks × percentiles over all alleles), with the run's metadata as attributes
(``stats`` names the statistics in their order). The allele fields are fixed-width byte
strings as Basenji writes them, gzip-compressed, so one long allele does not pad the file.
A ``.tsv`` keeps the metadata, and the tracks' descriptions as ``target_labels``, in the
JSON file beside it (:func:`metadata_path`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from crossreg import _native
from crossreg.errors import require_path_list
from crossreg.io.atomic import atomic_path, atomic_write
from crossreg.io.h5 import (
    H5_FILE_BYTES,
    all_attrs,
    attrs_bytes,
    damaged_data,
    dataset_bytes,
    open_h5,
    read_h5,
    stored_text,
    written_h5,
)
from crossreg.io.identity import OLD_RULE
from crossreg.io.partial import left_over
from crossreg.progress import Progress, progress
from crossreg.variants.alleles import format_counts, parse_counts
from crossreg.variants.genes import genes_path
from crossreg.variants.sad_names import PROFILE_STATS, STAT_NAMES
from crossreg.variants.sad_percentiles import PERCENTILES, float16_percentiles
from crossreg.variants.sad_stream import EITHER_HEAD_OPTION, SAD_INPUTS, head_named, partial_dir
from crossreg.variants.shard_layout import (
    LABEL_SETTINGS,
    devices_recorded,
    layout_attrs,
    merged_settings,
    named_alike,
    named_labels,
    recorded_settings,
    scored_alike,
    without_labels,
    without_rounding,
)

BLOCK_BYTES = 64 << 20  # about this much of a dataset is read or written at a time
FIELD_CHUNK = 16_384  # rows per compressed chunk of the allele fields
ROW_FIELDS = ("snp", "chr", "pos", "ref_allele", "alt_allele")
TSV_FIELDS = ("snp", "chrom", "pos", "ref", "alt")
SHARD_ATTRS = ("shard_index", "shard_count", "run_settings", "shard_settings", "shard_records")
SUMMED_ATTRS = ("gene_rows",)  # per shard; the merged file holds their sum
SAD_REMEDY = "rerun crossreg sad to write it again"  # for an .h5 h5py cannot open

Part = Mapping[str, Any]  # dataset name -> rows (np.ndarray, np.memmap or h5py.Dataset)


def rescore_hint(stat: str) -> str:
    """How to write a SAD file that holds `stat`."""
    return f"score the variants again with crossreg sad --stats naming {stat}"


def check_sad_datasets(path: Path, handle: Any, stat: str = "SAD") -> tuple[int, int]:
    """Stop unless `handle` (an open SAD ``.h5``) holds ``snp``, `stat` and ``target_ids``
    with `stat` shaped (len(snp), len(target_ids)) (3-D profiles: (len(snp), bins,
    len(target_ids))); the other row fields present must have len(snp) rows. Returns
    (alleles, tracks)."""
    missing = [k for k in ("snp", stat, "target_ids") if k not in handle]
    held = [k for k in STAT_NAMES if k in handle]
    if missing == [stat] and held:
        raise ValueError(f"{path}: holds {','.join(held)}, not {stat}; {rescore_hint(stat)}")
    if missing:
        raise ValueError(f"{path}: not a SAD file (no {', '.join(missing)} dataset)")
    rows = handle["snp"].shape[0] if handle["snp"].ndim == 1 else -1
    tracks = handle["target_ids"].shape[0] if handle["target_ids"].ndim == 1 else -1
    if rows < 0 or tracks < 0:
        raise ValueError(
            f"{path}: snp and target_ids must be 1-D lists (shapes {handle['snp'].shape}, "
            f"{handle['target_ids'].shape}); the file is damaged: rerun crossreg sad"
        )
    shape = tuple(handle[stat].shape)
    fits = (
        len(shape) == 2 and shape == (rows, tracks)
        if stat not in PROFILE_STATS
        else len(shape) == 3 and shape[0] == rows and shape[2] == tracks
    )
    if not fits:
        need = f"({rows}, {tracks})" if stat not in PROFILE_STATS else f"({rows}, bins, {tracks})"
        raise ValueError(
            f"{path}: dataset {stat} has shape {shape} but {rows} snp labels and {tracks} "
            f"target_ids need {need}; the file is damaged: rerun crossreg sad"
        )
    for name in (*ROW_FIELDS[1:], "target_labels"):
        if name not in handle:
            continue
        need_rows = tracks if name == "target_labels" else rows
        if handle[name].ndim != 1 or handle[name].shape[0] != need_rows:
            owner = "target_ids" if name == "target_labels" else "snp labels"
            raise ValueError(
                f"{path}: dataset {name} has shape {handle[name].shape} for {need_rows} "
                f"{owner}; the file is damaged: rerun crossreg sad"
            )
    return rows, tracks


def part_rows(part: Part) -> int:
    """The number of alleles in a part."""
    return len(part["snp"])


def read_rows(parts: Sequence[Part], name: str, start: int, stop: int) -> npt.NDArray:
    """Rows ``[start, stop)`` of dataset `name` over `parts` joined end to end."""
    pieces = []
    offset = 0
    for part in parts:
        size = part_rows(part)
        lo, hi = max(start - offset, 0), min(stop - offset, size)
        if lo < hi:
            pieces.append(np.asarray(part[name][lo:hi]))
        offset += size
        if offset >= stop:
            break
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def field_dtype(parts: Sequence[Part], name: str) -> np.dtype:
    """``pos``: uint32; the text fields: bytes as wide as the widest value (at least 1)."""
    if name == "pos":
        return np.dtype(np.uint32)
    width = max([1, *(np.asarray(part[name][:0]).dtype.itemsize for part in parts)])
    return np.dtype(f"S{width}")


def write_h5(
    path: Path,
    parts: Sequence[Part],
    stats: Sequence[str],
    target_ids: Sequence[str],
    target_labels: Sequence[str],
    attrs: Mapping[str, object],
) -> int:
    """Write the ``.h5`` at `path` (atomically) from `parts`; returns the allele count.
    Without alleles (a shard or VCF with none to score) every dataset has 0 rows and the
    ``{stat}_pct`` tables hold zeros."""
    n = sum(part_rows(part) for part in parts)
    n_tracks = len(target_ids)
    layouts = {name: score_layout(parts, name, n, n_tracks) for name in stats}
    layouts.update({name: field_layout(parts, name, n) for name in ROW_FIELDS})
    names = [np.array(list(values), dtype="S") for values in (target_ids, target_labels)]
    flat = [s for s in stats if s not in PROFILE_STATS]
    bound = (
        H5_FILE_BYTES
        + sum(layout.bytes() for layout in layouts.values())
        + sum(dataset_bytes(values.shape, values.dtype) for values in names)
        + (len(flat) + 1) * dataset_bytes((n_tracks, len(PERCENTILES)), np.float64)
        + attrs_bytes(attrs)
    )
    with atomic_path(path) as tmp, written_h5(tmp, bound) as handle:
        with progress(n * len(layouts), f"writing {path.name}", "rows") as meter:
            for name, layout in layouts.items():
                dataset = handle.create_dataset(
                    name,
                    shape=layout.shape,
                    dtype=layout.dtype,
                    chunks=layout.chunks,
                    fletcher32=layout.chunks is not None,
                    compression="gzip" if layout.compressed else None,
                )
                _copy(dataset, parts, name, n, meter)
        handle["target_ids"], handle["target_labels"] = names
        handle["percentiles"] = PERCENTILES
        write_percentiles(handle, flat, n, n_tracks)
        for key in sorted(attrs):
            handle.attrs[key] = attrs[key]
    return n


class Layout(NamedTuple):
    """How a dataset of the ``.h5`` is stored (the arguments of
    :func:`crossreg.io.h5.dataset_bytes`): chunked datasets carry checksums."""

    shape: tuple[int, ...]
    dtype: np.dtype
    chunks: tuple[int, ...] | None
    compressed: bool = False

    def bytes(self) -> int:
        """A bound on the bytes the dataset takes in the file."""
        return dataset_bytes(self.shape, self.dtype, self.chunks, compressed=self.compressed)


def score_layout(parts: Sequence[Part], name: str, n: int, n_tracks: int) -> Layout:
    """The statistic `name` of `n` alleles: float16, a chunk per allele for a profile
    statistic (``(n, bins, tracks)``), per 1,024 alleles otherwise."""
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    if name in PROFILE_STATS:
        bins = next((part[name].shape[1] for part in parts if part_rows(part)), 0)
        shape, chunks = (n, bins, n_tracks), (1, bins, n_tracks)
    else:
        shape, chunks = (n, n_tracks), (min(n, 1024), n_tracks)
    return Layout(shape, np.dtype(np.float16), chunks if n else None)


def field_layout(parts: Sequence[Part], name: str, n: int) -> Layout:
    """The allele field `name` (:data:`ROW_FIELDS`): compressed, since one long allele
    pads every row to its width."""
    chunks = (min(n, FIELD_CHUNK),) if n else None
    return Layout((n,), field_dtype(parts, name), chunks, compressed=n > 0)


def block_rows(row_bytes: int) -> int:
    """Rows per block of about :data:`BLOCK_BYTES` (a multiple of 1,024 when that many fit,
    matching the ``.h5`` chunks): fixed by the row size, so every run copies alike."""
    rows = max(1, BLOCK_BYTES // max(row_bytes, 1))
    return rows // 1024 * 1024 if rows >= 1024 else rows


def _copy(dataset: Any, parts: Sequence[Part], name: str, n: int, meter: Progress) -> None:
    step = block_rows(int(np.prod(dataset.shape[1:], dtype=np.int64)) * dataset.dtype.itemsize)
    for start in range(0, n, step):
        stop = min(start + step, n)
        dataset[start:stop] = read_rows(parts, name, start, stop)
        meter.update(stop - start)


def write_percentiles(handle: Any, flat: Sequence[str], n: int, n_tracks: int) -> None:
    """``{stat}_pct`` (tracks × percentiles, float16) over all `n` rows of each statistic
    (:func:`crossreg.variants.sad_percentiles.float16_percentiles`)."""
    with progress(len(flat) * n_tracks if n else 0, "percentile tables", "tracks") as meter:
        for name in flat:
            shape = (n_tracks, len(PERCENTILES))
            pct = handle.create_dataset(f"{name}_pct", shape=shape, dtype="f2")
            if n:
                pct[:] = float16_percentiles(handle[name], n, block_bytes=BLOCK_BYTES, meter=meter)


def tsv_columns(stats: Sequence[str], target_ids: Sequence[str]) -> list[str]:
    """A ``.tsv``'s score columns: the track identifiers for SAD alone (the default),
    else ``STAT:identifier`` per statistic, statistic by statistic."""
    if tuple(stats) == ("SAD",):
        return list(target_ids)
    return [f"{name}:{identifier}" for name in stats for identifier in target_ids]


def write_tsv(
    path: Path,
    parts: Sequence[Part],
    stats: Sequence[str],
    target_ids: Sequence[str],
    target_labels: Sequence[str],
    attrs: Mapping[str, object],
) -> int:
    """Write the ``.tsv`` at `path` (one row per allele: snp, chrom, pos, ref, alt, then
    the statistics' columns, ``%.6g``) and its metadata ``path.json`` (`attrs` and the
    tracks' descriptions, ``target_labels``), both atomically; returns the allele count."""
    n = 0
    total = sum(part_rows(part) for part in parts)
    header = "\t".join([*TSV_FIELDS, *tsv_columns(stats, target_ids)]) + "\n"
    with (
        atomic_write(path, "wb") as handle,
        progress(total, f"writing {path.name}", "alleles") as meter,
    ):
        handle.write(header.encode())
        for part in parts:
            size = part_rows(part)
            if not size:
                continue
            fields = [np.asarray(part[name][:]) for name in ROW_FIELDS]
            step = block_rows(sum(int(np.prod(part[s].shape[1:])) * 4 for s in stats))
            for start in range(0, size, step):
                stop = min(start + step, size)
                block = np.concatenate(
                    [np.asarray(part[s][start:stop], dtype=np.float32) for s in stats], axis=1
                )
                prefixes = [
                    "\t".join(stored_text(field[i]) for field in fields) for i in range(start, stop)
                ]
                handle.write(_native.format_rows(prefixes, np.ascontiguousarray(block)))
                meter.update(stop - start)
            n += size
    meta = {**attrs, "target_labels": list(target_labels)}
    with atomic_write(metadata_path(path)) as handle:
        json.dump({key: meta[key] for key in sorted(meta)}, handle, indent=1, default=_plain)
    return n


def _plain(value: object) -> object:
    """numpy values in metadata → JSON numbers and lists."""
    return value.tolist() if isinstance(value, np.ndarray | np.generic) else str(value)


def metadata_path(tsv: Path) -> Path:
    """The JSON file beside a ``.tsv`` output that holds its metadata."""
    return tsv.with_name(tsv.name + ".json")


def join_tables(path: Path, header: str, pieces: Iterable[Path], *, headed: bool = False) -> int:
    """Write `header`, then the rows of each of `pieces` (after their own header line
    when `headed`), into `path`, atomically; returns the row count."""
    rows = 0
    with atomic_path(path) as tmp, open(tmp, "w") as out:
        out.write(header)
        for piece in pieces:
            with open(piece) as handle:
                if headed:
                    handle.readline()
                for line in handle:
                    out.write(line)
                    rows += 1
    return rows


def other_output_beside(out: Path) -> Path | None:
    """The SAD output of the other kind (``run.tsv`` for ``run.h5``, and back) beside
    `out`, when there is one: the files named after their shared stem (figures, gene
    table) may be its, and are not removed as `out`'s stale ones."""
    other = out.with_suffix(".tsv" if out.suffix == ".h5" else ".h5")
    return other if other.exists() else None


def require_whole_run(path: Path, attrs: Mapping[str, object]) -> None:
    """Stop when `attrs` (a SAD file's :func:`read_attrs`) say the file is one shard of a
    ``crossreg sad --shard`` run: it holds only its share of the VCF's alleles, and a step
    reading it would take the others as never scored."""
    if "shard_count" in attrs:
        index, count = attrs.get("shard_index"), attrs["shard_count"]
        raise ValueError(
            f"{path}: shard {index}/{count} of a crossreg sad --shard run, with only its share "
            "of the VCF's alleles; join the shards with crossreg sad-merge and give the "
            "merged file"
        )


def read_attrs(path: Path) -> dict[str, object]:
    """The metadata of a SAD output: an ``.h5``'s attributes or a ``.tsv``'s JSON."""
    if path.suffix == ".h5":
        with read_h5(path, SAD_REMEDY) as handle:
            return all_attrs(handle, path, SAD_REMEDY)
    meta = metadata_path(path)
    if not meta.exists():
        raise ValueError(f"{path}: no {meta.name} beside it; is it a crossreg sad output?")
    return json.loads(meta.read_text())


def merged_attrs(metas: Sequence[Mapping[str, object]], unit: str) -> dict[str, object]:
    """The attributes of the file the shards make: the first's without the shard keys,
    per-shard counts summed, the whole run's ``settings``
    (:func:`~crossreg.variants.shard_layout.merged_settings`; none where a shard recorded
    none, as an earlier crossreg's), and what the shards differ in
    (:func:`~crossreg.variants.shard_layout.layout_attrs`, each shard's share of the run
    counted in `unit`); a :data:`~crossreg.variants.shard_layout.LABEL_SETTINGS` attribute
    (``variants_genome``) as the shards that give it name it."""
    attrs = {key: value for key, value in metas[0].items() if key not in SHARD_ATTRS}
    attrs.update(named_labels(metas))
    runs = [run for run in (recorded_settings(meta, "settings") for meta in metas) if run]
    attrs.pop("settings", None)
    if len(runs) == len(metas):
        attrs["settings"] = json.dumps(merged_settings(runs), sort_keys=True)
    for key in SUMMED_ATTRS:
        if key in attrs:
            attrs[key] = sum(int(meta[key]) for meta in metas)  # type: ignore[call-overload]
    if "skipped_alleles" in attrs:
        total: dict[str, int] = {}
        for meta in metas:
            for reason, count in parse_counts(str(meta["skipped_alleles"])).items():
                total[reason] = total.get(reason, 0) + count
        attrs["skipped_alleles"] = format_counts(dict(sorted(total.items())))
    return attrs | layout_attrs(metas, unit)


def shard_differences(first: Mapping[str, object], other: Mapping[str, object]) -> str:
    """What differs between the settings two shards recorded (``shard_settings``), named
    as options (``--width 4 then, 5 now``: then the first shard, now the other; the head
    by both its spellings, :data:`~crossreg.variants.sad_stream.EITHER_HEAD_OPTION`), but
    for the settings shards of one run may differ in
    (:func:`~crossreg.variants.shard_layout.scored_alike`: a label given by one shard
    only is not named); shards written before the settings were recorded say only that
    they differ."""
    before, now = recorded_settings(first), recorded_settings(other)
    if before is None or now is None:
        return "other settings"
    if named_alike(before, now):
        before, now = without_labels(before), without_labels(now)
    device = devices_recorded(first, other)
    changes = head_named(EITHER_HEAD_OPTION)(
        without_rounding(before, device=device), without_rounding(now, device=device)
    )
    return "; ".join(changes) if changes else "other settings"


def _matched_by_path(meta: Mapping[str, object]) -> bool:
    """Whether a shard recorded its inputs by path and modification time (before
    :data:`~crossreg.io.identity.IDENTITY_RULE`)."""
    settings = recorded_settings(meta)
    return settings is None or "identity" not in settings


def other_run(
    first_path: Path,
    first: Mapping[str, object],
    path: Path,
    meta: Mapping[str, object],
    inputs: str,
) -> ValueError:
    """The refusal of the shard `path` (attributes `meta`), of another run than the shard
    `first_path` (`first`): what differs (:func:`shard_differences`), or that one of them
    matched its inputs by path, and what to do."""
    pairs = ((first_path, first), (path, meta))
    old = next((p for p, m in pairs if _matched_by_path(m)), None)
    if old is not None:
        return ValueError(
            f"{old} {OLD_RULE}; rescore it with this version, as the other shards were"
        )
    return ValueError(
        f"{path}: a shard of another run than {first_path} "
        f"({shard_differences(first, meta)}); score every shard with the same {inputs}"
    )


def check_named_alike(
    shards: Sequence[Path], metas: Sequence[Mapping[str, object]], inputs: str
) -> None:
    """Stop when two of `shards` (attributes `metas`) name different values of a
    :data:`~crossreg.variants.shard_layout.LABEL_SETTINGS` setting (``--variants-genome
    human`` and ``mouse``): the merged file can name one only. Shards that name it and
    shards that do not are one run's (:func:`~crossreg.variants.shard_layout.scored_alike`
    compares each with the first)."""
    settings = [recorded_settings(meta) or {} for meta in metas]
    for key in LABEL_SETTINGS:
        named = [i for i, held in enumerate(settings) if held.get(key) is not None]
        for i in named[1:]:
            if settings[i][key] != settings[named[0]][key]:
                first = named[0]
                raise other_run(shards[first], metas[first], shards[i], metas[i], inputs)


def check_shards(
    shards: Sequence[Path],
    metas: Sequence[Mapping[str, object]],
    *,
    command: str = "crossreg sad",
    inputs: str = SAD_INPUTS,
) -> None:
    """Stop unless `shards` are all the shards of one `command` ``--shard`` run, each
    once, in order, end to end, with the same `inputs` (named in the refusal) but for
    how they were batched (:func:`~crossreg.variants.shard_layout.scored_alike`)."""
    count = int(metas[0].get("shard_count", 0))  # type: ignore[call-overload]
    if not count:
        raise ValueError(
            f"{shards[0]}: not a shard of a {command} --shard run; give the files the "
            f"{command} --shard i/n jobs wrote"
        )
    for path, meta in zip(shards, metas, strict=True):
        if int(meta.get("shard_count", 0)) != count:  # type: ignore[call-overload]
            raise ValueError(
                f"{path}: not a shard of the same {count}-shard run as {shards[0]} (it is "
                f"shard {meta.get('shard_index', '?')}/{meta.get('shard_count', '?')}); give "
                f"the {count} shards of one run"
            )
    check_named_alike(shards, metas, inputs)
    given = [int(meta["shard_index"]) for meta in metas]  # type: ignore[call-overload]
    twice = sorted({i for i in given if given.count(i) > 1})
    if len(shards) != count or twice:
        missing = [f"{i}/{count}" for i in range(count) if i not in given]
        named = ", ".join(f"{path} ({i}/{count})" for path, i in zip(shards, given, strict=True))
        lacking = f"; missing: {', '.join(missing)}" if missing else ""
        repeated = f"; given twice: {', '.join(f'{i}/{count}' for i in twice)}" if twice else ""
        raise ValueError(
            f"the run has {count} shards; {len(shards)} were given: {named}{lacking}{repeated}"
        )
    for i, (path, meta) in enumerate(zip(shards, metas, strict=True)):
        if given[i] != i:
            raise ValueError(
                f"{path}: shard {given[i]}/{count} given in place {i}; "
                f"give the shards in order 0..{count - 1}"
            )
        if not scored_alike(metas[0], meta):
            raise other_run(shards[0], metas[0], path, meta, inputs)
        if i and int(np.asarray(meta["shard_records"])[0]) != int(
            np.asarray(metas[i - 1]["shard_records"])[1]
        ):
            raise ValueError(
                f"{path}: does not start where shard {i - 1} ends; score it again with the "
                "inputs and options of the others"
            )


def shard_paths(
    out: str | os.PathLike[str],
    shards: Sequence[str | os.PathLike[str]],
    command: str = "crossreg sad",
) -> tuple[Path, list[Path]]:
    """`out` and `shards` as paths, after the checks every merge makes before it reads a
    shard: the shards are a list of at least one path, `out` is none of them, and no
    `command` run scoring a shard is under way or was stopped (its ``OUT.partial/`` is
    beside it: the file, if there is one, is an earlier run's)."""
    require_path_list(shards, "shards")
    target, paths = Path(out), [Path(p) for p in shards]
    if not paths:
        raise ValueError("give the shard files to merge")
    if any(path.resolve() == target.resolve() for path in paths):
        raise ValueError(f"--out {target} is one of the shards; merge into another file")
    for path in paths:
        partial = partial_dir(path)
        if left_over(partial):
            raise ValueError(
                f"{path}: {partial} is beside it, so a run scoring this shard is under way or "
                "was stopped (the file, if there is one, is an earlier run's); let it finish "
                f"or continue it with {command} --resume and the same --shard, then merge"
            )
    return target, paths


def merge_shards(
    out: str | os.PathLike[str], shards: Sequence[str | os.PathLike[str]]
) -> tuple[Path, int]:
    """Join the shards ``0/n … n-1/n`` of one run (``.h5`` or ``.tsv``), given in order,
    into `out`: byte for byte the file one process would have written (``.h5``
    percentiles over all rows), and the gene tables beside them likewise, unless the
    shards were batched differently (another ``--batch-size``: the scores are then one
    run's to float rounding), read their inputs at other paths or ran on other devices,
    which the file records (:func:`~crossreg.variants.shard_layout.layout_attrs`).
    Returns the path and the number of alleles."""
    out, paths = shard_paths(out, shards)
    if out.suffix not in (".h5", ".tsv"):
        raise ValueError(f"{out}: merge .h5 shards into an .h5 and .tsv shards into a .tsv")
    other = next((p for p in paths if p.suffix != out.suffix), None)
    if other is not None:
        raise ValueError(
            f"{other}: not a {out.suffix} shard, as {out} is; merge .h5 shards into an .h5 "
            "and .tsv shards into a .tsv"
        )
    metas = [read_attrs(path) for path in paths]
    for path, meta in zip(paths, metas, strict=True):
        if "sites_from" in meta:  # what crossreg ism records
            raise ValueError(f"{path}: a crossreg ism file, not a SAD one; join it with ism-merge")
    check_shards(paths, metas)
    if len({"gtf" in meta for meta in metas}) > 1:  # shards of runs before --gtf counted
        with_gtf = next(p for p, m in zip(paths, metas, strict=True) if "gtf" in m)
        without = next(p for p, m in zip(paths, metas, strict=True) if "gtf" not in m)
        raise ValueError(
            f"{with_gtf} was scored with --gtf and {without} without; score every shard with "
            "the same --gtf, or none"
        )
    attrs = merged_attrs(metas, unit="records")
    tables = [genes_path(path) for path in paths] if "gtf" in attrs else []
    for table in tables:  # checked before anything is written
        if not table.exists():
            raise ValueError(
                f"{table}: missing; a shard scored with --gtf keeps its gene table beside it "
                "(move the two together)"
            )
    n = _merge_h5(out, paths, attrs) if out.suffix == ".h5" else _merge_tsv(out, paths, attrs)
    if tables:
        join_tables(genes_path(out), _first_line(tables[0]), tables, headed=True)
    remove_stale_gene_table(out, attrs)
    return out, n


def remove_stale_gene_table(out: Path, attrs: Mapping[str, object]) -> None:
    """Remove ``OUT.genes.tsv`` beside the SAD output `out`, just written with metadata
    `attrs`, when it was scored without a GTF: the table is an earlier run's, of other
    variants (unless an output of the other kind shares its name:
    :func:`other_output_beside`)."""
    if "gtf" not in attrs and other_output_beside(out) is None:
        genes_path(out).unlink(missing_ok=True)


def _merge_h5(out: Path, paths: Sequence[Path], attrs: Mapping[str, object]) -> int:
    handles: list[Any] = []
    try:
        for path in paths:
            handles.append(open_h5(path, SAD_REMEDY))
        first = handles[0]
        stats = str(attrs["stats"]).split(",")
        for path, handle in zip(paths, handles, strict=True):
            for stat in stats:
                check_sad_datasets(path, handle, stat)
            missing = [k for k in (*ROW_FIELDS, "target_labels") if k not in handle]
            if missing:
                raise ValueError(
                    f"{path}: not a complete crossreg sad shard (no {', '.join(missing)} "
                    "dataset); rerun crossreg sad for this shard"
                )
        for path, handle in zip(paths, handles, strict=True):
            if not np.array_equal(handle["target_ids"][:], first["target_ids"][:]):
                raise ValueError(
                    f"{path}: other tracks than {paths[0]}; rerun crossreg sad for this shard "
                    "with the others' --targets"
                )
        names = [*stats, *ROW_FIELDS]
        try:
            return write_h5(
                out,
                [{name: handle[name] for name in names} for handle in handles],
                stats,
                first["target_ids"][:].astype(str).tolist(),
                first["target_labels"][:].astype(str).tolist(),
                attrs,
            )
        except OSError as err:
            raise unreadable_shard(paths, handles, names) or err from None
    finally:
        for handle in handles:
            handle.close()


def unreadable_shard(
    paths: Sequence[Path], handles: Sequence[Any], names: Sequence[str], remedy: str = SAD_REMEDY
) -> Exception | None:
    """The error naming the first of the shards whose datasets `names` do not read back
    (a chunk failing its checksum), read block by block, with `remedy`; None when all of
    them read."""
    for path, handle in zip(paths, handles, strict=True):
        for name in names:
            dataset = handle[name]
            row_bytes = int(np.prod(dataset.shape[1:], dtype=np.int64)) * dataset.dtype.itemsize
            step = block_rows(row_bytes)
            try:
                for start in range(0, dataset.shape[0], step):
                    dataset[start : start + step]
            except OSError as err:
                return damaged_data(path, err, remedy)
    return None


def _merge_tsv(out: Path, paths: Sequence[Path], attrs: Mapping[str, object]) -> int:
    header = _first_line(paths[0])
    for path in paths[1:]:
        if _first_line(path) != header:
            raise ValueError(
                f"{path}: other columns than {paths[0]}; rerun crossreg sad for this shard with "
                "the others' --stats and --targets"
            )
    n = join_tables(out, header, paths, headed=True)
    with atomic_write(metadata_path(out)) as handle:
        json.dump({key: attrs[key] for key in sorted(attrs)}, handle, indent=1, default=_plain)
    return n


def _first_line(path: Path) -> str:
    with open(path) as handle:
        return handle.readline()
