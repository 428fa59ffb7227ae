"""The command line under SIGTERM, and with compressed inputs that end early or are damaged."""

from __future__ import annotations

import gzip
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import crossreg.commands.compare
from crossreg.cli import main
from crossreg.interrupts import sigterm_as_interrupt
from crossreg.stats.sldp.tables import read_text_table

# a command `slow` that writes --out through atomic_path (or keeps chunks and says so, as
# sad and predict --bigwig do) and waits there until it is stopped
SLOW_COMMAND = textwrap.dedent(
    """
    import sys, time, types
    from pathlib import Path

    import crossreg.cli as cli
    from crossreg.errors import Interrupted
    from crossreg.io.atomic import atomic_path

    def add_arguments(parser):
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--chunks", action="store_true")

    def run(args):
        try:
            with atomic_path(args.out) as tmp:
                tmp.write_bytes(b"half a file")
                print("writing", flush=True)
                time.sleep(60)
        except KeyboardInterrupt:
            if args.chunks:  # a moment of cleaning up, then what was kept
                print("cleaning", flush=True)
                time.sleep(0.5)
                raise Interrupted("3 of 9 chunks kept; rerun with --resume") from None
            raise
        return 0

    module = types.ModuleType("slow")
    module.HELP, module.DESCRIPTION = "slow", "Needs nothing; writes --out slowly."
    module.add_arguments, module.run = add_arguments, run
    sys.modules["slow"] = module
    cli.COMMANDS["slow"] = "slow"
    sys.exit(cli.main(["slow", *sys.argv[1:]]))
    """
)


def _stopped(tmp_path: Path, *extra: str, signum: int = signal.SIGTERM, again: bool = False):
    """Run the slow command and send it `signum` once it writes (and, with `again`, once
    more while it cleans up); its exit status, its stderr and the files left."""
    out = tmp_path / "out.h5"
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_COMMAND, "--out", str(out), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "writing"
    process.send_signal(signum)
    if again:
        assert process.stdout.readline().strip() == "cleaning"
        process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr, sorted(p.name for p in tmp_path.iterdir())


def test_sigterm_while_writing_removes_the_temporary_file(tmp_path):
    returncode, stderr, left = _stopped(tmp_path)
    assert returncode == 143
    assert left == []  # neither out.h5 nor .out.h5.*.tmp
    assert stderr.strip().endswith("ERROR terminated (SIGTERM)")
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1


def test_sigterm_sent_twice_at_once_is_one_request(tmp_path):
    """``timeout`` signals the command and then its process group: the second does not
    break off the clean-up the first began."""
    returncode, stderr, left = _stopped(tmp_path, "--chunks", again=True)
    assert returncode == 143 and left == []
    assert stderr.strip().endswith(
        "ERROR terminated (SIGTERM); 3 of 9 chunks kept; rerun with --resume"
    )


def test_ctrl_c_is_still_an_interrupt(tmp_path):
    returncode, stderr, left = _stopped(tmp_path, signum=signal.SIGINT)
    assert returncode == 130 and left == []
    assert stderr.strip().endswith("ERROR interrupted")


def test_the_previous_sigterm_handler_is_restored(capsys):
    def mine(signum, frame):  # pragma: no cover - never called
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        assert main([]) == 2
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminate_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_a_forked_child_ends_on_sigterm_as_before():
    """A process forked while a command runs keeps SIGTERM's default action."""
    with sigterm_as_interrupt():
        child = multiprocessing.get_context("fork").Process(target=_terminate_self)
        child.start()
        child.join(30)
    assert child.exitcode == -signal.SIGTERM


def _compare_reading(monkeypatch, path: Path) -> None:
    """Make ``crossreg compare`` read `path` with gzip, as a command reads its inputs."""

    def run(args):
        with gzip.open(path, "rt") as handle:
            handle.read()
        return 0

    monkeypatch.setattr(crossreg.commands.compare, "run", run)


@pytest.mark.parametrize("damage", ["truncated", "corrupt", "trailing"])
def test_a_damaged_gzip_input_is_one_error_naming_it(tmp_path, monkeypatch, logs, damage):
    data = gzip.compress("".join(f"row {i}\t{i * i}\n" for i in range(5000)).encode())
    damaged = tmp_path / "table.tsv.gz"
    if damage == "truncated":  # EOFError
        damaged.write_bytes(data[: len(data) // 2])
    elif damage == "corrupt":  # zlib.error
        middle = len(data) // 2
        damaged.write_bytes(data[:middle] + bytes(64) + data[middle + 64 :])
    else:  # gzip.BadGzipFile
        damaged.write_bytes(data + b"garbage!")
    _compare_reading(monkeypatch, damaged)
    other = tmp_path / "plain.tsv"
    other.write_text("x\n")
    argv = ["compare", "--joint", str(damaged), "--single", str(other)]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 1
    (record,) = logs.records
    assert record.levelname == "ERROR"
    assert record.getMessage().startswith(
        f"--joint {damaged}: the gzip stream is truncated or corrupt ("
    )
    assert record.getMessage().endswith("re-download or re-compress it")


def test_an_early_end_with_no_gzip_input_says_so(tmp_path, monkeypatch, logs):
    def run(args):
        raise EOFError("Ran out of input")

    monkeypatch.setattr(crossreg.commands.compare, "run", run)
    plain = tmp_path / "plain.tsv"
    plain.write_text("x\n")
    argv = ["compare", "--joint", str(plain), "--single", str(plain)]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 1
    assert [r.getMessage() for r in logs.records] == [
        "an input is truncated or corrupt (Ran out of input); check or re-download it"
    ]


def _truncated_gzip(path: Path) -> Path:
    data = gzip.compress("".join(f"row {i}\t{i * i}\n" for i in range(5000)).encode())
    path.write_bytes(data[: len(data) // 2])
    return path


def test_a_damaged_gzip_read_by_a_prefix_is_not_blamed_on_another_option(
    tmp_path, monkeypatch, logs
):
    damaged = _truncated_gzip(tmp_path / "table.1.tsv.gz")
    _compare_reading(monkeypatch, damaged)
    whole = tmp_path / "whole.tsv.gz"
    whole.write_bytes(gzip.compress(b"x\n"))
    argv = ["compare", "--joint", str(whole), "--single", f"{tmp_path}/table."]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 1
    assert [r.getMessage() for r in logs.records] == [
        f"one of --joint {whole}, --single {tmp_path}/table.*: the gzip stream is truncated "
        "or corrupt (Compressed file ended before the end-of-stream marker was reached); "
        "re-download or re-compress it"
    ]


def test_a_damaged_gzip_in_a_folder_is_not_blamed_on_another_option(tmp_path, monkeypatch, logs):
    (tmp_path / "runs").mkdir()
    damaged = _truncated_gzip(tmp_path / "runs" / "metrics.tsv.gz")
    _compare_reading(monkeypatch, damaged)
    whole = tmp_path / "whole.tsv.gz"
    whole.write_bytes(gzip.compress(b"x\n"))
    argv = ["compare", "--joint", str(whole), "--single", str(tmp_path / "runs")]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 1
    assert (
        logs.records[0]
        .getMessage()
        .startswith(
            f"one of --joint {whole}, --single {tmp_path / 'runs'}{os.sep}*: the gzip stream is "
        )
    )


def test_a_reader_that_names_the_damaged_gzip_is_logged_as_it_names_it(tmp_path, monkeypatch, logs):
    damaged = _truncated_gzip(tmp_path / "table.1.tsv.gz")
    whole = tmp_path / "whole.tsv.gz"
    whole.write_bytes(gzip.compress(b"x\n"))

    def run(args):
        read_text_table(damaged, header=False)
        return 0

    monkeypatch.setattr(crossreg.commands.compare, "run", run)
    argv = ["compare", "--joint", str(whole), "--single", f"{tmp_path}/table."]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 1
    (record,) = logs.records
    assert record.getMessage().startswith(f"{damaged}: the gzip stream is truncated or corrupt")
