"""``crossreg denovo``'s tests as tables: per track, per principal component and per
person, with the run's summary."""

from __future__ import annotations

import numpy as np
import polars as pl

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
from crossreg.stats.denovo_inputs import DenovoData

TOP_LOADINGS = 3

SHOWN_COMPONENTS = 3  # components whose per-variant scores are written (and drawn)


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
