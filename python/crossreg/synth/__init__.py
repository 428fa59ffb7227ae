"""A synthetic mini human + mini mouse with known truth, generated from a seed.

``synthesize(out, preset, seed)`` writes two genomes built from shared ancestral DNA, the
net alignment between them, genes, regulatory elements built from real JASPAR motifs,
noisy and noise-free signal tracks (BigWig) with their targets tables, variants with
expected effects and optional case/control and summary-statistics sets, all listed in
``out/manifest.json`` (paths relative to `out`).
"""

from crossreg.synth.presets import PRESETS, Preset
from crossreg.synth.world import synthesize

__all__ = ["PRESETS", "Preset", "synthesize"]
