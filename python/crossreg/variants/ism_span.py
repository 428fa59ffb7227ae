"""The span of a model window that in silico saturation mutagenesis mutates, checked
without torch (before a model loads; the sites are :mod:`crossreg.variants.ism_sites`)."""

from __future__ import annotations


def mutated_span(seq_length: int, width: int) -> tuple[int, int]:
    """Window indices ``[start, end)`` of the mutated central `width` bases."""
    if not 0 < width <= seq_length:
        raise ValueError(f"--width must be between 1 and the model's {seq_length} bp, got {width}")
    start = seq_length // 2 - width // 2
    return start, start + width
