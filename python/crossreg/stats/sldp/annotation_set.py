"""The run's annotation sources (marginal or background) and each chromosome's
annotations, background then marginal, aligned to the panel's SNPs."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence

from crossreg.errors import first_few
from crossreg.io.chroms import bare_chrom
from crossreg.stats.sldp.annotations import (
    AnnotationTable,
    ChromAnnotations,
    read_sannot,
    sannot_path,
)
from crossreg.stats.sldp.background import BuiltBackgrounds
from crossreg.stats.sldp.chrom_part import AnnotationState
from crossreg.stats.sldp.panel import ChromPanel, chrom_label
from crossreg.stats.sldp.reconcile import Alignment, add_counts
from crossreg.stats.sldp.sad_annotations import SadAnnotations


class AnnotationSet:
    """Annotation sources by kind; sannot stems are read per chromosome, SAD files one
    chromosome at a time (:class:`SadAnnotations`), built backgrounds (MAF bins, GTF
    features) come per chromosome from `built`. `alpha` (α and the option that set it)
    scales the sannot and SAD values; built backgrounds are per normalised genotype
    already."""

    def __init__(
        self,
        stems: Sequence[str],
        sad: Sequence[str | os.PathLike[str]] = (),
        built: BuiltBackgrounds | None = None,
        alpha: tuple[float, str] = (-1.0, ""),
    ):
        self.stems = list(stems)
        self.sad = [SadAnnotations(p) for p in sad]
        self.built = built
        self._alpha = alpha
        self.names: list[str] | None = None
        self.origin: dict[str, str] = {}  # annotation name -> its file (or stem)
        self.matched = {source: 0 for source in self.sources}

    @property
    def sources(self) -> list[str]:
        built = [s.source for s in self.built.sources] if self.built else []
        return self.stems + [t.source for t in self.sad] + built

    def alpha(self, source: str) -> tuple[float, str]:
        """α of `source` (one of `sources`) and the option that set it."""
        built = [s.source for s in self.built.sources] if self.built else []
        return (-1.0, "") if source in built else self._alpha

    def aligned(self, panel: ChromPanel) -> list[tuple[AnnotationTable, Alignment]]:
        """Each source's annotations on the panel's chromosome with their alignment to its
        SNPs, in `sources` order (a SAD file: only the rows the alignment uses)."""
        chrom = panel.chrom
        tables = [read_sannot(sannot_path(stem, chrom)) for stem in self.stems]
        pairs = [(t, t.align(panel)) for t in tables]
        pairs += [sad.aligned(panel) for sad in self.sad]
        built = self.built.tables(chrom) if self.built else []
        pairs += [(t, t.align(panel)) for t in built]
        names = [n for t, _ in pairs for n in t.names]
        if self.names is None:
            if len(set(names)) != len(names):
                raise ValueError(self._repeated(pairs, names))
            self.names = names
            self.origin = {
                n: s for (t, _), s in zip(pairs, self.sources, strict=True) for n in t.names
            }
        elif names != self.names:
            raise ValueError(
                f"{chrom_label(chrom)}: annotation columns differ from the first chromosome's"
            )
        return pairs

    def _repeated(self, pairs: list[tuple[AnnotationTable, Alignment]], names: list[str]) -> str:
        """The refusal of annotation `names` (of `pairs`, in `sources` order) that repeat:
        which names, and the sources holding them."""
        counts = Counter(names)
        repeated = [name for name in dict.fromkeys(names) if counts[name] > 1]
        holders = [
            source
            for (table, _), source in zip(pairs, self.sources, strict=True)
            if not set(table.names).isdisjoint(repeated)
        ]
        return (
            f"annotation names repeat across {', '.join(holders)}: {first_few(repeated)}; "
            "SLDP tells annotations apart by name, so give each of these to its own "
            "crossreg sldp run (with its own --out)"
        )

    def described(self, names: Sequence[str]) -> str:
        """`names` with their files: ``a, b ({stem}{chrom}.sannot.gz)`` or ``(file)``."""
        by_source: dict[str, list[str]] = {}
        for name in names:
            by_source.setdefault(self.origin.get(name, "?"), []).append(name)
        return "; ".join(
            f"{', '.join(found)} ({source}{{chrom}}.sannot.gz)"
            if source in self.stems
            else f"{', '.join(found)} ({source})"
            for source, found in by_source.items()
        )

    def state_since(self, before: dict[str, int]) -> AnnotationState:
        """What the chromosome read since ``matched`` was `before` told this set."""
        matched = {source: count - before[source] for source, count in self.matched.items()}
        return AnnotationState(list(self.names or []), dict(self.origin), matched)

    def restore(self, state: AnnotationState, label: str) -> None:
        """Take in what reading the chromosome `label` told this set (`state`), as reading
        it again would (a chromosome a resumed run takes from its checkpoint). Its sources
        are this set's, in order, wherever they lay then (a resume may read copies of the
        inputs at other paths)."""
        now = dict(zip(state.matched, self.matched, strict=True))
        if self.names is None:
            self.names = list(state.names)
            self.origin = {name: now.get(source, source) for name, source in state.origin.items()}
        elif state.names != self.names:
            raise ValueError(f"{label}: annotation columns differ from the first chromosome's")
        for source, count in state.matched.items():
            self.matched[now[source]] += count

    def require_sannot_files(self, chroms: Sequence[str], option: str) -> None:
        """Stop, before any LD work, when a ``.sannot.gz`` of a stem (given with `option`)
        is missing for one of the analysed panel chromosomes `chroms`, naming the first and
        counting the others; a stem that lacks the separator before the chromosome name is
        named with the one that finds the files."""
        missing = [
            (stem, chrom)
            for stem in self.stems
            for chrom in chroms
            if not sannot_path(stem, chrom).exists()
        ]
        if not missing:
            return
        stem, chrom = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        hint = next(
            (
                f"; the stem ends where the chromosome name begins: give {option} {stem}{sep}"
                for sep in "._-"
                if sannot_path(f"{stem}{sep}", chrom).exists()
            ),
            "; every analysed chromosome needs one: add it, or leave the chromosome out "
            "with --chroms",
        )
        raise ValueError(
            f"{option} {stem}: no annotation file {sannot_path(stem, chrom)} for "
            f"{chrom_label(chrom)} of the panel{more}{hint}"
        )

    def require_sad_chroms(self, chroms: Sequence[str]) -> None:
        """Stop, before any LD work, when a SAD file has no variant on any of the analysed
        panel chromosomes `chroms` (a file scored on another genome)."""
        wanted = {bare_chrom(c) for c in chroms}
        for sad in self.sad:
            found = sad.chroms.names
            if not found:
                raise ValueError(
                    f"{sad.source}: the SAD file holds no variant (crossreg sad scored none: "
                    "its VCF, or its shard of it, had no scorable record); score the panel's "
                    "variants on the panel's genome (crossreg sad --vcf with the panel's SNPs)"
                )
            if not wanted & set(found):
                held = first_few([chrom_label(c) for c in found]) or "none"
                raise ValueError(
                    f"{sad.source}: none of its variants is on a panel chromosome analysed "
                    f"({', '.join(chrom_label(c) for c in chroms)}); its chromosomes: "
                    f"{held}. Score the panel's variants on the panel's genome "
                    "(crossreg sad --vcf with the panel's SNPs)"
                )

    def require_matches(self, bfile_chr: str) -> None:
        """Stop when a source matched no SNP of the panel `bfile_chr` on any chromosome."""
        for source, matched in self.matched.items():
            if matched == 0:
                raise ValueError(f"{source}: no annotated SNP matches the panel {bfile_chr}")


def chrom_annotations(
    panel: ChromPanel,
    background: AnnotationSet,
    marginal: AnnotationSet,
    counts: dict[str, dict[str, int]],
) -> ChromAnnotations:
    """Background then marginal annotations on the panel's chromosome, aligned to its SNPs
    (counted in `counts` and each set's ``matched``)."""
    tables, alignments, alphas = [], [], []
    for group in (background, marginal):
        pairs = group.aligned(panel)
        for (table, alignment), source in zip(pairs, group.sources, strict=True):
            group.matched[source] += alignment.counts["matched"]
            add_counts(counts, table.source, alignment.counts)
            tables.append(table)
            alignments.append(alignment)
            alphas.append(group.alpha(source))
    _check_disjoint(marginal.names or [], background.names or [])
    return ChromAnnotations(panel, tables, alignments, alphas)


def _check_disjoint(names: list[str], background_names: list[str]) -> None:
    """Stop when a marginal annotation has a background annotation's name (the reference
    requires disjoint sets); checked on the first chromosome, before any LD work."""
    overlap = sorted(set(names) & set(background_names))
    if overlap:
        raise ValueError(
            f"background and marginal annotation names overlap: {overlap}; rename the "
            "background column(s)"
        )
