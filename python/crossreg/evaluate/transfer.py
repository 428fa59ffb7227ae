"""Cross-species transfer (the paper's Figure 3): any head's predictions against the
measured tracks of a genome, on held-out windows only.

Sites. The windows of the held-out splits (``valid`` and ``test`` by default; never
``train``) give two kinds of site:

* gene TSSs, for CAGE and every other assay but accessibility: each gene of a GTF
  (transcript starts, strand-aware) is taken once, from the window that holds the most of
  its TSSs (then the one where they lie most centrally); its value is the sum over the
  distinct target bins of its TSSs in that window (masked bins left out), for the
  measured tracks and the predictions alike;
* for accessibility (DNASE and ATAC descriptions, one class ``DNASE``), as the paper did,
  the 10% most variable bins: each genomic bin of the held-out windows' targets once
  (from the window where it lies most centrally; masked bins left out), ranked by the
  variance across the genome's measured accessibility cell types of ``log(1 + x)`` (the
  mean over a cell type's tracks first).

Pairs and matrices. Tracks are compared within an *experiment*, the description without
its cell type (``CAGE``, ``CHIP:H3K27ac``; DNASE and ATAC together as ``DNASE``); the cell
type is the rest of the description (``CAGE:liver`` → ``liver``). A head track and a
measured track of the same experiment and cell type are a matched pair, or, given a pairs
file (:func:`~crossreg.evaluate.transfer_tracks.read_pairs`), the pairs it names. Per
pair, Pearson R across sites of ``log(1 + x)`` ("raw"). After mean-normalising,
``log(1 + x)`` at each site minus its mean over that side's tracks of the experiment (the
head's over the head's tracks, the measured over the genome's), which leaves each site's
cell-type specificity (Kelley 2020), the R of every head track × every measured track of
the experiment: the matrix, whose matched cells are its diagonal and the rest its
off-diagonal.
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.data.store import DataStore
from crossreg.dna import one_hot
from crossreg.evaluate.finite import (
    check_finite_predictions,
    check_finite_targets,
    non_finite_columns,
)
from crossreg.evaluate.transfer_tracks import (
    EQUAL_CELL_TYPES,
    MATRIX_SCHEMA,
    PAIR_SCHEMA,
    Pairing,
    assay_of_experiment,
    cell_type_of,
    cell_type_pairing_notes,
    experiment_of,
    is_accessibility,
    normalised_r_gap,
    read_pairs,
)
from crossreg.io.atomic import atomic_write
from crossreg.io.chroms import chrom_hint, prefix_twin
from crossreg.io.gtf import GtfRecord, gene_tss, iter_gtf
from crossreg.io.tables import tsv_text
from crossreg.io.targets import Target
from crossreg.model.checkpoint_info import CONFIG_NAME, checkpoint_info
from crossreg.plots import remove_stale_figures
from crossreg.progress import progress

if TYPE_CHECKING:
    import torch

    from crossreg.model.inference import InferenceOptions
    from crossreg.model.seqnn import SeqNN

log = logging.getLogger("crossreg")

DEFAULT_SPLITS = ("valid", "test")
VARIABLE_FRACTION = 0.1
TSS_SITES = "tss"
VARIABLE_SITES = "sites"
SITE_KINDS = {TSS_SITES: "gene_tss", VARIABLE_SITES: "variable_bin"}


@dataclass(frozen=True)
class Site:
    """A place where tracks are compared: target `bins` of one window (`split`, `row`),
    summed; `name` is the gene, or ``chrom:start`` of a single bin."""

    name: str
    split: str
    row: int
    bins: tuple[int, ...]


# --- sites -------------------------------------------------------------------------------


def _held_out(splits: Sequence[str]) -> list[str]:
    if not splits:
        raise ValueError("no split to evaluate")
    if "train" in splits:
        raise ValueError("transfer evaluates held-out windows only: 'train' is not allowed")
    return list(dict.fromkeys(splits))


def gene_sites(store: DataStore, splits: Sequence[str], records: Iterable[GtfRecord]) -> list[Site]:
    """One :class:`Site` per gene with a TSS in the unmasked target bins of the `splits`'
    windows: the window that holds the most of its TSSs (then the smallest mean distance
    of those TSSs from the window's centre), and the distinct bins they fall in."""
    crop_bp = store.metadata["crop_bp"]
    width, span = store.pool_width, store.target_length * store.pool_width
    by_chrom: dict[str, list[tuple[int, int, str, int]]] = {}
    masked = {}
    for k, split in enumerate(_held_out(splits)):
        masked[split] = np.asarray(store.masked(split))
        for row, w in enumerate(store.windows(split)):
            by_chrom.setdefault(w.chrom, []).append((w.start + crop_bp, k, split, row))
    for spans in by_chrom.values():
        spans.sort()
    found: list[tuple[tuple, Site]] = []
    for gene, tss in gene_tss(records).items():
        placements: dict[tuple[int, str, int], list[tuple[int, float]]] = {}
        for chrom, pos in tss:
            spans = by_chrom.get(chrom, [])
            lo = bisect.bisect_right(spans, (pos - span, math.inf))
            hi = bisect.bisect_right(spans, (pos, math.inf))
            for first_bp, k, split, row in spans[lo:hi]:
                offset = pos - first_bp
                if 0 <= offset < span and not masked[split][row, offset // width]:
                    placement = placements.setdefault((k, split, row), [])
                    placement.append((offset // width, abs(offset - span / 2)))
        if not placements:
            continue
        (k, split, row), inside = min(
            placements.items(),
            key=lambda p: (-len(p[1]), sum(d for _, d in p[1]) / len(p[1]), p[0][0], p[0][2]),
        )
        bins = tuple(sorted({b for b, _ in inside}))
        found.append(((k, row, bins, gene), Site(gene, split, row, bins)))
    return [site for _, site in sorted(found, key=lambda f: f[0])]


def _cell_type_means(logged: npt.NDArray, cell_types: Sequence[str]) -> npt.NDArray:
    """``(..., cell types)``: the mean over each cell type's columns, cell types sorted."""
    return np.stack(
        [
            logged[..., [i for i, c in enumerate(cell_types) if c == cell]].mean(axis=-1)
            for cell in sorted(set(cell_types))
        ],
        axis=-1,
    )


def _nearest_windows(
    windows: tuple[npt.NDArray[np.int64], ...], bins: tuple[npt.NDArray[np.int64], ...]
) -> npt.NDArray[np.int64]:
    """For each bin ``(chrom, 2 × centre)`` of `bins`, the index of the window of `windows`
    ``(chrom, 2 × centre, split, row)`` on its chromosome whose centre is nearest (ties:
    the first split, then row): every base of a chromosome belongs to one window."""
    chrom, centre, split, row = windows
    shift = np.int64(2) ** 40  # above any doubled position of a BigWig (2 × 2^32)
    keys = chrom * shift + centre
    order = np.lexsort((row, split, keys))
    sorted_keys = keys[order]
    wanted = bins[0] * shift + bins[1]
    right = np.minimum(np.searchsorted(sorted_keys, wanted), len(order) - 1)
    left = np.maximum(right - 1, 0)
    # the last of equal centres to the left, so that ties go to the first split and row
    left = np.searchsorted(sorted_keys, sorted_keys[left], side="left")

    def distance(at: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        same = chrom[order[at]] == bins[0]
        return np.where(same, np.abs(sorted_keys[at] - wanted), np.iinfo(np.int64).max)

    rank = np.empty(len(order), dtype=np.int64)  # each window's place by split, then row
    rank[np.lexsort((row, split))] = np.arange(len(order))
    near_left, near_right = distance(left), distance(right)
    first_left = rank[order[left]] <= rank[order[right]]
    pick = np.where(near_left < near_right, left, right)
    pick = np.where((near_left == near_right) & first_left, left, pick)
    return order[pick]


def variable_sites(
    store: DataStore,
    splits: Sequence[str],
    tracks: Sequence[int],
    fraction: float = VARIABLE_FRACTION,
) -> tuple[list[Site], npt.NDArray[np.float64]]:
    """The `fraction` most variable genomic bins of the `splits`' windows (each once: a bin
    is kept in the window whose centre is nearest its own, so that windows overlapping
    by any stride share no bin; masked bins left out), by the variance across
    cell types (the mean over a cell type's `tracks` first) of ``log(1 + x)``; most
    variable first. Returns the sites and their variances."""
    if not 0 < fraction <= 1:
        raise ValueError(f"the fraction of variable sites must be in (0, 1], not {fraction}")
    crop_bp, width, bins = store.metadata["crop_bp"], store.pool_width, store.target_length
    cells = [cell_type_of(store.table.descriptions[t]) for t in tracks]
    chroms: dict[str, int] = {}
    parts: list[dict[str, npt.NDArray]] = []
    placed: list[tuple[npt.NDArray, ...]] = []  # each window's split, row, chrom and start
    names = _held_out(splits)
    step = max(1, 2**26 // max(1, bins * store.num_targets * 2))
    for k, split in enumerate(names):
        windows = store.windows(split)
        if not windows:
            continue
        targets, masked = store.targets(split), np.asarray(store.masked(split))
        variance = np.empty((len(windows), bins))
        for r0 in range(0, len(windows), step):
            chunk = np.asarray(targets[r0 : r0 + step])[:, :, list(tracks)]
            # a NaN variance would sort last and hide its bins rather than stop the run
            bad = non_finite_columns(chunk)
            if bad.size:
                check_finite_targets(
                    [store.table.identifiers[tracks[c]] for c in bad],
                    store.path,
                    f"in its '{split}' windows ",
                )
            logged = np.log1p(np.maximum(chunk.astype(np.float64), 0.0))
            variance[r0 : r0 + step] = _cell_type_means(logged, cells).var(axis=-1)
        rows, cols = np.nonzero(~masked)
        starts = np.array([w.start + crop_bp for w in windows], dtype=np.int64)
        codes = np.array([chroms.setdefault(w.chrom, len(chroms)) for w in windows])
        placed.append((np.full(len(windows), k), np.arange(len(windows)), codes, starts))
        parts.append(
            {
                "split": np.full(rows.size, k),
                "row": rows,
                "bin": cols,
                "chrom": codes[rows],
                "position": starts[rows] + cols.astype(np.int64) * width,
                "variance": variance[rows, cols],
            }
        )
    if not parts:
        return [], np.empty(0)
    every = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    split_of, row_of, chrom_of, start_of = (np.concatenate(a) for a in zip(*placed, strict=True))
    owner = _nearest_windows(
        (chrom_of, 2 * start_of + bins * width, split_of, row_of),
        (every["chrom"], 2 * every["position"] + width),
    )
    unique = np.flatnonzero((split_of[owner] == every["split"]) & (row_of[owner] == every["row"]))
    keep = math.ceil(fraction * unique.size)
    ranked = unique[
        np.lexsort((every["position"][unique], every["chrom"][unique], -every["variance"][unique]))
    ][:keep]
    chrom_names = {code: name for name, code in chroms.items()}
    sites = [
        Site(
            f"{chrom_names[int(every['chrom'][i])]}:{int(every['position'][i])}",
            names[int(every["split"][i])],
            int(every["row"][i]),
            (int(every["bin"][i]),),
        )
        for i in ranked
    ]
    return sites, every["variance"][ranked]


def _entries(sites: Sequence[Site]) -> dict[str, tuple[npt.NDArray, npt.NDArray, npt.NDArray]]:
    """Per split: the ``(site index, row, bin)`` of every bin of the sites, by row."""
    out: dict[str, list[tuple[int, int, int]]] = {}
    for i, s in enumerate(sites):
        out.setdefault(s.split, []).extend((i, s.row, b) for b in s.bins)
    arrays = {}
    for split, entries in out.items():
        a = np.array(sorted(entries, key=lambda e: (e[1], e[2], e[0])), dtype=np.int64)
        arrays[split] = (a[:, 0], a[:, 1], a[:, 2])
    return arrays


def measured_at(
    store: DataStore, sites: Sequence[Site], tracks: Sequence[int]
) -> npt.NDArray[np.float64]:
    """``(sites, tracks)``: the store's targets of `tracks`, summed over each site's bins."""
    out = np.zeros((len(sites), len(tracks)))
    cols = list(tracks)
    for split, (index, rows, bins) in _entries(sites).items():
        targets = store.targets(split)
        for e0 in range(0, index.size, 4096):
            part = slice(e0, e0 + 4096)
            values = np.asarray(targets[rows[part], bins[part]])[:, cols].astype(np.float64)
            np.add.at(out, index[part], values)
    return out


def predict_at(
    model: SeqNN,
    store: DataStore,
    head: str,
    requests: Sequence[tuple[Sequence[Site], Sequence[int]]],
    options: InferenceOptions | None = None,
) -> list[npt.NDArray[np.float64]]:
    """For each ``(sites, head tracks)`` of `requests`: ``(sites, tracks)`` predictions of
    `head`, summed over each site's bins; every window is predicted once (`options`:
    batches of 8 on the default device unless given)."""
    from crossreg.model.geometry import crop_to_targets
    from crossreg.model.inference import InferenceOptions, run_inference

    options = options or InferenceOptions(batch_size=8)
    out = [np.zeros((len(sites), len(tracks))) for sites, tracks in requests]
    columns = [np.asarray(tracks, dtype=np.intp) for _, tracks in requests]
    per_split: dict[str, dict[int, list[tuple[int, npt.NDArray, npt.NDArray]]]] = {}
    for k, (sites, _) in enumerate(requests):
        for split, (index, rows, bins) in _entries(sites).items():
            by_row = per_split.setdefault(split, {})
            bounds = np.flatnonzero(np.diff(rows)) + 1
            for idx, r, b in zip(
                np.split(index, bounds), np.split(rows, bounds), np.split(bins, bounds), strict=True
            ):
                by_row.setdefault(int(r[0]), []).append((k, idx, b))
    total = sum(len(rows) for rows in per_split.values())
    with progress(total, "predicting held-out windows", "windows") as meter:
        for split, by_row in per_split.items():
            codes = store.sequences(split)

            def load(chunk: Sequence[int], codes=codes) -> npt.NDArray[np.uint8]:
                return one_hot(np.ascontiguousarray(codes[list(chunk)]), dtype=np.uint8)

            def reduce(pred: torch.Tensor, chunk: Sequence[int], by_row=by_row) -> int:
                cropped = crop_to_targets(pred, store.target_length).float().cpu().numpy()
                for row, values in zip(chunk, cropped, strict=True):
                    for k, idx, b in by_row[row]:
                        np.add.at(out[k], idx, values[np.ix_(b, columns[k])])
                return len(chunk)

            for n in run_inference(model, head, sorted(by_row), options, load=load, reduce=reduce):
                meter.update(n)
    return out


# --- statistics --------------------------------------------------------------------------


def _log(values: npt.NDArray) -> npt.NDArray[np.float64]:
    return np.log1p(np.maximum(np.asarray(values, dtype=np.float64), 0.0))


def mean_normalised(values: npt.NDArray, experiments: Sequence[str | None]) -> npt.NDArray:
    """``log(1 + x)`` minus, per row, its mean over the columns of the same experiment."""
    logged = _log(values)
    out = np.full_like(logged, np.nan)
    for experiment in {e for e in experiments if e is not None}:
        cols = [i for i, e in enumerate(experiments) if e == experiment]
        out[:, cols] = logged[:, cols] - logged[:, cols].mean(axis=1, keepdims=True)
    return out


def pearson_matrix(x: npt.NDArray, y: npt.NDArray) -> npt.NDArray[np.float64]:
    """``(x columns, y columns)`` Pearson R across rows (NaN for a constant column or
    fewer than 3 rows)."""
    n = x.shape[0]
    if n < 3:
        return np.full((x.shape[1], y.shape[1]), np.nan)

    def standardised(a: npt.NDArray) -> npt.NDArray:
        a = a - a.mean(axis=0)
        norm = np.sqrt((a * a).sum(axis=0))
        scale = np.where(norm > 1e-12 * np.maximum(1.0, np.abs(a).max(axis=0)), norm, np.nan)
        return a / scale

    r = standardised(np.asarray(x, np.float64)).T @ standardised(np.asarray(y, np.float64))
    return np.clip(r, -1.0, 1.0)


@dataclass
class TransferTables:
    """Per matched pair (`pairs`) and per head track × measured track (`matrix`, long);
    `notes` says, per experiment that lacks them, why its matched or unmatched normalised
    R could not be computed (:func:`normalised_r_gap`)."""

    pairs: pl.DataFrame
    matrix: pl.DataFrame
    sites: int = 0
    kind: str = TSS_SITES
    notes: dict[str, str] = field(default_factory=dict)


def transfer_tables(
    measured: npt.NDArray,
    predicted: npt.NDArray,
    measured_ids: Sequence[str],
    measured_descriptions: Sequence[str],
    head_ids: Sequence[str],
    head_descriptions: Sequence[str],
    *,
    kind: str = TSS_SITES,
    pairing: Pairing = EQUAL_CELL_TYPES,
) -> TransferTables:
    """Compare `predicted` ``(sites, head tracks)`` with `measured` ``(sites, measured
    tracks)`` in every experiment both have: raw and mean-normalised R per matched pair
    (same experiment and, by `pairing`, cell type or a pair of the pairs file), and the
    normalised-R matrix of every head track × every measured track of the experiment. Each
    side is mean-normalised over its own tracks of the experiment."""
    m_exp = [experiment_of(d) for d in measured_descriptions]
    h_exp = [experiment_of(d) for d in head_descriptions]
    m_log, h_log = _log(measured), _log(predicted)
    m_norm, h_norm = mean_normalised(measured, m_exp), mean_normalised(predicted, h_exp)
    n = measured.shape[0]
    pairs: list[dict] = []
    matrix: list[dict] = []
    notes: dict[str, str] = {}
    for experiment in sorted({e for e in m_exp if e is not None} & set(h_exp)):
        mc = [i for i, e in enumerate(m_exp) if e == experiment]
        hc = [j for j, e in enumerate(h_exp) if e == experiment]
        normalised = pearson_matrix(h_norm[:, hc], m_norm[:, mc])
        assay = assay_of_experiment(experiment)
        h_cells = [cell_type_of(head_descriptions[j]) for j in hc]
        m_cells = [cell_type_of(measured_descriptions[i]) for i in mc]
        same = pairing.matched(
            [head_ids[j] for j in hc], h_cells, [measured_ids[i] for i in mc], m_cells
        )
        note = normalised_r_gap(experiment, n, h_cells, m_cells, normalised, same, pairing.rule)
        if note is not None:
            notes[experiment] = note
        for a, j in enumerate(hc):
            for b, i in enumerate(mc):
                matched = bool(same[a, b])
                common = {
                    "assay": assay,
                    "experiment": experiment,
                    "head_identifier": head_ids[j],
                    "head_description": head_descriptions[j],
                    "identifier": measured_ids[i],
                    "description": measured_descriptions[i],
                }
                matrix.append(
                    {**common, "matched": matched, "pearson_r_normalised": normalised[a, b], "n": n}
                )
                if matched:
                    raw = pearson_matrix(h_log[:, [j]], m_log[:, [i]])[0, 0]
                    pairs.append(
                        {
                            **common,
                            "cell_type": m_cells[b],
                            "site_kind": SITE_KINDS[kind],
                            "sites": n,
                            "pearson_r": raw,
                            "pearson_r_normalised": normalised[a, b],
                        }
                    )
    return TransferTables(
        pl.DataFrame(pairs, schema=PAIR_SCHEMA),
        pl.DataFrame(matrix, schema=MATRIX_SCHEMA),
        n,
        kind,
        notes,
    )


def _mean(values: pl.Series) -> float | None:
    """The mean of the finite values, rounded; ``None`` when there are none."""
    array = values.to_numpy().astype(np.float64)
    finite = array[np.isfinite(array)]
    return round(float(finite.mean()), 4) if finite.size else None


def assay_summary(tables: TransferTables) -> dict[str, dict]:
    """Per assay: ``{"pairs", "raw_pairs", "normalised_pairs", "tss" (or "sites"), "raw_r",
    "normalised_r_matched", "normalised_r_unmatched"}``, the means over its matched pairs
    (the raw one over the ``raw_pairs`` that have a raw R, the normalised one over the
    ``normalised_pairs`` that have a normalised R) and unmatched cells; where the raw mean
    leaves pairs out, ``"raw_r_note"`` names them, and where a normalised mean is ``None``
    or leaves pairs out, ``"normalised_r_note"`` says why."""
    out = {}
    for assay in sorted(set(tables.pairs["assay"])):
        pairs = tables.pairs.filter(pl.col("assay") == assay)
        cells = tables.matrix.filter(pl.col("assay") == assay)
        normalised = pairs["pearson_r_normalised"].to_numpy().astype(np.float64)
        with_normalised = int(np.isfinite(normalised).sum())
        raw = np.isfinite(pairs["pearson_r"].to_numpy().astype(np.float64))
        row: dict[str, float | str | None] = {
            "pairs": pairs.height,
            "raw_pairs": int(raw.sum()),
            "normalised_pairs": with_normalised,
            tables.kind: tables.sites,
            "raw_r": _mean(pairs["pearson_r"]),
            "normalised_r_matched": _mean(pairs["pearson_r_normalised"]),
            "normalised_r_unmatched": _mean(
                cells.filter(~pl.col("matched"))["pearson_r_normalised"]
            ),
        }
        if not raw.all():
            constant = pairs.filter(pl.Series(~raw)).select("experiment", "cell_type").rows()
            row["raw_r_note"] = (
                f"no raw R: {tables.sites} sites, and R needs 3"
                if tables.sites < 3
                else "no raw R where the measured or predicted values are the same at every "
                "site: " + ", ".join(f"{experiment}:{cell}" for experiment, cell in constant)
            )
        incomplete = with_normalised < pairs.height
        if incomplete or None in (row["normalised_r_matched"], row["normalised_r_unmatched"]):
            experiments = sorted(set(cells["experiment"]))
            row["normalised_r_note"] = "; ".join(
                tables.notes[e] for e in experiments if e in tables.notes
            )
        out[assay] = row
    return out


def summary_line(row: dict) -> str:
    """An assay's summary row as text: raw R and the normalised means, or why a
    normalised mean is missing."""

    def text(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    where = f"{row['tss']} TSSs" if "tss" in row else f"{row['sites']} variable sites"
    pairs = f"{row['pairs']} pairs"
    if row["raw_pairs"] != row["pairs"]:
        pairs += f", {row['raw_pairs']} with a raw R"
    if row["normalised_pairs"] != row["pairs"]:
        pairs += f", {row['normalised_pairs']} with a normalised R"
    line = (
        f"R {text(row['raw_r'])}, mean-normalised matched {text(row['normalised_r_matched'])} "
        f"vs unmatched {text(row['normalised_r_unmatched'])} ({pairs}, {where})"
    )
    if "raw_r_note" in row:
        line += f"; {row['raw_r_note']}"
    if "normalised_r_note" in row:
        line += f"; normalised R not computable: {row['normalised_r_note']}"
    return line


# --- the step ----------------------------------------------------------------------------


@dataclass
class TransferResult:
    """What :func:`write_transfer` found: `assays` is the summary per assay (the demo's
    ``summary["transfer"]["<head>_head_on_<genome>"]``), `summary` what ``summary.json``
    holds, `pairs` and `matrix` the tables, `figures` the heat maps written."""

    head: str
    genome: str
    splits: list[str]
    assays: dict[str, dict]
    summary: dict
    pairs: pl.DataFrame
    matrix: pl.DataFrame
    figures: list[Path] = field(default_factory=list)

    def __getitem__(self, key: str):
        """``result["assays"]`` etc.: the summary's entries (as the step's old dict)."""
        return self.summary[key]


def _noting_chroms(records: Iterable[GtfRecord], named: dict[str, None]) -> Iterator[GtfRecord]:
    """`records`, each one's chromosome noted in `named` as it passes."""
    for r in records:
        named[r.chrom] = None
        yield r


def check_gtf_chromosomes(
    gtf: str | os.PathLike[str],
    names: Iterable[str],
    chroms: Sequence[str],
    store: str | os.PathLike[str],
) -> None:
    """A GTF chromosome (of `names`) that differs from one of the store's `chroms` only by
    the ``chr`` prefix (``1`` for ``chr1``) is an error with the renaming hint, as
    ``crossreg data`` gives for track files."""
    for name in names:
        if name not in chroms and prefix_twin(name, set(chroms)) is not None:
            raise ValueError(
                f"{gtf}: chromosome '{name}' is not in {store}{chrom_hint(name, chroms)}"
            )


@dataclass
class TransferPlan:
    """What :func:`plan_transfer` found, all before the model loads: the checked `head`
    of the checkpoint in `model_dir`, the `store` and its held-out `splits`, per site kind
    ``(kind, sites, measured tracks, head tracks)`` in `groups`, the `pairing` of head and
    measured tracks and, per experiment whose equal cell types pair few tracks, a note in
    `pairing_notes`."""

    model_dir: Path
    head: str
    head_targets: list[Target]
    store: DataStore
    splits: list[str]
    fraction: float
    groups: list[tuple[str, list[Site], list[int], list[int]]]
    pairing: Pairing = EQUAL_CELL_TYPES
    pairing_notes: dict[str, str] = field(default_factory=dict)


def _pairing(
    pairs: str | os.PathLike[str] | None,
    head: str,
    model_dir: str | os.PathLike[str],
    head_targets: Sequence[Target],
    data_dir: str | os.PathLike[str],
    store: DataStore,
) -> Pairing:
    """Equal cell types, or the pairs of the pairs file `pairs` between the tracks of
    `head` and those of the store (checked: see
    :func:`~crossreg.evaluate.transfer_tracks.read_pairs`)."""
    if pairs is None:
        return EQUAL_CELL_TYPES
    found = read_pairs(
        pairs,
        {t.identifier: t.description for t in head_targets},
        dict(zip(store.table.identifiers, store.table.descriptions, strict=True)),
        head_source=f"the '{head}' head of {model_dir}",
        measured_source=str(data_dir),
        head_listing=f"{Path(model_dir) / CONFIG_NAME} (the '{head}' head's targets)",
        measured_listing=f"{Path(data_dir) / 'targets.txt'} (column identifier)",
    )
    log.info("%d matched pairs from %s", len(found), pairs)
    return Pairing(found, os.fspath(pairs))


def _warn_of_few_pairs(notes: dict[str, str], shown: int = 3) -> None:
    """Log the first `shown` of the `notes` of experiments whose equal cell types pair few
    tracks, and how many more there are."""
    for note in list(notes.values())[:shown]:
        log.warning("%s", note)
    if len(notes) > shown:
        log.warning(
            "equal cell types pair few tracks in %d more experiments (summary.json: "
            "pairing_notes); --pairs FILE names the matched tracks",
            len(notes) - shown,
        )


def plan_transfer(
    model_dir: str | os.PathLike[str],
    head: str,
    data_dir: str | os.PathLike[str],
    gtf: str | os.PathLike[str],
    *,
    splits: Sequence[str] = DEFAULT_SPLITS,
    fraction: float = VARIABLE_FRACTION,
    pairs: str | os.PathLike[str] | None = None,
) -> TransferPlan:
    """Check the inputs of a transfer (the pairs file `pairs` too) and find its sites (see
    :func:`write_transfer`), without loading the model or importing torch."""
    splits = _held_out(splits)
    info = checkpoint_info(model_dir)
    head = info.choose(head, "--head")
    store = DataStore(data_dir)
    m_desc = store.table.descriptions
    h_desc = [t.description for t in info.targets[head]]
    shared = {e for e in map(experiment_of, m_desc) if e is not None} & set(
        map(experiment_of, h_desc)
    )
    if not shared:
        raise ValueError(
            f"no experiment (description without its cell type) of the '{head}' head's "
            f"tracks is among {data_dir}'s tracks"
        )
    pairing = _pairing(pairs, head, model_dir, info.targets[head], data_dir, store)
    measured = {(experiment_of(d), cell_type_of(d)) for d in m_desc if experiment_of(d)}
    if pairing.pairs is None and not any(
        (experiment_of(d), cell_type_of(d)) in measured for d in h_desc
    ):
        raise ValueError(
            f"no track of the '{head}' head has the description (assay:cell type) of a track "
            f"of {data_dir}; name the matched tracks with --pairs FILE"
        )
    notes = cell_type_pairing_notes(h_desc, m_desc) if pairing.pairs is None else {}
    _warn_of_few_pairs(notes)
    accessible = [i for i, d in enumerate(m_desc) if is_accessibility(d)]
    variable = "DNASE" in shared and len({cell_type_of(m_desc[i]) for i in accessible}) > 1
    if "DNASE" in shared and not variable:
        log.warning("fewer than 2 measured accessibility cell types: DNase at TSSs instead")

    def tracks(descriptions: Sequence[str], at_variable: bool) -> list[int]:
        return [
            i
            for i, d in enumerate(descriptions)
            if experiment_of(d) in shared and (variable and is_accessibility(d)) == at_variable
        ]

    groups: list[tuple[str, list[Site], list[int], list[int]]] = []
    if tracks(m_desc, False):
        named: dict[str, None] = {}  # the GTF's chromosomes, noted as it streams past
        genes = gene_sites(store, splits, _noting_chroms(iter_gtf(gtf), named))
        windows = (w for split in store.splits for w in store.windows(split))
        check_gtf_chromosomes(gtf, named, list(dict.fromkeys(w.chrom for w in windows)), data_dir)
        if len(genes) < 3:
            raise ValueError(
                f"{gtf}: only {len(genes)} gene TSSs fall in the {', '.join(splits)} windows "
                f"of {data_dir}; is the GTF of the store's genome?"
            )
        groups.append((TSS_SITES, genes, tracks(m_desc, False), tracks(h_desc, False)))
        log.info("%d gene TSSs in the %s windows", len(genes), ", ".join(splits))
    if variable:
        sites, _ = variable_sites(store, splits, accessible, fraction)
        groups.append((VARIABLE_SITES, sites, tracks(m_desc, True), tracks(h_desc, True)))
        log.info("%d variable accessibility bins (top %g%%)", len(sites), 100 * fraction)
    return TransferPlan(
        Path(model_dir), head, info.targets[head], store, splits, fraction, groups, pairing, notes
    )


def write_transfer(
    model_dir: str | os.PathLike[str],
    head: str,
    data_dir: str | os.PathLike[str],
    gtf: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    splits: Sequence[str] = DEFAULT_SPLITS,
    fraction: float = VARIABLE_FRACTION,
    pairs: str | os.PathLike[str] | None = None,
    plots: bool = True,
    svg: bool = False,
    options: InferenceOptions | None = None,
) -> TransferResult:
    """The transfer step: predict with `head` at the held-out gene TSSs of `gtf` (and, for
    accessibility, the `fraction` most variable bins) of the store's `splits`, compare with
    the store's tracks, and write ``transfer.tsv`` (per matched pair: equal cell types, or
    the pairs of the pairs file `pairs`), ``matrix.tsv`` (per head track × measured
    track), ``summary.json`` and, unless `plots` is false, the heat maps
    ``matrix_<experiment>.png`` (an SVG beside each with `svg`) into `out`
    (:func:`plan_transfer`, then :func:`run_transfer`)."""
    plan = plan_transfer(
        model_dir, head, data_dir, gtf, splits=splits, fraction=fraction, pairs=pairs
    )
    return run_transfer(plan, out, plots=plots, svg=svg, options=options)


def _non_finite_tracks(
    values: Sequence[npt.NDArray], columns: Sequence[Sequence[int]], identifiers: Sequence[str]
) -> list[str]:
    """The `identifiers` of the tracks with a NaN or infinite value in any of `values`
    (``(sites, tracks)`` arrays, whose columns are those tracks of `columns`), in order."""
    bad = {columns[k][c] for k, v in enumerate(values) for c in non_finite_columns(v)}
    return [identifiers[t] for t in sorted(bad)]


def run_transfer(
    plan: TransferPlan,
    out: str | os.PathLike[str],
    *,
    plots: bool = True,
    svg: bool = False,
    options: InferenceOptions | None = None,
) -> TransferResult:
    """Predict at the sites of `plan`, compare and write the outputs of
    :func:`write_transfer` into `out` (`options`: batches of 8 on the default device
    unless given)."""
    from crossreg.model.geometry import check_geometry
    from crossreg.model.inference import InferenceOptions, load_head

    store, splits, fraction = plan.store, plan.splits, plan.fraction
    m_desc, m_ids = store.table.descriptions, store.table.identifiers
    h_desc = [t.description for t in plan.head_targets]
    h_ids = [t.identifier for t in plan.head_targets]
    options = options or InferenceOptions(batch_size=8)
    measured = [measured_at(store, g[1], g[2]) for g in plan.groups]
    check_finite_targets(
        _non_finite_tracks(measured, [g[2] for g in plan.groups], m_ids),
        store.path,
        "at the sites compared ",
    )
    model, _, head = load_head(plan.model_dir, plan.head, options)
    check_geometry(model, store, str(plan.model_dir))
    log.info("predicting with the '%s' head", head)
    predicted = predict_at(model, store, head, [(g[1], g[3]) for g in plan.groups], options)
    # one NaN track would make its experiment's mean-normalised values NaN at every site
    check_finite_predictions(
        _non_finite_tracks(predicted, [g[3] for g in plan.groups], h_ids),
        plan.model_dir,
        head,
        store.path,
    )
    results = []
    for (kind, _, m_cols, h_cols), values, pred in zip(
        plan.groups, measured, predicted, strict=True
    ):
        results.append(
            transfer_tables(
                values,
                pred,
                [m_ids[i] for i in m_cols],
                [m_desc[i] for i in m_cols],
                [h_ids[j] for j in h_cols],
                [h_desc[j] for j in h_cols],
                kind=kind,
                pairing=plan.pairing,
            )
        )
    pairs = pl.concat([r.pairs for r in results]).sort("assay", "experiment", "identifier")
    matrix = pl.concat([r.matrix for r in results])
    assays = {k: v for r in results for k, v in assay_summary(r).items()}
    site_kinds = {
        assay: (
            f"the {100 * fraction:g}% most variable accessibility bins across the genome's "
            f"cell types (variance of log(1 + x)) of the held-out windows, as the paper did"
            if row.get(VARIABLE_SITES) is not None
            else "gene TSSs of the held-out windows (each gene's TSS bins summed)"
        )
        for assay, row in assays.items()
    }
    summary = {
        "head": head,
        "store_genome": store.genome,
        "splits": splits,
        "sites": site_kinds,
        "pairing": plan.pairing.rule,
        "pairs_file": plan.pairing.path,
        "pairing_notes": plan.pairing_notes,
        "assays": assays,
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").unlink(missing_ok=True)  # written last: no stale one beside new tables
    with atomic_write(out / "transfer.tsv") as handle:
        handle.write(tsv_text(pairs))
    with atomic_write(out / "matrix.tsv") as handle:
        handle.write(tsv_text(matrix))
    written: list[Path] = []
    if plots:
        from crossreg.evaluate.transfer_figures import plot_matrix_file

        title = f"{head} head on {store.genome}"
        written = plot_matrix_file(
            out / "matrix.tsv", out, title=title, svg=svg, pairing=plan.pairing.rule
        )
    earlier = {p.stem for p in out.glob("matrix_*.*") if p.suffix in (".png", ".svg")}
    remove_stale_figures(out, sorted(earlier), written)
    summary["figures"] = [p.name for p in written]
    with atomic_write(out / "summary.json") as handle:
        json.dump(summary, handle, indent=1)
    return TransferResult(head, store.genome, splits, assays, summary, pairs, matrix, written)
