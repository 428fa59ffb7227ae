"""What identifies the windows and targets of a dataset store, for checks that two runs
read the same store (``train --resume``, ``compare``). Imports no torch, so that commands
that only read tables stay quick."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crossreg.data.store import DataStore

#: Entries of ``dataset.json`` that describe how a store was made, not what it holds.
PROVENANCE_KEYS = ("crossreg_version", "inputs", "input_content")
#: ``dataset.json`` entries a store's fingerprint names (beside its digest).
FINGERPRINT_KEYS = ("seq_length", "pool_width", "crop_bins", "target_length", "stride")


def store_fingerprint(store: DataStore) -> dict[str, Any]:
    """What identifies the windows and targets a store holds: its genome, geometry, stride,
    windows per split and the SHA-256 of its ``dataset.json`` without
    :data:`PROVENANCE_KEYS` (so a copied or moved store keeps it), with its path for
    messages."""
    meta = store.metadata
    described = {k: v for k, v in meta.items() if k not in PROVENANCE_KEYS}
    text = json.dumps(described, sort_keys=True, separators=(",", ":"))
    return {
        "genome": store.genome,
        "path": str(store.path),
        **{key: meta.get(key) for key in FINGERPRINT_KEYS},
        "windows": store.window_counts,
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def fingerprint_differences(
    then: Mapping[str, Any], now: Mapping[str, Any], sides: tuple[str, str] = ("there", "here")
) -> str:
    """What differs between two stores' :func:`store_fingerprint`, in words ("" if
    nothing), each value followed by the word of its side of `sides`."""
    pairs = [(key, then.get(key), now.get(key)) for key in ("genome", *FINGERPRINT_KEYS)]
    windows_then, windows_now = then.get("windows", {}), now.get("windows", {})
    for split in dict.fromkeys([*windows_then, *windows_now]):
        pairs.append((f"{split} windows", windows_then.get(split, 0), windows_now.get(split, 0)))
    named = [f"{what} {a} {sides[0]}, {b} {sides[1]}" for what, a, b in pairs if a != b]
    if named:
        return ", ".join(named)
    if then.get("sha256") != now.get("sha256"):
        return "its dataset.json describes other windows or tracks (options, track statistics)"
    return ""
