"""The scored unit of variant effect scoring: one (variant, alternative allele) pair."""

from __future__ import annotations

from dataclasses import dataclass

from crossreg.io.vcf import Variant


@dataclass(frozen=True)
class Allele:
    """One scored (variant, alternative allele) pair."""

    variant: Variant
    alt: str

    @property
    def label(self) -> str:
        """The record's ID, or ``chrom:pos:ref>alt`` when it has none."""
        v = self.variant
        return v.id if v.id != "." else f"{v.chrom}:{v.pos + 1}:{v.ref}>{self.alt}"


def scorable_alts(variant: Variant) -> list[str]:
    """The ALTs of `variant` that are bases (not ``<DEL>``, ``*`` or ``.``), in order."""
    return [alt for alt in variant.alts if alt.isalpha()]


def format_counts(counts: dict[str, int]) -> str:
    """``{"chrM": 2, "chrUn": 1}`` → ``"chrM:2,chrUn:1"``."""
    return ",".join(f"{name}:{n}" for name, n in counts.items())
