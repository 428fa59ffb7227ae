"""Split several genomes into train/valid/test (or K folds) by synteny.

Training on several genomes must never test on the ortholog of a training sequence. As in
Kelley 2020, each genome is cut into fixed-size regions (default 1 Mbp); the bases aligned
between every pair of regions are counted from UCSC ``.net`` alignments (any number of
genomes and nets; region boundaries respected on both sides, nested gaps subtracted, both
strands); regions with more than ``min_aligned`` aligned bases between them are joined,
and whole connected components are assigned to the splits so that every genome gets close
to the requested fractions of its bases. The counting, the graph and the assignment run in
the native core (see ``crossreg._native.split_genomes``).

How bases are counted: every fill, at any nesting depth, minus its own gaps, is a list of
aligned pieces; within a piece the alignment is taken as colinear (the k-th of
``min(tLen, qLen)`` bases pairs target ``tStart + k*tLen//n`` with query
``qStart + k*qLen//n`` along the query strand), so a piece cut by a region boundary on
either genome is split exactly there. Net query coordinates are forward-strand on both
strands, as UCSC's ``chainNet`` writes them, which lists only the chain gaps of at least
25 target bases (``-minSpace``): a piece holds its fill's smaller indels, so the count runs
above the fill's ``ali`` (not read) by their target bases. Counts of several nets add
up; nets of both directions of one pair of genomes are refused, since they see the same
orthology twice.

Compared with Basenji's ``basenji_data_align.py`` (Kelley 2020): that script links only
top-level fills with at least 100 kb on both sides to whole contigs and assigns components
at random (``divide_components_pct``); here every aligned base is counted per region pair,
nested alignments included, and the assignment is a deterministic greedy balance of every
genome's fractions followed by single-component moves (seeded order within size classes,
see ``crossreg._native``). A genome that ends more than 1 percentage point off a requested
fraction (an indivisible component) is named in :attr:`SplitResult.warnings` with the
numbers.

>>> result = split_genomes({"hg38": "hg38.chrom.sizes", "mm10": "mm10.chrom.sizes"},
...                        [NetSpec("hg38", "mm10", "hg38.mm10.syn.net.gz")])  # doctest: +SKIP
>>> result.fractions()["hg38"]["test"]  # doctest: +SKIP
0.1201
>>> write_split(result, "split-out")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from crossreg import _native
from crossreg.io.bed import Interval
from crossreg.io.chrom_sizes import read_chrom_sizes
from crossreg.split.defaults import (
    DEFAULT_MIN_ALIGNED,
    DEFAULT_REGION_SIZE,
    DEFAULT_SEED,
    DEFAULT_TEST,
    DEFAULT_VALID,
)
from crossreg.split.inputs import NetSpec, check_genome_names, check_nets
from crossreg.split.net_warnings import net_warnings


@dataclass(frozen=True)
class Leakage:
    """Aligned bases that link regions in different splits.

    Pairs above the threshold would join their regions into one component, so
    ``above_bases`` must be 0; what stays below the threshold is reported as is.
    """

    threshold: int
    above_bases: int
    above_pairs: int
    below_bases: int
    below_pairs: int
    total_aligned_bases: int

    @property
    def ok(self) -> bool:
        """True when no region pair above the threshold crosses splits."""
        return self.above_pairs == 0


@dataclass
class SplitResult:
    """The regions of every genome with their component and split, and how they link.

    Region arrays have one entry per region of all genomes (0-based half-open bp), in the
    native core's order: ``region_genome``/``region_chrom`` index
    :attr:`genomes`/:attr:`chroms`, ``region_split`` indexes :attr:`labels`. Link arrays
    hold every region pair with any aligned base (region indices). The files list both in
    an order of their own (:meth:`region_order`), which no order of these arrays changes.
    """

    genomes: list[str]
    chroms: dict[str, list[str]]
    labels: list[str]
    requested: dict[str, float]
    region_size: int
    min_aligned: int
    seed: int
    folds: int | None
    nets: list[NetSpec]
    net_summaries: list[dict[str, object]]
    region_genome: npt.NDArray[np.uint32]
    region_chrom: npt.NDArray[np.uint32]
    region_start: npt.NDArray[np.uint64]
    region_end: npt.NDArray[np.uint64]
    region_component: npt.NDArray[np.uint32]
    component_split: npt.NDArray[np.uint32]
    link_a: npt.NDArray[np.uint32]
    link_b: npt.NDArray[np.uint32]
    link_bases: npt.NDArray[np.uint64]
    warnings: list[str] = field(default_factory=list)

    @property
    def region_split(self) -> npt.NDArray[np.uint32]:
        """Split index of each region (into :attr:`labels`)."""
        return self.component_split[self.region_component]

    @property
    def region_length(self) -> npt.NDArray[np.int64]:
        """Length of each region in bp."""
        return (self.region_end - self.region_start).astype(np.int64)

    def region_order(self) -> npt.NDArray[np.intp]:
        """The regions in the order the split's files list them: by genome (in the order
        given), by chromosome (in the order of the genome's sizes) and by start, whatever
        order the native core hands them over in."""
        return np.lexsort((self.region_start, self.region_chrom, self.region_genome))

    def regions(self, genome: str) -> list[Interval]:
        """The regions of `genome` by chromosome (in the order of its sizes) and start, each
        with its split label as extra column."""
        g = self._genome_index(genome)
        order = self.region_order()
        idx = order[self.region_genome[order] == g]
        names, labels, split = self.chroms[genome], self.labels, self.region_split
        return [
            Interval(
                names[self.region_chrom[i]],
                int(self.region_start[i]),
                int(self.region_end[i]),
                (labels[split[i]],),
            )
            for i in idx
        ]

    def bases(self) -> dict[str, dict[str, int]]:
        """Bases of each genome in each split (bp)."""
        n_genomes, n_splits = len(self.genomes), len(self.labels)
        table = np.zeros((n_genomes, n_splits), dtype=np.int64)
        np.add.at(table, (self.region_genome, self.region_split), self.region_length)
        return {
            name: {label: int(table[g, s]) for s, label in enumerate(self.labels)}
            for g, name in enumerate(self.genomes)
        }

    def fractions(self) -> dict[str, dict[str, float]]:
        """Fraction of each genome's bases in each split."""
        out = {}
        for name, per_split in self.bases().items():
            total = sum(per_split.values())
            out[name] = {label: bp / total for label, bp in per_split.items()}
        return out

    def component_bases(self) -> npt.NDArray[np.int64]:
        """``(components, genomes)`` bp of each component in each genome."""
        n_components = len(self.component_split)
        table = np.zeros((n_components, len(self.genomes)), dtype=np.int64)
        np.add.at(table, (self.region_component, self.region_genome), self.region_length)
        return table

    def leakage(self) -> Leakage:
        """Aligned bases between regions in different splits, above and below the threshold.

        Computed from the links and the region splits alone, independently of how the
        components were built.
        """
        split = self.region_split
        crossing = split[self.link_a] != split[self.link_b]
        above = crossing & (self.link_bases > self.min_aligned)
        below = crossing & ~above
        return Leakage(
            threshold=self.min_aligned,
            above_bases=int(self.link_bases[above].sum()),
            above_pairs=int(above.sum()),
            below_bases=int(self.link_bases[below].sum()),
            below_pairs=int(below.sum()),
            total_aligned_bases=int(self.link_bases.sum()),
        )

    def _genome_index(self, genome: str) -> int:
        try:
            return self.genomes.index(genome)
        except ValueError:
            raise ValueError(
                f"genome '{genome}' is not in this split (it holds {', '.join(self.genomes)})"
            ) from None


def split_labels(valid: float, test: float, folds: int | None) -> dict[str, float]:
    """Split names and requested fractions: train/valid/test, or ``fold0..fold{K-1}``.

    Train gets the rest, ``1 - valid - test``, rounded to 12 decimals: as the fractions are
    written, 0.82 for valid 0.1 and test 0.08, not the 0.8200000000000001 of the float
    subtraction."""
    if folds is not None:
        if folds < 2:
            raise ValueError(f"--folds must be at least 2, got {folds}")
        return {f"fold{k}": 1.0 / folds for k in range(folds)}
    for name, value in (("valid", valid), ("test", test)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"the {name} fraction must lie in [0, 1), got {value}")
    if valid + test >= 1.0:
        raise ValueError(
            f"valid {valid} + test {test} leave nothing for train; their sum must be below 1"
        )
    return {"train": round(1.0 - valid - test, 12), "valid": valid, "test": test}


def split_genomes(
    sizes: Mapping[str, Mapping[str, int] | str | os.PathLike[str]],
    nets: Sequence[NetSpec],
    *,
    region_size: int = DEFAULT_REGION_SIZE,
    min_aligned: int = DEFAULT_MIN_ALIGNED,
    valid: float = DEFAULT_VALID,
    test: float = DEFAULT_TEST,
    folds: int | None = None,
    seed: int = DEFAULT_SEED,
    skip_unknown_chroms: bool = False,
) -> SplitResult:
    """Split the genomes in `sizes` by the synteny in `nets`.

    `sizes` maps each genome name to its chromosome lengths (a mapping name -> bp, or the
    path of a ``chrom.sizes``/``.genome``/``.fai`` file); its order is the genome order.
    Regions are `region_size` bp; two regions are joined when strictly more than
    `min_aligned` bases align between them. `valid`/`test` are fractions of each genome
    (train gets the rest); with `folds` = K the splits are ``fold0..fold{K-1}`` of 1/K
    each and `valid`/`test` are not used. The same inputs and `seed` give the same split.
    With `skip_unknown_chroms`, alignments to chromosomes outside the sizes are skipped
    (and counted per net) instead of stopping with an error. The counts of all nets add
    up (a net split by chromosome may come in several files); one file given twice, and
    nets of both directions of one pair of genomes (``a,b`` and ``b,a``, which would count
    the same orthology twice), are errors, as is a net that looks cut short (a plain file
    whose last line has no newline, a bgzip file without its end-of-file block).
    """
    requested = split_labels(valid, test, folds)
    if region_size < 1:
        raise ValueError(f"the region size must be at least 1 bp, got {region_size}")
    if min_aligned < 0:
        raise ValueError(f"min_aligned must be non-negative, got {min_aligned}")
    if not 0 <= seed < 2**64:
        raise ValueError(f"the seed must lie in [0, 2**64), got {seed}")
    if not sizes:
        raise ValueError("give the chromosome sizes of at least one genome")
    genomes = list(sizes)
    check_genome_names(genomes)
    chrom_sizes = {
        name: dict(value) if isinstance(value, Mapping) else read_chrom_sizes(value)
        for name, value in sizes.items()
    }
    nets = [NetSpec(n.target, n.query, n.path) for n in nets]
    check_nets(nets, genomes)
    native_nets = [(genomes.index(n.target), genomes.index(n.query), n.path) for n in nets]
    out = _native.split_genomes(
        [(name, list(chrom_sizes[name].items())) for name in genomes],
        native_nets,
        region_size,
        min_aligned,
        list(requested.values()),
        list(requested),
        seed,
        skip_unknown_chroms,
    )
    return SplitResult(
        genomes=genomes,
        chroms={name: list(chrom_sizes[name]) for name in genomes},
        labels=list(requested),
        requested=requested,
        region_size=region_size,
        min_aligned=min_aligned,
        seed=seed,
        folds=folds,
        nets=nets,
        net_summaries=out["nets"],
        region_genome=out["region_genome"],
        region_chrom=out["region_chrom"],
        region_start=out["region_start"],
        region_end=out["region_end"],
        region_component=out["region_component"],
        component_split=out["component_split"],
        link_a=out["link_a"],
        link_b=out["link_b"],
        link_bases=out["link_bases"],
        warnings=list(out["warnings"])
        + net_warnings(genomes, nets, out["nets"], out["link_bases"], min_aligned, region_size),
    )
