"""The genes of a transfer's GTF checked against the store they are compared on (its
chromosome names and sizes), and their TSS sites in the held-out windows
(:func:`tss_sites`)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence

from crossreg.data.store import DataStore
from crossreg.errors import first_few
from crossreg.evaluate.transfer_sites import Site, gene_sites
from crossreg.io.chroms import chrom_hint, prefix_twin
from crossreg.io.gtf import GtfRecord, gene_tss, iter_gtf
from crossreg.io.gtf_genome import check_gtf_genome, gene_chromosomes, require_genes_on

log = logging.getLogger("crossreg")


def _noting_chroms(records: Iterable[GtfRecord], named: dict[str, str]) -> Iterator[GtfRecord]:
    """`records`, each chromosome noted in `named` with where its first record is
    (``file:line``) as they pass."""
    for r in records:
        named.setdefault(r.chrom, r.where)
        yield r


def check_gtf_chromosomes(
    gtf: str | os.PathLike[str],
    names: Mapping[str, str],
    chroms: Sequence[str],
    store: str | os.PathLike[str],
) -> None:
    """A GTF chromosome (of `names`: chromosome → ``file:line`` of its first record, or
    '') that differs from one of the store's `chroms` only by the ``chr`` prefix (``1``
    for ``chr1``) is an error naming that record, with the renaming hint ``crossreg
    data`` gives for track files."""
    known = set(chroms)
    for name, where in names.items():
        if name not in known and prefix_twin(name, known) is not None:
            raise ValueError(
                f"{where or gtf}: chromosome '{name}' is not in {store}{chrom_hint(name, chroms)}"
            )


def store_genome(store: DataStore) -> str:
    """The store's genome for messages: ``human, assembly hg38`` (its name alone where
    ``dataset.json`` records no assembly)."""
    assembly = store.metadata.get("assembly")
    return f"{store.genome}, assembly {assembly}" if assembly else store.genome


def tss_sites(
    gtf: str | os.PathLike[str],
    store: DataStore,
    data_dir: str | os.PathLike[str],
    splits: Sequence[str],
) -> list[Site]:
    """The gene TSS sites of `gtf` in the `splits` windows of the store, the GTF checked
    against the store's chromosome names and sizes first; fewer than 3 sites (R needs 3)
    is an error that says why there are so few."""
    named: dict[str, str] = {}  # each GTF chromosome's first record, noted as it streams past
    tss = gene_tss(_noting_chroms(iter_gtf(gtf), named))
    if not tss:
        raise ValueError(
            f"{gtf}: no transcript, exon or gene record on a strand ('+' or '-'), so no "
            "gene has a TSS; give a gene annotation GTF (GENCODE, Ensembl or UCSC)"
        )
    fix, unchecked = _check_genome(gtf, tss, named, store, data_dir)
    genes = gene_sites(store, splits, tss)
    if len(genes) < 3:
        held = [w.chrom for split in splits for w in store.windows(split)]
        raise ValueError(
            f"{gtf}: only {len(genes)} of its {len(tss):,} genes have a TSS in the unmasked "
            f"target bins of the {len(held):,} {', '.join(splits)} windows of {data_dir}, and "
            f"R needs 3 sites (its genes lie on {gene_chromosomes(tss)}; the held-out windows "
            f"lie on {first_few(list(dict.fromkeys(held))) or 'none'}); {fix}, or hold out "
            "more windows (--splits, or a store built with larger held-out splits)"
            + (f"; {unchecked}" if unchecked else "")
        )
    if unchecked:
        log.warning("%s", unchecked)
    return genes


def _check_genome(
    gtf: str | os.PathLike[str],
    tss: Mapping[str, list[tuple[str, int]]],
    named: dict[str, str],
    store: DataStore,
    data_dir: str | os.PathLike[str],
) -> tuple[str, str]:
    """Check the genes `tss` of `gtf` (each chromosome's first record in `named`) against
    the store's chromosome names, and its chromosome sizes where it records them (else
    against its windows' chromosomes); returns the fix to name when too few genes have a
    site, and the note that the sizes were not checked ('' when they were)."""
    windows = (w for split in store.splits for w in store.windows(split))
    chroms = list(dict.fromkeys(w.chrom for w in windows))
    check_gtf_chromosomes(gtf, named, chroms, data_dir)
    genome = store_genome(store)
    fix = f"give the GTF of the store's genome ({genome})"
    if store.chrom_sizes is not None:
        check_gtf_genome(gtf, tss, store.chrom_sizes, f"the genome of {data_dir} ({genome})", fix)
        return fix, ""
    unchecked = (
        f"{data_dir} records no chromosome sizes (built by an older crossreg), so the "
        f"genes of {gtf} are not checked against its genome; rebuild the store with "
        "`crossreg data` to have them checked"
    )
    where = f"the windows of {data_dir} ({genome})"
    require_genes_on(
        gtf,
        tss,
        chroms,
        where,
        whose="the windows'",
        rename_to="the store's",
        fix=f"{fix}; {unchecked}",
    )
    return fix, unchecked
