"""Files and reports of a synteny split (:mod:`crossreg.split.synteny`).

:func:`write_split` writes one directory, whole: it is built in a hidden
``.NAME.partial`` beside it, locked meanwhile, and replaces the directory only when every
file is written (:func:`crossreg.io.atomic_dir.atomic_directory`); a directory holding an
earlier split is replaced without ``--overwrite`` (:func:`check_out`), its run log
carried over. The directory holds:

- ``<genome>.regions.bed``: chrom, start, end, split label — every region of the genome,
  by chromosome in the order of the genome's sizes, then start
  (:meth:`~crossreg.split.synteny.SplitResult.region_order`);
- ``components.tsv``: one row per region (component, split, genome, chrom, start, end),
  by component number, then genome order, chromosome order of the genome's sizes and
  start (:func:`component_order`);
- ``links.tsv``: every pair of regions with aligned bases between them, with their splits,
  the end listed first the one that comes first in that order, by that end and then the
  other (:func:`link_order`);
- ``split.json``: parameters, fractions per genome and split, component sizes, the
  leakage check, net summaries and warnings (:func:`summarize`);
- ``split.txt``: the same for reading (:func:`render_text`).
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from crossreg import __version__
from crossreg.errors import plural
from crossreg.io.atomic_dir import CONTENTS_FILE, atomic_directory
from crossreg.io.bed import write_bed
from crossreg.io.replaceable import check_not_current, check_only_ours, check_replaceable
from crossreg.runlog import RUNS_FILE
from crossreg.split.synteny import SplitResult

#: The file name ending of a genome's regions (``GENOME.regions.bed``).
REGIONS_SUFFIX = ".regions.bed"

#: The file that marks a folder as holding a split.
SPLIT_FILE = "split.json"

#: The files of a split besides its ``GENOME.regions.bed``.
SPLIT_FILES = ("components.tsv", "links.tsv", SPLIT_FILE, "split.txt")

# Bins of the regions-per-component histogram: (low, high) inclusive.
_REGION_BINS = ((1, 1), (2, 2), (3, 5), (6, 10), (11, 50), (51, 200), (201, None))


def _bin_name(low: int, high: int | None) -> str:
    if high is None:
        return f"{low}+"
    return str(low) if low == high else f"{low}-{high}"


def summarize(result: SplitResult) -> dict[str, Any]:
    """The JSON-ready report of a split."""
    component_bp = result.component_bases()
    totals = component_bp.sum(axis=0)
    n_regions = np.bincount(result.region_component, minlength=len(result.component_split))
    total_bp = component_bp.sum(axis=1)
    largest = int(np.argmax(total_bp))
    leakage = result.leakage()
    bases, fractions = result.bases(), result.fractions()
    histogram = []
    for low, high in _REGION_BINS:
        upper = n_regions.max() if high is None else high
        count = int(((n_regions >= low) & (n_regions <= upper)).sum())
        histogram.append({"regions": _bin_name(low, high), "components": count})
    quantiles = {
        f"p{q}": int(np.percentile(total_bp, q, method="lower")) for q in (50, 90, 99, 100)
    }
    return {
        "crossreg_version": __version__,
        "parameters": {
            "region_size": result.region_size,
            "min_aligned": result.min_aligned,
            "seed": result.seed,
            "folds": result.folds,
            "requested": result.requested,
        },
        "genomes": {
            name: {
                "total_bp": int(totals[g]),
                "regions": int((result.region_genome == g).sum()),
                "bp": bases[name],
                "fraction": fractions[name],
            }
            for g, name in enumerate(result.genomes)
        },
        "components": {
            "count": len(result.component_split),
            "single_region": int((n_regions == 1).sum()),
            "regions_per_component": histogram,
            "bp_per_component": quantiles,
            "largest": {
                "component": largest,
                "regions": int(n_regions[largest]),
                "split": result.labels[int(result.component_split[largest])],
                "bp": {
                    name: int(component_bp[largest, g]) for g, name in enumerate(result.genomes)
                },
                "share": {
                    name: float(component_bp[largest, g] / totals[g])
                    for g, name in enumerate(result.genomes)
                },
            },
        },
        "leakage": {
            "threshold_bp": leakage.threshold,
            "above_threshold_bp": leakage.above_bases,
            "above_threshold_pairs": leakage.above_pairs,
            "below_threshold_bp": leakage.below_bases,
            "below_threshold_pairs": leakage.below_pairs,
            "total_aligned_bp": leakage.total_aligned_bases,
            "ok": leakage.ok,
        },
        "nets": [
            {"target": net.target, "query": net.query, "path": str(net.path), **summary}
            for net, summary in zip(result.nets, result.net_summaries, strict=True)
        ],
        "warnings": result.warnings,
    }


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def render_text(report: dict[str, Any]) -> str:
    """A readable report of :func:`summarize`'s dict."""
    p = report["parameters"]
    labels = list(p["requested"])
    lines = [
        f"crossreg split (crossreg {report['crossreg_version']})",
        f"regions of {p['region_size']:,} bp; regions joined above {p['min_aligned']:,} "
        f"aligned bp; seed {p['seed']}",
        "",
        "Fraction of each genome per split (requested: "
        + ", ".join(f"{k} {_pct(v)}" for k, v in p["requested"].items())
        + ")",
    ]
    width = max(len("genome"), *(len(g) for g in report["genomes"]))
    lines.append(
        f"  {'genome':<{width}}  {'bp':>15}  {'regions':>8}  "
        + "  ".join(f"{k:>8}" for k in labels)
    )
    for name, g in report["genomes"].items():
        lines.append(
            f"  {name:<{width}}  {g['total_bp']:>15,}  {g['regions']:>8,}  "
            + "  ".join(f"{_pct(g['fraction'][k]):>8}" for k in labels)
        )
    c = report["components"]
    big = c["largest"]
    lines += [
        "",
        f"Components: {c['count']:,} ({c['single_region']:,} of a single region)",
        "  regions per component: "
        + " | ".join(f"{h['regions']}: {h['components']:,}" for h in c["regions_per_component"]),
        "  bp per component (all genomes): "
        + ", ".join(f"{k} {v:,}" for k, v in c["bp_per_component"].items()),
        f"  largest: component {big['component']}, {big['regions']:,} regions, in "
        f"{big['split']}; "
        + ", ".join(f"{_pct(share)} of {name}" for name, share in big["share"].items()),
    ]
    leak = report["leakage"]
    verdict = "OK" if leak["ok"] else "FAILED"
    share = leak["below_threshold_bp"] / leak["total_aligned_bp"] if leak["total_aligned_bp"] else 0
    lines += [
        "",
        "Leakage check (aligned bases between regions in different splits)",
        f"  above the threshold (> {leak['threshold_bp']:,} bp per region pair): "
        f"{leak['above_threshold_bp']:,} bp in {leak['above_threshold_pairs']:,} pairs "
        f"[{verdict}]",
        f"  at or below the threshold: {leak['below_threshold_bp']:,} bp in "
        f"{leak['below_threshold_pairs']:,} pairs ({_pct(share)} of all "
        f"{leak['total_aligned_bp']:,} aligned bp)",
        "",
        "Nets",
    ]
    for net in report["nets"]:
        skipped = ""
        if net["skipped_fills"]:
            names = net["skipped_chroms"]
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            skipped = (
                f"; skipped {plural(net['skipped_fills'], 'fill')} on "
                f"{plural(len(names), 'chromosome')} "
                f"outside the sizes ({shown})"
            )
        lines.append(
            f"  {net['target']} vs {net['query']} {net['path']}: "
            f"{plural(net['chroms'], 'chromosome')}, {plural(net['fills'], 'fill')}, "
            f"{plural(net['gaps'], 'gap')}, {net['aligned_bases']:,} aligned bp" + skipped
        )
    if report["warnings"]:
        lines += ["", "Warnings"] + [f"  {w}" for w in report["warnings"]]
    return "\n".join(lines) + "\n"


def check_out(out: str | os.PathLike[str], option: str = "--out") -> None:
    """`out` can take a split, written whole: absent, an empty folder, or a folder holding
    an earlier split (its ``split.json``) and nothing crossreg did not write there, which
    is replaced without ``--overwrite`` (a split is quick to recompute, and a rerun into
    the same folder is how one redoes it). What crossreg wrote is what its
    :data:`~crossreg.io.atomic_dir.CONTENTS_FILE` lists, or for a split written before that
    list, the files a split writes, a regions BED for each genome its ``split.json``
    lists. Anything else is refused, so that no file of the user's is removed."""
    out = Path(out)
    held = {p.name for p in out.iterdir()} if out.is_dir() else set()
    # a run log alone: the folder a caller logged this very run in before writing it
    if not held or (SPLIT_FILE not in held and not held <= {RUNS_FILE, CONTENTS_FILE}):
        check_replaceable(out, False, {SPLIT_FILE: "a split"}, option)
        return
    check_not_current(out, option)
    written_before_the_list = set(_recorded_regions(out)) | set(SPLIT_FILES)
    check_only_ours(out, "a split", option, unlisted=written_before_the_list, remover="a new split")


def _recorded_regions(out: Path) -> list[str]:
    """The ``GENOME.regions.bed`` files of the genomes the ``split.json`` in `out` lists:
    those of the split that wrote it (none where it does not read)."""
    try:
        report = json.loads((out / SPLIT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # unreadable, not JSON
        return []
    genomes = report.get("genomes") if isinstance(report, dict) else None
    return [f"{name}{REGIONS_SUFFIX}" for name in genomes] if isinstance(genomes, dict) else []


def write_split(result: SplitResult, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write every output file of `result` into the folder `out_dir`, whole: absent, empty
    or holding an earlier split, which it replaces (:func:`check_out`; its run log is kept);
    returns the files by role."""
    out_dir = Path(out_dir)
    check_out(out_dir)
    with atomic_directory(out_dir) as work:
        for name in result.genomes:
            write_bed(work / f"{name}{REGIONS_SUFFIX}", result.regions(name))
        _write_components(result, work / "components.tsv")
        _write_links(result, work / "links.tsv")
        report = summarize(result)
        with open(work / SPLIT_FILE, "w") as handle:
            json.dump(report, handle, indent=2)
            handle.write("\n")
        (work / "split.txt").write_text(render_text(report))
        # the history of the folder's runs stays with it (a run log that another run's
        # swap has just taken away is left out)
        with suppress(FileNotFoundError):
            shutil.copyfile(out_dir / RUNS_FILE, work / RUNS_FILE)
    paths = {f"{name}.regions": out_dir / f"{name}{REGIONS_SUFFIX}" for name in result.genomes}
    paths.update(
        components=out_dir / "components.tsv",
        links=out_dir / "links.tsv",
        json=out_dir / SPLIT_FILE,
        text=out_dir / "split.txt",
    )
    return paths


def _region_names(result: SplitResult) -> list[tuple[str, str, int, int]]:
    return [
        (
            result.genomes[g],
            result.chroms[result.genomes[g]][c],
            int(s),
            int(e),
        )
        for g, c, s, e in zip(
            result.region_genome,
            result.region_chrom,
            result.region_start,
            result.region_end,
            strict=True,
        )
    ]


def component_order(result: SplitResult) -> npt.NDArray[np.intp]:
    """The regions of `result` in the order ``components.tsv`` lists them: by component
    number, then within a component in :meth:`~SplitResult.region_order` (by genome in the
    order given, by chromosome in the order of the genome's sizes and by start), whatever
    order the native core gives them in."""
    order = result.region_order()
    return order[np.argsort(result.region_component[order], kind="stable")]


def link_order(
    result: SplitResult,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """The links of `result` in the order ``links.tsv`` lists them, with their two ends:
    ``(order, first, second)``, where the link ``order[k]`` joins the regions ``first[k]``
    and ``second[k]``, ``first`` the one that comes first in
    :meth:`~SplitResult.region_order`; the links run by their first end, then by their
    second, whatever order the native core gives them and their ends in."""
    rank = np.empty(len(result.region_start), dtype=np.intp)
    rank[result.region_order()] = np.arange(len(rank))
    a_first = rank[result.link_a] <= rank[result.link_b]
    first = np.where(a_first, result.link_a, result.link_b)
    second = np.where(a_first, result.link_b, result.link_a)
    order = np.lexsort((rank[second], rank[first]))
    return order, first[order], second[order]


def _write_components(result: SplitResult, path: Path) -> None:
    names = _region_names(result)
    order = component_order(result)
    with open(path, "w") as handle:
        handle.write("component\tsplit\tgenome\tchrom\tstart\tend\n")
        for i in order:
            component = int(result.region_component[i])
            label = result.labels[int(result.component_split[component])]
            genome, chrom, start, end = names[i]
            handle.write(f"{component}\t{label}\t{genome}\t{chrom}\t{start}\t{end}\n")


def _write_links(result: SplitResult, path: Path) -> None:
    names = _region_names(result)
    split = result.region_split
    order, first, second = link_order(result)
    with open(path, "w") as handle:
        handle.write(
            "genome_a\tchrom_a\tstart_a\tend_a\tgenome_b\tchrom_b\tstart_b\tend_b\t"
            "aligned_bp\tsplit_a\tsplit_b\n"
        )
        for a, b, bases in zip(first, second, result.link_bases[order], strict=True):
            fields = [*map(str, names[a]), *map(str, names[b]), str(int(bases))]
            fields += [result.labels[int(split[a])], result.labels[int(split[b])]]
            handle.write("\t".join(fields) + "\n")
