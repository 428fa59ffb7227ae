"""Where ``crossreg transfer`` compares a head with a genome's tracks, and the values
there (:mod:`crossreg.evaluate.transfer`).

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
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from crossreg.data.store import DataStore
from crossreg.dna import one_hot
from crossreg.errors import require_name_list
from crossreg.evaluate.defaults import VARIABLE_FRACTION
from crossreg.evaluate.finite import check_finite_targets, non_finite_columns
from crossreg.evaluate.transfer_tracks import cell_type_of
from crossreg.progress import progress
from crossreg.step_defaults import TRANSFER_BATCH_SIZE

if TYPE_CHECKING:
    import torch

    from crossreg.model.inference import InferenceOptions
    from crossreg.model.seqnn import SeqNN

DEFAULT_SPLITS = ("valid", "test")
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


def held_out(splits: Sequence[str]) -> list[str]:
    """`splits` without repeats; none, or ``train``, is an error, and so is one name
    given as a string (it would be read letter by letter)."""
    require_name_list(splits, "splits", "test")
    if not splits:
        raise ValueError("no split to evaluate")
    if "train" in splits:
        raise ValueError("transfer evaluates held-out windows only: 'train' is not allowed")
    return list(dict.fromkeys(splits))


def gene_sites(
    store: DataStore, splits: Sequence[str], tss: Mapping[str, Sequence[tuple[str, int]]]
) -> list[Site]:
    """One :class:`Site` per gene of `tss` (gene → its TSSs ``(chrom, 0-based position)``,
    as :func:`~crossreg.io.gtf.gene_tss` gives them) with a TSS in the unmasked target
    bins of the `splits`' windows: the window that holds the most of its TSSs (then the
    smallest mean distance of those TSSs from the window's centre), and the distinct bins
    they fall in."""
    crop_bp = store.metadata["crop_bp"]
    width, span = store.pool_width, store.target_length * store.pool_width
    by_chrom: dict[str, list[tuple[int, int, str, int]]] = {}
    masked = {}
    for k, split in enumerate(held_out(splits)):
        masked[split] = np.asarray(store.masked(split))
        for row, w in enumerate(store.windows(split)):
            by_chrom.setdefault(w.chrom, []).append((w.start + crop_bp, k, split, row))
    for spans in by_chrom.values():
        spans.sort()
    found: list[tuple[tuple, Site]] = []
    for gene, sites in tss.items():
        placements: dict[tuple[int, str, int], list[tuple[int, float]]] = {}
        for chrom, pos in sites:
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
    names = held_out(splits)
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
    batches of ``TRANSFER_BATCH_SIZE`` on the default device unless given)."""
    from crossreg.model.geometry import crop_to_targets
    from crossreg.model.inference import InferenceOptions, run_inference

    options = options or InferenceOptions(batch_size=TRANSFER_BATCH_SIZE)
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

            def load(
                chunk: Sequence[int], codes: npt.NDArray[np.uint8] = codes
            ) -> npt.NDArray[np.uint8]:
                return one_hot(np.ascontiguousarray(codes[list(chunk)]), dtype=np.uint8)

            def reduce(
                pred: torch.Tensor,
                chunk: Sequence[int],
                by_row: dict[int, list[tuple[int, npt.NDArray, npt.NDArray]]] = by_row,
            ) -> int:
                cropped = crop_to_targets(pred, store.target_length).float().cpu().numpy()
                for row, values in zip(chunk, cropped, strict=True):
                    for k, idx, b in by_row[row]:
                        np.add.at(out[k], idx, values[np.ix_(b, columns[k])])
                return len(chunk)

            for n in run_inference(model, head, sorted(by_row), options, load=load, reduce=reduce):
                meter.update(n)
    return out
