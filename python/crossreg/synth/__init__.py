"""A synthetic mini human + mini mouse with known truth, generated from a seed.

The two share the regulatory grammar (motifs, cell-type programmes) but not all of their
DNA or elements: about 40% of the human and 45% of the mouse genome is ancestral and
aligns, and half of each species' enhancers are its own (see :class:`Preset`).

``synthesize(out, preset, seed)`` (or ``crossreg synth --preset P --seed N --out DIR``)
writes a directory whose ``manifest.json`` names every file, with paths relative to it:

``genomes.<human|mouse>``
    ``fasta`` (+ ``fasta_index``), ``sizes``, ``gaps`` (N runs), ``blacklist`` (satellite
    arrays with artefactual signal), ``unmappable`` (both copies of a duplicated stretch),
    ``targets`` (Basenji targets table of the noisy BigWigs; ``file`` relative to the
    table), ``gtf``, ``vcf`` (variants tagged with INFO ``KIND``, ``MOTIF``, ``ELEMENT``,
    ``UP``/``DOWN`` = tracks expected to rise/fall); and the truth: ``targets_noise_free``,
    ``targets_in_window`` (the expectation from what a model's window can see: regional
    chromatin level at its mean, CAGE without the unencoded gene level and enhancers
    beyond ``REACH_BP``), ``track_ceilings`` (Pearson R of noisy vs noise-free and vs
    in-window 128-bp bin sums), ``no_data``
    (stretches without data per track), ``motif_sites``, ``regulatory_elements`` (with
    the programme of each enhancer and tissue gene's promoter, and activity per cell
    type), ``gene_expression`` (expected CAGE tags per TSS),
    ``variant_effects`` (expected change and sign per variant and track), ``cell_types``;
    ``genome_index`` (the genome's place in the world: 0 for human).
``nets``
    ``[{"genomes": ["human", "mouse"], "file": ...}]``: the UCSC ``.net`` alignment.
``orthology``
    Every ancestral unit's span in both genomes (the exact block map behind the net).
``cohorts`` (unless ``cohort_sets=False``)
    Human de novo case/control VCFs with the planted calls marked in a truth table, and
    eQTL-like summary statistics with each SNP's true effect.
``panel`` (unless ``cohort_sets=False``)
    A human reference panel for SLDP in the reference package's formats: PLINK 1
    ``bfile`` stem per chromosome (with ``.frq``), LD ``blocks``, ``print_snps``,
    ``ldscores`` stem, a ``vcf`` of the SNPs for ``crossreg sad``, per-tissue ldsc-munged
    ``sumstats`` (liver and macrophage effects from the planted programme, and a
    ``null``), and the ``truth`` (each SNP's causal effect per tissue).

Human track indices run 0..n-1 and mouse indices continue after them, as in Basenji's
cross-species tables.
"""

from typing import TYPE_CHECKING, Any

from crossreg import _lazy
from crossreg.synth.presets import PRESETS, Preset

if TYPE_CHECKING:
    from crossreg.synth.world import synthesize

_submodule, _listing = _lazy.lazy_submodules(__name__, __path__, globals())


def __getattr__(name: str) -> Any:
    """``synthesize`` (and the world's modules) imported on first use: the presets, which
    ``crossreg --help`` reads, need neither numpy nor scipy."""
    if name == "synthesize":
        from crossreg.synth.world import synthesize

        return synthesize
    return _submodule(name)


def __dir__() -> list[str]:
    return sorted({*_listing(), "synthesize"})


__all__ = ["PRESETS", "Preset", "synthesize"]
