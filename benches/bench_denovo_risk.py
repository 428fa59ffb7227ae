"""Time of ``crossreg denovo``'s out-of-fold risk scores (``crossreg.stats.denovo.
risk_scores``), three passes over the table for all folds, against the plain way, four
passes for each fold (the controls' means, their squared deviations, the groups' means of
the standardised scores, the projection), on the random float16-rounded SAD of
``bench_denovo.py`` at each `--shapes` (variants x tracks).

    python benches/bench_denovo_risk.py [--shapes 20000x5313 130000x684] [--folds 5]

For each shape it prints both times and their ratio, the largest difference of the two
ways' per-person scores relative to the largest score, and whether the scores written
to six significant figures (as ``individuals.tsv`` holds them) are the same.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import numpy.typing as npt
from bench_denovo import make_data

from crossreg.io.tables import six_figures
from crossreg.stats.denovo import risk_scores, standardise


def per_fold_scores(
    sad: npt.NDArray, individual: list[str], is_case: npt.NDArray[np.bool_], fold_of: npt.NDArray
) -> npt.NDArray[np.float64]:
    """The plain way: for each fold, the table standardised by the other folds' controls
    (two passes), the other folds' case and control means of it (one) and every row
    projected on their unit difference (one)."""
    names = sorted(set(individual))
    index = {name: i for i, name in enumerate(names)}
    owner = np.array([index[name] for name in individual])
    scores = np.zeros(len(names))
    for fold in range(int(fold_of.max()) + 1):
        train = fold_of[owner] != fold
        z = standardise(sad, train & ~is_case)
        case_mean, control_mean = z.means(train & is_case, train & ~is_case)
        direction = case_mean - control_mean
        norm = np.linalg.norm(direction)
        variant_score = z.project(direction / norm if norm > 0 else direction)
        np.add.at(scores, owner[~train], variant_score[~train])
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=["20000x5313", "130000x684"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--per-person", type=int, default=65)
    args = parser.parse_args()
    for shape in args.shapes:
        variants, tracks = (int(n) for n in shape.split("x"))
        data = make_data(variants, tracks, args.per_person)
        start = time.perf_counter()
        risk = risk_scores(data.values, data.individuals, data.is_case, folds=args.folds)
        now = time.perf_counter() - start
        start = time.perf_counter()
        plain = per_fold_scores(data.values, data.individuals, data.is_case, risk.folds)
        before = time.perf_counter() - start
        difference = np.abs(risk.scores - plain).max() / np.abs(plain).max()
        same = [six_figures(v) for v in risk.scores] == [six_figures(v) for v in plain]
        print(
            f"{variants:,} variants × {tracks:,} tracks ({data.values.nbytes / 1024**3:.2f} GiB), "
            f"{args.folds} folds: per fold {before:.1f} s, all folds at once {now:.1f} s "
            f"({before / now:.1f}×); largest difference {difference:.1e} of the largest "
            f"score, six-figure scores {'the same' if same else 'NOT the same'}"
        )


if __name__ == "__main__":
    main()
