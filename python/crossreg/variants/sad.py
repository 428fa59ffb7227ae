"""SAD: how much each variant changes a model's predicted tracks.

For every VCF record and each of its alternative alleles, a reference and an alternative
window of the model's length are scored; the variant's first base sits at index
``L / 2 - 1`` of both (Basenji's placement: for 1-based ``POS`` the window is
``[POS - L/2 + 1, POS + L/2]``). Bases off the chromosome ends are N, encoded as 0.25 in
every channel as Basenji's SAD does. ``SAD = Σ_bins (alt − ref)`` per track, in float32,
averaged over the reverse-complement/shift ensemble when asked.

Indels keep the bases before the variant in place: a deletion pulls in the genome's next
bases at the window's end, an insertion pushes bases out of it. A SNP whose REF differs
from the genome while its ALT matches (REF/ALT swapped) is scored as written, with the
VCF's REF in the reference window, as Basenji does, and reported; a REF that matches
nothing is an error naming the record.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from crossreg.dna import one_hot
from crossreg.genome import Genome
from crossreg.io.atomic import atomic_path
from crossreg.io.targets import Target
from crossreg.io.vcf import Variant, require_chromosome
from crossreg.model.seqnn import SeqNN
from crossreg.predict import fill_rows, predict_on_device

OUTPUT_SUFFIXES = (".h5", ".tsv")
# Basenji's SAD_pct levels, built as it builds them (bit for bit): 0.001-0.099 by 0.001,
# 0.10-0.89 by 0.01, 0.900-0.999 by 0.001
PERCENTILES = np.concatenate(
    [np.arange(0.001, 0.1, 0.001), np.arange(0.1, 0.9, 0.01), np.arange(0.9, 1, 0.001)]
)
TRACK_BLOCK = 256  # tracks per block when computing percentiles over all variants

log = logging.getLogger("crossreg")


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


def scored_alleles(variants: Sequence[Variant], genome: Genome, *, source: str) -> list[Allele]:
    """Every (variant, ALT) pair to score, checked against `genome`.

    Symbolic or missing ALTs (``<DEL>``, ``*``, ``.``) are skipped with a note; a chromosome
    the genome lacks or a REF that matches neither the genome nor (for SNPs) the ALT is an
    error naming the record.
    """
    alleles: list[Allele] = []
    skipped = 0
    for v in variants:
        require_chromosome(v, genome, source=source)
        found = genome.fetch(v.chrom, v.pos, v.end).decode("ascii").upper()
        alts = scorable_alts(v)
        skipped += len(v.alts) - len(alts)
        for alt in alts:
            if found != v.ref:
                if not (v.is_snp and found == alt):
                    raise ValueError(
                        f"{source}: variant {v.id} at {v.chrom}:{v.pos + 1} has REF {v.ref} "
                        f"but the genome has {found}; check the genome build"
                    )
                log.warning(
                    "%s: %s at %s:%d has the genome's base as ALT (%s); scored as written, "
                    "with REF %s in the reference window (as Basenji does): the sign is "
                    "that of %s>%s",
                    source,
                    v.id,
                    v.chrom,
                    v.pos + 1,
                    alt,
                    v.ref,
                    v.ref,
                    alt,
                )
            alleles.append(Allele(v, alt))
    if skipped:
        log.info("%s: skipped %d symbolic or missing ALT alleles", source, skipped)
    return alleles


def allele_windows(
    alleles: Sequence[Allele], genome: Genome, seq_length: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Reference and alternative windows ``(n, seq_length)`` as ASCII codes (N-padded)."""
    centre = seq_length // 2 - 1
    extra = max((len(a.variant.ref) - len(a.alt) for a in alleles), default=0)
    extra = max(extra, 0)
    starts = [a.variant.pos - centre for a in alleles]
    codes = genome.fetch_many([a.variant.chrom for a in alleles], starts, seq_length + extra)
    ref = np.ascontiguousarray(codes[:, :seq_length])
    alt = np.empty_like(ref)
    for i, a in enumerate(alleles):
        ref_allele = np.frombuffer(a.variant.ref.encode("ascii"), dtype=np.uint8)
        ref[i, centre : centre + len(ref_allele)] = ref_allele
        tail = codes[i, centre + len(ref_allele) :]
        row = np.concatenate(
            [codes[i, :centre], np.frombuffer(a.alt.encode("ascii"), dtype=np.uint8), tail]
        )
        alt[i] = row[:seq_length]
    return ref, alt


def score_alleles(
    model: SeqNN,
    alleles: Sequence[Allele],
    genome: Genome,
    head: str | None = None,
    *,
    batch_size: int = 8,
    rc: bool = False,
    shifts: Sequence[int] = (0,),
    bf16: bool = False,
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield SAD ``(b, tracks)`` float32 batch by batch, in allele order."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    for i in range(0, len(alleles), batch_size):
        ref, alt = allele_windows(alleles[i : i + batch_size], genome, model.seq_length)
        x = one_hot(np.concatenate([ref, alt]), dtype=np.float32, n_value=0.25)
        pred = predict_on_device(model, x, head, rc=rc, shifts=shifts, bf16=bf16)
        n = len(ref)
        # summed on the device: only (alleles, tracks) travels back
        yield (pred[n:] - pred[:n]).sum(dim=1).cpu().numpy()


def write_sad(
    out: str | os.PathLike[str],
    alleles: Sequence[Allele],
    batches: Iterable[npt.NDArray[np.float32]],
    targets: Sequence[Target],
    *,
    attrs: dict[str, object] | None = None,
) -> Path:
    """Stream SAD `batches` into `out` under a temporary name, renamed when complete.

    ``.h5`` follows ``basenji_sad.py``'s layout: ``snp``, ``chr``, ``pos`` (1-based),
    ``ref_allele``, ``alt_allele``, ``target_ids``, ``target_labels``, ``SAD`` (variants ×
    tracks, float16), ``percentiles`` and ``SAD_pct`` (tracks × percentiles, over the
    variants). ``.tsv`` has one row per allele: snp, chrom, pos, ref, alt, then one float32
    column per track identifier.
    """
    out = Path(out)
    if out.suffix not in OUTPUT_SUFFIXES:
        raise ValueError(f"{out}: the output must end in {' or '.join(OUTPUT_SUFFIXES)}")
    with atomic_path(out) as tmp:
        if out.suffix == ".h5":
            _write_h5(tmp, alleles, batches, targets, attrs or {})
        else:
            _write_tsv(tmp, alleles, batches, targets)
    return out


def _write_h5(
    path: Path,
    alleles: Sequence[Allele],
    batches: Iterable[npt.NDArray[np.float32]],
    targets: Sequence[Target],
    attrs: dict[str, object],
) -> None:
    import h5py

    n, n_tracks = len(alleles), len(targets)
    with h5py.File(path, "w") as handle:
        sad = handle.create_dataset(
            "SAD", shape=(n, n_tracks), dtype="f2", chunks=(max(1, min(n, 1024)), n_tracks)
        )
        fill_rows(sad, batches)
        handle["snp"] = np.array([a.label for a in alleles], dtype="S")
        handle["chr"] = np.array([a.variant.chrom for a in alleles], dtype="S")
        handle["pos"] = np.array([a.variant.pos + 1 for a in alleles], dtype=np.uint32)
        handle["ref_allele"] = np.array([a.variant.ref for a in alleles], dtype="S")
        handle["alt_allele"] = np.array([a.alt for a in alleles], dtype="S")
        handle["target_ids"] = np.array([t.identifier for t in targets], dtype="S")
        handle["target_labels"] = np.array([t.description for t in targets], dtype="S")
        handle["percentiles"] = PERCENTILES
        pct = handle.create_dataset("SAD_pct", shape=(n_tracks, len(PERCENTILES)), dtype="f2")
        for start in range(0, n_tracks, TRACK_BLOCK):
            block = sad[:, start : start + TRACK_BLOCK]
            if n:
                pct[start : start + block.shape[1]] = np.percentile(
                    block, 100 * PERCENTILES, axis=0
                ).T.astype(np.float16)
        for key, value in attrs.items():
            handle.attrs[key] = value


def _write_tsv(
    path: Path,
    alleles: Sequence[Allele],
    batches: Iterable[npt.NDArray[np.float32]],
    targets: Sequence[Target],
) -> None:
    with open(path, "w") as handle:
        header = ["snp", "chrom", "pos", "ref", "alt", *(t.identifier for t in targets)]
        handle.write("\t".join(header) + "\n")
        row = 0
        for batch in batches:
            for values in batch:
                a = alleles[row]
                fields = [a.label, a.variant.chrom, str(a.variant.pos + 1), a.variant.ref, a.alt]
                fields += [f"{v:.6g}" for v in values.tolist()]
                handle.write("\t".join(fields) + "\n")
                row += 1
        if row != len(alleles):
            raise RuntimeError(f"expected {len(alleles)} SAD rows, got {row}")


@dataclass(frozen=True)
class SadTable:
    """SAD scores read back: allele labels, track identifiers and descriptions (empty from
    ``.tsv``), and the ``(alleles, tracks)`` float32 matrix."""

    labels: list[str]
    identifiers: list[str]
    descriptions: list[str]
    values: npt.NDArray[np.float32]


def read_sad(path: str | os.PathLike[str]) -> SadTable:
    """Read a ``crossreg sad`` (or ``basenji_sad.py``) ``.h5``, or a ``crossreg sad`` ``.tsv``."""
    path = Path(path)
    if path.suffix == ".h5":
        import h5py

        with h5py.File(path, "r") as handle:
            missing = [k for k in ("snp", "SAD", "target_ids") if k not in handle]
            if missing:
                raise ValueError(f"{path}: not a SAD file (no {', '.join(missing)} dataset)")
            labels = handle["snp"][:].astype(str).tolist()
            ids = handle["target_ids"][:].astype(str).tolist()
            descriptions = (
                handle["target_labels"][:].astype(str).tolist() if "target_labels" in handle else []
            )
            values = handle["SAD"][:].astype(np.float32)
        return SadTable(labels, ids, descriptions, values)
    if path.suffix != ".tsv":
        raise ValueError(f"{path}: SAD files are .h5 or .tsv")
    import polars as pl

    table = pl.read_csv(path, separator="\t")
    if table.columns[:5] != ["snp", "chrom", "pos", "ref", "alt"]:
        raise ValueError(f"{path}: a SAD .tsv starts with columns snp chrom pos ref alt")
    ids = table.columns[5:]
    values = table.select(ids).to_numpy().astype(np.float32)
    return SadTable(table["snp"].cast(str).to_list(), ids, [], values)
