"""The ``torchrun`` environment of a training run, checked before torch loads: the
variables torchrun sets (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``,
``MASTER_ADDR``, ``MASTER_PORT``) agree with each other and the batch splits evenly over
the processes, so that a misconfigured launch stops at once on every process rather than
once each has loaded torch (or, for a rank outside the world, trains without writing)."""

from __future__ import annotations

import os

#: What a message advises when the environment is not one torchrun sets.
LAUNCH = "launch with torchrun --nproc-per-node N -m crossreg ..., which sets them all"


def _whole(name: str, least: int) -> int | None:
    """The environment variable `name` as a whole number of at least `least` (None when
    unset or empty)."""
    text = os.environ.get(name, "")
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least:
        raise ValueError(
            f"{name}={text} in the environment is not a whole number of at least {least}; "
            f"{LAUNCH}, or unset it"
        )
    return value


def check_launch(batch_size: int) -> None:
    """Stop unless the environment is one process's (no ``WORLD_SIZE`` above 1, no
    ``RANK`` above 0) or a consistent torchrun job's: ``RANK`` and ``LOCAL_RANK`` below
    ``WORLD_SIZE`` and ``LOCAL_WORLD_SIZE``, the rendezvous address set, and `batch_size`
    (the run's global batch) a multiple of ``WORLD_SIZE``, as each process takes an equal
    slice of every batch."""
    world = _whole("WORLD_SIZE", 1) or 1
    rank = _whole("RANK", 0)
    local_world = _whole("LOCAL_WORLD_SIZE", 1)
    local_rank = _whole("LOCAL_RANK", 0)
    if world > 1 and rank is None:
        raise ValueError(f"WORLD_SIZE={world} in the environment but no RANK; {LAUNCH}")
    if rank is not None and rank >= world:
        raise ValueError(
            f"RANK={rank} in the environment is not below WORLD_SIZE={world} (the number of "
            f"processes; 1 when unset): this process would train without writing; {LAUNCH}, "
            "or unset RANK for one process"
        )
    if local_world is not None and local_world > world:
        raise ValueError(
            f"LOCAL_WORLD_SIZE={local_world} in the environment is above WORLD_SIZE={world}: "
            f"a machine cannot run more of the job's processes than it has; {LAUNCH}"
        )
    machine = local_world or world
    if local_rank is not None and local_rank >= machine:
        names = "LOCAL_WORLD_SIZE" if local_world else "WORLD_SIZE"
        raise ValueError(
            f"LOCAL_RANK={local_rank} in the environment is not below {names}={machine}; {LAUNCH}"
        )
    missing = [n for n in ("MASTER_ADDR", "MASTER_PORT") if world > 1 and not os.environ.get(n)]
    if missing:
        raise ValueError(
            f"WORLD_SIZE={world} in the environment but no {' or '.join(missing)}: the "
            f"processes could not find each other; {LAUNCH}"
        )
    if batch_size % world:
        lower = batch_size // world * world
        fits = " or ".join(str(b) for b in (lower, lower + world) if b)
        raise ValueError(
            f"a batch of {batch_size} (--batch-size, else the params' batch_size) cannot be "
            f"split evenly over the {world} processes of this torchrun job (WORLD_SIZE): each "
            f"takes an equal slice of every batch; set --batch-size to a multiple of {world} "
            f"({fits}), or start a number of processes that divides {batch_size}"
        )
