"""Cross-species transfer at gene TSSs: any head's predictions against a genome's tracks.

Each gene's TSS (from a GTF: transcript starts, strand-aware) that falls inside the target
bins of a store's windows on a split is taken once, from the window where it lies most
centrally. There the measured value of every track in the TSS's bin is paired with a
head's prediction in that bin; tracks of the two pair by description (assay and cell type,
``CAGE:liver``), so the mouse head answers for the human CAGE of the same cell type. Per
track pair, Pearson R across TSSs of ``log(1 + x)`` ("raw"), and after mean-normalising:
at each TSS ``log(1 + x)`` minus its mean over the paired tracks of the same experiment in
other cell types (the description without its cell type: ``CAGE``, ``CHIP:H3K27ac``),
which leaves each gene's tissue specificity (Kelley 2020).
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
import torch

from crossreg.data.store import DataStore
from crossreg.dna import one_hot
from crossreg.io.atomic import atomic_write
from crossreg.io.gtf import GtfRecord, gene_tss, read_gtf
from crossreg.io.targets import assay_of
from crossreg.model.geometry import crop_to_targets
from crossreg.model.inference import InferenceOptions, load_head, run_inference
from crossreg.model.seqnn import SeqNN
from crossreg.progress import progress

log = logging.getLogger("crossreg")


@dataclass(frozen=True)
class TssBin:
    """A gene's TSS: the split's window row and target bin it falls in."""

    gene_id: str
    row: int
    bin: int


def tss_bins(store: DataStore, split: str, records: Sequence[GtfRecord]) -> list[TssBin]:
    """One :class:`TssBin` per gene with a TSS in the split's target bins (the most central
    placement when windows overlap)."""
    crop_bp = store.metadata["crop_bp"]
    width, bins = store.pool_width, store.target_length
    span = bins * width
    by_chrom: dict[str, list[tuple[int, int]]] = {}
    for row, w in enumerate(store.windows(split)):
        by_chrom.setdefault(w.chrom, []).append((w.start + crop_bp, row))
    for spans in by_chrom.values():
        spans.sort()
    found: dict[str, tuple[float, TssBin]] = {}
    for gene, sites in gene_tss(records).items():
        for chrom, pos in sites:
            spans = by_chrom.get(chrom, [])
            # only the windows whose target span starts within `span` bp before pos
            lo = bisect.bisect_right(spans, (pos - span, math.inf))
            hi = bisect.bisect_right(spans, (pos, math.inf))
            for first_bp, row in spans[lo:hi]:
                offset = pos - first_bp
                if not 0 <= offset < span:
                    continue
                distance = abs(offset - span / 2)
                if gene not in found or distance < found[gene][0]:
                    found[gene] = (distance, TssBin(gene, row, offset // width))
    return sorted((b for _, b in found.values()), key=lambda b: (b.row, b.bin, b.gene_id))


def predict_at(
    model: SeqNN,
    store: DataStore,
    split: str,
    sites: Sequence[TssBin],
    head: str,
    options: InferenceOptions = InferenceOptions(batch_size=8),
) -> npt.NDArray[np.float32]:
    """``(sites, tracks)`` predictions of `head` at each site's bin."""
    rows = sorted({s.row for s in sites})
    codes = store.sequences(split)

    def load(chunk: Sequence[int]) -> npt.NDArray[np.uint8]:
        return one_hot(np.ascontiguousarray(codes[list(chunk)]))

    def reduce(pred: torch.Tensor, chunk: Sequence[int]) -> list:
        cropped = crop_to_targets(pred, store.target_length).cpu().numpy()
        return list(zip(chunk, cropped, strict=True))

    by_row: dict[int, npt.NDArray[np.float32]] = {}
    with progress(len(rows), f"predicting {split} windows with TSSs", "windows") as meter:
        for pairs in run_inference(model, head, rows, options, load=load, reduce=reduce):
            by_row.update(pairs)
            meter.update(len(pairs))
    return np.stack([by_row[s.row][s.bin] for s in sites]) if sites else np.empty((0, 0))


def experiment_of(description: str) -> str:
    """A description without its cell type: ``CHIP:H3K27ac:liver`` → ``CHIP:H3K27ac``."""
    return description.rsplit(":", 1)[0]


def _mean_normalised(values: npt.NDArray, groups: Sequence[str]) -> npt.NDArray[np.float64]:
    """``log(1 + x)`` minus, per row, its mean over the columns of the same group."""
    logged = np.log1p(np.maximum(values.astype(np.float64), 0.0))
    out = np.empty_like(logged)
    for group in set(groups):
        cols = [i for i, g in enumerate(groups) if g == group]
        out[:, cols] = logged[:, cols] - logged[:, cols].mean(axis=1, keepdims=True)
    return out


def _pearson(x: npt.NDArray, y: npt.NDArray) -> float:
    if x.size < 3 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def transfer_table(
    measured: npt.NDArray,
    predicted: npt.NDArray,
    measured_ids: Sequence[str],
    measured_descriptions: Sequence[str],
    predicted_descriptions: Sequence[str],
) -> pl.DataFrame:
    """Per pair of tracks with the same description: Pearson R across TSSs, raw and
    mean-normalised within the assay (one row per measured track that has a partner)."""
    partner = {d: i for i, d in enumerate(predicted_descriptions)}
    pairs = [(i, partner[d]) for i, d in enumerate(measured_descriptions) if d in partner]
    if not pairs:
        raise ValueError(
            "no track of the head has the description (assay:cell type) of a measured track"
        )
    groups = [experiment_of(measured_descriptions[i]) for i, _ in pairs]
    m = measured[:, [i for i, _ in pairs]]
    p = predicted[:, [j for _, j in pairs]]
    m_log, p_log = np.log1p(np.maximum(m, 0.0)), np.log1p(np.maximum(p, 0.0))
    m_norm, p_norm = _mean_normalised(m, groups), _mean_normalised(p, groups)
    cells = {g: groups.count(g) for g in groups}
    return pl.DataFrame(
        {
            "identifier": [measured_ids[i] for i, _ in pairs],
            "description": [measured_descriptions[i] for i, _ in pairs],
            "assay": [assay_of(measured_descriptions[i]) for i, _ in pairs],
            "tss": [m.shape[0]] * len(pairs),
            "pearson_r": [_pearson(m_log[:, k], p_log[:, k]) for k in range(len(pairs))],
            "pearson_r_normalised": [
                _pearson(m_norm[:, k], p_norm[:, k]) if cells[g] > 1 else float("nan")
                for k, g in enumerate(groups)
            ],
        }
    )


def write_transfer(
    model_dir: str | os.PathLike[str],
    head: str,
    data_dir: str | os.PathLike[str],
    gtf: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    split: str = "test",
    options: InferenceOptions = InferenceOptions(batch_size=8),
) -> dict:
    """The transfer step: predict with `head` at the gene TSSs of `gtf` in the `split`
    windows of the store, pair its tracks with the store's by description, and write
    ``transfer.tsv`` (per track pair) and ``summary.json`` (means per assay) into `out`;
    returns the summary."""
    model, config, head = load_head(model_dir, head, options.device)
    store = DataStore(data_dir)
    sites = tss_bins(store, split, read_gtf(gtf))
    if len(sites) < 3:
        raise ValueError(
            f"{gtf}: only {len(sites)} gene TSSs fall in the {split} windows of "
            f"{data_dir}; is the GTF of the store's genome?"
        )
    log.info("%d TSSs in %s windows; predicting with the '%s' head", len(sites), split, head)
    predicted = predict_at(model, store, split, sites, head, options)
    targets = store.targets(split)
    measured = np.stack([targets[s.row, s.bin] for s in sites]).astype(np.float32)
    table = transfer_table(
        measured,
        predicted,
        store.table.identifiers,
        store.table.descriptions,
        [t.description for t in config.targets[head]],
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "transfer.tsv") as handle:
        handle.write(table.write_csv(separator="\t", float_precision=6))
    by_assay = (
        table.group_by("assay")
        .agg(
            pl.col("pearson_r").fill_nan(None).mean(),
            pl.col("pearson_r_normalised").fill_nan(None).mean(),
            pl.len().alias("tracks"),
        )
        .sort("assay")
    )
    summary = {
        "head": head,
        "store_genome": store.genome,
        "split": split,
        "tss": len(sites),
        "assays": {row.pop("assay"): row for row in by_assay.iter_rows(named=True)},
    }
    with atomic_write(out / "summary.json") as handle:
        json.dump(summary, handle, indent=1)
    return summary
