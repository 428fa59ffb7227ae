"""Whose sequence which head scored, as a SAD or ISM output records it: the words its
figures are titled with (``human variants, mouse head``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from crossreg.io.h5 import stored_text


def check_variants_genome(name: str | None) -> None:
    """A ``--variants-genome`` given (not None) names a genome: an empty one is refused."""
    if name is not None and not name.strip():
        raise ValueError("--variants-genome is empty; name the variants' genome (human)")


def figure_title(attrs: Mapping[str, object]) -> str:
    """Whose sites an output's head scored, from its metadata `attrs`: ``human variants,
    mouse head`` (``variants_genome`` and ``genome``, the head), or ``human regions, mouse
    head`` for an ISM file of BED regions (``sites_from`` ``bed``). An output that does not
    name the sites' genome (scored without ``--variants-genome``, or by an earlier
    crossreg) names its FASTA's file instead (``variants on hg38.fa, mouse head``); one
    that records neither gives ""."""
    sites = "regions" if _recorded_text(attrs.get("sites_from")) == "bed" else "variants"
    genome = _recorded_text(attrs.get("variants_genome"))
    fasta = sorted({Path(path).name for path in _recorded_paths(attrs.get("fasta"))})
    head = _recorded_text(attrs.get("genome"))
    parts = []
    if genome:
        parts.append(f"{genome} {sites}")
    elif len(fasta) == 1:  # shards merged from copies at other paths share the name
        parts.append(f"{sites} on {fasta[0]}")
    if head:
        parts.append(f"{head} head")
    return ", ".join(parts)


def _recorded_text(value: object) -> str:
    """An attribute recorded as text (bytes in some ``.h5`` files), else ""."""
    return stored_text(value) if isinstance(value, str | bytes) else ""


def _recorded_paths(value: object) -> list[str]:
    """A path attribute: one path, or a merged file's list of each shard's."""
    if value is None or isinstance(value, str | bytes):
        return [text] if (text := _recorded_text(value)) else []
    return [text for item in np.asarray(value).ravel() if (text := _recorded_text(item))]
