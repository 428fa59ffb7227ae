"""What shards of one ``crossreg sad`` or ``crossreg ism`` run may differ in, and what the
file they merge into records of it.

A shard records the settings that make its scores (``shard_settings``, hashed as
``run_settings``: :func:`crossreg.variants.sad_shards.shard_attrs`). Shards whose settings
differ only in how the work was batched (:data:`ROUNDING_SETTINGS`: a shard scored again
with a smaller ``--batch-size`` after running out of GPU memory, an ISM shard with another
``--chunk-size``) or given another ``--device`` (``cpu`` on one node, ``auto`` on another:
:data:`DEVICE_SETTING`, when both recorded the device they ran on) are one run's, to
float rounding. Shards of which only some name the genome the variants are of
(``--variants-genome``, :data:`LABEL_SETTINGS`: a name in the figures' titles, not a
score) are one run's too, named so. Shards may also have read their inputs at other
paths (copies staged on each node, :data:`PATH_ATTRS`) and run on other devices
(``device``, one or, for a shard resumed on another node, several). The merged file is
the bytes one run writes when the shards agree in all of these; otherwise it records what
differs (:func:`layout_attrs`), and its ``settings`` the values the shards differ in
(:func:`merged_settings`), so that it claims only what holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: The settings that change scores only by float rounding: how many sequences are batched
#: together (``options.batch_size``) and, for ISM, how many sites a chunk holds.
ROUNDING_SETTINGS = ("chunk_size", "batch_size")
#: The attributes that say where a run read an input (its path).
PATH_ATTRS = ("model", "fasta", "vcf", "source", "gtf")
#: The inference option ``--device`` as given (``auto``, ``cpu``, ``cuda:1``): it changes
#: scores only by float rounding, and a shard records the device it ran on (``device``).
DEVICE_SETTING = "device"
#: The settings that name what was scored without changing a score (``--variants-genome``,
#: the genome whose variants they are, which titles the figures; recorded, under the same
#: key, as an attribute too): shards that differ only in giving it or not are one run's,
#: and the merged file names it; shards that name different genomes are not.
LABEL_SETTINGS = ("variants_genome",)


def recorded_settings(
    meta: Mapping[str, object], key: str = "shard_settings"
) -> dict[str, object] | None:
    """The settings a shard recorded (``shard_settings``, or the run's ``settings`` a
    ``--resume`` compares), or None for a file without them (or with settings that do
    not parse)."""
    try:
        settings = json.loads(str(meta[key]))
    except (KeyError, json.JSONDecodeError):
        return None
    return settings if isinstance(settings, dict) else None


def without_rounding(settings: Mapping[str, object], *, device: bool) -> dict[str, object]:
    """`settings` without :data:`ROUNDING_SETTINGS` (at the top, and among ``options``)
    and, with `device`, without :data:`DEVICE_SETTING` (among ``options``)."""
    dropped = (*ROUNDING_SETTINGS, DEVICE_SETTING) if device else ROUNDING_SETTINGS
    kept = {k: v for k, v in settings.items() if k not in ROUNDING_SETTINGS}
    options = kept.get("options")
    if isinstance(options, dict):
        kept["options"] = {k: v for k, v in options.items() if k not in dropped}
    return kept


def without_labels(settings: Mapping[str, object]) -> dict[str, object]:
    """`settings` without :data:`LABEL_SETTINGS`."""
    return {k: v for k, v in settings.items() if k not in LABEL_SETTINGS}


def named_alike(*records: Mapping[str, object]) -> bool:
    """Whether `records` (settings or attributes) name no :data:`LABEL_SETTINGS` value
    but one each: a record that names none agrees with any."""
    return all(
        len({str(r[key]) for r in records if r.get(key) is not None}) <= 1 for key in LABEL_SETTINGS
    )


def named_labels(records: Sequence[Mapping[str, object]]) -> dict[str, object]:
    """Each :data:`LABEL_SETTINGS` value that some of `records` (:func:`named_alike`)
    name, as the first of them to name it does; a label none names is left out."""
    labels = {}
    for key in LABEL_SETTINGS:
        named = [r[key] for r in records if r.get(key) is not None]
        if named:
            labels[key] = named[0]
    return labels


def devices_recorded(*metas: Mapping[str, object]) -> bool:
    """Whether every shard (its attributes `metas`) recorded the device it ran on, so that
    a merge of shards given another ``--device`` records each one's."""
    return all("device" in meta for meta in metas)


def scored_alike(first: Mapping[str, object], other: Mapping[str, object]) -> bool:
    """Whether two shards (their attributes) were scored as one run: with the very same
    settings (``run_settings``), or, their inputs matched by content, with settings that
    differ only in :data:`ROUNDING_SETTINGS`, where both recorded the device they ran
    on, :data:`DEVICE_SETTING`, and in giving a :data:`LABEL_SETTINGS` value or not
    (:func:`named_alike`)."""
    if first.get("run_settings") == other.get("run_settings"):
        return True
    before, now = recorded_settings(first), recorded_settings(other)
    if before is None or now is None or "identity" not in before or "identity" not in now:
        return False
    if not named_alike(before, now):
        return False
    device = devices_recorded(first, other)
    return without_rounding(without_labels(before), device=device) == without_rounding(
        without_labels(now), device=device
    )


def rounding(meta: Mapping[str, object]) -> dict[str, int]:
    """The :data:`ROUNDING_SETTINGS` a shard recorded, by name (none recorded: empty)."""
    settings = recorded_settings(meta) or {}
    options = settings.get("options")
    found = {**(options if isinstance(options, dict) else {}), **settings}
    return {key: int(found[key]) for key in ROUNDING_SETTINGS if key in found}


def recorded_devices(meta: Mapping[str, object]) -> list[str]:
    """The devices a file (its attributes `meta`) records it was scored on: its ``device``,
    one, or a list for a run resumed on another node (``[""]`` for a file of an earlier
    crossreg that records none)."""
    value = meta.get("device", "")
    if isinstance(value, str):
        return [value]
    return [x.decode() if isinstance(x, bytes) else str(x) for x in np.asarray(value).ravel()]


def layout_attrs(metas: Sequence[Mapping[str, object]], unit: str) -> dict[str, object]:
    """What the file merged from the shards (attributes `metas`, in order) records of how
    they differ, so that it claims only what holds: a rounding setting with several values
    as their list, ascending (``batch_sizes``, ``chunk_sizes``: the scores are one run's to
    float rounding, not to the byte); an attribute of :data:`PATH_ATTRS` the shards
    recorded differently as a list of each shard's (empty for a shard that recorded
    none); the devices, where the shards ran on different ones or one ran on several, as
    the list of each shard's in turn (``device``: :func:`recorded_devices`); and, with any
    of these, ``shard_layout`` (JSON: each shard's ``i/n``, rounding settings, device (a
    list where it ran on several) and `unit` ``[start, stop)`` of the run's, in order).
    Empty when the shards agree: the merged file is then the bytes of one run."""
    attrs: dict[str, object] = {}
    settings = [rounding(meta) for meta in metas]
    for key in ROUNDING_SETTINGS:
        values = sorted({s[key] for s in settings if key in s})
        if len(values) > 1:
            attrs[f"{key}s"] = np.array(values, dtype=np.int64)
    for key in PATH_ATTRS:
        held = [str(meta.get(key, "")) for meta in metas]  # "": a shard of an earlier crossreg
        if len(set(held)) > 1:
            attrs[key] = held
    devices = [recorded_devices(meta) for meta in metas]
    if len({tuple(each) for each in devices}) > 1 or any(len(each) > 1 for each in devices):
        attrs["device"] = [device for each in devices for device in each]
    if attrs:
        layout = [_placed(meta, found, unit) for meta, found in zip(metas, settings, strict=True)]
        attrs["shard_layout"] = json.dumps(layout)
    return attrs


def _placed(
    meta: Mapping[str, object], settings: Mapping[str, int], unit: str
) -> dict[str, object]:
    """A shard's entry in ``shard_layout``."""
    entry: dict[str, object] = {"shard": f"{meta['shard_index']}/{meta['shard_count']}"}
    entry |= settings
    if "device" in meta:
        devices = recorded_devices(meta)
        entry["device"] = devices[0] if len(devices) == 1 else devices
    entry[unit] = [int(x) for x in np.asarray(meta["shard_records"])]
    return entry


def merged_settings(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The ``settings`` of the file merged from shards that recorded `runs` (each one's
    ``settings``, in order): the whole run's (``shard`` ``None``), with a setting they
    differ in, which :func:`scored_alike` allows (a :data:`ROUNDING_SETTINGS` value, the kind
    of device among ``options``), as the list of their values, ascending, so that it claims
    only what holds (a ``--resume`` of the merged file then names it: ``--batch-size
    1,8 then, 8 now``); a :data:`LABEL_SETTINGS` value as the shards that give it name it."""
    merged: dict[str, Any] = {**runs[0], "shard": str(None)}
    merged.update(named_labels(runs))
    options = [run.get("options", {}) for run in runs]
    if isinstance(merged.get("options"), dict):
        merged["options"] = dict(merged["options"])
        for key in (*ROUNDING_SETTINGS, DEVICE_SETTING):
            if key in merged["options"]:
                merged["options"][key] = _values([held.get(key) for held in options])
    for key in ROUNDING_SETTINGS:
        if key in merged:
            merged[key] = _values([run.get(key) for run in runs])
    return merged


def _values(held: Sequence[Any]) -> Any:
    """The one value of `held`, or their distinct values (a list among them counted as
    its values: a shard scored on several kinds of device), ascending."""
    if all(value == held[0] for value in held):
        return held[0]
    found = {item for value in held for item in (value if isinstance(value, list) else [value])}
    return sorted(found, key=lambda item: (str(type(item)), item))
