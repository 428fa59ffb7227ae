"""Which tracks cross-species transfer compares, from their descriptions, which head
track × measured track cells are matched, and why a normalised R may be missing.

A track's *experiment* is its description without the cell type (``CAGE``,
``CHIP:H3K27ac``; DNASE and ATAC together as ``DNASE``); its cell type is the rest
(``CAGE:liver`` → ``liver``; :func:`crossreg.io.assays.split_description`).

A cell is matched when its two tracks have equal cell types, or, given a pairs file
(:func:`read_pairs`), when the file names the two tracks as a pair.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.errors import first_few
from crossreg.io.assays import assay_of, split_description
from crossreg.io.text import numbered_lines

ACCESSIBILITY = ("DNASE", "ATAC")
BY_CELL_TYPE = "cell type"
BY_PAIRS_FILE = "pairs file"
PAIRS_HEADER = ("head_track", "measured_track")
#: Equal cell types that pair fewer than this share of the tracks of the side with fewer
#: tracks (of an experiment) are reported, with a pointer to a pairs file.
FEW_PAIRS = 0.5

#: The columns of ``transfer.tsv`` (one row per matched pair) and ``matrix.tsv`` (every
#: head track x measured track of an experiment), identifiers as text however they look.
PAIR_SCHEMA = {
    "assay": pl.Utf8,
    "experiment": pl.Utf8,
    "cell_type": pl.Utf8,
    "head_identifier": pl.Utf8,
    "head_description": pl.Utf8,
    "identifier": pl.Utf8,
    "description": pl.Utf8,
    "site_kind": pl.Utf8,
    "sites": pl.Int64,
    "pearson_r": pl.Float64,
    "pearson_r_normalised": pl.Float64,
}
MATRIX_SCHEMA = {
    "assay": pl.Utf8,
    "experiment": pl.Utf8,
    "head_identifier": pl.Utf8,
    "head_description": pl.Utf8,
    "identifier": pl.Utf8,
    "description": pl.Utf8,
    "matched": pl.Boolean,
    "pearson_r_normalised": pl.Float64,
    "n": pl.Int64,
}


def experiment_of(description: str) -> str | None:
    """The experiment of a track: its description without the cell type
    (``CHIP:H3K27ac:liver`` → ``CHIP:H3K27ac``), ``DNASE`` for any accessibility track,
    ``None`` for a description without a cell type (no ``:``)."""
    if ":" not in description:
        return None
    if assay_of(description) in ACCESSIBILITY:
        return "DNASE"
    return split_description(description)[0]


def shared_experiments(measured: Sequence[str], head: Sequence[str]) -> list[str]:
    """The experiments, sorted, of both the tracks of descriptions `measured` and those of
    descriptions `head`: those a transfer compares."""
    found = {experiment_of(d) for d in measured} & {experiment_of(d) for d in head}
    return sorted(e for e in found if e is not None)


def experiment_label(experiment: str) -> str:
    """How an experiment is named to a reader: ``DNASE/ATAC`` for ``DNASE``, which holds
    the ATAC tracks too (:func:`experiment_of`), so that its pairs are not taken for the
    DNase tracks alone; any other as it is."""
    return "/".join(ACCESSIBILITY) if experiment == "DNASE" else experiment


def cell_type_of(description: str) -> str:
    """The cell type of a track: its description after the assay (and a ChIP's target),
    ``CAGE:liver`` → ``liver``."""
    return split_description(description)[1]


def is_accessibility(description: str) -> bool:
    """DNASE and ATAC tracks (compared at variable sites, not at TSSs)."""
    return assay_of(description) in ACCESSIBILITY


def assay_of_experiment(experiment: str) -> str:
    """The assay an experiment's numbers are summarised under (``CHIP:H3K27ac`` → ``CHIP``)."""
    return experiment.split(":", 1)[0]


def normalised_r_gap(
    experiment: str,
    sites: int,
    head_cells: Sequence[str],
    measured_cells: Sequence[str],
    values: npt.NDArray,
    matched: npt.NDArray[np.bool_],
    pairing: str = BY_CELL_TYPE,
) -> str | None:
    """Why an experiment's matrix `values` ``(head tracks, measured tracks)`` of
    normalised R (`matched` cells marked by the rule `pairing`; the tracks' cell types
    given) has no finite matched cell or no finite unmatched one, without the experiment's
    name, so that experiments of one reason can be named together (:func:`gap_notes`);
    ``None`` when it has both."""
    values = np.asarray(values, dtype=np.float64)
    if np.isfinite(values[matched]).any() and np.isfinite(values[~matched]).any():
        return None
    sides = [
        f"{who} has one track"
        for who, cells in (("the head", head_cells), ("the genome", measured_cells))
        if len(cells) == 1
    ]
    if sites < 3:
        why = f"{sites} sites, and R needs 3"
    elif sides:
        why = (
            f"{' and '.join(sides)}: mean-normalising over a side's tracks leaves 0 at every "
            "site, so normalised R needs two or more cell types on each side"
        )
    elif not (~matched).any():
        why = (
            "the pairs file pairs every head track with every measured track"
            if pairing == BY_PAIRS_FILE
            else "every head track has the cell type of every measured track"
        ) + ": no unmatched pair"
    elif not matched.any():
        why = (
            f"the pairs file names no {experiment} pair"
            if pairing == BY_PAIRS_FILE
            else "no head track has the cell type of a measured track"
        ) + ": no matched pair"
    else:
        why = "the tracks of a side are equal at every site once mean-normalised"
    return why


def gap_notes(gaps: Mapping[str, str], shown: int = 6) -> list[str]:
    """One note per reason of `gaps` (experiment → :func:`normalised_r_gap`), naming its
    experiments (the first `shown`, then how many more): hundreds of one-track ChIP
    experiments make one line, not hundreds."""
    by_reason: dict[str, list[str]] = {}
    for experiment, why in gaps.items():
        by_reason.setdefault(why, []).append(experiment)
    notes = []
    for why, experiments in by_reason.items():
        named = first_few(experiments, shown)
        if len(experiments) > shown:
            named += " (NaN in matrix.tsv)"
        notes.append(f"{named}: {why}")
    return notes


def few_pairs_note(experiment: str, matched: npt.NDArray[np.bool_]) -> str | None:
    """Where equal cell types match (`matched`, ``(head tracks, measured tracks)`` of one
    experiment) fewer than :data:`FEW_PAIRS` of the tracks of the side with fewer tracks,
    a note saying so and pointing to ``--pairs``; ``None`` otherwise."""
    head, measured = matched.shape
    paired_head, paired_measured = int(matched.any(axis=1).sum()), int(matched.any(axis=0).sum())
    smaller, paired = min((head, paired_head), (measured, paired_measured))
    if smaller == 0 or paired >= FEW_PAIRS * smaller:
        return None
    if matched.any():
        found = (
            f"pair only {paired_head} of the head's {head} tracks with {paired_measured} of "
            f"the genome's {measured}"
        )
    else:
        found = f"pair none of the head's {head} tracks with the genome's {measured}"
    return (
        f"{experiment}: equal cell types {found}; where the genomes name matched tissues "
        "differently, give the pairs with --pairs FILE"
    )


@dataclass(frozen=True)
class Pairing:
    """Which head track × measured track cells are matched: equal cell types, or the
    ``(head identifier, measured identifier)`` `pairs` of the pairs file at `path`."""

    pairs: frozenset[tuple[str, str]] | None = None
    path: str | None = None

    @property
    def rule(self) -> str:
        """``"cell type"`` or ``"pairs file"``."""
        return BY_CELL_TYPE if self.pairs is None else BY_PAIRS_FILE

    def matched(
        self,
        head_ids: Sequence[str],
        head_cells: Sequence[str],
        measured_ids: Sequence[str],
        measured_cells: Sequence[str],
    ) -> npt.NDArray[np.bool_]:
        """``(head tracks, measured tracks)``: True where the two tracks are a pair."""
        if self.pairs is None:
            heads, measured = (np.array(c, dtype=object) for c in (head_cells, measured_cells))
            return np.equal.outer(heads, measured).astype(bool)
        pairs = self.pairs
        return np.array(
            [[(h, m) in pairs for m in measured_ids] for h in head_ids], dtype=bool
        ).reshape(len(head_ids), len(measured_ids))


#: Cells matched by equal cell types (no pairs file).
EQUAL_CELL_TYPES = Pairing()


def _unknown_track(
    value: str,
    side: str,
    tracks: Mapping[str, str],
    source: str,
    listing: str,
    other_tracks: Mapping[str, str],
) -> str:
    """Why `value` is not an identifier of `tracks`: an identifier of the other side's
    `other_tracks` (columns swapped), a description (and its identifier), or else the
    nearest identifiers or where to list them."""
    text = f"{side} '{value}' is not a track identifier of {source}"
    if value in other_tracks:
        return f"{text}; it is one of the other side's: the head's track comes first"
    named = [i for i, d in tracks.items() if d == value]
    if named:
        return f"{text}; it is the description of {', '.join(repr(i) for i in named)}: give that"
    near = difflib.get_close_matches(value, list(tracks), n=3, cutoff=0.6)
    if near:
        return f"{text}; nearest: {', '.join(repr(n) for n in near)}"
    return f"{text}; its identifiers are in {listing}"


def read_pairs(
    path: str | os.PathLike[str],
    head_tracks: Mapping[str, str],
    measured_tracks: Mapping[str, str],
    *,
    head_source: str = "the head",
    measured_source: str = "the store",
    head_listing: str = "the checkpoint's config.json",
    measured_listing: str = "the store's targets.txt",
) -> frozenset[tuple[str, str]]:
    """The ``(head identifier, measured identifier)`` pairs of a pairs file: tab-separated,
    the header ``head_track<TAB>measured_track``, then one pair a line; blank lines and
    lines starting with ``#`` are skipped, a track may be in several pairs. `head_tracks`
    and `measured_tracks` map each side's identifiers to their descriptions; an unknown
    identifier, a line without two columns and a pair of two experiments are errors
    naming the file and line (`*_source` names a side, `*_listing` where its identifiers
    are listed)."""
    pairs: dict[tuple[str, str], None] = {}
    header_seen = False
    for line_no, line in numbered_lines(path):
        text = line.rstrip("\n")
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        where = f"{path}:{line_no}"
        fields = tuple(f.strip() for f in text.split("\t"))
        if not header_seen:
            if fields != PAIRS_HEADER:
                raise ValueError(
                    f"{where}: the header must be '{PAIRS_HEADER[0]}<TAB>{PAIRS_HEADER[1]}', "
                    f"not '{text}'"
                )
            header_seen = True
            continue
        if len(fields) != 2 or not all(fields):
            raise ValueError(
                f"{where}: a pair is two tab-separated track identifiers (head, measured); "
                f"found {len([f for f in fields if f])} in '{text}'"
            )
        head, measured = fields
        if head not in head_tracks:
            why = _unknown_track(
                head, "head track", head_tracks, head_source, head_listing, measured_tracks
            )
            raise ValueError(f"{where}: {why}")
        if measured not in measured_tracks:
            why = _unknown_track(
                measured,
                "measured track",
                measured_tracks,
                measured_source,
                measured_listing,
                head_tracks,
            )
            raise ValueError(f"{where}: {why}")
        _check_one_experiment(where, head, head_tracks[head], measured, measured_tracks[measured])
        pairs[head, measured] = None
    if not pairs:
        raise ValueError(
            f"{path}: no pairs; give the header '{PAIRS_HEADER[0]}<TAB>{PAIRS_HEADER[1]}' "
            "and one line per matched pair of track identifiers"
        )
    return frozenset(pairs)


def _check_one_experiment(
    where: str, head: str, head_description: str, measured: str, measured_description: str
) -> None:
    """A pair's two tracks are of one experiment (mean-normalised and compared together)."""
    experiments = experiment_of(head_description), experiment_of(measured_description)
    if None in experiments:
        raise ValueError(
            f"{where}: '{head}' ({head_description}) or '{measured}' ({measured_description}) "
            "has no assay in its description (assay:cell type), so it pairs with nothing"
        )
    if experiments[0] != experiments[1]:
        raise ValueError(
            f"{where}: head track '{head}' ({head_description}) and measured track "
            f"'{measured}' ({measured_description}) are of different assays "
            f"({experiments[0]}, {experiments[1]}); a pair must be of one assay"
        )


def cell_type_pairing_notes(
    head_descriptions: Sequence[str], measured_descriptions: Sequence[str]
) -> dict[str, str]:
    """Per experiment of both sides whose equal cell types pair few of its tracks, the
    :func:`few_pairs_note`; the experiments with the most tracks first."""
    cells: dict[str, tuple[list[str], list[str]]] = {}
    for side, descriptions in enumerate((head_descriptions, measured_descriptions)):
        for d in descriptions:
            experiment = experiment_of(d)
            if experiment is not None:
                cells.setdefault(experiment, ([], []))[side].append(cell_type_of(d))
    notes = {}
    for experiment, (head, measured) in sorted(
        cells.items(), key=lambda item: (-len(item[1][0]) - len(item[1][1]), item[0])
    ):
        same = np.equal.outer(np.array(head, object), np.array(measured, object))
        note = few_pairs_note(experiment, same.astype(bool))
        if note is not None:
            notes[experiment] = note
    return notes
