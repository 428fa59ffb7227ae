"""One LD block of ``crossreg sldp`` at the 1000 Genomes EUR shape: the truncated LD spectra
(``refpanel.block_spectrum``) and the signed LD profiles Rv (``signed_ld_profiles``).

A synthetic block: `--samples` individuals (489, the EUR panel) × `--snps` SNPs, genotypes
from haplotypes copied along the block with a 5% switch per SNP (so neighbouring SNPs are
in LD, as in a real block), standardised as crossreg standardises them; a share
`--print-shares` of them are print (regression) SNPs (HapMap3 is about 12% of 1000G SNPs).

Rows for the spectra, best of `--repeats`:

* ``reference SVDs`` — the reference's ``preprocessrefpanel`` steps, which crossreg used
  before: a reduced SVD of X_oᵀ and a full SVD of the print × print R2;
* ``crossreg block_spectrum`` — what crossreg does now: both spectra from symmetric
  eigendecompositions no larger than samples × samples;
* R_oo alone, four ways: reduced SVD of X_o (float64 and float32), eigh of the print × print
  Gram X_oᵀX_o/N, eigh of the samples × samples X_oX_oᵀ/N.

Each is checked against the reference SVDs: relative error of the kept eigenvalues, and
of the projection the regression uses, W⁻¹α̂ = U diag(1/(σ²λ² + λ/N)) Uᵀα̂ (σ² = 3e-7,
N = 10⁵, random α̂); the bench stops if a float64 way differs by more than 1e-9, or
keeps a different number of components.

Rv rows: X_oᵀ(X v)/N for 1, 100 and 5,313 annotations (v: SNPs × annotations, float64),
and the other association order (X_oᵀX) v/N.

Usage: ``python benches/bench_sldp_spectra.py [--samples 489] [--snps 1000 3000 6000]
[--print-shares 0.12 0.5] [--annotations 1 100 5313] [--repeats 3] [--blas-threads 1]``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any


def best_of(repeats: int, run: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """Shortest wall time of `repeats` calls ``run(*args)``, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=489)
    parser.add_argument("--snps", type=int, nargs="+", default=[1000, 3000, 6000])
    parser.add_argument("--print-shares", type=float, nargs="+", default=[0.12, 0.5])
    parser.add_argument("--annotations", type=int, nargs="+", default=[1, 100, 5313])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--skip-reference", action="store_true", help="no reference SVD rows")
    parser.add_argument(
        "--table-rows",
        type=int,
        default=20_000,
        help="rows of the table v comes from",
    )
    args = parser.parse_args()
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.blas_threads)
    run(args)


def run(args: argparse.Namespace) -> None:
    import tempfile
    from pathlib import Path

    import numpy as np

    from crossreg.io.plink import pack_bed
    from crossreg.stats.sldp.annotations import signed_ld_profiles
    from crossreg.stats.sldp.plink import standardized_genotypes
    from crossreg.stats.sldp.reconcile import Alignment
    from crossreg.stats.sldp.refpanel import block_spectrum, truncation_rank

    rng = np.random.default_rng(0)
    n = args.samples
    sigma2g, n_gwas = 3e-7, 1e5

    def counts_of(snps: int) -> Any:
        switch = rng.random((2 * n, snps)) < 0.05
        switch[:, 0] = True
        source = np.maximum.accumulate(np.where(switch, np.arange(snps), 0), axis=1)
        fresh = rng.random((2 * n, snps)) < rng.uniform(0.02, 0.5, snps)
        haplotypes = np.take_along_axis(fresh, source, axis=1)
        return haplotypes[:n].astype(np.int64) + haplotypes[n:]

    def reference(x: Any, printed: Any) -> tuple[Any, Any]:
        x_o = x[:, printed]
        u, s, _ = np.linalg.svd(x_o.T, full_matrices=False)
        svs = s**2 / n
        k = truncation_rank(svs, 95.0)
        r2 = x_o.T.dot(x.dot(x.T)).dot(x_o) / n**2
        r2_u, r2_svs, _ = np.linalg.svd(r2)
        k2 = truncation_rank(r2_svs, 95.0)
        return (u[:, :k], svs[:k]), (r2_u[:, :k2], r2_svs[:k2])

    def kept(values: Any, vectors: Any) -> tuple[Any, Any]:
        k = truncation_rank(values, 95.0)
        return vectors[:, :k], values[:k]

    def svd_way(x_o: Any) -> tuple[Any, Any]:
        u, s, _ = np.linalg.svd(x_o.T, full_matrices=False)
        return kept((s.astype(np.float64) ** 2) / n, u.astype(np.float64))

    def eigh_print(x_o: Any) -> tuple[Any, Any]:
        values, vectors = np.linalg.eigh(x_o.T.dot(x_o) / n)
        return kept(np.maximum(values[::-1], 0), vectors[:, ::-1])

    def eigh_samples(x_o: Any) -> tuple[Any, Any]:
        values, vectors = np.linalg.eigh(x_o.dot(x_o.T) / n)
        vectors, values = kept(np.maximum(values[::-1], 0), vectors[:, ::-1])
        return x_o.T.dot(vectors) / np.sqrt(n * values), values

    def winv(u: Any, svs: Any, ahat: Any) -> Any:
        return (u / (sigma2g * svs**2 + svs / n_gwas)).dot(u.T.dot(ahat))

    def errors(ours: tuple[Any, Any], theirs: tuple[Any, Any], ahat: Any) -> tuple[float, float]:
        if ours[0].shape != theirs[0].shape:
            raise SystemExit(f"kept {ours[0].shape[1]} components, reference {theirs[0].shape[1]}")
        eig = float(np.max(np.abs(ours[1] - theirs[1]) / theirs[1]))
        want = winv(*theirs, ahat)
        proj = float(np.max(np.abs(winv(*ours, ahat) - want)) / np.max(np.abs(want)))
        return eig, proj

    def whole_table_v(table: Any, alignment: Alignment, rows: slice) -> Any:
        """v as crossreg took it before (``Alignment.apply`` then): the whole table
        converted to float64, then the rows taken, signed and blanked in new arrays."""
        row = alignment.row[rows]
        out = np.asarray(table, dtype=np.float64)[np.maximum(row, 0)]
        out = out * alignment.sign[rows][:, None]
        return np.where((row >= 0)[:, None], out, 0.0)

    def samples_first_rv(x: Any, printed: Any, v: Any) -> Any:
        """Rv as crossreg multiplied it before, whatever the shapes."""
        return x[:, printed].T.dot(x.dot(v)) / n

    folder = Path(tempfile.mkdtemp(prefix="bench_sldp_spectra"))
    blocks = {}
    print(f"{n} samples, BLAS threads {args.blas_threads}, best of {args.repeats}")
    print(
        "\n| block SNPs | print SNPs | kept R / R2 | step | seconds | speed-up | "
        "eigenvalue rel. error | W⁻¹α̂ rel. error |"
    )
    print("| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for snps in args.snps:
        bed = folder / f"{snps}.bed"
        bed.write_bytes(pack_bed(counts_of(snps)))
        read_t, x = best_of(args.repeats, standardized_genotypes, bed, n, snps, 0, snps)
        blocks[snps] = x
        print(f"| {snps} | — | — | read + standardise the genotypes | {read_t:.4f} | — | — | — |")
        for share in args.print_shares:
            printed = rng.random(snps) < share
            x_o = np.ascontiguousarray(x[:, printed])
            o = int(printed.sum())
            ahat = rng.normal(size=o) / np.sqrt(n_gwas)
            ours_t, ours = best_of(args.repeats, block_spectrum, x, printed, 95.0)
            ref_t, ref_r2 = float("nan"), None
            if args.skip_reference:
                ref_r = svd_way(x_o)
            else:
                ref_t, (ref_r, ref_r2) = best_of(args.repeats, reference, x, printed)
            shape = f"| {snps} | {o} | {ours.u.shape[1]} / {ours.r2_u.shape[1]} |"
            rows: list[tuple[str, float, Any, float]] = [
                ("R and R2: the reference's SVDs (crossreg before)", ref_t, None, ref_t),
                ("R and R2: crossreg `block_spectrum`", ours_t, (ours.u, ours.svs), ref_t),
            ]
            svd_t = float("nan")
            for name, way, data in [
                ("R only: reduced SVD of X_o, float64", svd_way, x_o),
                ("R only: reduced SVD of X_o, float32", svd_way, x_o.astype(np.float32)),
                ("R only: eigh of print × print X_oᵀX_o", eigh_print, x_o),
                ("R only: eigh of samples × samples X_oX_oᵀ", eigh_samples, x_o),
            ]:
                seconds, result = best_of(args.repeats, way, data)
                svd_t = seconds if name.endswith("float64") else svd_t
                rows.append((name, seconds, result, svd_t))
            for name, seconds, result, base in rows:
                eig = proj = "—"
                if result is not None:
                    if result[0].shape != ref_r[0].shape:
                        eig = proj = f"keeps {result[0].shape[1]} not {ref_r[0].shape[1]}"
                    else:
                        e, p = errors(result, ref_r, ahat)
                        if "float32" not in name and max(e, p) > 1e-9:
                            raise SystemExit(f"{name}: error {e:.2g} / {p:.2g} above 1e-9")
                        eig, proj = f"{e:.1e}", f"{p:.1e}"
                if name.endswith("`block_spectrum`") and ref_r2 is not None:
                    e2, _ = errors((ours.r2_u, ours.r2_svs), ref_r2, rng.normal(size=o))
                    eig += f" (R2 {e2:.1e})"
                ratio = f"{base / seconds:.1f}×" if np.isfinite(base) else "—"
                print(f"{shape} {name} | {seconds:.4f} | {ratio} | {eig} | {proj} |", flush=True)

    print(
        "\n| block SNPs | print SNPs | annotations | v MiB | v from a float32 table: whole "
        "table to float64 (before) s | block rows only s | Rv X_oᵀ(X v)/N (before) s | "
        "Rv crossreg now s | speed-up |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    table_rows = args.table_rows
    for snps in args.snps:
        x = blocks[snps]
        printed = rng.random(snps) < args.print_shares[0]
        for count in args.annotations:
            repeats = 1 if count > 1000 else args.repeats
            table = rng.random((max(table_rows, snps), count), dtype=np.float32)
            sign = np.where(rng.random(len(table)) < 0.5, -1.0, 1.0)
            alignment = Alignment(rng.permutation(len(table)), sign, {})
            block_rows = slice(0, snps)
            old_v_t, old_v = best_of(repeats, whole_table_v, table, alignment, block_rows)
            v_t, v = best_of(repeats, alignment.apply, table, 0.0, block_rows)
            np.testing.assert_array_equal(v, old_v)
            del table, old_v
            old_t, old = best_of(repeats, samples_first_rv, x, printed, v)
            now_t, now = best_of(repeats, signed_ld_profiles, x, printed, v)
            np.testing.assert_allclose(now, old, rtol=1e-8, atol=1e-10)
            print(
                f"| {snps} | {int(printed.sum())} | {count} | {v.nbytes / 2**20:.0f} | "
                f"{old_v_t:.4f} | {v_t:.4f} | {old_t:.4f} | {now_t:.4f} | "
                f"{(old_v_t + old_t) / (v_t + now_t):.1f}× |",
                flush=True,
            )


if __name__ == "__main__":
    main()
