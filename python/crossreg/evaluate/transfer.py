"""Cross-species transfer (the paper's Figure 3): any head's predictions against the
measured tracks of a genome, on held-out windows only.

The step plans the transfer (:func:`plan_transfer`: its sites, from
:mod:`crossreg.evaluate.transfer_sites`), then predicts and compares
(:func:`run_transfer`, with :mod:`crossreg.evaluate.transfer_stats`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy.typing as npt
import polars as pl

from crossreg.data.store import DataStore
from crossreg.errors import first_few
from crossreg.evaluate.defaults import NORMALIZATIONS, VARIABLE_FRACTION
from crossreg.evaluate.files import MATRIX_PREFIX, SUMMARY_FILE, TRANSFER_FILES
from crossreg.evaluate.finite import (
    check_finite_predictions,
    check_finite_targets,
    non_finite_columns,
)
from crossreg.evaluate.transfer_sites import (
    DEFAULT_SPLITS,
    TSS_SITES,
    VARIABLE_SITES,
    Site,
    gene_sites,
    held_out,
    measured_at,
    predict_at,
    variable_sites,
)
from crossreg.evaluate.transfer_stats import assay_summary, transfer_tables
from crossreg.evaluate.transfer_tracks import (
    EQUAL_CELL_TYPES,
    Pairing,
    cell_type_of,
    cell_type_pairing_notes,
    experiment_of,
    is_accessibility,
    read_pairs,
)
from crossreg.io.atomic import atomic_write
from crossreg.io.chroms import chrom_hint, prefix_twin
from crossreg.io.gtf import GtfRecord, gene_tss, iter_gtf
from crossreg.io.gtf_genome import check_gtf_genome, gene_chromosomes, require_genes_on
from crossreg.io.tables import tsv_text
from crossreg.io.targets import Target
from crossreg.model.checkpoint_info import CONFIG_NAME, checkpoint_info
from crossreg.plots import check_plot_options, remove_stale_figures
from crossreg.step_defaults import TRANSFER_BATCH_SIZE

if TYPE_CHECKING:
    from crossreg.model.inference import InferenceOptions

log = logging.getLogger("crossreg")


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


def _gene_sites(
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
            f"{gtf}: no transcript, exon or gene record, so no gene has a TSS; give a gene "
            "annotation GTF (GENCODE, Ensembl or UCSC)"
        )
    windows = (w for split in store.splits for w in store.windows(split))
    chroms = list(dict.fromkeys(w.chrom for w in windows))
    check_gtf_chromosomes(gtf, named, chroms, data_dir)
    genome = store_genome(store)
    fix = f"give the GTF of the store's genome ({genome})"
    unchecked = ""
    if store.chrom_sizes is None:
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
    else:
        check_gtf_genome(gtf, tss, store.chrom_sizes, f"the genome of {data_dir} ({genome})", fix)
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


@dataclass
class TransferPlan:
    """What :func:`plan_transfer` found, all before the model loads: the checked `head`
    of the checkpoint in `model_dir`, the `store` and its held-out `splits`, per site kind
    ``(kind, sites, measured tracks, head tracks)`` in `groups`, the `pairing` of head and
    measured tracks, per experiment whose equal cell types pair few tracks a note in
    `pairing_notes`, and how each side is normalised across its tracks, `normalize`
    (:data:`~crossreg.evaluate.defaults.NORMALIZATIONS`)."""

    model_dir: Path
    head: str
    head_targets: list[Target]
    store: DataStore
    splits: list[str]
    fraction: float
    groups: list[tuple[str, list[Site], list[int], list[int]]]
    pairing: Pairing = EQUAL_CELL_TYPES
    pairing_notes: dict[str, str] = field(default_factory=dict)
    normalize: str = "mean"


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
    data_dir: str | os.PathLike[str],
    gtf: str | os.PathLike[str],
    *,
    head: str | None = None,
    splits: Sequence[str] = DEFAULT_SPLITS,
    fraction: float | None = None,
    pairs: str | os.PathLike[str] | None = None,
    normalize: str = "mean",
) -> TransferPlan:
    """Check the inputs of a transfer (the pairs file `pairs` too) and find its sites (see
    :func:`write_transfer`), without loading the model or importing torch. A `fraction`
    given (not None: :data:`VARIABLE_FRACTION`) where DNase is not compared at variable bins
    is refused rather than ignored. `normalize` (``mean`` or ``quantile``) is how each side
    is normalised across its tracks of an experiment before the matrix's R."""
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize '{normalize}': give one of {', '.join(NORMALIZATIONS)}")
    splits = held_out(splits)
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
    if fraction is not None and not variable:
        why = (
            f"{data_dir} measures accessibility (DNASE, ATAC) in fewer than 2 cell types, so "
            "DNase is compared at gene TSSs"
            if "DNASE" in shared
            else f"no DNASE experiment is on both the '{head}' head and {data_dir}"
        )
        raise ValueError(
            f"--variable-fraction {fraction:g}: no variable bins are taken, as {why}; "
            "drop --variable-fraction"
        )
    fraction = VARIABLE_FRACTION if fraction is None else fraction

    def tracks(descriptions: Sequence[str], at_variable: bool) -> list[int]:
        return [
            i
            for i, d in enumerate(descriptions)
            if experiment_of(d) in shared and (variable and is_accessibility(d)) == at_variable
        ]

    groups: list[tuple[str, list[Site], list[int], list[int]]] = []
    if tracks(m_desc, False):
        genes = _gene_sites(gtf, store, data_dir, splits)
        groups.append((TSS_SITES, genes, tracks(m_desc, False), tracks(h_desc, False)))
        log.info("%d genes with a TSS in the %s windows", len(genes), ", ".join(splits))
    else:
        log.warning(
            "%s is not read: the only experiment of both the '%s' head and %s is "
            "accessibility (DNASE), compared at the most variable bins, not at gene TSSs",
            gtf,
            head,
            data_dir,
        )
    if variable:
        sites, _ = variable_sites(store, splits, accessible, fraction)
        groups.append((VARIABLE_SITES, sites, tracks(m_desc, True), tracks(h_desc, True)))
        log.info("%d variable accessibility bins (top %g%%)", len(sites), 100 * fraction)
    return TransferPlan(
        Path(model_dir),
        head,
        info.targets[head],
        store,
        splits,
        fraction,
        groups,
        pairing,
        notes,
        normalize,
    )


def write_transfer(
    model_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    gtf: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    head: str | None = None,
    splits: Sequence[str] = DEFAULT_SPLITS,
    fraction: float | None = None,
    pairs: str | os.PathLike[str] | None = None,
    normalize: str = "mean",
    plots: bool = True,
    svg: bool = False,
    options: InferenceOptions | None = None,
) -> TransferResult:
    """The transfer step: predict with the model's head `head` (the only one when
    ``None``) at the held-out gene TSSs of `gtf` (and, for
    accessibility, the `fraction` most variable bins) of the store's `splits`, compare with
    the store's tracks, and write ``transfer.tsv`` (per matched pair: equal cell types, or
    the pairs of the pairs file `pairs`), ``matrix.tsv`` (per head track × measured
    track; each side mean-normalised across its tracks of the experiment, with `normalize`
    ``quantile`` quantile-normalised first), ``summary.json`` and, unless `plots` is
    false, the heat maps ``matrix_<experiment>.png`` (an SVG beside each with `svg`) into
    `out` (:func:`plan_transfer`, then :func:`run_transfer`)."""
    check_plot_options(plots, svg)
    plan = plan_transfer(
        model_dir,
        data_dir,
        gtf,
        head=head,
        splits=splits,
        fraction=fraction,
        pairs=pairs,
        normalize=normalize,
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
    :func:`write_transfer` into `out` (`options`: batches of ``TRANSFER_BATCH_SIZE`` on
    the default device unless given); the caller's CUDA settings are given back
    (:func:`~crossreg.model.inference.cuda_settings_kept`)."""
    from crossreg.model.inference import cuda_settings_kept

    with cuda_settings_kept():
        return _run_transfer(plan, out, plots=plots, svg=svg, options=options)


def _run_transfer(
    plan: TransferPlan,
    out: str | os.PathLike[str],
    *,
    plots: bool,
    svg: bool,
    options: InferenceOptions | None,
) -> TransferResult:
    """:func:`run_transfer` within its CUDA settings."""
    check_plot_options(plots, svg)
    from crossreg.model.geometry import check_geometry
    from crossreg.model.inference import InferenceOptions, load_head

    store, splits, fraction = plan.store, plan.splits, plan.fraction
    m_desc, m_ids = store.table.descriptions, store.table.identifiers
    h_desc = [t.description for t in plan.head_targets]
    h_ids = [t.identifier for t in plan.head_targets]
    options = options or InferenceOptions(batch_size=TRANSFER_BATCH_SIZE)
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
                normalize=plan.normalize,
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
        "normalize": plan.normalize,
        "assays": assays,
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / SUMMARY_FILE).unlink(missing_ok=True)  # written last: no stale one beside new tables
    pairs_file, matrix_file = (out / name for name in TRANSFER_FILES)
    with atomic_write(pairs_file) as handle:
        handle.write(tsv_text(pairs))
    with atomic_write(matrix_file) as handle:
        handle.write(tsv_text(matrix))
    written: list[Path] = []
    if plots:
        from crossreg.evaluate.transfer_figures import heat_map_title, plot_matrix_file

        title = heat_map_title(head, store.genome, splits, plan.normalize)
        written = plot_matrix_file(
            matrix_file,
            out,
            title=title,
            svg=svg,
            pairing=plan.pairing.rule,
            normalize=plan.normalize,
        )
    earlier = {p.stem for p in out.glob(f"{MATRIX_PREFIX}*.*") if p.suffix in (".png", ".svg")}
    remove_stale_figures(out, sorted(earlier), written)
    summary["figures"] = [p.name for p in written]
    with atomic_write(out / SUMMARY_FILE) as handle:
        json.dump(summary, handle, indent=1)
    return TransferResult(head, store.genome, splits, assays, summary, pairs, matrix, written)
