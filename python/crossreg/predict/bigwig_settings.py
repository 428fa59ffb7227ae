"""What a ``crossreg predict --bigwig`` run records of its settings, which a resumed run
and every shard must share, and how a difference is named by its option."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from crossreg.genome import Genome
from crossreg.io.changes import Option
from crossreg.io.identity import IDENTITY_RULE, content_identity
from crossreg.model.checkpoint_info import checkpoint_identity
from crossreg.model.inference import InferenceOptions
from crossreg.variants.sad_settings import setting_changes

#: Recorded by shards, which predict whole chunks
#: (:func:`~crossreg.predict.bigwig_shards.shard_windows`): a shard of an earlier crossreg,
#: which shared out windows, predicted others and is refused
SHARE_KEY, SHARES = "shard_shares", "whole chunks"
#: How the settings a ``--bigwig`` run records are given on its command line, where they
#: are not spelt as their keys, with the words for an option left unset
#: (:mod:`crossreg.io.changes`)
RUN_OPTIONS: dict[str, Option] = {
    "head": Option("--head"),
    "tracks": Option("--targets", unset="every track"),
    "chroms": Option("--chroms", unset="every FASTA record"),
    "chunk_windows": Option("--chunk-size"),
    "shards": Option("--shard", label="shard count (its N)"),
    SHARE_KEY: Option("--shard", label="shares", unset="by windows (an earlier crossreg)"),
}
#: the inference options a run records (as the list of their values), in order
RECORDED_OPTIONS = ("rc", "shifts", "bf16")


def run_setting_changes(
    before: Mapping[str, Any], now: Mapping[str, Any], head_option: str = "--head"
) -> list[str]:
    """The settings of a ``--bigwig`` run that differ between `before` (recorded by an
    earlier run) and `now`, each named by the option that sets it, as SAD's are
    (:func:`~crossreg.variants.sad_settings.setting_changes`: ``--targets every track then,
    0 now``; ``--rc off then, on now``; ``--fasta: the same size, other content (…)``),
    the head by `head_option`, its option as the user gave it."""
    options = {**RUN_OPTIONS, "head": Option(head_option)}
    return setting_changes(_named(before), _named(now), options)


def _named(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """A run's record with its inference options by name (recorded as the list of their
    values, :data:`RECORDED_OPTIONS`)."""
    options = record.get("options")
    if not isinstance(options, list):
        return record
    return {**record, "options": dict(zip(RECORDED_OPTIONS, options, strict=False))}


def run_settings(
    model_dir: str | os.PathLike[str],
    genome: Genome,
    bed: str | os.PathLike[str] | None,
    chroms: Sequence[str] | None,
    head: str,
    tracks: str | Sequence[str] | None,
    options: InferenceOptions,
    chunk_windows: int,
) -> dict[str, object]:
    """What decides a run's windows and values: a resumed run (or another shard) must
    have the same (the model and inputs by content, :mod:`crossreg.io.identity`: a copy
    at another path is the same input)."""
    return {
        "identity": IDENTITY_RULE,
        "model": checkpoint_identity(model_dir),
        "fasta": genome.fasta_identity(),
        "bed": content_identity(bed) if bed is not None else None,
        "chroms": list(chroms) if chroms is not None else None,
        "head": head,
        "tracks": tracks,
        "options": [options.rc, list(options.shifts), options.bf16],
        "chunk_windows": chunk_windows,
    }
