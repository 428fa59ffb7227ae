# crossreg developer commands. Each target sets up what it needs itself:
# a virtual environment in .venv (uv installs the Python packages; its cache makes
# reinstalls quick) and the native extension built in release mode.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
export PYO3_PYTHON := $(abspath $(BIN)/python)

.PHONY: venv dev demo test lint rust-test py-test docs wheel-check bench device-wheels \
	device-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

# Python dependencies (torch, numpy, ...) plus the test and dev tools.
$(VENV)/.deps: pyproject.toml | $(UV)
	$(UV) pip install --quiet --python $(BIN)/python -r pyproject.toml --all-extras
	touch $@

venv: $(VENV)/.deps

# The package installed editable, with the native extension built in release mode.
dev: venv
	$(BIN)/maturin develop --release --quiet --uv

# The main job: the whole pipeline on generated genomes, summary in demo-out/summary.txt.
demo: dev
	$(BIN)/crossreg demo --out demo-out

# The stub check imports the built extension, hence dev.
lint: dev
	$(BIN)/ruff check python tests benches
	$(BIN)/ruff format --check python tests benches
	$(BIN)/mypy
	$(BIN)/python tests/check_native_stub.py
	cargo fmt --all --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --all-targets --features python -- -D warnings

rust-test:
	cargo test

py-test: dev
	$(BIN)/python -m pytest -q

# Users install wheels: build the release abi3 wheel, install it into a clean
# environment and use it there, outside the repository: tests/wheel_check.py checks what
# the wheel carries (package data, py.typed, LICENSE; no tests) and runs synth, split,
# data and report with the installed package in a temporary folder (about 10 s of CPU).
wheel-check: venv
	rm -rf dist .wheel-check
	$(BIN)/maturin build --release --quiet --out dist
	$(UV) venv --quiet --python $(BIN)/python .wheel-check
	$(UV) pip install --quiet --python .wheel-check/bin/python dist/*.whl
	cd / && $(CURDIR)/.wheel-check/bin/python $(CURDIR)/tests/wheel_check.py $(CURDIR)/dist/*.whl
	.wheel-check/bin/crossreg --version

# The documentation site (mkdocs.yml, docs/) built strictly: a broken link, a missing API
# reference or any other warning fails. Its tools come with venv (the `docs` extra); dev
# because the pages' --help texts are rendered from the package's own parsers.
docs: dev
	$(BIN)/mkdocs build --strict --site-dir site

test: lint rust-test py-test docs wheel-check

bench: dev
	cargo bench --bench dna
	$(BIN)/python benches/bench_dna.py
	cargo bench --bench synteny
	cargo bench --bench text
	$(BIN)/python benches/bench_split.py
	$(BIN)/python benches/bench_model.py
	$(BIN)/python benches/bench_bigwig.py
	$(BIN)/python benches/bench_synth.py mini
	$(BIN)/python benches/bench_train.py --params tests/data/basenji_fixtures/params_joint_mini.json
	$(BIN)/python benches/bench_sldp.py
	$(BIN)/python benches/bench_sldp_spectra.py
	$(BIN)/python benches/bench_sad.py
	$(BIN)/python benches/bench_sad_tsv.py
	$(BIN)/python benches/bench_ism.py
	$(BIN)/python benches/bench_malloc.py --repeats 2
	$(BIN)/python benches/bench_loader.py
	$(BIN)/python benches/bench_flops.py --check
	$(BIN)/python benches/bench_loss.py --batch 8
	$(BIN)/python benches/bench_track_metrics.py
	$(BIN)/python benches/bench_roofline.py --check
	$(BIN)/python benches/bench_pool.py --batch 4
	$(BIN)/python benches/bench_inference.py
	$(BIN)/python benches/profile_train.py --threads 1 --steps 20 --bf16
	$(BIN)/python benches/bench_predict.py --threads 1 --mbp 2
	$(BIN)/python benches/bench_finetune.py --preset mini --joint-epochs 6 --finetune-epochs 4

# What a GPU machine without crossreg needs to run benches/device_run.sh: the abi3 wheel,
# stripped (1.53 MB, not 1.63), and the one dependency that such a machine's Python 3.12
# (with torch, numpy, scipy, h5py, matplotlib, safetensors, tqdm) lacks and a step imports,
# polars (its runtime wheel is 53.9 MB; pyBigWig, lacking too, only writes bigWigs, which
# no step does), as wheels in .whl/ that the script installs, for machines that cannot reach
# a package index. The working tree and .whl/ travel in 64 MiB at most: checked last.
DEVICE_PACKAGES := polars polars-runtime-32
device-wheels: venv
	rm -rf .whl
	$(BIN)/maturin build --release --strip --quiet --out .whl
	for name in $(DEVICE_PACKAGES); do \
	    version=$$($(BIN)/python -c "import importlib.metadata as m; print(m.version('$$name'))"); \
	    $(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
	        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
	        --platform manylinux2014_x86_64 -d .whl "$$name==$$version" || exit 1; \
	done
	du -b .whl/*.whl
	@tree=$$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- | tail -n 1 | cut -f 1); \
	wheels=$$(du -cb .whl/*.whl | tail -n 1 | cut -f 1); \
	echo "the working tree ($$tree bytes) and .whl/ ($$wheels) travel:" \
	    "$$(( (tree + wheels) >> 20 )) MiB of the 64 a GPU machine takes"; \
	test $$((tree + wheels)) -le $$((64 << 20))

# benches/device_run.sh, which a lent GPU runs once unattended, run here on small models on
# the CPU (about 10 minutes on 2 cores): it fails unless every step ran and passed (the two
# trace breakdowns, which need a GPU's trace, are left out on a CPU). The steps get three
# times their GPU limits, and the loader 2 and 4 workers, not 4 and 16 (each worker process
# imports torch). Its log is bench-out/device-check/device_run.log.
device-check: dev
	PARAMS=tests/data/basenji_fixtures/params_joint_mini.json DEVICE=cpu SAD_MODEL=mini \
	    TRAIN_BATCHES=2 LAYOUT_BATCHES=2 COMPILE_BATCHES=2 PROFILE_BATCH=2 INFERENCE_BATCH=1 \
	    LOADER_WINDOWS=8 LOADER_WORKERS=2,4 LIMIT_FACTOR=3 BUDGET_S=1500 \
	    PYTHON=$(BIN)/python bash benches/device_run.sh bench-out/device-check
