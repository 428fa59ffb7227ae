"""What a resumable run records of its inputs and settings, so that a resume with other
ones is told apart: a file's identity (resolved path, size, modification time) and a
short hash of a run's settings."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path


def settings_hash(settings: Mapping[str, object]) -> str:
    """A short hash of a run's settings (JSON, sorted keys)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_identity(path: str | os.PathLike[str]) -> dict[str, object]:
    """A file's resolved path, size and modification time (what a resumed run must match)."""
    path = Path(path)
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
