#!/usr/bin/env bash
# Regenerate tests/data/sldp/reference/ from the REFERENCE sldp package (documentation: CI does
# not run this). It builds its own scratch venv in .sldp-ref/ (ignored by git; $SCRATCH elsewhere), patches three
# Python-3/pandas-2 crashes in the reference (no number changes), runs preprocessrefpanel,
# preprocessannot, preprocesspheno and sldp on tests/data/sldp/inputs/, and copies the outputs.
#
#   bash tests/data/sldp/make_reference.sh            # uses the committed inputs
#   REGEN_INPUTS=1 bash tests/data/sldp/make_reference.sh   # first rewrites the inputs (seed 0)
#
# Needs: python3.11 on PATH, PyPI access; the project venv (.venv) only for REGEN_INPUTS=1.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
HERE="$REPO/tests/data/sldp"
SCRATCH="${SCRATCH:-$REPO/.sldp-ref}"  # ignored by git
PY="${PYTHON:-python3.11}"
JK_BLOCKS="${JK_BLOCKS:-25}"
SEED=0
W="$SCRATCH/work"

if [[ "${REGEN_INPUTS:-0}" == 1 ]]; then
    rm -rf "$HERE/inputs"
    (cd "$REPO" && .venv/bin/python -m tests.sldp_world "$HERE/inputs" "$SEED" >/dev/null)
fi

# --- 1. scratch venv with the reference, pinned (sldp.md §10 item 4)
if [[ ! -x "$SCRATCH/venv/bin/sldp" ]]; then
    mkdir -p "$SCRATCH"
    "$PY" -m venv "$SCRATCH/venv"
    "$SCRATCH/venv/bin/pip" install -q sldp==1.1.5 gprim==0.23 ypy==0.2 pysnptools==0.5.15 \
        bed-reader==1.1.0 numpy==1.26.4 pandas==2.2.3 scipy six
fi
"$SCRATCH/venv/bin/pip" freeze > "$SCRATCH/pip-freeze.txt"

# --- 2. patches (sldp.md §10 items 5 and 6); idempotent, each must apply exactly once
SITE="$("$SCRATCH/venv/bin/python" -c 'import sldp, os; print(os.path.dirname(sldp.__file__))')"
if [[ ! -f "$SITE/preprocesspheno.py.orig" ]]; then
    cp "$SITE/preprocesspheno.py" "$SITE/preprocesspheno.py.orig"
    cp "$SITE/chunkstats.py" "$SITE/chunkstats.py.orig"
    "$SCRATCH/venv/bin/python" - "$SITE" <<'EOF'
import sys
site = sys.argv[1]

def patch(name, old, new):
    path = f"{site}/{name}"
    text = open(path).read()
    assert text.count(old) == 1, (name, old)
    open(path, "w").write(text.replace(old, new))

# item 5: Python 2 file.next() (twice) and DataFrame.append in preprocesspheno
patch("preprocesspheno.py",
      "M = sum([int(open(args.ldscores_chr+str(c)+'.l2.M').next())",
      "M = sum([int(next(open(args.ldscores_chr+str(c)+'.l2.M')))")
patch("preprocesspheno.py",
      "M = sum([int(open(args.ldscores_chr+str(c)+'.l2.M_5_50').next())",
      "M = sum([int(next(open(args.ldscores_chr+str(c)+'.l2.M_5_50')))")
patch("preprocesspheno.py",
      "info = pd.DataFrame(); info=info.append(\n",
      "info = pd.DataFrame([\n")
patch("preprocesspheno.py",
      "'Nbar':ss.N.mean()},ignore_index=True)",
      "'Nbar':ss.N.mean()}])")
# item 6: mux/muy unbound without background annotations (empty coefficient vectors)
patch("chunkstats.py",
      "    if num_background > 0:\n        num = sum(chunk_nums)",
      "    mux = np.zeros(0); muy = np.zeros(0)\n"
      "    if num_background > 0:\n        num = sum(chunk_nums)")
EOF
fi
(cd "$SITE" && diff -u preprocesspheno.py.orig preprocesspheno.py;
 diff -u chunkstats.py.orig chunkstats.py) > "$SCRATCH/patches.diff" || true

# --- 3. run the reference on a copy of the inputs
rm -rf "$W" && mkdir -p "$W/out" && cp "$HERE"/inputs/* "$W/"
B="$SCRATCH/venv/bin"
COMMON=(--print-snps "$W/print_snps.txt" --ld-blocks "$W/blocks.bed" --chroms 1 22)
LOG="$SCRATCH/log" && rm -rf "$LOG" && mkdir -p "$LOG"

"$B/preprocessrefpanel" --bfile-chr "$W/panel." --svd-stem "$W/svd/" "${COMMON[@]}" \
    > "$LOG/preprocessrefpanel.log" 2>&1
"$B/preprocessannot" --sannot-chr "$W/annot." "$W/bg." --bfile-chr "$W/panel." "${COMMON[@]}" \
    > "$LOG/preprocessannot.log" 2>&1
for P in pheno_a pheno_b; do
    "$B/preprocesspheno" --sumstats-stem "$W/$P" --bfile-chr "$W/panel." --svd-stem "$W/svd/" \
        --ldscores-chr "$W/ld." "${COMMON[@]}" > "$LOG/preprocesspheno.$P.log" 2>&1
done

run_sldp() { # name pheno weights [background...]
    local name=$1 pheno=$2 wts=$3; shift 3
    local bg=()
    [[ $# -gt 0 ]] && bg=(--background-sannot-chr "$@")
    "$B/sldp" --outfile-stem "$W/out/$name" --pss-chr "$W/$pheno.KG3.95/" \
        --sannot-chr "$W/annot." "${bg[@]}" --svd-stem "$W/svd/" --bfile-reg-chr "$W/reg." \
        --ld-blocks "$W/blocks.bed" --chroms 1 22 --weights "$wts" -bothp --verbose-thresh 1 \
        --seed "$SEED" --jk-blocks "$JK_BLOCKS" > "$LOG/sldp.$name.log" 2>&1
}
for P in pheno_a pheno_b; do
    run_sldp "$P.h.bg" "$P" Winv_ahat_h "$W/bg."
    run_sldp "$P.h.nobg" "$P" Winv_ahat_h
    run_sldp "$P.I.bg" "$P" Winv_ahat_I "$W/bg."
done

# --- 4. copy the outputs into tests/data/sldp/reference/
R="$HERE/reference"
rm -rf "$R" && mkdir -p "$R/sldp" "$R/annot" "$R/pheno"
for f in "$W"/out/*; do
    case "$f" in
        *.gwresults) cp "$f" "$R/sldp/" ;;
        *) gzip -n -c "$f" > "$R/sldp/$(basename "$f").gz" ;;
    esac
done
cp "$W"/annot.*.info "$W"/bg.*.info "$W"/annot.*.RV.gz "$W"/bg.*.RV.gz "$R/annot/"
for P in pheno_a pheno_b; do
    mkdir -p "$R/pheno/$P.KG3.95"
    cp "$W/$P.KG3.95/"* "$R/pheno/$P.KG3.95/"
done
# the per-block truncated eigendecompositions in one file: {R,R2}_{id}_k and _svs for every
# block, R_{id}_U only for the blocks in KEEP_U (size)
"$B/python" - "$W/svd" "$R/svd.npz" "${KEEP_U:-0 5 14 16}" <<'EOF'
import glob, os, sys
import numpy as np
keep = sys.argv[3].split()
out = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.npz"))):
    block, kind = os.path.basename(path).split(".")[:2]
    with np.load(path) as z:
        if kind == "R" and block in keep:
            out[f"R_{block}_U"] = z["U"]
        out[f"{kind}_{block}_svs"] = z["svs"]
        out[f"{kind}_{block}_k"] = np.array(z["U"].shape[1])
np.savez_compressed(sys.argv[2], **out)
EOF
cp "$SCRATCH/patches.diff" "$SCRATCH/pip-freeze.txt" "$R/"
tail -n +1 "$R"/sldp/*.gwresults
