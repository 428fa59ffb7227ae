"""A run's outputs: results.tsv (the regression of each phenotype on each marginal
annotation), the chunk tables of its low-p rows, the figures and summary.json."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from crossreg.io.atomic import atomic_write
from crossreg.io.finished import finished_run, recorded_settings
from crossreg.plots import check_plot_options, figure_intact, remove_stale_figures
from crossreg.progress import progress
from crossreg.stats.sldp.block_loop import BlockScan
from crossreg.stats.sldp.checkpoint import Checkpoint, checkpoint_dir, differences
from crossreg.stats.sldp.chrom_part import PhenoBlocks
from crossreg.stats.sldp.figures import FIGURE_STEMS, write_figures
from crossreg.stats.sldp.heritability import Heritability
from crossreg.stats.sldp.panel import LdBlocks
from crossreg.stats.sldp.phenotype import Phenotype
from crossreg.stats.sldp.regression import BlockStats, chunk_bounds, regress

RESULT_COLUMNS = [
    "pheno", "annot", "z", "p", "z_fast", "p_fast", "mu", "se_mu", "h2g", "r_f", "h2v_h2g",
    "h2v", "supp_frac",
]  # fmt: skip
RESULT_SCHEMA = {c: pl.String if c in ("pheno", "annot") else pl.Float64 for c in RESULT_COLUMNS}
RESULTS_FILE = "results.tsv"
SUMMARY_FILE = "summary.json"  # written last: a run is finished once it is there
RUN_KEY = "run"  # summary.json's record of what decided the numbers, for --resume
CHUNKS = "chunks"  # the folder of the chunk tables
log = logging.getLogger("crossreg")


def output_names() -> list[str]:
    """Every entry a run writes into its folder: ``results.tsv``, the folder of chunk
    tables, ``summary.json`` and each figure as ``.png`` and ``.svg``."""
    figures = [f"{stem}{suffix}" for stem in FIGURE_STEMS for suffix in (".png", ".svg")]
    return [RESULTS_FILE, CHUNKS, SUMMARY_FILE, *figures]


@dataclass(frozen=True)
class SldpRun:
    """What a run wrote: the results table, phenotypes × annotations, chunk tables."""

    results: Path
    phenotypes: int
    annotations: int
    chunk_tables: int


def run_record(
    pass_settings: Mapping[str, object],
    *,
    seed: int,
    flips: int,
    jk_blocks: int,
    verbose_thresh: float,
) -> dict[str, object]:
    """What decides a run's outputs, which ``summary.json`` records (``run``) for a
    ``--resume`` of the finished run: the block pass's `pass_settings` (the checkpoint's
    fingerprint: options, how many files each input option gave, and the input files by
    content) with the options that act after it."""
    options = pass_settings.get("options")
    assert isinstance(options, dict)
    after = {"seed": seed, "flips": flips, "jk_blocks": jk_blocks, "verbose_thresh": verbose_thresh}
    return {**pass_settings, "options": {**options, **after}}


def finished_outputs(
    out: Path, record: Mapping[str, object], *, plots: bool, svg: bool
) -> SldpRun | None:
    """What `out` holds when it is this run's, finished: no checkpoint (removed last) and
    a ``summary.json`` (written after results.tsv, the chunk tables and figures) that
    records the same `record` (:func:`run_record`), with results.tsv and the chunk tables
    of its rows; None when there is none or it is to be computed again (an earlier
    crossreg's, one whose summary cannot be read, one without some of those files:
    logged). The figures `plots` asks for that it lacks or holds not whole
    (:func:`~crossreg.plots.figure_intact`) are drawn from results.tsv
    (:func:`redraw_figures`). Other settings are a ValueError naming each
    (:func:`~crossreg.io.finished.finished_run`)."""
    check_plot_options(plots, svg)
    summary = out / SUMMARY_FILE
    if checkpoint_dir(out).exists() or not summary.is_file():
        return None
    now = json.loads(json.dumps(record))
    options = now["options"]
    assert isinstance(options, dict)
    missing = _missing_tables(out, float(options["verbose_thresh"]))
    drawn = [f"{stem}.{kind}" for stem in FIGURE_STEMS for kind in ("png", "svg")[: 1 + svg]]
    lost = [name for name in drawn if plots and not figure_intact(out / name)]
    recorded = recorded_settings(summary, RUN_KEY)
    if not finished_run(out, recorded, now, differences, missing, redrawn=lost):
        return None
    if lost:
        redraw_figures(out, flips=int(options["flips"]), svg=svg)
    summary_of = json.loads(summary.read_text())
    phenos, names = summary_of["phenotypes"], summary_of["annotations"]
    return SldpRun(out / RESULTS_FILE, len(phenos), len(names), int(summary_of["chunk_tables"]))


def _missing_tables(out: Path, verbose_thresh: float, named: int = 3) -> list[str]:
    """The tables the finished run in `out` wrote that are not there (deleted by hand):
    results.tsv (or a readable one), or the chunk tables of its rows with p below
    `verbose_thresh`, the first `named` by name and the rest counted."""
    if not (out / RESULTS_FILE).is_file():
        return [RESULTS_FILE]
    try:
        results = read_results(out / RESULTS_FILE)
    except (OSError, pl.exceptions.PolarsError) as err:
        return [f"a readable {RESULTS_FILE} ({str(err).splitlines()[0] if str(err) else err!r})"]
    rows = results.filter(pl.col("p") < verbose_thresh).select("pheno", "annot").rows()
    tables = [Path(CHUNKS) / chunk_table_path(pheno, annot) for pheno, annot in rows]
    lost = [table.as_posix() for table in tables if not (out / table).is_file()]
    if len(lost) > named:
        return [*lost[:named], f"and {len(lost) - named} other chunk tables"]
    return lost


def read_results(path: Path) -> pl.DataFrame:
    """A ``results.tsv`` as :func:`write_outputs` writes it (:data:`RESULT_SCHEMA`; ``nan``
    read as NaN): the same numbers, to the bit."""
    return pl.read_csv(path, separator="\t", schema=RESULT_SCHEMA)


def redraw_figures(out: Path, *, flips: int, svg: bool) -> list[Path]:
    """Draw the figures of the finished run in `out` from its results.tsv, as
    :func:`write_outputs` draws them (an earlier drawing's that these replace removed),
    and list them in its summary.json; returns the files written."""
    figures = write_figures(read_results(out / RESULTS_FILE), out, flips=flips, svg=svg)
    remove_stale_figures(out, FIGURE_STEMS, figures)
    summary = json.loads((out / SUMMARY_FILE).read_text())
    summary["figures"] = [f.name for f in figures]
    _write_summary(out, summary)
    return figures


def _write_summary(out: Path, summary: Mapping[str, object]) -> None:
    """Write ``summary.json`` in `out`, whole or not at all."""
    with atomic_write(out / SUMMARY_FILE) as handle:
        json.dump(summary, handle, indent=2)


def chunk_table_path(pheno: str, annotation: str) -> Path:
    """Where a phenotype × annotation's table goes in ``chunks/``: ``{pheno}/{annotation}.tsv``,
    a folder per phenotype, so that no two pairs share a file (each part written as one
    name by `escape_file_name`)."""
    return Path(escape_file_name(pheno), f"{escape_file_name(annotation)}.tsv")


def escape_file_name(name: str) -> str:
    """`name` as one plain file name: ``%``, ``/`` and ``\\`` written ``%25``, ``%2F`` and
    ``%5C``, and a leading ``.`` written ``%2E`` (so ``.`` and ``..`` name no other folder)."""
    escaped = name.replace("%", "%25").replace("/", "%2F").replace("\\", "%5C")
    return "%2E" + escaped[1:] if escaped.startswith(".") else escaped


def _chunks(
    target: PhenoBlocks, blocks: LdBlocks, jk_blocks: int
) -> tuple[list[list[int]], list[dict[str, object]]]:
    """The LD blocks with statistics of each chunk, and the reference's chunk description
    rows."""
    order = np.nonzero(~blocks.mhc)[0]
    chunks, rows = [], []
    for begin, end in chunk_bounds(target.m_h[order], jk_blocks):
        ids = [int(i) for i in order[begin:end] if target.with_stats[i]]
        if not ids:
            continue
        chunks.append(ids)
        first, last = min(ids), max(ids)
        rows.append(
            {
                "ldblock_begin": first,
                "ldblock_end": last + 1,
                "chr_begin": str(blocks.chrom[first]),
                "chr_end": str(blocks.chrom[last]),
                "bp_begin": int(blocks.start[first]),
                "bp_end": int(blocks.end[last]),
                "snpind_begin": int(target.snpind[first, 0]),
                "snpind_end": int(target.snpind[last, 1]),
                "numsnps": float(target.m_h[ids].sum()),
            }
        )
    return chunks, rows


def _chunk_sums(stats: dict[int, BlockStats], chunks: list[list[int]]) -> list[BlockStats]:
    """Each chunk's sum of its blocks' `stats`, in block order."""
    sums = []
    for ids in chunks:
        total = stats[ids[0]]
        for i in ids[1:]:
            total = total + stats[i]
        sums.append(total)
    return sums


def _replace_chunk_tables(folder: Path, tables: dict[Path, pl.DataFrame]) -> None:
    """Write `tables` (paths inside `folder`), first removing the tables an earlier run left
    in `folder` that this run does not write, and the phenotype folders left empty."""
    for path in sorted(folder.rglob("*.tsv")):
        if path.is_file() and path not in tables:
            path.unlink()
    for sub in sorted(folder.iterdir()) if folder.is_dir() else []:
        if sub.is_dir() and not any(sub.iterdir()):
            sub.rmdir()
    for path, table in tables.items():
        with atomic_write(path) as handle:
            table.write_csv(handle, separator="\t")


def write_outputs(
    out: Path,
    phenos: Sequence[Phenotype],
    heritability: Mapping[str, Heritability],
    scan: BlockScan,
    blocks: LdBlocks,
    names: list[str],
    *,
    background_names: list[str],
    flips: int,
    seed: int,
    jk_blocks: int,
    verbose_thresh: float,
    plots: bool,
    svg: bool,
    settings: dict[str, object],
    record: dict[str, object],
    checkpoint: Checkpoint,
) -> SldpRun:
    """Regress each phenotype's chunk sums (`jk_blocks` chunks of `scan`'s blocks, their
    statistics read from the `checkpoint` one phenotype at a time) on the marginal
    annotations `names` and write results.tsv, the chunk tables of the rows with p below
    `verbose_thresh`, the figures (with `plots`; an SVG beside each with `svg`) and
    summary.json (with `settings`, and `record`, what a ``--resume`` of the finished run
    compares: :func:`finished_outputs`), last. Each phenotype's finished regression (its sign flips)
    is kept in the `checkpoint`, and taken from it when a resumed run has the same `seed`,
    `flips` and `jk_blocks`."""
    check_plot_options(plots, svg)
    per_pheno, info = scan.per_pheno, scan.info
    rows: list[dict[str, object]] = []
    chunk_tables: dict[Path, pl.DataFrame] = {}
    chunk_counts = {}
    sqnorm, supp, m = (np.asarray(info[k], dtype=np.float64) for k in ("sqnorm", "supp", "M"))
    with progress(len(phenos) * len(names), "SLDP sign flips", "annotations") as meter:
        after: dict[str, object] = {"seed": seed, "flips": flips, "jk_blocks": jk_blocks}
        for index, stats in enumerate(phenos):
            h = heritability[stats.name]
            chunks, chunk_rows = _chunks(per_pheno[stats.name], blocks, jk_blocks)
            if len(chunks) < 2:
                raise ValueError(
                    f"{stats.source}: {len(chunks)} chunk(s) with typed SNPs; need ≥ 2"
                )
            chunk_counts[stats.name] = len(chunks)
            log.info(
                "%s: regression over %d chunks, %d annotations", stats.name, len(chunks), len(names)
            )
            meter.set_postfix(pheno=stats.name)
            res = checkpoint.load_results(index, after)
            if res is None:
                sums = _chunk_sums(checkpoint.pheno_stats(index), chunks)
                res = regress(sums, background_names, flips, seed, meter)
                del sums  # one phenotype's chunk sums held at a time
                checkpoint.save_results(index, after, res)
            else:
                meter.skip(len(names))
            rf = res.mu * np.sqrt(sqnorm / h.h2g)
            h2v_h2g = rf**2 - res.se**2 * sqnorm / (m * h.sigma2g)
            for k, name in enumerate(names):
                rows.append(
                    {
                        "pheno": stats.name,
                        "annot": name,
                        "z": res.z[k],
                        "p": res.p[k],
                        "z_fast": res.z_fast[k],
                        "p_fast": res.p_fast[k],
                        "mu": res.mu[k],
                        "se_mu": res.se[k],
                        "h2g": h.h2g,
                        "r_f": rf[k],
                        "h2v_h2g": h2v_h2g[k],
                        "h2v": h2v_h2g[k] * h.h2g,
                        "supp_frac": supp[k] / m[k],
                    }
                )
                if res.p[k] < verbose_thresh:
                    table = pl.DataFrame(chunk_rows).with_columns(
                        q=pl.Series(res.q[:, k]), r=pl.Series(res.r[:, k])
                    )
                    chunk_tables[out / CHUNKS / chunk_table_path(stats.name, name)] = table
    _replace_chunk_tables(out / CHUNKS, chunk_tables)
    results = pl.DataFrame(rows, schema=RESULT_SCHEMA)
    with atomic_write(out / RESULTS_FILE) as handle:
        results.write_csv(handle, separator="\t", null_value="nan")
    figures = write_figures(results, out, flips=flips, svg=svg) if plots else []
    remove_stale_figures(out, FIGURE_STEMS, figures)
    summary = {
        "settings": settings,
        "phenotypes": {
            s.name: {
                "source": s.source,
                "h2g": heritability[s.name].h2g,
                "sigma2g": heritability[s.name].sigma2g,
                "Nbar": heritability[s.name].nbar,
                "mean_chi2": heritability[s.name].mean_chi2,
                "chunks": chunk_counts[s.name],
                "blocks": per_pheno[s.name].counted,
                "blocks_w_not_positive": per_pheno[s.name].indefinite,
            }
            for s in phenos
        },
        "annotations": names,
        "reconciliation": scan.counts,
        "ld_blocks": scan.ranks,
        "chunk_tables": len(chunk_tables),
        "figures": [f.name for f in figures],
        RUN_KEY: record,
    }
    _write_summary(out, summary)
    return SldpRun(out / RESULTS_FILE, len(phenos), len(names), len(chunk_tables))
