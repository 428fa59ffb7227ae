"""How well SAD scores recover variant effects known in advance (the synthetic worlds').

Truth is a table with one row per (variant, track): ``variant_id``, ``description`` (the
assay and cell type, shared across species) and ``sign`` (+1, −1, 0 for no effect). Scores
are ``crossreg sad`` TSV output. Tracks are matched by description, so a head of another
species scores a genome's variants against that genome's truth wherever the two measured
the same assay in the same cell type.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import polars as pl
from scipy import stats

from crossreg.io.tables import as_float


def sad_long(sad_tsv: str | os.PathLike[str], descriptions: Mapping[str, str]) -> pl.DataFrame:
    """``crossreg sad`` TSV as rows ``variant_id``, ``description``, ``sad`` (one per track)."""
    wide = pl.read_csv(os.fspath(sad_tsv), separator="\t")
    tracks = [c for c in wide.columns[5:] if c in descriptions]
    return (
        wide.select(pl.col("snp").alias("variant_id"), *tracks)
        .unpivot(index="variant_id", variable_name="identifier", value_name="sad")
        .with_columns(pl.col("identifier").replace_strict(dict(descriptions)).alias("description"))
        .drop("identifier")
    )


def read_effects(path: str | os.PathLike[str]) -> pl.DataFrame:
    """A synthetic world's ``variant_effects.tsv`` (one row per variant × track: the
    planted ``expected_change`` and its ``sign``), with its number columns typed whatever
    its first rows hold (``0`` where a track is unaffected)."""
    return pl.read_csv(
        os.fspath(path),
        separator="\t",
        schema_overrides={"expected_change": pl.Float64, "sign": pl.Int64},
    )


def effect_recovery(scores: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float | int]:
    """Agreement of SAD with the expected effects over the (variant, track) pairs both hold.

    ``sign_agreement``: share of pairs with an expected effect whose SAD has its sign, with a
    one-sided binomial test against chance (``sign_p``); ``effect_vs_neutral``: mean |SAD|
    of pairs with an effect over that of pairs without one.
    """
    joined = scores.join(
        truth.select("variant_id", "description", "sign"), on=["variant_id", "description"]
    )
    effect = joined.filter(pl.col("sign") != 0)
    neutral = joined.filter(pl.col("sign") == 0)
    agree = int((effect["sad"].sign() == effect["sign"]).sum())
    pairs = effect.height
    sign_p = stats.binomtest(agree, pairs, 0.5, alternative="greater").pvalue if pairs else 1.0
    neutral_mean = as_float(neutral["sad"].abs().mean()) if neutral.height else math.nan
    effect_mean = as_float(effect["sad"].abs().mean()) if pairs else math.nan
    return {
        "pairs_with_effect": pairs,
        "sign_agreement": round(agree / pairs, 4) if pairs else math.nan,
        "sign_p": float(f"{sign_p:.3g}"),
        "effect_vs_neutral": round(effect_mean / neutral_mean, 3) if neutral_mean else math.nan,
    }
