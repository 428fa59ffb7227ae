"""A run's inputs read and checked before the block pass: the print SNPs, the
phenotypes, the chromosomes analysed and the LD blocks on them."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from crossreg.io.chroms import bare_chrom
from crossreg.stats.sldp.eqtl_table import read_eqtl
from crossreg.stats.sldp.heritability import Heritability, estimate_h2g
from crossreg.stats.sldp.ldscores import LdScores
from crossreg.stats.sldp.panel import LdBlocks, panel_chroms
from crossreg.stats.sldp.phenotype import Phenotype
from crossreg.stats.sldp.sumstats import read_sumstats
from crossreg.stats.sldp.tables import file_stem, read_first_fields

log = logging.getLogger("crossreg")


def read_print_snps(path: str | os.PathLike[str]) -> npt.NDArray[np.str_]:
    """One SNP id per line (the first field), no header."""
    return np.unique(read_first_fields(path))


def read_phenotypes(
    sumstats: Sequence[str | os.PathLike[str]],
    eqtl: Sequence[str | os.PathLike[str]],
    eqtl_n: float | None,
    print_snps: npt.NDArray[np.str_],
    ld: LdScores,
) -> tuple[list[Phenotype], dict[str, Heritability]]:
    """The phenotypes of the `sumstats` and `eqtl` files (`eqtl_n`: the eQTL tables' N) at
    the print SNPs, each named by its file name, and their heritability (from the LD
    scores `ld`); stops when none is given or two share a name. The files are read one at
    a time, each a batch of rows at a time: each phenotype is kept as a :class:`Phenotype`."""
    paths = [Path(p) for p in (*sumstats, *eqtl)]
    if not paths:
        raise ValueError("give at least one --sumstats or --eqtl file")
    unnamed = [p for p in paths if not file_stem(p)]
    if unnamed:
        raise ValueError(
            f"{unnamed[0]}: its file name leaves no phenotype name (the name without "
            ".gz/.tsv/.txt/.sumstats); rename the file"
        )
    names = [file_stem(p) for p in paths]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"phenotype names repeat (file names without suffix): {repeated}")
    phenos, heritability = [], {}
    for k, path in enumerate(paths):
        eqtl_table = k >= len(sumstats)
        pheno, heritability[names[k]] = _read_phenotype(path, eqtl_table, eqtl_n, print_snps, ld)
        phenos.append(pheno)
    return phenos, heritability


def _read_phenotype(
    path: Path,
    eqtl_table: bool,
    eqtl_n: float | None,
    print_snps: npt.NDArray[np.str_],
    ld: LdScores,
) -> tuple[Phenotype, Heritability]:
    """One phenotype file (an eQTL table with `eqtl_table`) as a :class:`Phenotype`, and its
    heritability; its summary statistics as read are dropped on return."""
    stats = read_eqtl(path, print_snps, eqtl_n) if eqtl_table else read_sumstats(path, print_snps)
    heritability = estimate_h2g(stats, ld)
    return Phenotype.of(stats, print_snps), heritability


def analysed_chroms(requested: Sequence[str] | None, bfile_chr: str) -> list[str]:
    """The panel chromosomes `requested` names (``chr7`` and ``7`` alike), as the panel's
    file names spell them; every one with panel files when None."""
    available = panel_chroms(bfile_chr)
    if not available:
        raise ValueError(f"{bfile_chr}: no panel files {bfile_chr}{{chrom}}.bed/.bim/.fam")
    if not requested:
        return available
    spelled = {bare_chrom(c): c for c in available}
    wanted = [bare_chrom(c) for c in requested]
    twice = sorted({c for c in wanted if wanted.count(c) > 1})
    if twice:
        raise ValueError(f"--chroms names chromosome(s) {', '.join(twice)} more than once")
    absent = [c for c, bare in zip(requested, wanted, strict=True) if bare not in spelled]
    if absent:
        raise ValueError(f"{bfile_chr}: no panel files for chromosome(s) {', '.join(absent)}")
    return [spelled[bare] for bare in wanted]


def check_blocks_cover(blocks: LdBlocks, chroms: list[str]) -> None:
    """Stop when no LD block lies on the analysed chromosomes; warn about those without."""
    without = [c for c in chroms if not len(blocks.on(c))]
    if len(without) == len(chroms):
        found = ", ".join(dict.fromkeys(blocks.bare.tolist())) or "none"
        raise ValueError(
            f"{blocks.path}: no LD block lies on the analysed chromosome(s) "
            f"{', '.join(chroms)} (its blocks are on {found}); check its chromosome names"
        )
    if without:
        log.warning(
            "%s: no LD block on chromosome(s) %s: their SNPs add no regression signal but "
            "count in M and ‖v‖² (so in r_f, h2v_h2g, h2v and supp_frac), as in the reference",
            blocks.path,
            ", ".join(without),
        )
