"""``crossreg denovo`` inputs and outputs: VCF + SAD files in, tables and a summary out."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.errors import Interrupted
from crossreg.io.atomic import atomic_write
from crossreg.io.tables import tsv_text
from crossreg.io.vcf import Variant, iter_vcf, record_source
from crossreg.plots import check_plot_options, remove_stale_figures
from crossreg.progress import Progress, progress
from crossreg.stats.denovo import (
    CASE,
    CONTROL,
    benjamini_hochberg,
    check_fold_groups,
    mann_whitney,
    risk_scores,
    standardised_components,
    track_tests,
)
from crossreg.stats.denovo_files import FIGURE_STEMS, TABLES, output_names
from crossreg.variants.alleles import Allele, parse_counts, scorable_alts
from crossreg.variants.sad_files import metadata_path, read_attrs, require_whole_run
from crossreg.variants.sad_read import SadIndex, Site, read_sad_index, read_sad_rows, require_finite

TOP_LOADINGS = 3
SHOWN_COMPONENTS = 3  # components whose per-variant scores are written (and drawn)
# crossreg sad's settings that change every score: both groups must be scored alike
SCORING_SETTINGS = ("genome", "gelu_form", "rc", "shifts", "indel", "cluster_bp", "bf16")
#: how a refusal names a setting a SAD file records under another key: ``genome`` is the
#: head that scored (crossreg sad --head), not whose variants they are
SCORING_NAMES = {"genome": "head"}
SKIP_COUNTS = ("skipped_records", "skipped_alleles")  # what crossreg sad left out
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
        scorings.append(_scoring(sad_path))
        scorable = [c for c in carried[group] if c.scorable]
        scored = _scored(
            scorable,
            _sad_rows(sad, sad_path),
            vcf,
            sad_path,
            group=group,
            alleles=len(carried[group]),
            skipped=_most_skipped(scorings[-1]),
        )
        if kept and sad.identifiers != kept[0][0].identifiers:
            case = kept[0][0]
            raise ValueError(_other_tracks(sad_path, sad.identifiers, case.path, case.identifiers))
        if kept:
            _refuse_other_scoring(kept[0][0].path, sad_path, *scorings)
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


def _other_tracks(path: Path, ids: list[str], case_path: Path, case_ids: list[str]) -> str:
    """The error for a controls' SAD file whose tracks are not the cases' (`case_ids`)."""
    shared = min(len(ids), len(case_ids))
    where = next((i for i in range(shared) if ids[i] != case_ids[i]), None)
    first = (
        f"track {where} is {ids[where]} there and {case_ids[where]} in the cases'"
        if where is not None
        else "the same tracks as far as the shorter goes"
    )
    return (
        f"{path} holds {len(ids)} tracks and the {CASE}s' {case_path} {len(case_ids)}, not "
        f"the same ({first}); score both groups alike: crossreg sad with the same --model, "
        "--head and --targets"
    )


def _scoring(path: Path) -> dict[str, object]:
    """The settings of :data:`SCORING_SETTINGS` and the model a SAD file records (none for
    a file that records none: Basenji's ``.h5``, a ``.tsv`` without its JSON). A shard of a
    ``crossreg sad --shard`` run is refused: it holds only its share of the VCF's alleles,
    and the others would be left out as if ``crossreg sad`` had skipped them."""
    if path.suffix != ".h5" and not metadata_path(path).exists():
        return {}
    attrs = read_attrs(path)
    require_whole_run(path, attrs)
    keys = (*SCORING_SETTINGS, "model", *SKIP_COUNTS)
    return {key: np.asarray(attrs[key]).tolist() for key in keys if key in attrs}


def _most_skipped(scoring: Mapping[str, object]) -> int | None:
    """How many of its VCF's alleles ``crossreg sad`` may have left out of a SAD file by
    what it records (:func:`_scoring`): the alleles it skipped, when it skipped no record
    (a skipped record's alleles are not counted); None when it cannot tell."""
    if any(key not in scoring for key in SKIP_COUNTS) or int(str(scoring["skipped_records"])):
        return None
    return sum(parse_counts(str(scoring["skipped_alleles"])).values())


def _refuse_other_scoring(
    case_path: Path, path: Path, case: dict[str, object], control: dict[str, object]
) -> None:
    """Stop when the controls' SAD file `path` was scored with other settings (`control`,
    as :func:`_scoring` reads them) than the cases' (`case_path`, `case`): a difference of
    --rc, --shifts or the like moves every score of one group, which the tests would report
    as a difference between the groups. Another model path is only warned of (a copy of
    the same model may be elsewhere)."""
    shared = [key for key in SCORING_SETTINGS if key in case and key in control]
    differ = [
        f"{SCORING_NAMES.get(key, key)} {case[key]} and {control[key]}"
        for key in shared
        if case[key] != control[key]
    ]
    if differ:
        raise ValueError(
            f"{case_path} and {path} were scored with other settings ({'; '.join(differ)}): "
            "a setting that moves every score of one group would pass for a difference "
            "between cases and controls; score both groups with the same crossreg sad options"
        )
    if "model" in case and "model" in control and not _model_paths(case) & _model_paths(control):
        log.warning(
            "%s was scored with model %s and %s with %s; the groups must be scored by the "
            "same model",
            case_path,
            case["model"],
            path,
            control["model"],
        )


def _model_paths(scoring: Mapping[str, object]) -> set[str]:
    """The model paths a SAD file records: one, or one per shard of a merged file whose
    shards read copies of the model at other paths (copies the merge matched by content)."""
    model = scoring["model"]
    return {str(path) for path in model} if isinstance(model, list) else {str(model)}


def check_settings(*, components: int, folds: int) -> None:
    """Stop on a number of components below 1 or of folds below 2."""
    if components < 1:
        raise ValueError(f"--components must be at least 1, got {components}")
    if folds < 2:
        raise ValueError(f"--folds must be at least 2, got {folds}")


def run_tests(data: DenovoData, *, components: int = 10, folds: int = 5, seed: int = 0) -> dict:
    """Per-track, per-component and per-individual tests; tables as polars frames plus a
    summary dict."""
    check_settings(components=components, folds=folds)
    individuals = len(set(data.individuals))
    cases = len(set(np.asarray(data.individuals, dtype=object)[data.is_case]))
    check_fold_groups(folds, cases, individuals - cases)  # before the tests, not after them
    tests = track_tests(data.values, data.is_case)
    q = benjamini_hochberg([t.p for t in tests])
    descriptions = data.descriptions or [""] * len(data.identifiers)
    tracks = pl.DataFrame(
        {
            "identifier": data.identifiers,
            "description": descriptions,
            "n_case": [t.n_case for t in tests],
            "n_control": [t.n_control for t in tests],
            "median_case": [t.median_case for t in tests],
            "median_control": [t.median_control for t in tests],
            "auc": [t.auc for t in tests],
            "p": [t.p for t in tests],
            "q": q,
        }
    ).sort("p")
    pcs = standardised_components(data.values, ~data.is_case, components)
    pc_tests = [mann_whitney(s[data.is_case], s[~data.is_case]) for s in pcs.scores.T]
    top = np.argsort(-np.abs(pcs.loadings), axis=0)[:TOP_LOADINGS]
    comps = pl.DataFrame(
        {
            "component": [f"PC{k + 1}" for k in range(len(pc_tests))],
            "explained": pcs.explained,
            "auc": [t.auc for t in pc_tests],
            "p": [t.p for t in pc_tests],
            "q": benjamini_hochberg([t.p for t in pc_tests]),
            "top_tracks": [
                ",".join(data.identifiers[i] for i in top[:, k]) for k in range(len(pc_tests))
            ],
        }
    )
    shown = min(SHOWN_COMPONENTS, pcs.scores.shape[1])
    component_scores = pl.DataFrame(
        {
            "individual": data.individuals,
            "group": np.where(data.is_case, CASE, CONTROL),
            "variant": data.labels,
            "chrom": [chrom for chrom, _, _, _ in data.sites],
            "pos": [int(pos) for _, pos, _, _ in data.sites],
            "ref": [ref for _, _, ref, _ in data.sites],
            "alt": [alt for _, _, _, alt in data.sites],
            **{f"PC{k + 1}": pcs.scores[:, k] for k in range(shown)},
        }
    )
    risk = risk_scores(data.values, data.individuals, data.is_case, folds=folds, seed=seed)
    counts = pl.DataFrame({"individual": data.individuals}).group_by("individual").len()
    people = (
        pl.DataFrame(
            {
                "individual": risk.individuals,
                "group": np.where(risk.is_case, CASE, CONTROL),
                "risk_score": risk.scores,
                "fold": risk.folds,
            }
        )
        .join(counts.rename({"len": "variants"}), on="individual")
        .sort("risk_score", descending=True)
    )
    risk_test = mann_whitney(risk.scores[risk.is_case], risk.scores[~risk.is_case])
    summary = {
        "case_variants": int(data.is_case.sum()),
        "control_variants": int((~data.is_case).sum()),
        "cases": int(risk.is_case.sum()),
        "controls": int((~risk.is_case).sum()),
        "tracks": len(data.identifiers),
        "tracks_q_below_0.05": int((q < 0.05).sum()),
        "top_track": tracks.row(0, named=True),
        "components_q_below_0.05": int((comps["q"] < 0.05).sum()),
        "risk_auc": risk_test.auc,
        "risk_p": risk_test.p,
        "folds": folds,
    }
    return {
        "tracks": tracks,
        "components": comps,
        "component_scores": component_scores,
        "individuals": people,
        "summary": summary,
    }


def write_report(
    out: str | os.PathLike[str], report: dict, *, meter: Progress | None = None
) -> Path:
    """``tracks.tsv``, ``components.tsv``, ``component_scores.tsv`` (each variant, its
    carrier, group, label, chrom, pos, REF and ALT, with its scores on the first
    components, what ``components.png`` shows), ``individuals.tsv`` and ``summary.json``
    in `out`, each file counted on `meter` once written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        if name not in report:
            continue
        with atomic_write(out / f"{name}.tsv") as handle:
            handle.write(tsv_text(report[name]))
        if meter is not None:
            meter.update()
    with atomic_write(out / "summary.json") as handle:
        json.dump(report["summary"], handle, indent=1)
    if meter is not None:
        meter.update()
    return out


def remove_earlier_outputs(out: Path) -> None:
    """Remove an earlier run's tables, ``summary.json`` and figures from `out`, before this
    run writes its own: a run stopped while writing or drawing then leaves only its own
    files (no ``summary.json`` until its tables are all written), never a mix of two runs
    that reads as one."""
    for name in (*(f"{table}.tsv" for table in TABLES), "summary.json"):
        (out / name).unlink(missing_ok=True)
    remove_stale_figures(out, FIGURE_STEMS, [])


def write_denovo(
    groups: Mapping[str, tuple[str | os.PathLike[str], str | os.PathLike[str]]],
    out: str | os.PathLike[str],
    *,
    sample_field: str = "SAMPLE",
    components: int = 10,
    folds: int = 5,
    seed: int = 0,
    plots: bool = True,
    svg: bool = False,
) -> dict:
    """The denovo step: `groups` maps ``case`` and ``control`` to ``(vcf, sad)``; runs the
    per-track, per-component and per-person tests and writes their tables and
    ``summary.json`` into `out` (see :func:`write_report`) and, unless `plots` is off, the
    figures ``tracks_q.png``, ``components.png`` and ``risk_score.png``
    (:mod:`crossreg.stats.denovo_figures`; SVG too with `svg`); returns the summary. An
    earlier run's files in `out` are removed before the tables are written
    (:func:`remove_earlier_outputs`); their writing shows its progress in files."""
    check_plot_options(plots, svg)
    check_settings(components=components, folds=folds)
    out = Path(out)
    before = "is as it was" if out.exists() else "was not made"
    try:
        data = load_groups(groups, sample_field=sample_field)
        report = run_tests(data, components=components, folds=folds, seed=seed)
    except KeyboardInterrupt:
        raise Interrupted(f"nothing was written: {out} {before}; rerun to test again") from None
    remove_earlier_outputs(out)
    files = sum(name in report for name in TABLES) + 1
    figures = len(FIGURE_STEMS) * (1 + svg) if plots else 0
    desc = "writing the tables and figures" if plots else "writing the tables"
    try:
        with progress(files + figures, desc, "files") as meter:
            write_report(out, report, meter=meter)
            if plots:
                from crossreg.stats.denovo_figures import plot_denovo

                plot_denovo(out, svg=svg, meter=meter)
    except KeyboardInterrupt:
        raise Interrupted(_stopped_writing(out)) from None
    return report["summary"]


def _stopped_writing(out: Path) -> str:
    """What a run stopped while writing its files leaves in `out`: some of its own files
    and none of an earlier run's (:func:`remove_earlier_outputs`)."""
    written = [name for name in output_names() if (out / name).exists()]
    held = f"only {', '.join(written)}" if written else "none of its files"
    return f"{out} holds {held} of this run, and no earlier run's; rerun to write them all"
