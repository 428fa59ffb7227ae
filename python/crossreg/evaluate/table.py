"""Per-track accuracy tables (``metrics.tsv``) and their per-assay summaries."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from crossreg.io.assays import assay_of
from crossreg.io.atomic import atomic_write
from crossreg.io.tables import as_float

METRIC_COLUMNS = ("identifier", "description", "pearson_r", "r2")
# written when evaluate computes them (--specificity, --rank, --peaks), in this order
OPTIONAL_COLUMNS = ("specificity_r", "spearman_r", "peaks", "auroc", "auprc")
MEANS = ("specificity_r", "spearman_r", "auroc", "auprc")  # averaged per assay and overall
METRICS_NAME = "metrics.tsv"  # the table crossreg evaluate writes in its --out

log = logging.getLogger("crossreg")


def metrics_table(
    identifiers: Sequence[str],
    descriptions: Sequence[str],
    pearson_r: np.ndarray,
    r2: np.ndarray,
) -> pl.DataFrame:
    """One row per track: identifier, description, pearson_r, r2."""
    if not len(identifiers) == len(descriptions) == len(pearson_r) == len(r2):
        raise ValueError(
            f"{len(identifiers)} identifiers, {len(descriptions)} descriptions, "
            f"{len(pearson_r)} Pearson R and {len(r2)} R² values: one each per track"
        )
    return pl.DataFrame(
        {
            "identifier": list(identifiers),
            "description": list(descriptions),
            "pearson_r": np.asarray(pearson_r, dtype=np.float64),
            "r2": np.asarray(r2, dtype=np.float64),
        }
    )


def write_metrics(path: str | os.PathLike[str], table: pl.DataFrame) -> None:
    """Write a metrics table as tab-separated text, atomically: :data:`METRIC_COLUMNS`,
    then those of :data:`OPTIONAL_COLUMNS` it has."""
    chosen = [*METRIC_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in table.columns)]
    with atomic_write(path) as handle:
        handle.write(table.select(chosen).write_csv(separator="\t"))


def metrics_file(path: Path) -> Path:
    """`path`, or for a folder (``crossreg evaluate``'s output) the ``metrics.tsv`` in it."""
    if not path.is_dir():
        return path
    if not (path / METRICS_NAME).is_file():
        raise ValueError(
            f"{path}: is a folder without a {METRICS_NAME}; give crossreg evaluate's {METRICS_NAME}"
        )
    log.info("%s is a folder: reading its %s", path, METRICS_NAME)
    return path / METRICS_NAME


def read_metrics(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Read a ``metrics.tsv`` written by :func:`write_metrics` (or by hand, same columns),
    or the one in folder `path`; an empty table, one without tracks, with a value that is
    not a number or with an identifier given twice, or a file that is not a table at all,
    is refused. Identifiers are read as text."""
    path = metrics_file(Path(path))
    try:
        table = pl.read_csv(
            os.fspath(path),
            separator="\t",
            quote_char=None,
            # identifiers are names: "001" stays "001", and numbers pair with text
            schema_overrides={"identifier": pl.Utf8, "description": pl.Utf8},
        )
    except pl.exceptions.NoDataError:
        raise ValueError(
            f"{path}: empty file; a metrics table (crossreg evaluate) has the columns "
            f"{' '.join(METRIC_COLUMNS)} and one row per track"
        ) from None
    except pl.exceptions.PolarsError as err:  # binary, or text of another layout
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(
            f"{path}: not a tab-separated metrics table ({reason}); give crossreg "
            f"evaluate's {METRICS_NAME}"
        ) from None
    missing = [c for c in METRIC_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(missing)}; a metrics table has columns "
            f"{' '.join(METRIC_COLUMNS)}"
        )
    if table.height == 0:
        raise ValueError(f"{path}: no tracks (a header without rows)")
    numbers = ["pearson_r", "r2", *(c for c in OPTIONAL_COLUMNS if c in table.columns)]
    try:
        table = table.with_columns(pl.col(c).cast(pl.Float64) for c in numbers)
    except pl.exceptions.InvalidOperationError:
        raise ValueError(f"{path}: a {', '.join(numbers)} value is not a number") from None
    # R is a number for every track (0 where a track is constant); R² may be NaN there
    bad = table.filter(~pl.col("pearson_r").is_finite() | pl.col("pearson_r").is_null())
    if bad.height:
        raise ValueError(
            f"{path}: track {bad['identifier'][0]} has pearson_r {bad['pearson_r'][0]}, not a "
            "finite number; write the table again with crossreg evaluate"
        )
    repeated = table.filter(pl.col("identifier").is_duplicated())["identifier"]
    if repeated.len():
        raise ValueError(
            f"{path}: track {repeated[0]} is listed more than once; a metrics table has one "
            "row per track identifier"
        )
    return table


def assay_summary(table: pl.DataFrame) -> pl.DataFrame:
    """Mean Pearson R and R² per assay, with track counts, sorted by assay. A track
    constant over the split has no R² (NaN); the R² means leave it out (null when no track
    of the assay has one). Of :data:`MEANS`, those the table has are averaged too (a
    specificity R of NaN, a track of a class left out, is left out)."""
    extra = [pl.col(c).fill_nan(None).mean().alias(c) for c in MEANS if c in table.columns]
    return (
        table.with_columns(
            pl.col("description").map_elements(assay_of, return_dtype=pl.Utf8).alias("assay")
        )
        .group_by("assay")
        .agg(
            pl.len().alias("tracks"),
            pl.col("pearson_r").mean().alias("pearson_r"),
            pl.col("r2").fill_nan(None).mean().alias("r2"),
            *extra,
        )
        .sort("assay")
    )


def mean_r2(table: pl.DataFrame) -> float | None:
    """The mean R² over the tracks that have one (None when none has)."""
    value = table["r2"].fill_nan(None).mean()
    return None if value is None else as_float(value)


def column_means(table: pl.DataFrame) -> dict[str, float | None]:
    """``mean_<column>`` over the tracks for each of :data:`MEANS` the table has (NaN left
    out; None when no track has a value)."""
    means: dict[str, float | None] = {}
    for column in MEANS:
        if column in table.columns:
            value = table[column].fill_nan(None).mean()
            means[f"mean_{column}"] = None if value is None else as_float(value)
    return means
