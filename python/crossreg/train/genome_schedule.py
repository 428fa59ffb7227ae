"""Which genome each training step of an epoch draws its batch from (Basenji's ``fit2``).

Every genome contributes ``windows // batch_size`` batches; the list of genome indices is
shuffled, so genomes are drawn in proportion to their training windows and each batch
comes from one genome.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def epoch_schedule(batches_per_genome: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """The shuffled genome index of every step of one epoch, int64 ``(sum(batches),)``."""
    if any(b < 0 for b in batches_per_genome):
        raise ValueError(f"batch counts must be >= 0, got {list(batches_per_genome)}")
    order = np.repeat(np.arange(len(batches_per_genome)), batches_per_genome)
    rng.shuffle(order)
    return order
