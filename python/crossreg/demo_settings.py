"""The sizes of ``crossreg demo``'s presets and the places of its world and its models in
its folder, apart from the demo itself so that the command checks its arguments and
``--out`` without loading the pipeline (torch, polars, scipy)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crossreg.synth.species import DEFAULT_GENOMES


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of one demo run: the world, the split, the windows, the model and training."""

    preset: str = "mini"
    region_size: int = 100_000
    min_aligned: int = 10_000  # aligned bp that join two regions
    seq_length: int = 8192  # window bp (stride half of it)
    crop_bins: int = 8  # target bins cropped from each side
    residual_blocks: int = 4  # dilated residual blocks of the trunk
    filters: int = 48  # first convolution's filters (the tower grows from it)
    batch_size: int = 4
    max_epochs: int = 24
    patience: int = 5
    steps_per_epoch: int | None = None
    seed: int = 0
    panel_snps: int | None = None  # at most this many panel SNPs for SLDP, evenly spaced; None: all
    sldp_flips: int = 100_000
    ism_sites: int = 12  # planted motif-breaking variants read by saturation mutagenesis
    genomes: int = DEFAULT_GENOMES  # species in the world (human, mouse, then rat and dog)


FAST = DemoSettings(
    preset="tiny",
    region_size=50_000,
    max_epochs=2,
    patience=1,
    steps_per_epoch=8,
    panel_snps=150,
    sldp_flips=10_000,
    ism_sites=3,
)
# The paper's proportions on a world ten times the demo's: 1-Mbp regions joined above
# 100 kbp of alignment, 32,768-bp windows (the crop the paper's share of each side), and a
# deeper, wider trunk whose dilated blocks reach across the window. Meant for a GPU.
SMALL = DemoSettings(
    preset="small",
    region_size=1_000_000,
    min_aligned=100_000,
    seq_length=32_768,
    crop_bins=16,
    residual_blocks=8,
    filters=96,
    batch_size=8,
    max_epochs=40,
    patience=8,
)
MINI = DemoSettings()
CONFIGURATIONS = {"tiny": FAST, "mini": MINI, "small": SMALL}
#: The folder of the world in the demo's folder, written first.
WORLD = "synth"
#: The folder of the models in the demo's folder: each run's params file and run folder.
MODELS = "models"
#: The run of the model trained on every genome at once (the others: one genome's each).
JOINT = "joint"


def model_dir(out: Path, run: str) -> Path:
    """The folder of the demo's training run `run` (:data:`JOINT`, or a genome's name) in
    the demo's folder `out`."""
    return out / MODELS / run


def best_model(out: Path, run: str = JOINT) -> Path:
    """The best checkpoint of the demo's training run `run`, the joint model's unless
    named, in the demo's folder `out`: the model every step after training reads."""
    return model_dir(out, run) / "best"
