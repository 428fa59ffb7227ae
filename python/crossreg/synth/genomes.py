"""Genomes from one ancestor: shared units, rearranged, inverted, diverged and padded.

The ancestor is a list of *units* (random DNA at 41% GC) grouped into *segments*. The
first species ("human") keeps the ancestral order and orientation; every other one
("mouse", then "rat" and "dog" in worlds of more genomes) shuffles the segments across its
chromosomes, reverses some of them and flips single units inside others. Each species
copies every unit with its own point substitutions and puts species-specific insertions
between units (random DNA or diverged copies of a few interspersed-repeat families,
soft-masked), assembly gaps (N runs), satellite arrays that later produce artefactual
signal (blacklist) and two copies of one duplicated stretch (unmappable). Orthology is
therefore exact: a unit is the same ancestral DNA in every species.

The insertions are sized so that only the preset's ``aligned_fraction`` of each species'
sequence (gaps aside) lies in ancestral units, as for human and mouse (about 40% and
45%). Their unique stretches are recorded as *private units* of the species, where
:mod:`crossreg.synth.elements` lays out the genes and enhancers that species gained.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from crossreg.io.bed import Interval
from crossreg.synth.presets import Preset
from crossreg.synth.species import private_base

ASCII_UPPER = np.frombuffer(b"ACGT", dtype=np.uint8)
ASCII_LOWER = np.frombuffer(b"acgt", dtype=np.uint8)
BASE_P = np.array([0.295, 0.205, 0.205, 0.295])
N = ord("N")
PRIVATE_MIN_BP = 2_500  # unique inserted stretches at least this long become private units


@dataclass(frozen=True)
class Placement:
    """Where ancestral unit `unit` lies in one species: ``chrom:[start, start+length)``.

    `strand` is +1 when the species reads the unit in ancestral orientation, -1 when reversed.
    """

    unit: int
    chrom: str
    start: int
    length: int
    strand: int

    @property
    def end(self) -> int:
        """End coordinate (exclusive)."""
        return self.start + self.length

    def to_species(self, a_start: int, a_end: int) -> tuple[int, int]:
        """Species ``[start, end)`` of the unit-relative ancestral interval ``[a_start, a_end)``."""
        if self.strand > 0:
            return self.start + a_start, self.start + a_end
        return self.start + self.length - a_end, self.start + self.length - a_start


@dataclass
class SpeciesGenome:
    """One species: chromosome sequences (uint8 ASCII) and where everything lies in them."""

    name: str
    sequences: dict[str, npt.NDArray[np.uint8]]
    placements: dict[int, Placement]  # ancestral unit -> placement
    gaps: list[Interval] = field(default_factory=list)
    artefacts: list[Interval] = field(default_factory=list)
    duplicates: list[Interval] = field(default_factory=list)
    private: dict[int, Placement] = field(default_factory=dict)  # species-only unique DNA

    @property
    def sizes(self) -> dict[str, int]:
        """Chromosome lengths in bp."""
        return {c: int(s.size) for c, s in self.sequences.items()}

    def placement(self, unit: int) -> Placement:
        """Where ancestral or private unit `unit` lies."""
        found = self.placements.get(unit)
        return found if found is not None else self.private[unit]

    def aligned_fraction(self) -> float:
        """Share of the non-N sequence that lies in ancestral units."""
        aligned = sum(p.length for p in self.placements.values())
        called = sum(int((s != N).sum()) for s in self.sequences.values())
        return aligned / called


@dataclass
class Ancestor:
    """The shared ancestral units (uint8 codes 0..3) and their grouping into segments."""

    units: list[npt.NDArray[np.uint8]]
    segments: list[list[int]]


def random_codes(rng: np.random.Generator, n: int) -> npt.NDArray[np.uint8]:
    """`n` random base codes (0..3 for A, C, G, T) at the genome's 41% GC."""
    return rng.choice(4, size=n, p=BASE_P).astype(np.uint8)


def mutate(
    rng: np.random.Generator, codes: npt.NDArray[np.uint8], rate: float
) -> npt.NDArray[np.uint8]:
    """Copy of `codes` with each base substituted (to one of the 3 others) with prob `rate`."""
    out = codes.copy()
    hit = np.flatnonzero(rng.random(codes.size) < rate)
    out[hit] = (out[hit] + rng.integers(1, 4, size=hit.size)) % 4
    return out


def make_ancestor(rng: np.random.Generator, preset: Preset) -> Ancestor:
    """Draw ancestral units until `preset.ancestral_bp` is reached, grouped into segments."""
    units: list[npt.NDArray[np.uint8]] = []
    total = 0
    while total < preset.ancestral_bp:
        length = int(rng.integers(preset.unit_bp[0], preset.unit_bp[1] + 1))
        units.append(random_codes(rng, length))
        total += length
    segments: list[list[int]] = []
    i = 0
    lo, hi = preset.units_per_segment
    while i < len(units):
        n = int(rng.integers(lo, hi + 1))
        segments.append(list(range(i, min(i + n, len(units)))))
        i += n
    if len(segments) > 1 and len(segments[-1]) < 3:
        segments[-2].extend(segments.pop())
    return Ancestor(units, segments)


def _split_balanced(lengths: list[int], parts: int) -> list[list[int]]:
    """Consecutive groups of indices with roughly equal summed length."""
    total = sum(lengths)
    groups: list[list[int]] = [[] for _ in range(parts)]
    acc = 0
    for i, length in enumerate(lengths):
        k = min(parts - 1, int(parts * (acc + length / 2) / total))
        groups[k].append(i)
        acc += length
    return [g for g in groups if g]


class _RepeatLibrary:
    """A few interspersed-repeat families; insertions are diverged pieces of them."""

    def __init__(self, rng: np.random.Generator, families: int = 6) -> None:
        self.families = [random_codes(rng, int(rng.integers(300, 3000))) for _ in range(families)]

    def piece(self, rng: np.random.Generator, length: int) -> npt.NDArray[np.uint8]:
        fam = self.families[int(rng.integers(len(self.families)))]
        out = np.empty(length, dtype=np.uint8)
        filled = 0
        while filled < length:
            start = int(rng.integers(fam.size))
            take = min(length - filled, fam.size - start)
            out[filled : filled + take] = fam[start : start + take]
            filled += take
        return ASCII_LOWER[mutate(rng, out, 0.12)]


def _insertion(
    rng: np.random.Generator, repeats: _RepeatLibrary, length: int
) -> npt.NDArray[np.uint8]:
    """Species-specific DNA: unique sequence, or a soft-masked repeat copy half the time."""
    if length == 0:
        return np.empty(0, dtype=np.uint8)
    if rng.random() < 0.5:
        return repeats.piece(rng, length)
    return ASCII_UPPER[random_codes(rng, length)]


def _long_insertion(
    rng: np.random.Generator, repeats: _RepeatLibrary, length: int
) -> tuple[npt.NDArray[np.uint8], list[tuple[int, int]]]:
    """Species-specific DNA of `length` bp: unique stretches of 3-12 kbp between repeat
    copies of 0.3-3 kbp; returns it and the ``(offset, length)`` of its unique stretches
    long enough to hold elements."""
    if length < PRIVATE_MIN_BP:
        return _insertion(rng, repeats, length), []
    pieces: list[npt.NDArray[np.uint8]] = []
    unique: list[tuple[int, int]] = []
    filled = 0
    while filled < length:
        if rng.random() < 0.35:
            n = min(length - filled, int(rng.integers(300, 3_000)))
            pieces.append(repeats.piece(rng, n))
        else:
            n = min(length - filled, int(rng.integers(3_000, 12_000)))
            pieces.append(ASCII_UPPER[random_codes(rng, n)])
            if n >= PRIVATE_MIN_BP:
                unique.append((filled, n))
        filled += n
    return np.concatenate(pieces), unique


def _satellite(rng: np.random.Generator, length: int) -> npt.NDArray[np.uint8]:
    """A tandem array of a 171-bp monomer with 2% divergence (soft-masked)."""
    monomer = random_codes(rng, 171)
    array = np.tile(monomer, length // 171 + 1)[:length]
    return ASCII_LOWER[mutate(rng, array, 0.02)]


class _ChromBuilder:
    """A chromosome assembled piece by piece."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pieces: list[npt.NDArray[np.uint8]] = []
        self.length = 0

    def add(self, piece: npt.NDArray[np.uint8]) -> tuple[int, int]:
        """Append `piece`; return its ``(start, end)`` on the chromosome."""
        self.pieces.append(piece)
        self.length += piece.size
        return self.length - piece.size, self.length


@dataclass
class _Features:
    gaps: list[Interval] = field(default_factory=list)
    artefacts: list[Interval] = field(default_factory=list)
    duplicates: list[Interval] = field(default_factory=list)


def _boundary(
    rng: np.random.Generator,
    preset: Preset,
    repeats: _RepeatLibrary,
    chrom: _ChromBuilder,
    features: _Features,
    first: bool,
    last: bool,
    *,
    artefact: bool,
    dup: npt.NDArray[np.uint8] | None,
) -> None:
    """Species DNA before a segment (or after the last): insertions, gaps, special features."""

    def gap(length: int) -> None:
        start, end = chrom.add(np.full(length, N, dtype=np.uint8))
        features.gaps.append(Interval(chrom.name, start, end))

    if first:
        gap(preset.gap_bp[0])
    chrom.add(_insertion(rng, repeats, int(rng.integers(500, preset.unit_bp[0]))))
    if artefact:
        start, end = chrom.add(_satellite(rng, int(rng.integers(1_000, 4_000))))
        features.artefacts.append(Interval(chrom.name, start, end))
        chrom.add(_insertion(rng, repeats, int(rng.integers(200, 1_000))))
    if dup is not None:
        start, end = chrom.add(dup.copy())
        features.duplicates.append(Interval(chrom.name, start, end))
        chrom.add(_insertion(rng, repeats, int(rng.integers(200, 1_000))))
    if last:
        gap(preset.gap_bp[0])
    elif not first and rng.random() < 0.6:
        gap(int(rng.integers(preset.gap_bp[0], preset.gap_bp[1] + 1)))
        chrom.add(_insertion(rng, repeats, int(rng.integers(200, 2_000))))


def build_species(
    rng: np.random.Generator,
    preset: Preset,
    ancestor: Ancestor,
    name: str,
    *,
    rearrange: bool,
) -> SpeciesGenome:
    """Assemble one species from the ancestor (see the module docstring)."""
    divergence_each = preset.divergence / 2
    aligned_fraction = preset.aligned_fraction[0 if name == "human" else 1]  # rat, dog: as mouse
    repeats = _RepeatLibrary(rng)
    seg_order = list(range(len(ancestor.segments)))
    seg_strand = dict.fromkeys(seg_order, 1)
    unit_flip: dict[int, int] = {}
    if rearrange:
        seg_order = [int(s) for s in rng.permutation(len(ancestor.segments))]
        for s in seg_order:
            seg_strand[s] = -1 if rng.random() < 0.35 else 1
            units = ancestor.segments[s]
            if len(units) >= 3 and rng.random() < 0.5:
                unit_flip[units[int(rng.integers(1, len(units) - 1))]] = -1
    seg_lengths = [sum(ancestor.units[u].size for u in ancestor.segments[s]) for s in seg_order]
    chrom_groups = _split_balanced(seg_lengths, preset.chromosomes)

    # slots between segments that receive satellites and the duplicated stretch
    n_slots = sum(len(g) + 1 for g in chrom_groups)
    n_artefacts = max(2, preset.chromosomes)
    special = rng.permutation(n_slots)
    artefact_slots = {int(x) for x in special[:n_artefacts]}
    dup_slots = [int(x) for x in special[n_artefacts : n_artefacts + 2]]
    dup_len = max(2_000, preset.unit_bp[0] // 2)
    dup_seq = ASCII_UPPER[random_codes(rng, dup_len)]

    # the species' own DNA between the units of each segment, sized so that the units
    # make up `aligned_fraction` of the genome (less what the boundaries add anyway)
    ancestral = sum(u.size for u in ancestor.units)
    boundary_bp = n_slots * (preset.unit_bp[0] + 500) / 2 + n_artefacts * 3_100
    boundary_bp += 2 * (dup_len + 600) + 0.6 * n_slots * 1_100
    budget = max(0.0, ancestral * (1 / aligned_fraction - 1) - boundary_bp)
    inner_slots = sum(len(ancestor.segments[s]) - 1 for s in seg_order)
    weights = rng.lognormal(0.0, 0.7, size=max(1, inner_slots))
    inner_lengths = iter((budget * weights / weights.sum()).astype(np.int64).tolist())
    private: dict[int, Placement] = {}
    private_next = private_base(name)

    sequences: dict[str, npt.NDArray[np.uint8]] = {}
    placements: dict[int, Placement] = {}
    features = _Features()
    slot = 0

    def boundary(chrom: _ChromBuilder, is_first: bool, is_last: bool) -> None:
        """The next boundary slot's sequence (an artefact or a duplicate where drawn)."""
        nonlocal slot
        dup = dup_seq if slot in dup_slots else None
        _boundary(
            rng,
            preset,
            repeats,
            chrom,
            features,
            is_first,
            is_last,
            artefact=slot in artefact_slots,
            dup=dup,
        )
        slot += 1

    for ci, group in enumerate(chrom_groups):
        chrom = _ChromBuilder(f"chr{ci + 1}")
        for gi, k in enumerate(group):
            is_first = gi == 0
            boundary(chrom, is_first, False)
            s = seg_order[k]
            units = ancestor.segments[s][::-1] if seg_strand[s] < 0 else ancestor.segments[s]
            for ui, u in enumerate(units):
                if ui > 0:
                    piece, unique = _long_insertion(rng, repeats, next(inner_lengths) + 1)
                    start, _ = chrom.add(piece)
                    for offset, length in unique:
                        private[private_next] = Placement(
                            private_next, chrom.name, start + offset, length, 1
                        )
                        private_next += 1
                strand = seg_strand[s] * unit_flip.get(u, 1)
                codes = mutate(rng, ancestor.units[u], divergence_each)
                if strand < 0:
                    codes = (3 - codes)[::-1]
                start, _ = chrom.add(ASCII_UPPER[codes])
                placements[u] = Placement(u, chrom.name, start, int(codes.size), strand)
        boundary(chrom, False, True)
        sequences[chrom.name] = np.concatenate(chrom.pieces)
    return SpeciesGenome(
        name=name,
        sequences=sequences,
        placements=placements,
        gaps=features.gaps,
        artefacts=features.artefacts,
        duplicates=features.duplicates,
        private=private,
    )
