"""A FASTA of random bases for the benches that build stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_random_fasta(path: Path, sizes: dict[str, int], rng: np.random.Generator) -> None:
    """Write chromosomes of `sizes` (name → length) of uniformly random A/C/G/T to `path`,
    60 bases a line."""
    with open(path, "w") as fasta:
        for chrom, size in sizes.items():
            seq = rng.choice(np.frombuffer(b"ACGT", np.uint8), size).tobytes().decode()
            fasta.write(f">{chrom}\n" + "\n".join(seq[i : i + 60] for i in range(0, size, 60)))
            fasta.write("\n")
