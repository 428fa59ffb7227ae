"""Files and reports of a synteny split (:mod:`crossreg.split.synteny`).

:func:`write_split` writes into one directory, each file atomically:

- ``<genome>.regions.bed``: chrom, start, end, split label — every region of the genome;
- ``components.tsv``: one row per region, grouped by component (component, split,
  genome, chrom, start, end);
- ``links.tsv``: every pair of regions with aligned bases between them, with their splits;
- ``split.json``: parameters, fractions per genome and split, component sizes, the
  leakage check, net summaries and warnings (:func:`summarize`);
- ``split.txt``: the same for reading (:func:`render_text`).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from crossreg import __version__
from crossreg.io.atomic import atomic_write
from crossreg.io.bed import write_bed
from crossreg.split.synteny import SplitResult

# Bins of the regions-per-component histogram: (low, high) inclusive.
log = logging.getLogger("crossreg")

#: The file name ending of a genome's regions (``GENOME.regions.bed``).
REGIONS_SUFFIX = ".regions.bed"
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
                f"; skipped {net['skipped_fills']:,} fills on {len(names)} chromosomes "
                f"outside the sizes ({shown})"
            )
        lines.append(
            f"  {net['target']} vs {net['query']} {net['path']}: {net['chroms']:,} chromosomes, "
            f"{net['fills']:,} fills, {net['gaps']:,} gaps, {net['aligned_bases']:,} aligned bp"
            + skipped
        )
    if report["warnings"]:
        lines += ["", "Warnings"] + [f"  {w}" for w in report["warnings"]]
    return "\n".join(lines) + "\n"


def write_split(result: SplitResult, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write every output file of `result` into `out_dir`; returns them by role."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_other_regions(out_dir, result.genomes)
    paths: dict[str, Path] = {}
    for name in result.genomes:
        path = out_dir / f"{name}{REGIONS_SUFFIX}"
        write_bed(path, result.regions(name))
        paths[f"{name}.regions"] = path
    paths["components"] = out_dir / "components.tsv"
    _write_components(result, paths["components"])
    paths["links"] = out_dir / "links.tsv"
    _write_links(result, paths["links"])
    report = summarize(result)
    paths["json"] = out_dir / "split.json"
    with atomic_write(paths["json"]) as handle:
        json.dump(report, handle, indent=2)
        handle.write("\n")
    paths["text"] = out_dir / "split.txt"
    with atomic_write(paths["text"]) as handle:
        handle.write(render_text(report))
    return paths


def _remove_other_regions(out_dir: Path, genomes: list[str]) -> None:
    """Remove an earlier split's ``GENOME.regions.bed`` of a genome this split lacks, which
    ``crossreg data --regions`` could otherwise take for this split's (only in a folder
    that holds a split)."""
    if not (out_dir / "split.json").exists():
        return
    for path in out_dir.glob(f"*{REGIONS_SUFFIX}"):
        if path.name.removesuffix(REGIONS_SUFFIX) not in genomes:
            log.info("removing %s of an earlier split", path)
            path.unlink()


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


def _write_components(result: SplitResult, path: Path) -> None:
    names = _region_names(result)
    order = np.argsort(result.region_component, kind="stable")
    with atomic_write(path) as handle:
        handle.write("component\tsplit\tgenome\tchrom\tstart\tend\n")
        for i in order:
            component = int(result.region_component[i])
            label = result.labels[int(result.component_split[component])]
            genome, chrom, start, end = names[i]
            handle.write(f"{component}\t{label}\t{genome}\t{chrom}\t{start}\t{end}\n")


def _write_links(result: SplitResult, path: Path) -> None:
    names = _region_names(result)
    split = result.region_split
    with atomic_write(path) as handle:
        handle.write(
            "genome_a\tchrom_a\tstart_a\tend_a\tgenome_b\tchrom_b\tstart_b\tend_b\t"
            "aligned_bp\tsplit_a\tsplit_b\n"
        )
        for a, b, bases in zip(result.link_a, result.link_b, result.link_bases, strict=True):
            fields = [*map(str, names[a]), *map(str, names[b]), str(int(bases))]
            fields += [result.labels[int(split[a])], result.labels[int(split[b])]]
            handle.write("\t".join(fields) + "\n")
