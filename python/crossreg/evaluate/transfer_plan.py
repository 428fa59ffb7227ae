"""The plan of a cross-species transfer (:func:`plan_transfer`), made before the model
loads: the inputs checked, the head's and the store's tracks paired, and the sites of
each kind found (gene TSSs, :mod:`crossreg.evaluate.transfer_genes`; the most variable
accessibility bins, :mod:`crossreg.evaluate.transfer_sites`)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crossreg.data.store import DataStore
from crossreg.evaluate.defaults import NORMALIZATIONS, VARIABLE_FRACTION
from crossreg.evaluate.transfer_genes import tss_sites
from crossreg.evaluate.transfer_sites import (
    DEFAULT_SPLITS,
    TSS_SITES,
    VARIABLE_SITES,
    Site,
    held_out,
    variable_sites,
)
from crossreg.evaluate.transfer_tracks import (
    EQUAL_CELL_TYPES,
    Pairing,
    cell_type_of,
    cell_type_pairing_notes,
    experiment_of,
    is_accessibility,
    read_pairs,
    shared_experiments,
)
from crossreg.io.targets import Target
from crossreg.model.checkpoint_info import CONFIG_NAME, checkpoint_info

log = logging.getLogger("crossreg")

#: Per site kind: the kind, its sites, the measured tracks and the head tracks compared.
SiteGroup = tuple[str, list[Site], list[int], list[int]]


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
    groups: list[SiteGroup]
    pairing: Pairing = EQUAL_CELL_TYPES
    pairing_notes: dict[str, str] = field(default_factory=dict)
    normalize: str = "mean"

    @property
    def experiments(self) -> list[str]:
        """The experiments compared, sorted: those of both the head's and the store's
        tracks, each with a heat map when it has any finite R."""
        head = [t.description for t in self.head_targets]
        return shared_experiments(self.store.table.descriptions, head)


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
    :func:`~crossreg.evaluate.transfer.write_transfer`), without loading the model or
    importing torch. A `fraction` given (not None: :data:`VARIABLE_FRACTION`) where DNase
    is not compared at variable bins is refused rather than ignored. `normalize` (``mean``
    or ``quantile``) is how each side is normalised across its tracks of an experiment
    before the matrix's R."""
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize '{normalize}': give one of {', '.join(NORMALIZATIONS)}")
    splits = held_out(splits)
    info = checkpoint_info(model_dir)
    head = info.choose(head, "--head")
    store = DataStore(data_dir)
    m_desc = store.table.descriptions
    h_desc = [t.description for t in info.targets[head]]
    shared = _shared_experiments(m_desc, h_desc, head, data_dir)
    pairing = _pairing(pairs, head, model_dir, info.targets[head], data_dir, store)
    notes = _check_pairable(pairing, m_desc, h_desc, head, data_dir)
    variable, fraction = _variable_bins(shared, m_desc, fraction, head, data_dir)
    groups = _site_groups(gtf, store, data_dir, splits, shared, variable, fraction, head, h_desc)
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


def _shared_experiments(
    m_desc: Sequence[str], h_desc: Sequence[str], head: str, data_dir: str | os.PathLike[str]
) -> set[str]:
    """The experiments (descriptions without their cell types) of both the store's
    tracks `m_desc` and the head's `h_desc`; none is an error."""
    shared = set(shared_experiments(m_desc, h_desc))
    if not shared:
        raise ValueError(
            f"no experiment (description without its cell type) of the '{head}' head's "
            f"tracks is among {data_dir}'s tracks"
        )
    return shared


def _check_pairable(
    pairing: Pairing,
    m_desc: Sequence[str],
    h_desc: Sequence[str],
    head: str,
    data_dir: str | os.PathLike[str],
) -> dict[str, str]:
    """Without a pairs file, refuse a head none of whose tracks has the description of a
    store's track, and warn of the experiments whose equal cell types pair few tracks;
    returns those notes (none with a pairs file)."""
    if pairing.pairs is not None:
        return {}
    measured = {(experiment_of(d), cell_type_of(d)) for d in m_desc if experiment_of(d)}
    if not any((experiment_of(d), cell_type_of(d)) in measured for d in h_desc):
        raise ValueError(
            f"no track of the '{head}' head has the description (assay:cell type) of a track "
            f"of {data_dir}; name the matched tracks with --pairs FILE"
        )
    notes = cell_type_pairing_notes(h_desc, m_desc)
    _warn_of_few_pairs(notes)
    return notes


def _variable_bins(
    shared: set[str],
    m_desc: Sequence[str],
    fraction: float | None,
    head: str,
    data_dir: str | os.PathLike[str],
) -> tuple[bool, float]:
    """Whether DNase is compared at the most variable accessibility bins (a shared DNASE
    experiment and at least 2 measured accessibility cell types), and the fraction of bins
    taken; a `fraction` given where it is not is refused."""
    cells = {cell_type_of(d) for d in m_desc if is_accessibility(d)}
    variable = "DNASE" in shared and len(cells) > 1
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
    return variable, VARIABLE_FRACTION if fraction is None else fraction


def _site_groups(
    gtf: str | os.PathLike[str],
    store: DataStore,
    data_dir: str | os.PathLike[str],
    splits: list[str],
    shared: set[str],
    variable: bool,
    fraction: float,
    head: str,
    h_desc: Sequence[str],
) -> list[SiteGroup]:
    """The sites of each kind and the tracks compared there: the gene TSSs of `gtf` for
    the `shared` experiments not compared at variable bins, and, where `variable`, the
    `fraction` most variable accessibility bins for the accessibility tracks."""
    m_desc = store.table.descriptions

    def tracks(descriptions: Sequence[str], at_variable: bool) -> list[int]:
        return [
            i
            for i, d in enumerate(descriptions)
            if experiment_of(d) in shared and (variable and is_accessibility(d)) == at_variable
        ]

    groups: list[SiteGroup] = []
    if tracks(m_desc, False):
        genes = tss_sites(gtf, store, data_dir, splits)
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
        accessible = [i for i, d in enumerate(m_desc) if is_accessibility(d)]
        sites, _ = variable_sites(store, splits, accessible, fraction)
        groups.append((VARIABLE_SITES, sites, tracks(m_desc, True), tracks(h_desc, True)))
        log.info("%d variable accessibility bins (top %g%%)", len(sites), 100 * fraction)
    return groups
