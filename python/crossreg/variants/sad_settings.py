"""The settings a SAD or ISM run records (what makes two runs or shards give the same
scores, and the devices that scored them), and the settings that differ between two
runs named by the options that set them."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from crossreg.genome import Genome
from crossreg.io.changes import Option, changes
from crossreg.io.identity import IDENTITY_RULE, OLD_RULE
from crossreg.model.checkpoint_info import checkpoint_identity
from crossreg.step_defaults import HEAD_ALIAS, HEAD_OPTION, INFERENCE_OPTIONS
from crossreg.variants.shard_layout import DEVICE_SETTING

if TYPE_CHECKING:
    from crossreg.model.inference import InferenceOptions

#: What a resumed SAD run, or each shard of one, must share with the rest, as refusals name it
SAD_INPUTS = "model, FASTA, VCF and options"

#: An earlier crossreg's ISM shards' setting of which tracks the merge draws: each kept
#: one (``--targets`` given, as one run draws them) or each site's strongest.
FIGURE_TRACKS = "figure_tracks"

#: settings recorded only where they differ from these values, so that runs from before the
#: setting existed still match: an absent one reads as its value here
ABSENT_SETTINGS: dict[str, object] = {"chunk_dtype": "float32"}

#: How the settings a SAD or ISM run records are given on its command line, where they
#: are not spelt as their keys (:mod:`crossreg.io.changes`); ``tracks`` is ``--targets``
#: as given.
RUN_OPTIONS: dict[str, Option] = {
    **INFERENCE_OPTIONS,
    "head": Option(HEAD_OPTION),
    "tracks": Option("--targets", unset="every track"),
    FIGURE_TRACKS: Option("--targets", label="figure tracks"),
    "shard": Option("--shard", words={"None": "none (the whole run)"}),
    "variants_genome": Option("--variants-genome", unset="not given"),
}

#: The head's option as a merge of shards names it: the shards record the head, not which
#: spelling each run was given it in (``--head/--genome human then, mouse now``)
EITHER_HEAD_OPTION = f"{HEAD_OPTION}/{HEAD_ALIAS}"


def run_settings(
    model_dir: str | os.PathLike[str],
    genome: Genome,
    source: Mapping[str, object],
    head: str,
    options: InferenceOptions,
    stats: Sequence[str],
    strict: bool,
) -> dict[str, object]:
    """What makes two runs (or shards) produce the same scores: the inputs by content
    (:mod:`crossreg.io.identity`; a copy at another path is the same input; `source`, the
    variants' or sites' file's :func:`~crossreg.io.identity.content_identity`), the head,
    options and statistics."""
    return {
        "identity": IDENTITY_RULE,
        "model": checkpoint_identity(model_dir),
        "fasta": genome.fasta_identity(),
        "vcf": dict(source),
        "head": head,
        "options": dataclasses.asdict(options),
        "stats": list(stats),
        "strict": strict,
    }


def scored_on(run: Mapping[str, Any], devices: Sequence[str], device: str) -> dict[str, object]:
    """What an output records of the devices that scored it: `devices`, those that scored
    its chunks in the order they first did
    (:attr:`~crossreg.variants.chunk_store.StoreState.devices`; none recorded: `device`,
    this process's), as ``device``, the one device or the list of them, and ``settings``,
    its `run` record (:func:`crossreg.variants.sad_finished.run_record`) with the
    kinds of device (``options.device``: ``cuda`` of ``cuda: NVIDIA H100``, as
    :func:`~crossreg.model.inference.device_label` writes it) as the list of them,
    ascending, when there are several (a run resumed on a node of another kind)."""
    scored = list(devices) or [device]
    kinds = sorted({label.split(":")[0] for label in scored})
    if len(kinds) > 1:
        run = {**run, "options": {**run["options"], DEVICE_SETTING: kinds}}
    return {
        "device": scored[0] if len(scored) == 1 else scored,
        "settings": json.dumps(run, sort_keys=True),
    }


def head_named(head_option: str) -> Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]:
    """:func:`setting_changes` of SAD's and ISM's options with the head named as
    `head_option`, its option as the user gave it (``--head`` or ``--genome``)."""
    return partial(setting_changes, options={**RUN_OPTIONS, "head": Option(head_option)})


def setting_changes(
    before: Mapping[str, Any], now: Mapping[str, Any], options: Mapping[str, Option] = RUN_OPTIONS
) -> list[str]:
    """The settings that differ between `before` and `now` (JSON values), each named by
    the option that sets it, as `options` say (:func:`crossreg.io.changes.changes`:
    ``--batch-size 8 then, 3 now``, ``--rc off then, on now``; the inference ``options``
    one by one; an input by how its content differs: ``--vcf: the same size, other content
    (…)``). Settings recorded before inputs were compared by content say only that."""
    if before.get("identity") != now.get("identity"):
        return [OLD_RULE]
    before, now = _tracks_as_given(before), _tracks_as_given(now)
    return changes(before, now, options, absent=ABSENT_SETTINGS, nested=("options",))


def _tracks_as_given(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """`record` with the kept tracks' indices in the head that an earlier crossreg's ISM
    run recorded (``targets``) read as the ``--targets`` that keeps them (``tracks``), said
    to be indices: ISM runs now record ``--targets`` as given."""
    if "targets" not in record or "tracks" in record:
        return record
    indices = ",".join(str(i) for i in record["targets"])
    given = f"{indices} (the tracks' indices, as an earlier crossreg recorded them)"
    return {k: v for k, v in record.items() if k != "targets"} | {"tracks": given}
