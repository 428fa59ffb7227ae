"""The checks that the cases' and the controls' SAD files were scored alike (the same
tracks, model and settings that move every score) and left out no more alleles than
``crossreg denovo`` may take as skipped by ``crossreg sad``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from crossreg.stats.denovo import CASE
from crossreg.variants.alleles import parse_counts
from crossreg.variants.sad_attrs import read_attrs, require_whole_run
from crossreg.variants.sad_tsv import metadata_path

log = logging.getLogger("crossreg")

# crossreg sad's settings that change every score: both groups must be scored alike
SCORING_SETTINGS = ("genome", "gelu_form", "rc", "shifts", "indel", "cluster_bp", "bf16")

#: how a refusal names a setting a SAD file records under another key: ``genome`` is the
#: head that scored (crossreg sad --head), not whose variants they are
SCORING_NAMES = {"genome": "head"}

SKIP_COUNTS = ("skipped_records", "skipped_alleles")  # what crossreg sad left out


def other_tracks(path: Path, ids: list[str], case_path: Path, case_ids: list[str]) -> str:
    """The error for a controls' SAD file whose tracks are not the cases' (`case_ids`)."""
    shared = min(len(ids), len(case_ids))
    where = next((i for i in range(shared) if ids[i] != case_ids[i]), None)
    first = (
        f"track {where} is {ids[where]} there and {case_ids[where]} in the cases'"
        if where is not None
        else "the same tracks as far as the shorter goes"
    )
    return (
        f"{path} holds {len(ids)} tracks and the {CASE}s' {case_path} {len(case_ids)}, not "
        f"the same ({first}); score both groups alike: crossreg sad with the same --model, "
        "--head and --targets"
    )


def recorded_scoring(path: Path) -> dict[str, object]:
    """The settings of :data:`SCORING_SETTINGS` and the model a SAD file records (none for
    a file that records none: Basenji's ``.h5``, a ``.tsv`` without its JSON). A shard of a
    ``crossreg sad --shard`` run is refused: it holds only its share of the VCF's alleles,
    and the others would be left out as if ``crossreg sad`` had skipped them."""
    if path.suffix != ".h5" and not metadata_path(path).exists():
        return {}
    attrs = read_attrs(path)
    require_whole_run(path, attrs)
    keys = (*SCORING_SETTINGS, "model", *SKIP_COUNTS)
    return {key: np.asarray(attrs[key]).tolist() for key in keys if key in attrs}


def most_skipped(scoring: Mapping[str, object]) -> int | None:
    """How many of its VCF's alleles ``crossreg sad`` may have left out of a SAD file by
    what it records (:func:`recorded_scoring`): the alleles it skipped, when it skipped no record
    (a skipped record's alleles are not counted); None when it cannot tell."""
    if any(key not in scoring for key in SKIP_COUNTS) or int(str(scoring["skipped_records"])):
        return None
    return sum(parse_counts(str(scoring["skipped_alleles"])).values())


def refuse_other_scoring(
    case_path: Path, path: Path, case: dict[str, object], control: dict[str, object]
) -> None:
    """Stop when the controls' SAD file `path` was scored with other settings (`control`,
    as :func:`recorded_scoring` reads them) than the cases' (`case_path`, `case`): a difference of
    --rc, --shifts or the like moves every score of one group, which the tests would report
    as a difference between the groups. Another model path is only warned of (a copy of
    the same model may be elsewhere)."""
    shared = [key for key in SCORING_SETTINGS if key in case and key in control]
    differ = [
        f"{SCORING_NAMES.get(key, key)} {case[key]} and {control[key]}"
        for key in shared
        if case[key] != control[key]
    ]
    if differ:
        raise ValueError(
            f"{case_path} and {path} were scored with other settings ({'; '.join(differ)}): "
            "a setting that moves every score of one group would pass for a difference "
            "between cases and controls; score both groups with the same crossreg sad options"
        )
    if "model" in case and "model" in control and not _model_paths(case) & _model_paths(control):
        log.warning(
            "%s was scored with model %s and %s with %s; the groups must be scored by the "
            "same model",
            case_path,
            case["model"],
            path,
            control["model"],
        )


def _model_paths(scoring: Mapping[str, object]) -> set[str]:
    """The model paths a SAD file records: one, or one per shard of a merged file whose
    shards read copies of the model at other paths (copies the merge matched by content)."""
    model = scoring["model"]
    return {str(path) for path in model} if isinstance(model, list) else {str(model)}
