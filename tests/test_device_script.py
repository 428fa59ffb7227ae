"""benches/device_run.sh, the one unattended run a lent GPU gets: each step is logged with
its exit status, the run ends with a summary naming every step that failed or was skipped,
and its own exit status is 0 only when every step ran and passed.

A stand-in for Python records the steps' commands instead of running them, so these tests
check the script's plumbing in a second; ``make device-check`` runs the benches themselves
through it on small models on the CPU (a few minutes).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benches" / "device_run.sh"

#: every step of the script, in order: issue 16's figures first (compiled training, the GPU
#: forms' A/B, DDP's own work, the loader), what no GPU has measured next, the rest last
STEPS = [
    "device",
    "train_bf16",
    "train_compile",
    "train_plain_forms",
    "train_ddp",
    "loader_16",
    "loader_2",
    "cuda_tests",
    "profile_compiled",
    "train_aligned",
    "cuda_tests_compiled",
    "train_compile_channels_last",
    "profile",
    "breakdown",
    "train_layouts",
    "profile_channels_last",
    "breakdown_channels_last",
    "inference_layouts",
    "loss",
    "pool",
    "sad",
    "ism",
    "inference_compiled",
    "flops",
]
GPU_ONLY = {"breakdown", "breakdown_channels_last"}

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("bash", "timeout", "taskset", "tee", "gzip")),
    reason="needs bash, coreutils' timeout and tee, taskset and gzip",
)


def run_script(
    tmp_path: Path,
    *,
    device: str = "cpu",
    fail: str = "",
    budget: int = 560,
    cache: Path | None = None,
    wheels: bool = False,
) -> tuple[subprocess.CompletedProcess[str], str, list[str]]:
    """The script run in an empty folder with a stand-in Python that logs its arguments
    and its Inductor cache settings, and fails where they hold `fail`: the result, the log,
    and the commands run (`cache`: a TORCHINDUCTOR_CACHE_DIR given to the script)."""
    calls = tmp_path / "calls.txt"
    python = tmp_path / "python"
    python.write_text(
        "#!/usr/bin/env bash\n"
        # pip installs the wheels: the tree's crossreg into --target, which the script checks
        'if [ "$1 $2 $3" = "-m pip install" ]; then\n'
        '    for arg; do [ "$prev" = --target ] && site=$arg; prev=$arg; done\n'
        '    cp -r python/crossreg "$site/"\n'
        f'    echo "pip into $site" >>{calls}\n'
        "    exit 0\n"
        "fi\n"
        f'echo "$* @ cache ${{TORCHINDUCTOR_CACHE_DIR:-none}}'
        " ${TORCHINDUCTOR_FX_GRAPH_CACHE:-} ${TORCHINDUCTOR_AUTOGRAD_CACHE:-}"
        f' ${{TORCHINDUCTOR_AUTOGRAD_CACHE_ALLOW_CUSTOM_AUTOGRAD:-}}" >>{calls}\n'
        f'if [ -n "{fail}" ] && [[ "$*" == *"{fail}"* ]]; then exit 3; fi\n'
    )
    python.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    if wheels:  # a .whl/ to install, and the tree the installed crossreg must equal
        (work / ".whl").mkdir()
        (work / ".whl" / "crossreg.whl").touch()
        (work / "python" / "crossreg").mkdir(parents=True)
        (work / "python" / "crossreg" / "__init__.py").write_text("")
    env = {
        **os.environ,
        "PYTHON": str(python),
        "DEVICE": device,
        "BUDGET_S": str(budget),
        "LOADER_DIR": str(tmp_path / "loader"),
    }
    env.pop("TORCHINDUCTOR_CACHE_DIR", None)
    if cache is not None:
        env["TORCHINDUCTOR_CACHE_DIR"] = str(cache)
    result = subprocess.run(
        ["bash", str(SCRIPT), "out"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = (work / "out" / "device_run.log").read_text()
    commands = calls.read_text().splitlines() if calls.exists() else []
    return result, log, commands


def exits(log: str) -> dict[str, int]:
    """Each step's logged exit status."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^== (\w+): exit (\d+) after", log, re.M)}


def test_every_step_runs_and_the_summary_says_all_passed(tmp_path: Path) -> None:
    result, log, commands = run_script(tmp_path)
    assert result.returncode == 0, log
    assert list(exits(log)) == [s for s in STEPS if s not in GPU_ONLY]
    assert set(exits(log).values()) == {0}
    for name in GPU_ONLY:
        assert f"== {name}: not run on cpu, a CPU trace holds no GPU kernels" in log
    assert log.splitlines()[-1].endswith(": 22 steps passed, 0 failed, 0 skipped")
    assert any("bench_loss.py --device cpu" in c for c in commands)


def test_on_a_gpu_the_trace_breakdowns_run_too(tmp_path: Path) -> None:
    result, log, commands = run_script(tmp_path, device="cuda")
    assert result.returncode == 0, log
    assert list(exits(log)) == STEPS
    assert sum("trace_breakdown.py" in c for c in commands) == 2


def test_a_failed_step_is_named_and_the_rest_still_run(tmp_path: Path) -> None:
    result, log, _ = run_script(tmp_path, fail="bench_loss.py")
    assert result.returncode == 1
    assert exits(log)["loss"] == 3
    assert exits(log)["flops"] == 0  # the steps after it ran
    assert log.splitlines()[-1].endswith(": 21 steps passed, 1 failed (loss), 0 skipped")


def test_steps_past_the_budget_are_skipped_and_named(tmp_path: Path) -> None:
    result, log, commands = run_script(tmp_path, budget=5)
    assert result.returncode == 1
    assert not [c for c in commands if "benches/" in c or "pytest" in c]  # no step ran
    last = log.splitlines()[-1]
    assert ": 0 steps passed, 0 failed, 22 skipped (device train_bf16 " in last


def test_a_step_that_would_be_cut_off_is_skipped_and_cheaper_ones_still_run(
    tmp_path: Path,
) -> None:
    # with 60 s left, a compiled step (limit 150 s) would be cut off measuring nothing and
    # eat the time of the cheap steps after it: it is skipped, the 50-s steps still run
    result, log, _ = run_script(tmp_path, budget=60)
    assert result.returncode == 1
    assert "== train_compile: skipped, " in log and "under half its 150 s" in log
    assert exits(log)["train_plain_forms"] == 0
    assert exits(log)["loss"] == 0
    assert "train_compile" in log.splitlines()[-1]


def test_the_compiled_steps_share_one_inductor_cache_removed_after(tmp_path: Path) -> None:
    """profile_compiled compiles train_compile's graph again: one cache, AOTAutograd's too
    (the model's own autograd functions allowed), read back instead of compiled twice."""
    result, log, commands = run_script(tmp_path)
    assert result.returncode == 0, log
    compiled = [c for c in commands if " --compile " in c or "tests/test_cuda.py" in c]
    assert len(compiled) == 5  # bench, profile, channels-last; the CUDA tests in 2 steps
    settings = {c.split(" @ cache ")[1] for c in compiled}
    assert len(settings) == 1
    folder, *flags = settings.pop().split()
    assert folder != "none" and flags == ["1", "1", "1"]
    assert not Path(folder).exists()  # a private folder, gone with the run


def test_a_given_inductor_cache_is_used_and_kept(tmp_path: Path) -> None:
    cache = tmp_path / "inductor"
    cache.mkdir()
    result, log, commands = run_script(tmp_path, cache=cache)
    assert result.returncode == 0, log
    assert all(f" @ cache {cache} 1 1 1" in c for c in commands if " --compile " in c)
    assert cache.is_dir()


def test_the_wheels_are_installed_into_a_folder_removed_after(tmp_path: Path) -> None:
    """Each run with .whl/ installed its wheels (179 MB with polars) into a new temporary
    folder that it left behind."""
    result, log, commands = run_script(tmp_path, wheels=True)
    assert result.returncode == 0, log
    assert commands[0].startswith("pip into ")
    site = Path(commands[0].removeprefix("pip into "))
    assert any(" @ cache " in c for c in commands[1:])  # the steps ran after it
    assert not site.exists()
