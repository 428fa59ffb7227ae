"""What a resumable run or a shard records of its inputs and settings, so that a resume,
or a merge of shards, with other ones is told apart: a file's identity by content (its
size and the SHA-256 of its bytes), never by path or modification time, so that a copy
of an input staged at another path (a job array's node-local disk) is the same input,
and a short hash of a run's settings."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from typing import BinaryIO

#: Recorded beside a run's settings: stores and shards without it were written when inputs
#: were matched by path and modification time, and are refused with what to do.
IDENTITY_RULE = "content"
#: What a store or shard recorded before (without :data:`IDENTITY_RULE`) is told.
OLD_RULE = (
    "was written by an earlier crossreg, which matched inputs by path and modification "
    "time, so its finished work cannot be checked against the inputs' content"
)
_BLOCK = 1 << 20


def old_store_refusal(store: str | os.PathLike[str]) -> str:
    """Why a ``--resume`` refuses `store`, which an earlier crossreg wrote (without
    :data:`IDENTITY_RULE`), and what to do instead."""
    return f"{store} {OLD_RULE}; delete it and start again without --resume"


def settings_hash(settings: Mapping[str, object]) -> str:
    """A short hash of a run's settings (JSON, sorted keys)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def content_identity(path: str | os.PathLike[str]) -> dict[str, object]:
    """A file's size and the SHA-256 of its whole content: the same for a copy or a
    renamed file, other for an edited one (even of the same size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return {"size": os.path.getsize(path), "sha256": digest.hexdigest()}


def sampled_identity(
    path: str | os.PathLike[str], *, samples: int = 64, block: int = 1 << 16
) -> dict[str, object]:
    """A file's size and the SHA-256 of `samples` blocks of `block` bytes spread evenly
    over it, its first and last included (4 MiB read by default): for an input a run
    never reads whole (a SAD file of thousands of tracks, hundreds of GB), where hashing
    all of it would cost minutes. A copy has the same; an edit of the same size outside
    the sampled blocks goes unseen."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        offsets = [(size - block) * k // max(samples - 1, 1) for k in range(samples)]
        return {"size": size, "sampled_sha256": blocks_sha256(handle, size, offsets, block)}


def blocks_sha256(handle: BinaryIO, size: int, offsets: Sequence[int], block: int) -> str:
    """The SHA-256 of the `block` bytes at each of `offsets` in turn (each moved back into
    the file of `size` bytes that `handle` reads), or of the whole file when it is no
    longer than the blocks together: the ``sampled_sha256`` of an identity."""
    digest = hashlib.sha256()
    if size <= len(offsets) * block:
        handle.seek(0)
        digest.update(handle.read())
    else:
        for offset in offsets:
            handle.seek(min(max(offset, 0), size - block))
            digest.update(handle.read(block))
    return digest.hexdigest()


def fasta_identity(sizes: Mapping[str, int], content: Mapping[str, object]) -> dict[str, object]:
    """A FASTA's chromosome names and `sizes` (in file order, so that a refusal can name
    the chromosome that differs) with its `content` identity (:func:`content_identity`,
    which :meth:`crossreg.genome.Genome.content_identity` takes as the genome is loaded)."""
    return {"chroms": dict(sizes), **content}


def identity_difference(before: Mapping[str, object], now: Mapping[str, object]) -> str:
    """How the input identity `now` differs from `before` in words ("" if it does not):
    other chromosomes, another size, another checkpoint, or the same size and other
    content; an identity recorded by path and modification time (before content was
    compared) says so."""
    if not {"sha256", "sampled_sha256", "config_sha256"} & before.keys():
        return "recorded by path and modification time by an earlier crossreg"
    if before == now:
        return ""
    chroms = _chrom_difference(before.get("chroms"), now.get("chroms"))
    if chroms:
        return chroms
    if before.get("size") != now.get("size"):
        return f"{_count(before.get('size'))} bytes then, {_count(now.get('size'))} now"
    if before.get("save_id") != now.get("save_id"):
        return (
            f"another checkpoint (save id {before.get('save_id')} then, {now.get('save_id')} now)"
        )
    if "config_sha256" in before:
        return "the same checkpoint with another config.json (edited since)"
    key = "sha256" if "sha256" in before else "sampled_sha256"
    old, new = str(before.get(key))[:12], str(now.get(key))[:12]
    what = "SHA-256" if key == "sha256" else "SHA-256 of sampled blocks"
    return f"the same size, other content ({what} {old}… then, {new}… now)"


def _chrom_difference(before: object, now: object) -> str:
    """The first chromosome whose presence or size differs between two name → size maps."""
    if not isinstance(before, dict) or not isinstance(now, dict) or before == now:
        return ""
    for name in [*before, *(n for n in now if n not in before)]:
        if before.get(name) != now.get(name):
            then = f"{before[name]:,} bp" if name in before else "absent"
            is_now = f"{now[name]:,} bp" if name in now else "absent"
            return f"chromosome {name} {then} then, {is_now} now"
    return "its chromosomes in another order"


def _count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)
