"""One chromosome of the reference panel: its SNPs, their MAF, which are print (regression)
SNPs, and the LD block each SNP falls in."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from crossreg.io.chroms import bare_chrom
from crossreg.stats.sldp.plink import Bim, read_bim, read_fam_count, read_frq
from crossreg.stats.sldp.tables import numbers, read_text_table

MHC = (25_684_587, 35_455_756)  # blocks on chr6 overlapping this are dropped


def chrom_order(name: str) -> tuple[int, int, str]:
    """Numbers first, in numeric order, then the rest by name."""
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def chrom_label(chrom: str) -> str:
    """How messages and counts name a chromosome: ``chr7``, whether files say ``chr7`` or ``7``."""
    return f"chr{bare_chrom(chrom)}"


def check_stem(stem: str, option: str, chroms: Sequence[str]) -> None:
    """Stop when every chromosome name found after `stem` starts with the same separator
    (``panel`` for files ``panel.1.bed``): the stem, given with `option`, lacks it."""
    first = {chrom[:1] for chrom in chroms}
    if len(first) == 1 and (sep := first.pop()) in "._-":
        raise ValueError(
            f"{option} {stem}: its files name chromosomes {', '.join(chroms[:3])}; the stem "
            f"ends where the chromosome name begins, so give {option} {stem}{sep}"
        )


def panel_chroms(stem: str) -> list[str]:
    """The chromosomes c with ``{stem}{c}.bed``, ``.bim`` and ``.fam``, in natural order
    (``chr7`` and ``7`` alike); one found under both names stops."""
    folder = Path(stem).parent
    prefix = Path(stem).name if not str(stem).endswith(os.sep) else ""
    found: dict[str, str] = {}
    for path in sorted(folder.glob(f"{prefix}*.bed")):
        chrom = path.name[len(prefix) : -len(".bed")]
        if chrom and re.fullmatch(r"[\w.-]+", chrom) and path.with_suffix(".bim").exists():
            twin = found.setdefault(bare_chrom(chrom), chrom)
            if twin != chrom:
                raise ValueError(
                    f"{stem}: panel files name chromosome {bare_chrom(chrom)} twice, as "
                    f"{stem}{twin}.bed and {stem}{chrom}.bed; keep one of them"
                )
    chroms = sorted(found.values(), key=lambda c: chrom_order(bare_chrom(c)))
    check_stem(stem, "--bfile-chr", chroms)
    return chroms


@dataclass(frozen=True)
class LdBlocks:
    """LD blocks ``chrN start end``: block id = 0-based line of the file; MHC blocks kept
    in the table but flagged."""

    path: Path
    chrom: npt.NDArray[np.str_]  # as written (``chr22``)
    bare: npt.NDArray[np.str_]  # without ``chr`` (``22``), as the panel files name it
    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    mhc: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.chrom)

    def on(self, chrom: str) -> npt.NDArray[np.int64]:
        """Ids of the non-MHC blocks on `chrom` (``chr7`` or ``7`` alike), in file order."""
        return np.nonzero((self.bare == bare_chrom(chrom)) & ~self.mhc)[0]


def read_ld_blocks(path: str | os.PathLike[str]) -> LdBlocks:
    """Read a blocks BED; a block with a negative start or an end below its start, or
    overlapping blocks, stop naming the line. Blocks on chromosomes that are not analysed
    stay in the table (the reference's chunks walk every line of the file)."""
    path = Path(path)
    table = read_text_table(path, header=False)
    if table.width < 3:
        raise ValueError(f"{path}: LD blocks need 3 columns (chrN start end)")
    table.columns = ["chr", "start", "end", *table.columns[3:]]
    chrom = table["chr"].to_numpy().astype(str)
    start = numbers(table, "start", path, header=False, dtype=np.int64)
    end = numbers(table, "end", path, header=False, dtype=np.int64)
    bad = np.flatnonzero((start < 0) | (end < start))
    if len(bad):
        i = int(bad[0])
        raise ValueError(
            f"{path} line {i + 1}: block {chrom[i]} {start[i]} {end[i]} is impossible; a block "
            "needs 0 <= start <= end"
        )
    bare = np.array([bare_chrom(c) for c in chrom.tolist()], dtype=str)
    for name in np.unique(bare):
        ids = np.nonzero(bare == name)[0]
        order = ids[np.argsort(start[ids], kind="stable")]
        overlap = np.nonzero(start[order][1:] < end[order][:-1])[0]
        if len(overlap):
            raise ValueError(f"{path} line {order[overlap[0] + 1] + 1}: overlaps another block")
    mhc = (bare == "6") & (end > MHC[0]) & (start < MHC[1])
    return LdBlocks(path, chrom, bare, start, end, mhc)


@dataclass(frozen=True)
class ChromPanel:
    """One chromosome's panel: SNPs, MAF, print mask, and the non-MHC blocks' SNP ranges."""

    chrom: str
    bed: Path
    n_samples: int
    bim: Bim
    maf: npt.NDArray[np.float64]
    printed: npt.NDArray[np.bool_]
    block_ids: npt.NDArray[np.int64]  # this chromosome's non-MHC blocks, file order
    block_start: npt.NDArray[np.int64]  # first SNP row of each block
    block_stop: npt.NDArray[np.int64]  # one past its last SNP row

    @property
    def label(self) -> str:
        """How messages name the chromosome (`chrom_label`)."""
        return chrom_label(self.chrom)

    @property
    def files(self) -> list[Path]:
        """The panel files this chromosome was read from."""
        return [self.bed, self.bed.with_suffix(".bim"), self.bed.with_suffix(".fam")]


def load_chrom_panel(
    stem: str, chrom: str, print_snps: npt.NDArray[np.str_], blocks: LdBlocks
) -> ChromPanel:
    """Read ``{stem}{chrom}.bim/.fam/.frq`` and place its SNPs in the LD blocks
    (start ≤ BP < end by binary search on BP)."""
    bed = Path(f"{stem}{chrom}.bed")
    bim = read_bim(bed.with_suffix(".bim"))
    maf = read_frq(bed.with_suffix(".frq"), bim)
    ids = blocks.on(chrom)
    return ChromPanel(
        chrom,
        bed,
        read_fam_count(bed.with_suffix(".fam")),
        bim,
        maf,
        np.isin(bim.snp, print_snps),
        ids,
        np.searchsorted(bim.bp, blocks.start[ids]),
        np.searchsorted(bim.bp, blocks.end[ids]),
    )
