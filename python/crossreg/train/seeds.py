"""The seeds of a training run's random streams, each derived from the run's ``--seed``.

Each stream (the genome schedule of an epoch, a genome's window order and augmentation,
an epoch's dropout masks) takes its own seed, a hash of the run's seed and the stream's
names (:class:`numpy.random.SeedSequence`), so that no two streams replay or mirror one
another: two genomes with as many windows take them in different orders with different
shifts, and a fine-tuning phase does not repeat the joint phase's first epochs.
"""

from __future__ import annotations

import hashlib

import numpy as np

#: a genome's window order and augmentation (per phase; the epoch is mixed in by the loader)
WINDOWS = "windows"
#: the genome each step of an epoch trains (per phase and epoch)
SCHEDULE = "schedule"
#: the dropout masks of an epoch's steps (per phase and epoch)
DROPOUT = "dropout"


def _word(key: str | int) -> int:
    """`key` as a whole number for a seed sequence: a name by its digest."""
    if isinstance(key, str):
        return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    return int(key)


def stream_seed(seed: int, stream: str, *keys: str | int) -> int:
    """The 64-bit seed of the `stream` (:data:`WINDOWS`, :data:`SCHEDULE`, :data:`DROPOUT`)
    of a run seeded `seed`, for `keys` (phase, genome, epoch): the same for the same
    arguments, unrelated for any other."""
    words = [int(seed), *(_word(k) for k in (stream, *keys))]
    return int(np.random.SeedSequence(words).generate_state(1, np.uint64)[0])
