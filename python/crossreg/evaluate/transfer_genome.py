"""The genes of a GTF checked against the genome of a store (``crossreg transfer``): a
GTF of another genome or assembly (a mouse GTF on a human store) is refused, rather than
its genes dropped or placed where they do not belong.

The store records its genome's chromosome sizes (``dataset.json``'s ``chrom_sizes``).
Any TSS at or past the end of its chromosome is an error; so is a GTF most of whose genes
lie on chromosomes the genome lacks. A few such genes (unplaced contigs a FASTA of the
main chromosomes leaves out) are left out with a warning that counts them.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Mapping, Sequence

from crossreg.io.gtf import iter_gtf

log = logging.getLogger("crossreg")

#: A GTF more than this share of whose genes lie on chromosomes the genome lacks is refused.
MAX_ABSENT_SHARE = 0.5


def _record_of(gtf: str | os.PathLike[str], gene: str, chrom: str) -> str:
    """``file:line`` of the first record of `gene` on `chrom` in `gtf` (read again: only
    an error or a warning needs it)."""
    for record in iter_gtf(gtf):
        if record.gene_id == gene and record.chrom == chrom:
            return record.where
    return os.fspath(gtf)


def check_gtf_genome(
    gtf: str | os.PathLike[str],
    tss: Mapping[str, Sequence[tuple[str, int]]],
    sizes: Mapping[str, int] | None,
    genome: str,
    store: str | os.PathLike[str],
) -> None:
    """Check the TSSs `tss` (gene → ``(chrom, 0-based position)``, :func:`gene_tss`) of
    `gtf` against the chromosome `sizes` of the store `store`, whose genome `genome`
    names (e.g. ``human (hg38)``): a ValueError naming a TSS past its chromosome's end, or
    more than :data:`MAX_ABSENT_SHARE` of the genes on chromosomes the genome lacks, with
    an example record and the fix; a warning counting the genes left out otherwise.
    Without `sizes` (a store built before they were recorded) a warning says so."""
    if sizes is None:
        log.warning(
            "%s records no chromosome sizes (built by an older crossreg): the genes of %s "
            "are not checked against its genome; rebuild the store with `crossreg data` to "
            "have them checked",
            store,
            gtf,
        )
        return
    if not tss:
        return
    fix = f"give the GTF of the store's genome, {genome}"
    beyond = [
        (gene, chrom, pos)
        for gene, sites in tss.items()
        for chrom, pos in sites
        if chrom in sizes and pos >= sizes[chrom]
    ]
    if beyond:
        gene, chrom, pos = beyond[0]
        genes = len({g for g, _, _ in beyond})
        raise ValueError(
            f"{gtf}: {len(beyond)} TSS(s) of {genes} gene(s) lie past the end of their "
            f"chromosome in the genome of {store} ({genome}), e.g. gene '{gene}' at "
            f"{chrom}:{pos + 1:,}, past {chrom}'s {sizes[chrom]:,} bp "
            f"({_record_of(gtf, gene, chrom)}): the GTF is of another genome or assembly; "
            f"{fix}"
        )
    absent = {
        gene: sites[0][0] for gene, sites in tss.items() if all(c not in sizes for c, _ in sites)
    }
    if not absent:
        return
    counts = Counter(absent.values()).most_common()
    listed = ", ".join(f"{chrom} ({n})" for chrom, n in counts[:5])
    listed += f" and {len(counts) - 5} more" if len(counts) > 5 else ""
    gene, chrom = next(iter(absent.items()))
    what = (
        f"{len(absent)} of the {len(tss)} genes of {gtf} lie on chromosomes absent from "
        f"the {len(sizes)} of the genome of {store} ({genome}): {listed}"
    )
    if len(absent) > MAX_ABSENT_SHARE * len(tss):
        raise ValueError(
            f"{what}; e.g. gene '{gene}' ({_record_of(gtf, gene, chrom)}): the GTF is of "
            f"another genome or assembly, or names its chromosomes otherwise; {fix}"
        )
    log.warning("%s; they are left out", what)
