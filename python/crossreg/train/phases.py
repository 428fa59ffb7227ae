"""The name of a run's joint phase, and the check that no genome's fine-tuning phase would
bear it."""

from __future__ import annotations

from collections.abc import Sequence

#: the phase that trains every genome together; each genome's fine-tuning phase after it
#: is named after the genome (in ``metrics.csv``, the checkpoints and the resume state)
JOINT_PHASE = "joint"


def check_phase_names(genomes: Sequence[str], sources: Sequence[str], finetune_epochs: int) -> None:
    """Stop when a run that fine-tunes each of several genomes after the joint phase
    (`finetune_epochs` above 0) has a genome named :data:`JOINT_PHASE` (`sources`: the
    stores' paths, in the order of `genomes`): its fine-tuning phase would bear the joint
    phase's name, be taken for the finished joint phase and never run."""
    if finetune_epochs <= 0 or len(genomes) < 2 or JOINT_PHASE not in genomes:
        return
    source = sources[list(genomes).index(JOINT_PHASE)]
    raise ValueError(
        f"dataset {source} is of genome '{JOINT_PHASE}', the name of the joint training "
        f"phase: with --finetune-epochs its fine-tuning phase would be taken for the joint "
        f"one and never run; rebuild the store with another crossreg data --genome, or "
        "train without --finetune-epochs"
    )
