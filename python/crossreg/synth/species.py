"""The species a synthetic world can hold: human and mouse, then rat and dog.

A world of N genomes takes the first N. They descend from one ancestor; the first keeps
the ancestral order and orientation, every other one rearranges it in its own way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Species:
    """One species of a synthetic world: its genome name and its track-identifier prefix."""

    name: str
    prefix: str
    private_base: int  # its species-only DNA units are numbered from here

    @property
    def rearranged(self) -> bool:
        """Whether it rearranges the ancestral order (all but the first species do)."""
        return self.name != CATALOGUE[0].name


CATALOGUE = (
    Species("human", "hs", 1_000_000),
    Species("mouse", "mm", 2_000_000),
    Species("rat", "rn", 3_000_000),
    Species("dog", "cf", 4_000_000),
)
MIN_GENOMES, MAX_GENOMES = 2, len(CATALOGUE)
DEFAULT_GENOMES = 2


def species_of(genomes: int) -> tuple[Species, ...]:
    """The first `genomes` species of the catalogue (2 to 4)."""
    if not MIN_GENOMES <= genomes <= MAX_GENOMES:
        raise ValueError(
            f"a synthetic world holds {MIN_GENOMES} to {MAX_GENOMES} genomes, got {genomes}"
        )
    return CATALOGUE[:genomes]


def private_base(name: str) -> int:
    """Where the species-only units of species `name` are numbered from."""
    for species in CATALOGUE:
        if species.name == name:
            return species.private_base
    raise ValueError(f"unknown species '{name}'; known: {', '.join(s.name for s in CATALOGUE)}")
