"""Write chromosome sequences as FASTA with a samtools-compatible ``.fai`` index."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from crossreg.io.atomic import atomic_write

LINE_BP = 60


def write_fasta(
    path: str | os.PathLike[str], sequences: Mapping[str, npt.NDArray[np.uint8]]
) -> None:
    """Write `sequences` (uint8 ASCII) with 60-bp lines, then ``path.fai``, atomically."""
    path = Path(path)
    index: list[str] = []
    offset = 0
    with atomic_write(path, "wb") as handle:
        for name, seq in sequences.items():
            header = f">{name}\n".encode("ascii")
            handle.write(header)
            offset += len(header)
            index.append(f"{name}\t{seq.size}\t{offset}\t{LINE_BP}\t{LINE_BP + 1}\n")
            full = seq.size // LINE_BP * LINE_BP
            lines = np.empty((full // LINE_BP, LINE_BP + 1), dtype=np.uint8)
            lines[:, :LINE_BP] = seq[:full].reshape(-1, LINE_BP)
            lines[:, LINE_BP] = ord("\n")
            body = lines.tobytes()
            if seq.size > full:
                body += seq[full:].tobytes() + b"\n"
            handle.write(body)
            offset += len(body)
    with atomic_write(path.with_name(path.name + ".fai")) as handle:
        handle.write("".join(index))
