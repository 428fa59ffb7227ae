#!/usr/bin/env bash
# The GPU figures of benches/README.md in one run of under 10 minutes on one
# H100/H200-class GPU, most wanted first. Issue 16's figures, about 420 s on the H200 by
# the estimates in benches/README.md: the device; training steps of the paper's model in
# bf16 (eager over batch sizes, with the MFU; torch.compile; without the GPU forms of its
# products); a step alone and under DDP on every GPU; the loader with 16 and 2 cores.
# Then what no GPU has measured for this code: the CUDA tests but the compiled ones; a
# compiled step's profile; the towers' channels rounded to multiples of 8, in both
# layouts; the compiled CUDA tests; torch.compile channels-last. Last, what the H200 run
# of 2026-12-04 measured: a profile of an eager step with its trace and where its time
# goes; both trunk layouts alternately, and the channels-last step's profile; inference
# (forward, SAD, ISM) in both layouts; the Poisson loss's and the max pooling's passes;
# SAD and ISM throughput; compiled inference; FLOPs per sequence.
#
# Usage, in the repository root of the GPU machine:
#     bash benches/device_run.sh OUT_DIR
# crossreg must import there: installed, or its wheels in .whl/ (`make device-wheels`
# here builds the abi3 wheel and fetches the packages such a machine lacks), which this
# script installs into a private folder first.
#
# Each step gets at most its own limit and never more than what is left of BUDGET_S
# (default 560 s); a step that fails or runs out of time is logged and the next one runs;
# a step with less than half its limit left is skipped, leaving the time to cheaper ones.
# Everything printed goes to OUT_DIR/device_run.log; the profiles' traces are
# OUT_DIR/trace.json.gz, trace_compiled.json.gz and trace_channels_last.json.gz (the
# eager ones' breakdowns need GPU kernels: on a CPU those two steps are left out),
# the loader's figures OUT_DIR/loader_16.json and OUT_DIR/loader_2.json (all 16 cores,
# then 2 by taskset).
# PARAMS (default: the paper's human model), SAD_MODEL (full), DEVICE (cuda) and the
# sizes below can point the run at small models on the CPU, to check the script itself
# (`make device-check`), with LIMIT_FACTOR (1) times each step's limit there. The run ends
# with a line naming the steps that failed or were skipped; its exit status is 0 only when
# every step ran and passed (on a CPU the trace breakdowns are left out, and said so).
set -uo pipefail

out=${1:?usage: bash benches/device_run.sh OUT_DIR}
mkdir -p "$out"
log="$out/device_run.log"
: >"$log"
params=${PARAMS:-tests/data/basenji_fixtures/params_human.json}
device=${DEVICE:-cuda}
deadline=$((SECONDS + ${BUDGET_S:-560}))
python=${PYTHON:-python3}
limit_factor=${LIMIT_FACTOR:-1}

# folders of this run's own (the wheels' install, the Inductor cache), removed when it ends
own=()
trap 'rm -rf "${own[@]}"' EXIT

if [ -d .whl ]; then
    site=$(mktemp -d)
    own+=("$site")
    # pip checks each wheel's platform tags; where it refuses one (an older glibc than the
    # build's tag names, say), the wheels are unpacked as they are, which importing needs
    if ! "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target "$site" .whl/*.whl >>"$log" 2>&1; then
        echo "pip refused a wheel of .whl/ (see $log); unpacking them instead" | tee -a "$log"
        for wheel in .whl/*.whl; do
            "$python" -m zipfile -e "$wheel" "$site" || { echo "unpacking $wheel failed"; exit 1; }
        done
    fi
    # a wheel built from older code would spend the GPU's time measuring that code
    if ! diff -rq --exclude=__pycache__ --exclude='*.so' python/crossreg "$site/crossreg" \
        >>"$log" 2>&1; then
        echo "the crossreg wheel in .whl/ was not built from this tree's python/crossreg" \
            "(differences in $log); rebuild it with make device-wheels" | tee -a "$log"
        exit 1
    fi
    export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONUNBUFFERED=1
# one Inductor cache for every compiled step (its FX graphs, AOTAutograd's joint graphs and
# Triton's kernels): a graph compiled once, train_compile's, is read back by the next
# process that compiles it (profile_compiled) instead of compiled again; a private folder,
# so that a run starts as cold as a fresh GPU machine does
if [ -z "${TORCHINDUCTOR_CACHE_DIR:-}" ]; then
    TORCHINDUCTOR_CACHE_DIR=$(mktemp -d)
    own+=("$TORCHINDUCTOR_CACHE_DIR")
fi
export TORCHINDUCTOR_CACHE_DIR TORCHINDUCTOR_FX_GRAPH_CACHE=1 TORCHINDUCTOR_AUTOGRAD_CACHE=1
# the model's own autograd functions (the pooling's, the dilated weight gradients') would
# otherwise keep AOTAutograd's cache from storing its graphs; one run's code never changes
export TORCHINDUCTOR_AUTOGRAD_CACHE_ALLOW_CUSTOM_AUTOGRAD=1

# step NAME LIMIT_S COMMAND...: run COMMAND for at most LIMIT_S seconds (less if the
# budget is nearly spent), its output appended to the log and echoed; its name goes into
# passed or failed (a nonzero exit, the time limit included), or skipped when less than
# half its limit (or 10 s) is left: cut off, it would measure nothing and spend what the
# cheaper steps after it could use.
passed=() failed=() skipped=()
step() {
    local name=$1 limit=$2
    shift 2
    local left=$((deadline - SECONDS))
    limit=$((limit * limit_factor))
    if ((left < 10 || 2 * left < limit)); then
        echo "== $name: skipped, ${left} s left of the budget, under half its ${limit} s" \
            | tee -a "$log"
        skipped+=("$name")
        return
    fi
    ((limit > left)) && limit=$left
    echo "== $name (at most ${limit} s): $*" | tee -a "$log"
    local started=$SECONDS
    timeout --signal=INT --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$log"
    local status=${PIPESTATUS[0]}
    echo "== $name: exit $status after $((SECONDS - started)) s" | tee -a "$log"
    if ((status == 0)); then passed+=("$name"); else failed+=("$name"); fi
}

# gpu_step NAME WHY LIMIT_S COMMAND...: step, on a GPU only; elsewhere logs WHY it is left out
gpu_step() {
    local name=$1 why=$2
    shift 2
    if [[ $device == cuda* ]]; then
        step "$name" "$@"
    else
        echo "== $name: not run on $device, $why" | tee -a "$log"
    fi
}

# Issue 16's figures first, in about 420 s on the H200 of 2026-12-04 by its run's figures
# (the estimates in benches/README.md's `### Every GPU figure in one run`): eager training
# with its MFU, compiled training, the GPU forms' A/B, DDP's own work, the loader.
step device 30 bash -c "nvidia-smi; $python -c 'import torch, crossreg; \
print(\"torch\", torch.__version__, \"crossreg\", crossreg.__version__, \
torch.cuda.get_device_name() if torch.cuda.is_available() else \"no CUDA\")'"
step train_bf16 110 "$python" benches/bench_train.py --params "$params" --device "$device" \
    --bf16 --batch-sizes "${TRAIN_BATCHES:-8,16,32,64,128}"
step train_compile 150 "$python" benches/bench_train.py --params "$params" --device "$device" \
    --bf16 --compile --batch-sizes "${COMPILE_BATCHES:-32}"
step train_plain_forms 50 "$python" benches/bench_train.py --params "$params" \
    --device "$device" --bf16 --no-padding --no-dilated-wgrad-matmul \
    --batch-sizes "${LAYOUT_BATCHES:-32,64}"
# every GPU of the machine under torchrun (one GPU: DDP's own work in a group of one)
gpus=$(timeout 60 "$python" -c 'import torch; print(max(1, torch.cuda.device_count()))' \
    2>/dev/null || echo 1)
step train_ddp 60 "$python" -m torch.distributed.run --standalone --nproc-per-node "$gpus" \
    benches/bench_train.py --params "$params" --device "$device" --bf16 --compare-ddp \
    --steps 3 --rounds 2 --batch-sizes "${PROFILE_BATCH:-32}"
# the loader's store (2.7 GB at 256 windows) is written once, kept, and read by both steps
loader_dir=${LOADER_DIR:-$(mktemp -d)}
step loader_16 120 "$python" benches/bench_loader.py --windows "${LOADER_WINDOWS:-256}" \
    --batches 40 --workers "${LOADER_WORKERS:-4,16}" --read-ahead 2,8 --step-ms 0 --compressed 1 \
    --parts loader,codec --dir "$loader_dir" --keep --json "$out/loader_16.json"
kept_store=$(ls -d "$loader_dir"/*/store 2>/dev/null | head -n 1)
step loader_2 50 taskset -c 0,1 "$python" benches/bench_loader.py \
    --windows "${LOADER_WINDOWS:-256}" --batches 40 --workers 2 --step-ms 0 --compressed 1 \
    --parts loader ${kept_store:+--store "$kept_store"} --dir "$loader_dir" \
    --json "$out/loader_2.json"
[ -z "${LOADER_DIR:-}" ] && rm -rf "$loader_dir"
# then what no GPU has measured for this code: the eager CUDA tests (the GPU forms equal
# the plain ones), the compiled step's profile (the same graph as train_compile's, from
# the cache), aligned widths, the compiled CUDA tests (four compilations of the test
# model), compiled channels-last
step cuda_tests 60 "$python" -m pytest -q -p no:cacheprovider tests/test_cuda.py \
    -k "not compiled"
step profile_compiled 90 "$python" benches/profile_train.py --params "$params" \
    --device "$device" --bf16 --compile --batch "${PROFILE_BATCH:-32}" --steps 3 --rows 30 \
    --trace "$out/trace_compiled.json"
[ -f "$out/trace_compiled.json" ] && gzip -f "$out/trace_compiled.json"
step train_aligned 60 "$python" benches/bench_train.py --params "$params" --device "$device" \
    --bf16 --divisible-by 8 --compare-layouts --rounds 2 --batch-sizes "${PROFILE_BATCH:-32}"
step cuda_tests_compiled 150 "$python" -m pytest -q -p no:cacheprovider tests/test_cuda.py \
    -k compiled
step train_compile_channels_last 150 "$python" benches/bench_train.py --params "$params" \
    --device "$device" --bf16 --compile --channels-last --batch-sizes "${COMPILE_BATCHES:-32}"
# last, what the H200 run of 2026-12-04 measured already, for the code changed since
step profile 50 "$python" benches/profile_train.py --params "$params" --device "$device" \
    --bf16 --batch "${PROFILE_BATCH:-32}" --steps 3 --rows 30 --trace "$out/trace.json"
[ -f "$out/trace.json" ] && gzip -f "$out/trace.json"
gpu_step breakdown "a CPU trace holds no GPU kernels" 30 \
    "$python" benches/trace_breakdown.py "$out/trace.json.gz" --steps 3 --params "$params" \
    --batch "${PROFILE_BATCH:-32}"
step train_layouts 70 "$python" benches/bench_train.py --params "$params" \
    --device "$device" --bf16 --compare-layouts --rounds 2 --batch-sizes "${LAYOUT_BATCHES:-32,64}"
step profile_channels_last 50 "$python" benches/profile_train.py --params "$params" \
    --device "$device" --bf16 --channels-last --batch "${PROFILE_BATCH:-32}" --steps 3 \
    --rows 30 --trace "$out/trace_channels_last.json"
[ -f "$out/trace_channels_last.json" ] && gzip -f "$out/trace_channels_last.json"
gpu_step breakdown_channels_last "a CPU trace holds no GPU kernels" 30 \
    "$python" benches/trace_breakdown.py "$out/trace_channels_last.json.gz" --steps 3 \
    --params "$params" --batch "${PROFILE_BATCH:-32}"
step inference_layouts 60 "$python" benches/bench_inference.py --model "${SAD_MODEL:-full}" \
    --device "$device" --bf16 --variants plain channels-last \
    --batches "${INFERENCE_BATCH:-16}" --alleles 256 --sad-batch 16 --sites 1 --width 50 \
    --repeats 3
step loss 30 "$python" benches/bench_loss.py --device "$device" --batch "${PROFILE_BATCH:-32}"
step pool 30 "$python" benches/bench_pool.py --device "$device" --batch "${PROFILE_BATCH:-32}" \
    --repeats 3
# rc scores 4 passes an allele (about 38 alleles/s on an H100 against 180 plain): its rows
# take fewer alleles and sites, so that every row fits the step
step sad 90 "$python" benches/bench_sad.py --model "${SAD_MODEL:-full}" --device "$device" \
    --bf16 --alleles 256 --rc-alleles 64 --batch-size 16 --vcf-records 200 --repeats 1
step ism 45 "$python" benches/bench_ism.py --model "${SAD_MODEL:-full}" --device "$device" \
    --bf16 --sites 4 --rc-sites 1 --width 50 --batch-size 32
step inference_compiled 120 "$python" benches/bench_inference.py --model "${SAD_MODEL:-full}" \
    --device "$device" --bf16 --variants plain compiled --batches "${INFERENCE_BATCH:-16}" \
    --alleles 256 --sad-batch 16 --sites 0 --repeats 3
step flops 60 "$python" benches/bench_flops.py --params "$params"
echo "== done in $SECONDS s: ${#passed[@]} steps passed," \
    "${#failed[@]} failed${failed[*]:+ (${failed[*]})}," \
    "${#skipped[@]} skipped${skipped[*]:+ (${skipped[*]})}" | tee -a "$log"
# 0 only when every step ran and passed
((${#failed[@]} + ${#skipped[@]} == 0))
