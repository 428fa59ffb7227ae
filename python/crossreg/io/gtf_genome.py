"""The genes of a GTF checked against a genome's chromosome sizes, so that a GTF of
another genome or assembly (a mouse GTF on a human store or FASTA: both name their
chromosomes chr1, chr2, ...) is refused rather than its genes dropped or placed where
they do not belong.

Any TSS at or past the end of its chromosome is an error, and so is a GTF none of whose
genes lies on one of the genome's chromosomes (it names its chromosomes otherwise:
RefSeq's ``NC_000001.11`` for ``chr1``), naming chromosomes of both. Genes on chromosomes
the genome lacks (unplaced contigs that a FASTA of the main chromosomes leaves out, or
every other chromosome where the FASTA holds some: chr2 alone) are left out with a warning
that counts them, or are an error when they are most of the GTF's genes and the genome's
chromosomes that carry any of its genes are less than half of the genome's length, where
the caller asks for that (``crossreg transfer``, whose genes must be the store's).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Mapping, Sequence

from crossreg.errors import first_few
from crossreg.io.gtf import iter_gtf

log = logging.getLogger("crossreg")

#: A GTF more than this share of whose genes lie on chromosomes the genome lacks is refused
#: (where absent chromosomes are an error at all), unless the chromosomes that carry its
#: other genes hold at least this share of the genome's length (a FASTA of some of the
#: GTF's chromosomes).
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
    sizes: Mapping[str, int],
    genome: str,
    fix: str,
    *,
    absent_is_error: bool = True,
) -> None:
    """Check the TSSs `tss` (gene → ``(chrom, 0-based position)``,
    :func:`crossreg.io.gtf.gene_tss`) of `gtf` against the chromosome `sizes` of `genome`
    (its description in messages, e.g. ``the genome of data/human (human (hg38))``): a
    ValueError naming a TSS past its chromosome's end, with an example record and `fix`,
    or naming chromosomes of each where no gene lies on the genome's; for genes on
    chromosomes the genome lacks, a warning that counts them, or with `absent_is_error` a
    ValueError when they are more than :data:`MAX_ABSENT_SHARE` of the genes and the
    chromosomes carrying the others less than that share of the genome's length."""
    if not tss:
        return
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
            f"chromosome in {genome}, e.g. gene '{gene}' at {chrom}:{pos + 1:,}, past "
            f"{chrom}'s {sizes[chrom]:,} bp ({_record_of(gtf, gene, chrom)}): the GTF is of "
            f"another genome or assembly; {fix}"
        )
    whose = "the genome's"
    require_genes_on(gtf, tss, list(sizes), genome, whose=whose, rename_to=whose, fix=fix)
    absent = {
        gene: sites[0][0] for gene, sites in tss.items() if all(c not in sizes for c, _ in sites)
    }
    if not absent:
        return
    listed = gene_chromosomes({gene: tss[gene] for gene in absent})
    chromosomes = f"{len(sizes)} chromosome{'' if len(sizes) == 1 else 's'}"
    theirs = f"the genome's are {first_few(list(sizes))}"
    what = (
        f"{len(absent)} of the {len(tss)} genes of {gtf} lie on chromosomes absent from "
        f"the {chromosomes} of {genome}: {listed}"
    )
    annotated = {c for sites in tss.values() for c, _ in sites if c in sizes}
    annotated_bp = sum(sizes[c] for c in annotated)
    if (
        absent_is_error
        and len(absent) > MAX_ABSENT_SHARE * len(tss)
        and annotated_bp < MAX_ABSENT_SHARE * sum(sizes.values())
    ):
        gene, chrom = next(iter(absent.items()))
        raise ValueError(
            f"{what}; {theirs}; e.g. gene '{gene}' ({_record_of(gtf, gene, chrom)}): the GTF "
            "is of another genome or assembly, or names its chromosomes otherwise; rename the "
            f"GTF's chromosomes (its first column) to the genome's, or {fix}"
        )
    log.warning("%s; they are left out (%s)", what, theirs)


def require_genes_on(
    gtf: str | os.PathLike[str],
    tss: Mapping[str, Sequence[tuple[str, int]]],
    chroms: Sequence[str],
    place: str,
    *,
    whose: str,
    rename_to: str,
    fix: str,
) -> None:
    """A ValueError when no gene of `gtf` (its TSSs `tss`) lies on one of the chromosomes
    `chroms` of `place` (its description in messages; `whose` names them: ``the
    genome's``), naming the chromosomes of both, an example record, the names to rename
    the GTF's to (`rename_to`) and `fix`."""
    held = set(chroms)
    if not tss or any(chrom in held for sites in tss.values() for chrom, _ in sites):
        return
    gene, sites = next(iter(tss.items()))
    count = f"{len(chroms)} chromosome{'' if len(chroms) == 1 else 's'}"
    raise ValueError(
        f"{gtf}: none of its {len(tss)} genes lies on one of the {count} of {place}: its "
        f"genes lie on {gene_chromosomes(tss)}; {whose} are {first_few(list(chroms))}; e.g. "
        f"gene '{gene}' ({_record_of(gtf, gene, sites[0][0])}): the GTF names its "
        f"chromosomes otherwise or is of another genome; rename the GTF's chromosomes (its "
        f"first column) to {rename_to}, or {fix}"
    )


def gene_chromosomes(tss: Mapping[str, Sequence[tuple[str, int]]]) -> str:
    """The chromosomes of the genes of `tss` with their gene counts, most genes first:
    ``chr1 (20), chr2 (11)``, the first few of them."""
    counts = Counter(sites[0][0] for sites in tss.values()).most_common()
    return first_few([f"{chrom} ({n})" for chrom, n in counts])
