"""Warnings of a synteny split (:func:`crossreg.split.synteny.split_genomes`) about what its
nets joined, beside those of the native core (fractions that cannot be met): a genome in no
net, a net whose fills were all skipped, a full net where the syntenic one was meant, and
nets that align bases but join no regions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crossreg.split.inputs import NetSpec


def net_warnings(
    genomes: Sequence[str],
    nets: Sequence[NetSpec],
    summaries: Sequence[Mapping[str, Any]],
    link_bases: Any,
    min_aligned: int,
    region_size: int,
) -> list[str]:
    """The warnings about `nets` (with the native core's `summaries` of them) and the
    aligned bases per region pair they gave (`link_bases`), in the order the split lists
    them."""
    return (
        _unaligned_genome_warnings(genomes, nets)
        + _idle_net_warnings(nets, summaries)
        + _full_net_warnings(nets, summaries)
        + _threshold_warnings(link_bases, min_aligned, region_size)
    )


def _threshold_warnings(link_bases: Any, min_aligned: int, region_size: int) -> list[str]:
    """A warning when the nets align bases between regions but no pair reaches the
    threshold: the split then ignores synteny, most often because ``min_aligned`` is not
    below the region size (one net aligns at most a region's length between two regions)."""
    if len(link_bases) == 0 or int(max(link_bases)) > min_aligned:
        return []
    hint = (
        f"; one net aligns at most --region-size ({region_size:,} bp) between two regions, "
        "so lower --min-aligned below it (the paper: 100 kbp of 1-Mbp regions)"
        if min_aligned >= region_size
        else ""
    )
    return [
        f"no two regions share more than --min-aligned ({min_aligned:,} bp) of aligned "
        f"bases (the most is {int(max(link_bases)):,} bp), so no regions were joined and "
        f"orthologous regions may fall in different splits{hint}"
    ]


def _unaligned_genome_warnings(genomes: Sequence[str], nets: Sequence[NetSpec]) -> list[str]:
    """A warning for each genome, of several, that no net names: nothing joins its regions
    to their orthologues, which may then fall in any split. The net each suggests names
    the two genomes in ``--sizes`` order, so that two genomes without a net are both
    pointed to one net, of one direction (nets of both directions are refused)."""
    if len(genomes) < 2:
        return []
    named = {side for net in nets for side in (net.target, net.query)}
    warnings = []
    for genome in genomes:
        if genome not in named:
            other = genomes[1] if genome == genomes[0] else genomes[0]
            target, query = sorted((genome, other), key=list(genomes).index)  # --sizes order
            warnings.append(
                f"genome '{genome}' is in no --net, so none of its regions is joined to its "
                "orthologues in the other genomes, which may fall in other splits; give the "
                f"net aligning it to another genome (--net {target},{query}=FILE)"
            )
    return warnings


def _idle_net_warnings(
    nets: Sequence[NetSpec], summaries: Sequence[Mapping[str, Any]]
) -> list[str]:
    """A warning for each net whose fills were all skipped: it joined no regions."""
    warnings = []
    for net, summary in zip(nets, summaries, strict=True):
        if summary["fills"] and summary["skipped_fills"] == summary["fills"]:
            warnings.append(
                f"net {net.path}: all {summary['fills']:,} fills lie on chromosomes outside "
                f"the sizes, so it joined no regions; check that the net's target is "
                f"'{net.target}' and its query '{net.query}' (--net TARGET,QUERY=FILE) and "
                "that both sizes files name chromosomes as the net does"
            )
    return warnings


def _full_net_warnings(
    nets: Sequence[NetSpec], summaries: Sequence[Mapping[str, Any]]
) -> list[str]:
    """A warning for each net holding ``nonSyn`` fills that UCSC's syntenic net
    (``netFilter -syn``) leaves out: the full net, whose non-syntenic alignments
    (paralogues, processed pseudogenes) were counted as if orthologous."""
    warnings = []
    for net, summary in zip(nets, summaries, strict=True):
        if summary["non_syntenic_fills"]:
            warnings.append(
                f"net {net.path} holds nonSyn fills that the syntenic net leaves out "
                f"(netFilter -syn): {summary['non_syntenic_fills']:,} of them, aligning "
                f"{summary['non_syntenic_bases']:,} bp, were counted, so this looks like the "
                "full net, whose non-syntenic alignments (paralogues, processed pseudogenes) "
                "may join regions that are not orthologous; give the syntenic net "
                f"({net.target}.{net.query}.syn.net.gz) instead"
            )
    return warnings
