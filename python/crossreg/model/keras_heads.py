"""Which of the params' heads each Basenji weights file fills, and the genome a file is
given for checked against the params' heads and its targets table."""

from __future__ import annotations

import os
from collections.abc import Sequence

from crossreg.io.targets import TargetsTable
from crossreg.model.keras_h5 import KerasLayer
from crossreg.model.params import Params

# the genome numbers of the paper's targets tables (their ``genome`` column)
PAPER_GENOMES = {"human": "0", "mouse": "1"}


def head_key(params: Params, genome: str, n_sources: int) -> str:
    """The key of the params' head the file of `genome` fills (one of `n_sources`): the
    only head, or the one of that genome or key."""
    heads = params.model.heads
    if len(heads) == 1:
        if n_sources > 1:
            raise ValueError(
                f"{params.source}: the params have one head ('{heads[0].key}') but "
                f"{n_sources} weights files were given; use a params file with one head per genome"
            )
        return heads[0].key
    for head in heads:
        if genome in (head.genome, head.key):
            return head.key
    raise ValueError(
        f"{params.source}: no head for genome '{genome}'; the params' heads are "
        f"{', '.join(h.key for h in heads)} (genomes {', '.join(h.genome for h in heads)})"
    )


def check_head_choice(
    params: Params,
    key: str,
    genome: str,
    weights: str | os.PathLike[str],
    layers: Sequence[KerasLayer],
) -> None:
    """Stop when the head of the file `weights` (its `layers`), given for `genome`, predicts
    another number of tracks than the params' head `key` that ``--genome`` chose, but as
    many as another of the params' heads: the file holds that head (e.g. the human weights
    given with ``--genome mouse``)."""
    dense = layers[-1] if layers else None
    if dense is None or dense.kind != "Dense" or "kernel" not in dense.shapes:
        return
    outputs = dense.shapes["kernel"][-1]
    chosen = next(h for h in params.model.heads if h.key == key)
    others = [h for h in params.model.heads if h.key != key and h.units == outputs]
    if chosen.units != outputs and others:
        raise ValueError(
            f"{weights}: its head, layer '{dense.name}' (kernel "
            f"{list(dense.shapes['kernel'])}), predicts {outputs} tracks, as the params' "
            f"'{others[0].key}' does, but --genome {genome} picks '{key}' (kernel "
            f"[{dense.shapes['kernel'][0]}, {chosen.units}]); give --genome {others[0].genome} "
            "(with that head's targets table) for this file"
        )


def check_head_genome(params: Params, genome: str) -> None:
    """`genome` does not contradict the head of one-head params: ``--genome human`` with
    only ``head_mouse`` is refused (only the paper's genome names are compared)."""
    heads = params.model.heads
    named = heads[0].genome
    if len(heads) == 1 and genome in PAPER_GENOMES and named in PAPER_GENOMES and named != genome:
        raise ValueError(
            f"--genome {genome}: {params.source} has one head, '{heads[0].key}', which "
            f"predicts {named}; give --genome {named}, or the params of the {genome} model"
        )


def check_table_genome(table: TargetsTable, genome: str) -> None:
    """`genome` does not contradict the ``genome`` column of its targets table: ``--genome
    human`` with a table whose every row is genome 1 (mouse in the paper's numbering) is
    refused; a table without the column, or with other or mixed numbers, is not checked."""
    numbers = {t.extra.get("genome", "") for t in table}
    named = {number: name for name, number in PAPER_GENOMES.items()}
    if genome not in PAPER_GENOMES or len(numbers) != 1:
        return
    number = numbers.pop()
    if named.get(number, genome) != genome:
        raise ValueError(
            f"--genome {genome}: every track of {table.path} has genome {number}, which is "
            f"{named[number]} in the paper's numbering (0 human, 1 mouse); give --genome "
            f"{named[number]}, or the {genome} targets table"
        )
