"""Time ``crossreg denovo``'s principal components (``crossreg.stats.denovo``:
``standardise``, the controls' means and sds, then ``principal_components``, which
standardises blocks of rows as it reads them) on random float16 SAD of `--variants` de
novo variants × `--tracks` tracks, half of them controls.

    python benches/bench_denovo_pca.py [--variants 10000] [--tracks 5313] [--components 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from crossreg.stats.denovo import principal_components, standardise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=10_000)
    parser.add_argument("--tracks", type=int, default=5313)
    parser.add_argument("--components", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    shape = (args.variants, args.tracks)
    sad = (rng.standard_normal(shape, dtype=np.float32) * 0.01).astype(np.float16)
    controls = rng.random(args.variants) < 0.5
    start = time.perf_counter()
    z = standardise(sad, controls)
    middle = time.perf_counter()
    principal_components(z, args.components)
    end = time.perf_counter()
    print(
        f"{args.variants:,} variants × {args.tracks:,} tracks: standardise "
        f"{middle - start:.1f} s, principal components {end - middle:.1f} s"
    )


if __name__ == "__main__":
    main()
