"""SLDP (``crossreg sldp``) beside the reference ``sldp`` 1.1.5 package, and at the real
workload's shape.

1. **Side by side** on one world from ``tests/sldp_world.py`` (reference formats; default 2
   chromosomes × ~4,700 SNPs, 500 individuals, 3 annotations + 2 background, 2 phenotypes).
   Each program runs in its own process; seconds are wall-clock and peak memory is that
   process's maximum resident set size (``wait4`` rusage of a process forked from a small
   launcher, so the bench's own memory is not carried into it). Rows:

   - *preprocessing*: reference ``preprocessrefpanel`` + ``preprocessannot`` +
     ``preprocesspheno`` (once per phenotype; seconds summed, peak = the largest).
     crossreg has no separate preprocessing entry point: ``write_sldp`` is run twice, first
     with an empty ``--ld-cache`` (cold: computes and caches the LD spectra), then with the
     filled cache (warm). Its preprocessing figure is the cold run's time in the stages that
     do the reference's preprocessing (LD spectra, panel/annotation/sumstats reading and
     allele alignment, signed LD profiles, h²_g, per-block weights and statistics), from
     timers wrapped around those functions (exclusive times, see ``STAGES``).
   - *regression*: reference ``sldp -bothp`` once per phenotype (it reads the preprocessed
     files); crossreg's warm run in full (it re-reads the inputs and recomputes the signed LD
     profiles and weights, which it does not cache; only the spectra come from the cache).
   - *end to end*: every reference command vs crossreg's cold run.

   Both use ``--weights Winv_ahat_h``, the background annotations, ``--seed 0``, the default
   10⁶ sign flips and 300 jackknife chunks. The z_fast of every phenotype × annotation must
   agree within 1e-6 (relative), else the bench stops.

2. **Scaling** (crossreg only): a panel of 10⁵ SNPs × 500 individuals × 100 annotations ×
   3 phenotypes (2 chromosomes, LD blocks of 150-450 SNPs, 60% print SNPs), and a smaller
   2×10⁴-SNP point. ``tests/sldp_world.py`` is too slow here (per-SNP Python loops and a
   dense SNPs × SNPs LD matrix per chromosome), so ``fast_world`` below generates these
   inputs with vectorised numpy. Time per stage and peak memory of a cold and a warm run.

Usage: ``python benches/bench_sldp.py [--reference-python PATH] [--skip-compare]
[--skip-scale] [--scale-snps 100000 20000] [--flips N]``. Without the reference (default
``.sldp-ref/venv/bin/python``, or ``$SCRATCH/venv/bin/python``) the reference columns are
skipped; build it with ``bash tests/data/sldp/make_reference.sh``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the venv make_reference.sh builds ($SCRATCH, default .sldp-ref/ at the repository root)
DEFAULT_REFERENCE = Path(os.environ.get("SCRATCH", ROOT / ".sldp-ref")) / "venv" / "bin" / "python"

# (stage, module, attribute) wrapped with exclusive timers in the measured crossreg process;
# "other" is the run's wall time outside all of them (logging, output tables, figures...)
STAGES = [
    ("inputs: print SNPs, blocks, LD scores", "run", "read_print_snps"),
    ("inputs: print SNPs, blocks, LD scores", "run", "read_ld_blocks"),
    ("inputs: print SNPs, blocks, LD scores", "run", "read_ldscores"),
    ("sumstats: read", "run", "read_phenotypes"),
    ("sumstats: h2g", "inputs", "estimate_h2g"),
    ("panel: bim/frq", "block_loop", "load_chrom_panel"),
    ("LD spectra (SVD or cache)", "block_loop", "block_spectrum"),
    ("LD spectra (SVD or cache)", "block_loop", "read_cached_spectra"),
    ("LD spectra (SVD or cache)", "block_loop", "write_cached_spectra"),
    ("annotations: read", "annotation_set", "AnnotationSet.aligned"),
    ("alignment (annotations, sumstats)", "annotations", "AnnotationTable.align"),
    ("alignment (annotations, sumstats)", "phenotype", "Phenotype.align"),
    ("alignment (annotations, sumstats)", "sumstats", "Sumstats.align"),
    ("annotations: v per block, info", "annotations", "ChromAnnotations.values"),
    ("annotations: v per block, info", "annotations", "ChromAnnotations.info"),
    ("genotypes: read + standardise", "block_loop", "standardized_genotypes"),
    ("signed LD profiles Rv", "block_loop", "signed_ld_profiles"),
    ("weights W^-1 ahat", "block_loop", "block_weights"),
    ("block statistics", "block_loop", "block_stats"),
    ("regression: sign flips", "regression", "sign_flip"),
    ("regression: estimates, jackknife", "outputs", "regress"),
    ("outputs: figures", "outputs", "write_figures"),
]
REGRESSION = ("regression: sign flips", "regression: estimates, jackknife")
PREPROCESSING = {
    "inputs: print SNPs, blocks, LD scores",
    "sumstats: read",
    "sumstats: h2g",
    "panel: bim/frq",
    "LD spectra (SVD or cache)",
    "annotations: read",
    "alignment (annotations, sumstats)",
    "annotations: v per block, info",
    "genotypes: read + standardise",
    "signed LD profiles Rv",
    "weights W^-1 ahat",
    "block statistics",
}


# ---------------------------------------------------------------- measuring a process


def launch(out_json: str, cmd: list[str]) -> None:
    """(In a small launcher process.) Fork, exec `cmd`, wait for it and write its wall
    seconds and peak RSS (``ru_maxrss`` of that one child) as JSON."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    Path(out_json).write_text(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mib": usage.ru_maxrss / 1024,
                "rc": os.waitstatus_to_exitcode(status),
            }
        )
    )


def measured(cmd: list[str], log: Path) -> dict:
    """Run `cmd` through the launcher (output to `log`); its seconds and peak MiB."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = handle.name
    with open(log, "w") as sink:
        subprocess.run(
            [sys.executable, "-S", __file__, "--launch", out, "--", *cmd],
            stdout=sink,
            stderr=subprocess.STDOUT,
            check=True,
        )
    result = json.loads(Path(out).read_text())
    os.unlink(out)
    if result["rc"] != 0:
        raise SystemExit(f"{cmd[:3]}... failed (exit {result['rc']}); see {log}\n")
    return result


# ---------------------------------------------------------------- crossreg with stage timers


def crossreg_staged(spec_path: str, stages_path: str) -> None:
    """(In the measured process.) Wrap the STAGES functions with exclusive timers, run
    ``write_sldp`` with the keyword arguments in `spec_path`, write the stage times."""
    import crossreg.stats.sldp.annotation_set as annotation_set
    import crossreg.stats.sldp.annotations as annotations
    import crossreg.stats.sldp.block_loop as block_loop
    import crossreg.stats.sldp.inputs as inputs
    import crossreg.stats.sldp.outputs as outputs
    import crossreg.stats.sldp.phenotype as phenotype
    import crossreg.stats.sldp.regression as regression
    import crossreg.stats.sldp.run as run
    import crossreg.stats.sldp.sumstats as sumstats

    modules = {"run": run, "annotations": annotations, "sumstats": sumstats}
    modules |= {"regression": regression, "block_loop": block_loop, "outputs": outputs}
    modules |= {"annotation_set": annotation_set, "inputs": inputs, "phenotype": phenotype}
    totals: dict[str, float] = {}
    stack: list[float] = []  # time spent in timed callees of each open timed call

    def timed(stage, function):
        def wrapper(*args, **kwargs):
            stack.append(0.0)
            begin = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - begin
                inner = stack.pop()
                totals[stage] = totals.get(stage, 0.0) + elapsed - inner
                if stack:
                    stack[-1] += elapsed

        return wrapper

    for stage, module, attribute in STAGES:
        owner = modules[module]
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, name, timed(stage, getattr(owner, name)))
    spec = json.loads(Path(spec_path).read_text())
    begin = time.perf_counter()
    result = run.write_sldp(**spec)
    total = time.perf_counter() - begin
    totals["other"] = total - sum(totals.values())
    Path(stages_path).write_text(
        json.dumps({"total": total, "stages": totals, "results": str(result.results)})
    )


def run_crossreg(spec: dict, work: Path, label: str) -> dict:
    """A measured crossreg run: seconds, peak MiB, and the stage times."""
    spec_path, stages_path = work / f"{label}.spec.json", work / f"{label}.stages.json"
    spec_path.write_text(json.dumps(spec))
    cmd = [sys.executable, __file__, "--crossreg-staged", str(spec_path), str(stages_path)]
    result = measured(cmd, work / f"{label}.log")
    return {**result, **json.loads(stages_path.read_text())}


# ---------------------------------------------------------------- 1. beside the reference


def reference_python(option: str | None) -> Path | None:
    if option:
        path = Path(option)
        if not path.exists():
            raise SystemExit(f"--reference-python {path}: no such file")
        return path
    return DEFAULT_REFERENCE if DEFAULT_REFERENCE.exists() else None


def read_table(path: Path) -> list[dict[str, str]]:
    lines = path.read_text().splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"), strict=True)) for line in lines[1:]]


def compare(ref_py: Path | None, work: Path, blocks_per_chrom: int, n_ind: int) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.sldp_world import make_world

    w = work / "world"
    start = time.perf_counter()
    world = make_world(w, seed=1, n_ind=n_ind, n_blocks=blocks_per_chrom)
    phenos = list(world["truth"])
    print(
        f"world: chromosomes {world['chroms']}, SNPs {world['n_snps']}, print SNPs "
        f"{world['n_print']}, {world['n_ld_blocks']} LD blocks, {n_ind} individuals, "
        f"3 annotations + 2 background, phenotypes {phenos} "
        f"(generated in {time.perf_counter() - start:.1f} s)"
    )
    ref: dict[str, dict] = {}
    if ref_py is None:
        print(
            "reference sldp not found: skipping its columns (build it with "
            "`bash tests/data/sldp/make_reference.sh`, or pass --reference-python PATH)"
        )
    else:
        tools = ref_py.parent
        common = ["--print-snps", f"{w}/print_snps.txt", "--ld-blocks", f"{w}/blocks.bed"]
        common += ["--chroms", "1", "22"]
        steps = [
            ("preprocessrefpanel", ["--bfile-chr", f"{w}/panel.", "--svd-stem", f"{w}/svd/"]),
            (
                "preprocessannot",
                ["--sannot-chr", f"{w}/annot.", f"{w}/bg.", "--bfile-chr", f"{w}/panel."],
            ),
        ]
        for p in phenos:
            args = ["--sumstats-stem", f"{w}/{p}", "--bfile-chr", f"{w}/panel."]
            args += ["--svd-stem", f"{w}/svd/", "--ldscores-chr", f"{w}/ld."]
            steps.append((f"preprocesspheno {p}", args))
        (w / "out").mkdir()
        for p in phenos:
            args = ["--outfile-stem", f"{w}/out/{p}", "--pss-chr", f"{w}/{p}.KG3.95/"]
            args += ["--sannot-chr", f"{w}/annot.", "--background-sannot-chr", f"{w}/bg."]
            args += ["--svd-stem", f"{w}/svd/", "--bfile-reg-chr", f"{w}/reg."]
            args += ["--weights", "Winv_ahat_h", "-bothp", "--seed", "0"]
            steps.append((f"sldp {p}", args))
        for name, args in steps:
            tool = str(tools / name.split()[0])
            extra = common[2:] if name.startswith("sldp") else common
            ref[name] = r = measured(
                [str(ref_py), tool, *args, *extra], work / f"ref.{name.replace(' ', '.')}.log"
            )
            print(f"  reference {name}: {r['seconds']:.2f} s, peak {r['peak_mib']:.0f} MiB")
    spec = {
        **world_spec(w, [f"{w}/{p}.sumstats.gz" for p in phenos], work),
        "out": str(work / "crossreg.cold"),
        "weights": "Winv_ahat_h",
    }
    cold = run_crossreg(spec, work, "crossreg.cold")
    warm = run_crossreg({**spec, "out": str(work / "crossreg.warm")}, work, "crossreg.warm")
    print(f"  crossreg cold: {cold['seconds']:.2f} s, peak {cold['peak_mib']:.0f} MiB")
    print(f"  crossreg warm: {warm['seconds']:.2f} s, peak {warm['peak_mib']:.0f} MiB")
    print_stages({"cold": cold, "warm": warm})
    regress_s = sum(warm["stages"].get(k, 0.0) for k in REGRESSION)
    prep = sum(v for k, v in cold["stages"].items() if k in PREPROCESSING)
    rows = [
        (
            "preprocessing",
            [r for k, r in ref.items() if not k.startswith("sldp")],
            prep,
            cold["peak_mib"],
            "ref: preprocessrefpanel + preprocessannot + preprocesspheno x"
            f"{len(phenos)}; crossreg: the preprocessing stages of the cold run "
            "(peak: whole cold run)",
        ),
        (
            "regression",
            [r for k, r in ref.items() if k.startswith("sldp")],
            warm["seconds"],
            warm["peak_mib"],
            f"ref: sldp -bothp x{len(phenos)}; crossreg: whole warm run (spectra cached; "
            f"re-reads inputs, recomputes Rv and weights; regress() itself {regress_s:.2f} s)",
        ),
        (
            "end to end",
            list(ref.values()),
            cold["seconds"],
            cold["peak_mib"],
            "ref: all of the above; crossreg: cold run (empty --ld-cache)",
        ),
    ]
    print()
    print("| step | reference s | reference peak MiB | crossreg s | crossreg peak MiB | "
          "time ratio ref/crossreg | what is timed |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, parts, seconds, peak, what in rows:
        if parts:
            rs = sum(p["seconds"] for p in parts)
            rp = max(p["peak_mib"] for p in parts)
            print(f"| {name} | {rs:.2f} | {rp:.0f} | {seconds:.2f} | {peak:.0f} | "
                  f"{rs / seconds:.1f}x | {what} |")  # fmt: skip
        else:
            print(f"| {name} | - | - | {seconds:.2f} | {peak:.0f} | - | {what} |")
    print()
    if ref:
        check_agreement(w / "out", Path(cold["results"]), phenos)
        check_agreement(w / "out", Path(warm["results"]), phenos)


def check_agreement(ref_out: Path, ours: Path, phenos: list[str]) -> None:
    """z_fast within 1e-6 relative for every phenotype × annotation; report z and mu too."""
    mine = {(r["pheno"], r["annot"]): r for r in read_table(ours)}
    worst = {"z_fast": 0.0, "mu": 0.0, "z": 0.0}
    count = 0
    for p in phenos:
        for r in read_table(ref_out / f"{p}.gwresults"):
            key = (p, r["annot"].removesuffix(".R"))
            if key not in mine:
                raise SystemExit(f"crossreg has no row for {key} in {ours}")
            count += 1
            for column, ours_column in (("z_fast", "z_fast"), ("mu", "mu"), ("z", "z")):
                a, b = float(r[column]), float(mine[key][ours_column])
                rel = abs(a - b) / max(abs(a), 1e-300)
                worst[column] = max(worst[column], rel)
                if column == "z_fast" and not rel <= 1e-6:
                    raise SystemExit(
                        f"DISAGREEMENT {key}: reference z_fast {a!r}, crossreg {b!r} "
                        f"(relative {rel:.2e} > 1e-6)"
                    )
    print(
        f"agreement ({ours.parent.name}, {count} rows): largest relative difference "
        f"z_fast {worst['z_fast']:.1e}, mu {worst['mu']:.1e}, sign-flip z {worst['z']:.1e}"
    )


def print_stages(runs: dict[str, dict]) -> None:
    names = list(dict.fromkeys([s for s, _, _ in STAGES] + ["other"]))
    labels = list(runs)
    print("| stage | " + " | ".join(f"{k} s" for k in labels) + " |")
    print("| --- |" + " ---: |" * len(labels))
    for name in names:
        values = [runs[k]["stages"].get(name, 0.0) for k in labels]
        if any(v >= 0.005 for v in values):
            print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + " |")
    print("| **total (wall, in process)** | "
          + " | ".join(f"**{runs[k]['total']:.2f}**" for k in labels) + " |")  # fmt: skip
    print("| peak RSS MiB | " + " | ".join(f"{runs[k]['peak_mib']:.0f}" for k in labels) + " |")


# ---------------------------------------------------------------- 2. scaling (crossreg only)


def fast_world(
    out: Path,
    n_snps: int,
    n_ind: int = 500,
    n_annot: int = 100,
    n_pheno: int = 3,
    chroms: tuple[str, ...] = ("1", "2"),
    seed: int = 7,
) -> dict:
    """Vectorised generator of crossreg sldp inputs: PLINK panel + .frq, LD blocks, print
    SNPs, LD scores, `n_annot` signed annotations (SNP A1 A2 + values, Laplace; annotation 0
    planted in phenotype 0), 2 background MAF-bin annotations, `n_pheno` sumstats
    ahat = R β + e per block (R in-sample LD, e ~ N(0, R/5000))."""
    import numpy as np
    import polars as pl
    from scipy.special import ndtri

    from crossreg.io.plink import pack_bed

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    per_chrom = n_snps // len(chroms)
    blocks, print_ids, ld_rows = [], [], []
    annot_frames: list[tuple[str, pl.DataFrame]] = []
    pheno_parts: dict[int, list[pl.DataFrame]] = {p: [] for p in range(n_pheno)}
    n_gwas = 5000
    for c in chroms:
        sizes: list[int] = []
        while sum(sizes) < per_chrom:
            sizes.append(int(rng.integers(150, 451)))
        sizes[-1] -= sum(sizes) - per_chrom
        if sizes[-1] < 20:
            last = sizes.pop()  # (sizes[-2] += sizes.pop() would add it to the one before)
            sizes[-1] += last
        m = per_chrom
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        bp = 1_000_000 + np.cumsum(rng.integers(200, 2_000, m))
        # latent AR(1) haplotypes, reset at block starts; thresholded at a drawn frequency
        rho = rng.uniform(0.80, 0.99, m)
        rho[starts] = 0.0
        n_hap = 2 * n_ind
        lat = rng.standard_normal((m, n_hap))
        scale = np.sqrt(1 - rho**2)
        for j in range(1, m):  # m vector updates of length n_hap
            lat[j] = rho[j] * lat[j - 1] + scale[j] * lat[j]
        freq = rng.uniform(0.03, 0.5, m)
        hap = lat > ndtri(1 - freq)[:, None]  # m × n_hap, allele "1" = minor (freq < 0.5)
        dosage = hap[:, :n_ind].astype(np.int8) + hap[:, n_ind:]
        dosage[:, :2] = [0, 2]  # every SNP polymorphic
        g = dosage.astype(np.float64)
        missing = rng.random(g.shape) < 0.002
        g[missing] = np.nan
        a1_counts = np.where(missing, -1, dosage).T  # A1 = allele "1" (minor)
        (out / f"panel.{c}.bed").write_bytes(pack_bed(a1_counts))
        pair = np.array(["AC", "AG", "CA", "CT", "GA", "GT", "TC", "TG"])[rng.integers(0, 8, m)]
        a1, a2 = pair.astype("U2").view("U1").reshape(m, 2).T
        snp = np.char.add(f"rs{c}_", np.arange(m).astype(str))
        pl.DataFrame(
            {"c": [c] * m, "snp": snp, "cm": np.zeros(m), "bp": bp, "a1": a1, "a2": a2}
        ).write_csv(out / f"panel.{c}.bim", separator="\t", include_header=False)
        (out / f"panel.{c}.fam").write_text("".join(f"f{i} i{i} 0 0 1 -9\n" for i in range(n_ind)))
        obs = ~missing
        maf = np.where(obs, g, 0).sum(axis=1) / (2 * obs.sum(axis=1))
        maf = np.minimum(maf, 1 - maf)
        pl.DataFrame({"CHR": [c] * m, "SNP": snp, "A1": a1, "A2": a2, "MAF": maf.round(4),
                      "NCHROBS": 2 * obs.sum(axis=1)}).write_csv(
            out / f"panel.{c}.frq", separator=" ")  # fmt: skip
        printed = rng.random(m) < 0.6
        print_ids.append(snp[printed])
        # standardised genotypes per block: LD scores, sumstats
        mean = np.nanmean(g, axis=1, keepdims=True)
        x = np.where(np.isnan(g), mean, g) - mean
        x /= np.sqrt((x**2).mean(axis=1, keepdims=True))  # m × n_ind
        v = np.round(rng.laplace(0, 1, (m, n_annot)), 3)
        bg = np.stack([maf < 0.10, (maf >= 0.10) & (maf < 0.30)], axis=1).astype(float)
        beta0 = rng.normal(0, np.sqrt(0.2 / n_snps), (m, n_pheno)) + (bg @ [0.003, 0.0015])[:, None]
        beta0[:, 0] += 0.002 * v[:, 0]
        ahat = np.empty((m, n_pheno))
        l2 = np.empty(m)
        for s, size in zip(starts, sizes, strict=True):
            xb = x[s : s + size]
            r = xb @ xb.T / n_ind
            l2[s : s + size] = (r**2).sum(axis=1)
            w = rng.normal(0, np.sqrt(n_ind / n_gwas), (n_ind, n_pheno))
            ahat[s : s + size] = (r @ beta0[s : s + size]) + xb @ w / n_ind
            blocks.append((f"chr{c}", int(bp[s]), int(bp[s + size - 1]) + 1))
        ld_rows.append((c, pl.DataFrame({"CHR": [c] * m, "SNP": snp, "BP": bp, "L2": l2})))
        (out / f"ld.{c}.l2.M_5_50").write_text(f"{int((maf >= 0.05).sum())}\n")
        names = [f"a{k}" for k in range(n_annot)]
        frame = pl.DataFrame({"SNP": snp, "A1": a1, "A2": a2})
        frame = frame.hstack(pl.DataFrame(v, schema=names, orient="row"))
        annot_frames.append((c, frame))
        bgf = pl.DataFrame({"SNP": snp, "A1": a1, "A2": a2, "bgmaf10": bg[:, 0],
                            "bgmaf30": bg[:, 1]})  # fmt: skip
        annot_frames.append((f"bg{c}", bgf))
        n = n_gwas - rng.integers(0, 500, m)
        for p in range(n_pheno):
            pheno_parts[p].append(
                pl.DataFrame(
                    {
                        "SNP": snp,
                        "A1": a1,
                        "A2": a2,
                        "Z": np.round(ahat[:, p] * np.sqrt(n), 4),
                        "N": n,
                    }
                )
            )
    for name, frame in [(f"ld.{c}.l2.ldscore.gz", f) for c, f in ld_rows] + [
        (f"annot.{c}.sannot.gz" if not c.startswith("bg") else f"bg.{c[2:]}.sannot.gz", f)
        for c, f in annot_frames
    ]:
        (out / name).write_bytes(gzip.compress(frame.write_csv(separator="\t").encode(), 1))
    for p, parts in pheno_parts.items():
        text = pl.concat(parts).write_csv(separator="\t").encode()
        (out / f"pheno{p}.sumstats.gz").write_bytes(gzip.compress(text, 1))
    (out / "print_snps.txt").write_text("\n".join(np.concatenate(print_ids)) + "\n")
    (out / "blocks.bed").write_text("".join(f"{a}\t{b}\t{e}\n" for a, b, e in blocks))
    return {
        "snps": n_snps,
        "print_snps": int(sum(len(p) for p in print_ids)),
        "blocks": len(blocks),
        "individuals": n_ind,
        "annotations": n_annot,
        "phenotypes": n_pheno,
        "chroms": list(chroms),
    }


def scale(work: Path, points: list[int], flips: int, runs: list[str]) -> None:
    for n_snps in points:
        w = work / f"scale{n_snps}"
        start = time.perf_counter()
        info = fast_world(w / "inputs", n_snps)
        size = sum(f.stat().st_size for f in (w / "inputs").iterdir()) / 2**20
        print(
            f"\nscale point: {info} ({size:.0f} MiB of inputs, generated by fast_world in "
            f"{time.perf_counter() - start:.1f} s); flips {flips}, 300 jackknife chunks"
        )
        inputs = w / "inputs"
        sumstats = [f"{inputs}/pheno{p}.sumstats.gz" for p in range(info["phenotypes"])]
        spec = {**world_spec(inputs, sumstats, w), "flips": flips}
        measured_runs = {}
        for label in runs:  # "warm" reuses the cache that "cold" filled
            measured_runs[label] = run_crossreg({**spec, "out": str(w / label)}, w, label)
        print_stages(measured_runs)
        shutil.rmtree(w / "inputs")


def world_spec(inputs: Path, sumstats: list[str], work: Path) -> dict[str, object]:
    """``write_sldp``'s arguments for a generated world's files in `inputs` (panel, print
    SNPs, blocks, LD scores, annotations, background), with its LD cache in `work`."""
    return {
        "bfile_chr": f"{inputs}/panel.",
        "print_snps": f"{inputs}/print_snps.txt",
        "ld_blocks": f"{inputs}/blocks.bed",
        "ldscores_chr": f"{inputs}/ld.",
        "sumstats": sumstats,
        "sannot_chr": [f"{inputs}/annot."],
        "background_sannot_chr": [f"{inputs}/bg."],
        "seed": 0,
        "ld_cache": str(work / "ld-cache"),
    }


def main() -> None:
    if sys.argv[1:2] == ["--launch"]:  # --launch OUT_JSON -- CMD...
        launch(sys.argv[2], sys.argv[4:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-python", default=None, help="python of the reference venv")
    parser.add_argument("--skip-compare", action="store_true", help="only the scaling part")
    parser.add_argument("--skip-scale", action="store_true", help="only the side-by-side part")
    parser.add_argument("--blocks", type=int, default=45, help="LD blocks per chromosome (1.)")
    parser.add_argument("--individuals", type=int, default=500, help="panel size (1.)")
    parser.add_argument(
        "--scale-snps", type=int, nargs="+", default=[20_000, 100_000], help="SNPs (2.)"
    )
    parser.add_argument("--flips", type=int, default=10_000, help="sign flips (2.)")
    parser.add_argument(
        "--scale-runs", nargs="+", default=["cold", "warm"], choices=["cold", "warm"], help="(2.)"
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="set OPENBLAS/OMP/MKL_NUM_THREADS for every measured process (both sides)",
    )
    parser.add_argument("--work", type=Path, default=None, help="keep files here")
    parser.add_argument("--crossreg-staged", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.crossreg_staged:
        crossreg_staged(*args.crossreg_staged)
        return
    if args.blas_threads is not None:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(args.blas_threads)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "library default")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load}; BLAS threads: {threads}")
    with tempfile.TemporaryDirectory(prefix="bench_sldp.") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if not args.skip_compare:
            ref = reference_python(args.reference_python)
            compare(ref, work / "compare", args.blocks, args.individuals)
        if not args.skip_scale:
            scale(work, args.scale_snps, args.flips, args.scale_runs)
    print("load average at the end " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
