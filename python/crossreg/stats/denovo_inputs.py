"""``crossreg denovo``'s inputs: each group's VCF (every ALT with its carrier) tied to the
rows of its SAD file, and the kept rows' scores read into one table."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from crossreg.io.vcf import Variant, iter_vcf, record_source
from crossreg.progress import progress
from crossreg.stats.denovo import CASE, CONTROL
from crossreg.stats.denovo_scored_alike import (
    most_skipped,
    other_tracks,
    recorded_scoring,
    refuse_other_scoring,
)
from crossreg.variants.alleles import Allele, scorable_alts
from crossreg.variants.sad_read import SadIndex, Site, read_sad_index, read_sad_rows, require_finite

log = logging.getLogger("crossreg")


@dataclass(frozen=True)
class DenovoData:
    """Every scored de novo allele of cases and controls: its carrier, group, label and
    :data:`Site`, and its row of SAD scores."""

    individuals: list[str]
    is_case: npt.NDArray[np.bool_]
    labels: list[str]
    sites: list[Site]
    identifiers: list[str]
    descriptions: list[str]
    values: npt.NDArray[np.float32]


@dataclass(frozen=True)
class Carried:
    """One ALT of a VCF record and the person who carries it."""

    label: str
    site: Site
    person: str
    scorable: bool

    @property
    def row(self) -> tuple[str, Site]:
        """What ties the allele to its SAD row: the label and the site."""
        return self.label, self.site

    def describe(self) -> str:
        """The allele in messages (:func:`_described`)."""
        return _described(self.label, self.site)


def _shortened(label: str, most: int = 60) -> str:
    """`label`, cut to `most` characters (a long deletion's REF runs to thousands)."""
    return label if len(label) <= most else f"{label[: most - 3]}..."


def _described(label: str, site: Site) -> str:
    """`label`, then ``at chrom:pos:ref>alt`` when that is not the label itself, each
    shortened (:func:`_shortened`)."""
    chrom, pos, ref, alt = site
    where = f"{chrom}:{pos}:{ref}>{alt}"
    return _shortened(label) if label == where else f"{_shortened(label)} at {_shortened(where)}"


def _owners(variant: Variant, vcf: Path, sample_field: str) -> list[str]:
    """The carrier of each ALT of `variant`: INFO `sample_field` names one carrier of every
    ALT, or one per ALT (``Number=A``: ``SAMPLE=ann,bob`` for ``ALT=T,G``). A name missing,
    empty or ``.`` (VCF's missing value) stops, naming the file and the record."""
    where = f"{record_source(variant, str(vcf))}: variant {variant.id} at "
    where += f"{variant.chrom}:{variant.pos + 1}"
    who = variant.info.get(sample_field)
    names = who.split(",") if isinstance(who, str) else []
    if not names or any(name in ("", ".") for name in names):
        given = f" (it has {sample_field}={who})" if isinstance(who, str) else ""
        raise ValueError(
            f"{where} has no INFO {sample_field}=NAME naming its carrier{given}; name every "
            "carrier, or give the key with --sample-field"
        )
    if len(names) not in (1, len(variant.alts)):
        raise ValueError(
            f"{where}: INFO {sample_field}={who} names {len(names)} carrier(s) for "
            f"{len(variant.alts)} ALT allele(s); give one name, or one per ALT in ALT's order"
        )
    return names * len(variant.alts) if len(names) == 1 else names


def _carriers(vcf: Path, sample_field: str) -> list[Carried]:
    """Each ALT of `vcf` with its carrier (:func:`_owners`), in file order."""
    rows = []
    for v in iter_vcf(vcf):
        scorable = scorable_alts(v)
        rows += [
            Carried(
                label=Allele(v, alt).label,
                site=(v.chrom, str(v.pos + 1), v.ref, alt),
                person=who,
                scorable=alt in scorable,
            )
            for alt, who in zip(v.alts, _owners(v, vcf, sample_field), strict=True)
        ]
    return rows


def _refuse_shared(
    carried: Mapping[str, list[Carried]], vcfs: Mapping[str, Path], field: str
) -> None:
    """Stop when a person is named in both groups' VCFs, whether or not their alleles were
    scored: each person is a case or a control. One file given as both is named so."""
    if _same_file(vcfs[CASE], vcfs[CONTROL]):
        raise ValueError(
            f"{vcfs[CASE]} is given as both the {CASE}s' and the {CONTROL}s' VCF; give each "
            "group's own de novo variants (--cases-vcf, --controls-vcf)"
        )
    shared = sorted({c.person for c in carried[CASE]} & {c.person for c in carried[CONTROL]})
    if shared:
        raise ValueError(
            f"{len(shared)} individual(s) carry variants in both {vcfs[CASE]} and "
            f"{vcfs[CONTROL]} ({', '.join(shared[:5])}); each person is a case or a "
            f"control: remove them from one VCF, or name them apart in INFO {field}"
        )


def _same_file(a: Path, b: Path) -> bool:
    """Whether `a` and `b` are one file (by its device and inode: a link or another
    spelling of the path too)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one cannot be read: its reading will say so
        return False


def _sad_rows(sad: SadIndex, sad_path: Path) -> list[tuple[str, Site]]:
    """The label and :data:`Site` of each row of `sad` (read with its sites)."""
    if sad.sites is None:
        raise ValueError(
            f"{sad_path} has no chr, pos, ref_allele and alt_allele datasets to tie its rows "
            "to the VCF's alleles; score that VCF with crossreg sad"
        )
    return list(zip(sad.labels, sad.sites, strict=True))


def _scored(
    carriers: list[Carried],
    rows: list[tuple[str, Site]],
    vcf: Path,
    sad_path: Path,
    *,
    group: str,
    alleles: int,
    skipped: int | None = None,
) -> list[Carried]:
    """The `carriers` (the scorable ones of the `alleles` ALT alleles of the `group`'s
    VCF) whose alleles the SAD file scored, one per row of it. Its `rows` (label and site)
    must be the VCF's alleles in order, some may be left out: ``crossreg sad`` skips
    records on chromosomes its FASTA lacks and alleles longer than half its window (a
    warning counts them); a row that is not the VCF's next allele is an error, and so are
    more alleles left out than the file says ``crossreg sad`` skipped (`skipped`, when it
    says) and a group with no scored allele (:func:`_require_alleles`)."""
    _require_alleles(carriers, rows, vcf, sad_path, group=group, alleles=alleles)
    kept: list[Carried] = []
    left: list[Carried] = []
    for carrier in carriers:
        if len(kept) < len(rows) and carrier.row == rows[len(kept)]:
            kept.append(carrier)
        else:
            left.append(carrier)
    if len(kept) < len(rows) or not kept:
        row = len(kept)
        found = _described(*rows[row]) if row < len(rows) else "no rows"
        raise ValueError(
            f"{sad_path} does not hold the alleles of {vcf} in order: its row {row + 1} "
            f"({found}) is not one of the VCF's alleles after the {row} matched "
            f"({len(rows)} rows, {len(carriers)} alleles); score that VCF with crossreg sad"
        )
    if skipped is not None and len(left) > skipped:
        raise ValueError(
            f"{sad_path}: {len(left)} of the {len(carriers)} alleles of {vcf} have no score "
            f"there (e.g. {left[0].describe()}), but crossreg sad skipped {skipped} alleles of the "
            "VCF it scored: it scored another VCF (an earlier version of this one?); score "
            "this VCF with crossreg sad"
        )
    if left:
        people = len({c.person for c in left} - {c.person for c in kept})
        log.warning(
            "%s: %d of %d alleles of %s have no score there (e.g. %s; crossreg sad skips "
            "records on chromosomes its FASTA lacks and alleles longer than half its "
            "window): left out of the tests%s",
            sad_path,
            len(left),
            len(carriers),
            vcf,
            left[0].describe(),
            f", and {people} person(s) with no other allele with them" if people else "",
        )
    return kept


def _require_alleles(
    carriers: list[Carried],
    rows: list[tuple[str, Site]],
    vcf: Path,
    sad_path: Path,
    *,
    group: str,
    alleles: int,
) -> None:
    """Stop, naming the group and its file, when its VCF has no variants, none that
    ``crossreg sad`` can score, or its SAD file has no rows: the tests need both groups."""
    need = f"the tests compare {CASE}s with {CONTROL}s, so each group needs at least one"
    if not alleles:
        raise ValueError(
            f"the {group}s' VCF {vcf} has no variants; {need} de novo variant: give a VCF "
            f"with the {group}s' variants (and their scores from crossreg sad)"
        )
    if not carriers:
        raise ValueError(
            f"the {group}s' VCF {vcf} has no variant crossreg sad can score (its {alleles} "
            f"ALT allele(s) are symbolic, structural or at an N REF); {need} scorable variant"
        )
    if not rows:
        raise ValueError(
            f"the {group}s' SAD file {sad_path} has no rows: crossreg sad scored none of the "
            f"{len(carriers)} allele(s) of {vcf} (it skips chromosomes its FASTA lacks and "
            f"alleles longer than half its window); {need} scored variant"
        )


def _first_listings(carriers: list[Carried], vcf: Path) -> list[int]:
    """The indices of `carriers` that are not the same person's same allele (chromosome,
    position, REF, ALT) listed again, as concatenated per-family VCFs may; a warning counts
    the repeats, which would otherwise count twice in every test."""
    seen: set[tuple[str, Site]] = set()
    first: list[int] = []
    repeats: list[Carried] = []
    for i, carrier in enumerate(carriers):
        if (carrier.person, carrier.site) in seen:
            repeats.append(carrier)
        else:
            seen.add((carrier.person, carrier.site))
            first.append(i)
    if repeats:
        log.warning(
            "%s: %d allele(s) listed again for the same person (e.g. %s's %s): counted once",
            vcf,
            len(repeats),
            repeats[0].person,
            repeats[0].describe(),
        )
    return first


GROUPS_EXAMPLE = (
    '{"case": ("cases.vcf", "cases.sad.h5"), "control": ("controls.vcf", "controls.sad.h5")}'
)


def check_groups(groups: object) -> None:
    """Stop unless `groups` maps ``case`` and ``control``, and nothing else, each to a
    ``(vcf, sad)`` pair of paths (a bare path would be read letter by letter, a key such
    as ``cases`` fail as a KeyError)."""
    if not isinstance(groups, Mapping):
        raise TypeError(
            f"groups must be a dict such as {GROUPS_EXAMPLE}, not {type(groups).__name__}"
        )
    if set(groups) != {CASE, CONTROL}:
        given = ", ".join(repr(key) for key in groups) or "none"
        raise ValueError(
            f"groups must have the keys 'case' and 'control' ({GROUPS_EXAMPLE}); got {given}"
        )
    for group in (CASE, CONTROL):
        pair = groups[group]
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(
                f"groups[{group!r}] must be a (vcf, sad) pair of paths ({GROUPS_EXAMPLE}), "
                f"got {pair!r}"
            )


def load_groups(
    groups: Mapping[str, tuple[str | os.PathLike[str], str | os.PathLike[str]]],
    *,
    sample_field: str = "SAMPLE",
) -> DenovoData:
    """Read ``{"case": (vcf, sad), "control": (vcf, sad)}``: no person may be named in both
    VCFs, each SAD file must hold the VCF's alleles in order (as ``crossreg sad`` writes
    them, which may leave some out: :func:`_scored`) and both the same tracks; a person's
    allele listed twice counts once (:func:`_first_listings`). Both files' rows and
    tracks are read first, then each group's kept rows of scores straight into its part
    of the joined table (:func:`_read_scores`), so reading holds that one table."""
    check_groups(groups)
    paths = {group: (Path(groups[group][0]), Path(groups[group][1])) for group in (CASE, CONTROL)}
    carried = {group: _carriers(paths[group][0], sample_field) for group in paths}
    _refuse_shared(carried, {group: paths[group][0] for group in paths}, sample_field)
    rows: list[Carried] = []
    is_case: list[bool] = []
    kept: list[tuple[SadIndex, npt.NDArray[np.int64]]] = []
    scorings: list[dict[str, object]] = []
    for group, (vcf, sad_path) in paths.items():
        sad = read_sad_index(sad_path, sites=True)
        scorings.append(recorded_scoring(sad_path))
        scorable = [c for c in carried[group] if c.scorable]
        scored = _scored(
            scorable,
            _sad_rows(sad, sad_path),
            vcf,
            sad_path,
            group=group,
            alleles=len(carried[group]),
            skipped=most_skipped(scorings[-1]),
        )
        if kept and sad.identifiers != kept[0][0].identifiers:
            case = kept[0][0]
            raise ValueError(other_tracks(sad_path, sad.identifiers, case.path, case.identifiers))
        if kept:
            refuse_other_scoring(kept[0][0].path, sad_path, *scorings)
        first = _first_listings(scored, vcf)
        rows += [scored[i] for i in first]
        is_case += [group == CASE] * len(first)
        kept.append((sad, np.array(first, dtype=np.int64)))
    identifiers, descriptions = kept[0][0].identifiers, kept[0][0].descriptions
    del sad  # a .tsv's table, read whole, is let go once copied (_read_scores)
    return DenovoData(
        individuals=[c.person for c in rows],
        is_case=np.array(is_case),
        labels=[c.label for c in rows],
        sites=[c.site for c in rows],
        identifiers=identifiers,
        descriptions=descriptions,
        values=_read_scores(kept),
    )


def _read_scores(kept: list[tuple[SadIndex, npt.NDArray[np.int64]]]) -> npt.NDArray[np.float32]:
    """Each file's rows `kept` (ascending: the VCF's alleles are its rows in order, some
    left out) of its scores, one file after the other, into one float32 table allocated
    once, read block by block with progress in rows (:func:`read_sad_rows`), every score
    checked to be finite as it is read: at most that table and a block are held (and the
    ``.tsv`` files' tables, read whole, each taken from `kept` and let go once copied)."""
    tracks = len(kept[0][0].identifiers)
    values = np.empty((sum(len(rows) for _, rows in kept), tracks), dtype=np.float32)
    start = 0
    while kept:
        sad, rows = kept.pop(0)
        part = values[start : start + len(rows)]
        with progress(len(rows), f"reading scores of {sad.path.name}", "rows") as meter:
            read_sad_rows(sad, rows, part, meter)
        require_finite(
            sad.path,
            part,
            sad.labels,
            sad.identifiers,
            "the tests need every score: score those variants, or drop them from the VCF",
            rows,
        )
        start += len(rows)
        del sad
    return values
