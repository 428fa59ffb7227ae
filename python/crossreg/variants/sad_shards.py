"""Shards of a SAD or ISM run: the share a process scores (``--shard i/n``, or its
``torchrun`` rank), what a shard file records so that a merge can join it with its
siblings (``shard_index``, ``shard_count``, ``run_settings`` with ``shard_settings``, the
settings it hashes, to name what differs, and ``shard_records``), and the checks that
the files given are all the shards of one run, in order."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from crossreg.errors import require_path_list
from crossreg.io.identity import OLD_RULE, settings_hash
from crossreg.io.partial import left_over
from crossreg.shard import Shard
from crossreg.variants.alleles import format_counts, parse_counts
from crossreg.variants.chunk_store import partial_dir
from crossreg.variants.sad_settings import EITHER_HEAD_OPTION, SAD_INPUTS, head_named
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

SHARD_ATTRS = ("shard_index", "shard_count", "run_settings", "shard_settings", "shard_records")

SUMMED_ATTRS = ("gene_rows",)  # per shard; the merged file holds their sum


def torchrun_shard() -> Shard | None:
    """This process's shard under ``torchrun`` (``RANK/WORLD_SIZE``), else ``None``."""
    count = int(os.environ.get("WORLD_SIZE", "1") or 1)
    return Shard(int(os.environ.get("RANK", "0") or 0), count) if count > 1 else None


def refuse_shard_under_torchrun(shard: Shard | None) -> None:
    """Stop when a share was given (``--shard i/n``) to a process of a ``torchrun`` job,
    whose ranks each take their own share: every rank would write the same one."""
    if shard is not None and torchrun_shard() is not None:
        raise ValueError(
            f"--shard {shard.index}/{shard.count} under torchrun: each rank takes its own share "
            "of the work, so drop --shard (or run the shards as separate jobs without torchrun)"
        )


def shard_output(out: Path, shard: Shard) -> Path:
    """Where shard `i/n` of a ``torchrun`` run writes: ``OUT.shard-i-of-n.h5`` (or .tsv)."""
    return out.with_name(f"{out.stem}.shard-{shard.index}-of-{shard.count}{out.suffix}")


def shard_attrs(
    shard: Shard, settings: Mapping[str, object], start: int, stop: int
) -> dict[str, object]:
    """What a shard file records so that a merge can join it with its siblings: its index
    and count, the hash of the run's `settings` (``run_settings``) with the settings
    themselves (``shard_settings``, to name what differs in a shard of another run), and
    the run's records (a SAD run's kept VCF records, an ISM run's sites) ``[start, stop)``
    it holds (``shard_records``)."""
    return {
        "shard_index": shard.index,
        "shard_count": shard.count,
        "run_settings": settings_hash(settings),
        "shard_settings": json.dumps(settings, sort_keys=True, default=str),
        "shard_records": np.array([start, stop], dtype=np.int64),
    }


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
    by both its spellings, :data:`~crossreg.variants.sad_settings.EITHER_HEAD_OPTION`), but
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
