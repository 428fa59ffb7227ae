"""crossreg sldp --resume: a run killed after its first chromosome continues from the
checkpoint in OUT/.partial/ and writes the bytes an uninterrupted run writes; a resume
with other settings or inputs is refused naming what differs, a damaged checkpoint file
is computed again, and a left-over checkpoint without --resume is refused (as sad does).
The block statistics live in the checkpoint: memory holds one chromosome's in the pass
and one phenotype's in the regression; of each phenotype's summary statistics the run holds
print-SNP indices, allele codes, Z and N, no ids."""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from crossreg.cli import main
from crossreg.errors import Interrupted
from crossreg.stats.sldp import block_loop, outputs
from crossreg.stats.sldp import inputs as sldp_inputs
from crossreg.stats.sldp import run as sldp_run
from crossreg.stats.sldp.checkpoint import CHECKPOINT
from crossreg.stats.sldp.inputs import read_print_snps
from crossreg.stats.sldp.regression import BlockStats
from crossreg.stats.sldp.run import write_sldp
from crossreg.stats.sldp.sumstats import Sumstats

INPUTS = Path(__file__).parent / "data" / "sldp" / "inputs"  # chromosomes 1 and 22
PHENOS = ("pheno_a", "pheno_b")


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """A copy of the two-chromosome SLDP world (tests/sldp_world.py), to change files in."""
    return Path(shutil.copytree(INPUTS, tmp_path / "inputs"))


def run(world: Path, out: Path, **options: Any) -> None:
    """write_sldp on `world` (by default: its annotations and backgrounds, both phenotypes,
    chunk tables of every row) with `options`."""
    given: dict[str, Any] = {
        "sumstats": [world / f"{p}.sumstats.gz" for p in PHENOS],
        "sannot_chr": [str(world / "annot.")],
        "background_sannot_chr": [str(world / "bg.")],
        "flips": 2_000,
        "jk_blocks": 10,
        "verbose_thresh": 1.0,
        "plots": False,
        "ld_cache": world.parent / "ld_cache",
    } | options
    write_sldp(
        str(world / "panel."), world / "print_snps.txt", world / "blocks.bed",
        str(world / "ld."), out, **given,
    )  # fmt: skip


def computed_chroms(monkeypatch, stop_at: str | None = None, error=KeyboardInterrupt) -> list[str]:
    """The chromosomes the block pass computes from now on (not those from the checkpoint);
    with `stop_at`, the pass raises `error` when it reaches that chromosome."""
    computed: list[str] = []
    real = block_loop._chrom_part

    def part(inputs, chrom, meter):
        if chrom == stop_at:
            raise error()
        computed.append(chrom)
        return real(inputs, chrom, meter)

    monkeypatch.setattr(block_loop, "_chrom_part", part)
    return computed


def killed(*args, **kwargs):
    """A step stopped by Ctrl-C."""
    raise KeyboardInterrupt


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def interrupted_run(world: Path, out: Path, monkeypatch, **options) -> None:
    """A run killed (Ctrl-C) when it reaches chromosome 22, chromosome 1 finished."""
    with monkeypatch.context() as patch:
        computed = computed_chroms(patch, stop_at="22")
        with pytest.raises(Interrupted, match=rf"1 of 2 chromosome\(s\) kept in .*{CHECKPOINT}"):
            run(world, out, **options)
    assert computed == ["1"]
    assert sorted(p.name for p in (out / CHECKPOINT).iterdir()) == ["chr1.npz", "settings.json"]
    assert not (out / "results.tsv").exists()


def test_a_resumed_run_writes_an_uninterrupted_runs_bytes(world, tmp_path, monkeypatch, caplog):
    run(world, tmp_path / "clean", plots=True)
    out = tmp_path / "resumed"
    interrupted_run(world, out, monkeypatch, plots=True)
    with pytest.raises(FileExistsError, match=rf"{CHECKPOINT} is left from an interrupted run: "):
        run(world, out, plots=True)  # without --resume, as sad
    computed = computed_chroms(monkeypatch)
    with caplog.at_level(logging.INFO, logger="crossreg"):
        run(world, out, plots=True, resume=True)
    assert computed == ["22"]
    assert "chr1: taken from the checkpoint" in caplog.text
    assert "chr22: taken from the checkpoint" not in caplog.text
    assert not (out / CHECKPOINT).exists()  # removed once the outputs are written
    clean = files_of(tmp_path / "clean")
    assert {"results.tsv", "summary.json", "chunks/pheno_a/pred1.tsv"} <= clean.keys()
    assert files_of(out) == clean
    # options the regression alone uses may change on a resume (the pass is the same)
    interrupted_run(world, tmp_path / "other_flips", monkeypatch)
    run(world, tmp_path / "other_flips", resume=True, flips=3_000, seed=5)
    run(world, tmp_path / "clean_other_flips", flips=3_000, seed=5)
    assert files_of(tmp_path / "other_flips") == files_of(tmp_path / "clean_other_flips")


def test_a_run_killed_in_the_regression_resumes_without_the_pass(world, tmp_path, monkeypatch):
    run(world, tmp_path / "clean")
    out = tmp_path / "out"
    with monkeypatch.context() as patch:
        patch.setattr(sldp_run, "write_outputs", killed)
        with pytest.raises(Interrupted, match=r"2 of 2 chromosome\(s\) kept"):
            run(world, out)
    computed = computed_chroms(monkeypatch)
    run(world, out, resume=True)  # the annotation names and matches come from the checkpoint
    assert computed == []
    assert files_of(out) == files_of(tmp_path / "clean")


def test_a_run_killed_in_the_sign_flips_keeps_the_finished_phenotypes(world, tmp_path, monkeypatch):
    """With thousands of SAD tracks a phenotype's sign flips take as long as the block
    pass: a Ctrl-C in the second phenotype's flips keeps the first one's for --resume."""
    run(world, tmp_path / "clean")
    out = tmp_path / "out"
    real = outputs.regress
    regressed: list[int] = []

    def regress(*args, **kwargs):
        regressed.append(1)
        if stop and len(regressed) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(outputs, "regress", regress)
    stop = True
    with pytest.raises(Interrupted, match=r"2 of 2 chromosome\(s\) and the regression of 1 of 2"):
        run(world, out)
    stop, regressed[:] = False, []
    computed = computed_chroms(monkeypatch)
    run(world, out, resume=True)
    assert computed == [] and len(regressed) == 1  # pheno_a's flips from the checkpoint
    assert files_of(out) == files_of(tmp_path / "clean")
    # a resume with another seed draws every phenotype's flips again
    with monkeypatch.context() as patch:
        patch.setattr(sldp_run, "write_outputs", killed)
        with pytest.raises(Interrupted):
            run(world, tmp_path / "seeded")
    stop, regressed[:] = True, []
    with pytest.raises(Interrupted):
        run(world, tmp_path / "seeded", resume=True)
    stop, regressed[:] = False, []
    run(world, tmp_path / "seeded", resume=True, seed=5)
    assert len(regressed) == 2
    run(world, tmp_path / "clean_seeded", seed=5)
    assert files_of(tmp_path / "seeded") == files_of(tmp_path / "clean_seeded")


def sad_scores(world: Path) -> Path:
    """A crossreg sad .h5 of three float16 tracks over the panel SNPs of both chromosomes
    (alt = bim A1), with random scores."""
    bims = [line.split() for c in (1, 22) for line in (world / f"panel.{c}.bim").open()]
    scores = np.random.default_rng(5).standard_normal((len(bims), 3)).astype(np.float16)
    path = world / "scores.h5"
    with h5py.File(path, "w") as handle:
        for field, column in (("snp", 1), ("chr", 0), ("ref_allele", 5), ("alt_allele", 4)):
            handle[field] = np.array([fields[column] for fields in bims], dtype="S")
        handle["pos"] = np.array([int(fields[3]) for fields in bims], dtype=np.uint32)
        handle["target_ids"] = np.array([b"t1", b"t2", b"t3"])
        handle["SAD"] = scores
    return path


def test_a_resumed_run_of_sad_scores_writes_the_same_bytes(world, tmp_path, monkeypatch):
    sad = {"sad": [sad_scores(world)], "sannot_chr": [], "alpha": 0.0}
    run(world, tmp_path / "clean", **sad)
    out = tmp_path / "out"
    interrupted_run(world, out, monkeypatch, **sad)
    computed = computed_chroms(monkeypatch)
    run(world, out, resume=True, **sad)
    assert computed == ["22"]
    assert files_of(out) == files_of(tmp_path / "clean")


def test_a_crash_keeps_the_finished_chromosomes_and_an_input_error_does_not(
    world, tmp_path, monkeypatch
):
    out = tmp_path / "out"
    with monkeypatch.context() as patch:
        computed_chroms(patch, stop_at="22", error=MemoryError)
        with pytest.raises(MemoryError):
            run(world, out)
    assert (out / CHECKPOINT / "chr1.npz").is_file()
    # an input error found in the pass (a bad value on chromosome 22) removes it, as sad's
    # does: the corrected rerun has other inputs, so it cannot resume
    with monkeypatch.context() as patch:
        computed = computed_chroms(patch, stop_at="22", error=lambda: ValueError("bad value"))
        with pytest.raises(ValueError, match="bad value"):
            run(world, out, resume=True)
    assert computed == [] and not (out / CHECKPOINT).exists()
    run(world, out)  # so a rerun without --resume is not refused


def test_a_resume_with_other_settings_or_inputs_is_refused_naming_them(
    world, tmp_path, monkeypatch
):
    out = tmp_path / "out"
    interrupted_run(world, out, monkeypatch)
    with pytest.raises(
        ValueError, match=r"--resume: .* other settings: --alpha -1.0 then, 0.0 now"
    ):
        run(world, out, resume=True, alpha=0.0)
    with pytest.raises(ValueError, match=r"--chroms 1,22 then, 1 now"):
        run(world, out, resume=True, chroms=["1"])
    counts = world / "ld.1.l2.M_5_50"  # edited in place: the same size, other content
    counts.write_text(counts.read_text().replace("1299", "1298"))
    with pytest.raises(
        ValueError, match=rf"{counts}: the same size, other content \(SHA-256 "
    ) as refused:
        run(world, out, resume=True)
    assert f"or delete {out / CHECKPOINT} to start again" in str(refused.value)
    assert (out / CHECKPOINT / "chr1.npz").is_file()  # kept: a resume with the inputs it had works
    (out / CHECKPOINT / "settings.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"settings\.json cannot be read .* delete .* to start"):
        run(world, out, resume=True)


def test_a_resume_with_the_same_files_given_to_other_options_is_refused(
    world, tmp_path, monkeypatch
):
    # the background stem read as a marginal annotation: the same files, other numbers
    out = tmp_path / "out"
    interrupted_run(world, out, monkeypatch)
    regrouped = {"sannot_chr": [str(world / "annot."), str(world / "bg.")]}
    with pytest.raises(ValueError) as refused:
        run(world, out, resume=True, **regrouped, background_sannot_chr=[])
    assert "--background-sannot-chr 1 stem(s) then, 0 stem(s) now" in str(refused.value)
    assert "--sannot-chr 1 stem(s) then, 2 stem(s) now" in str(refused.value)
    record = out / CHECKPOINT / "settings.json"  # as the crossreg before the counts wrote it
    saved = json.loads(record.read_text())
    for option in ("sumstats", "eqtl", "sad", "sannot_chr", "background_sannot_chr"):
        del saved["options"][option]
    record.write_text(json.dumps(saved))
    with pytest.raises(ValueError, match=r"earlier crossreg, whose checkpoint does not record"):
        run(world, out, resume=True)
    assert (out / CHECKPOINT / "chr1.npz").is_file()


def test_a_resume_from_copies_of_the_inputs_elsewhere_continues(world, tmp_path, monkeypatch):
    # a job staging its inputs on a node's local disk: other paths, other modification times
    run(world, tmp_path / "clean")
    out = tmp_path / "resumed"
    interrupted_run(world, out, monkeypatch)
    staged = Path(shutil.copytree(world, tmp_path / "node-7" / "staged"))
    later = world.stat().st_mtime_ns + 10**9
    for path in staged.iterdir():
        os.utime(path, ns=(later, later))
    computed = computed_chroms(monkeypatch)
    run(staged, out, resume=True)
    assert computed == ["22"]  # chromosome 1 taken from the checkpoint
    resumed = files_of(out)  # summary.json names the inputs as this run was given them
    summary = resumed["summary.json"].replace(str(staged).encode(), str(world).encode())
    assert {**resumed, "summary.json": summary} == files_of(tmp_path / "clean")


def test_a_checkpoint_of_inputs_matched_by_path_is_refused_saying_what_to_do(
    world, tmp_path, monkeypatch
):
    out = tmp_path / "out"
    interrupted_run(world, out, monkeypatch)
    record = out / CHECKPOINT / "settings.json"
    saved = json.loads(record.read_text())
    files = {  # as an earlier crossreg wrote it: each file by path, size and mtime
        str(Path(path).resolve()): {"size": Path(path).stat().st_size, "mtime_ns": 1}
        for path in saved["paths"]
        if Path(path).exists()
    }
    record.write_text(json.dumps({"options": saved["options"], "files": files}))
    with pytest.raises(ValueError, match=r"matched inputs by path and modification time.*"
                       r"delete it and start again without --resume"):  # fmt: skip
        run(world, out, resume=True)


def test_a_damaged_checkpoint_file_is_computed_again(world, tmp_path, monkeypatch, caplog):
    run(world, tmp_path / "clean")
    out = tmp_path / "out"
    interrupted_run(world, out, monkeypatch)
    saved = out / CHECKPOINT / "chr1.npz"
    saved.write_bytes(saved.read_bytes()[:100])  # cut short
    unfinished = out / CHECKPOINT / ".chr22.npz.x1y2.tmp"  # a write a kill cut off
    unfinished.write_bytes(b"PK")
    computed = computed_chroms(monkeypatch)
    with monkeypatch.context() as patch, caplog.at_level(logging.INFO, logger="crossreg"):
        patch.setattr(sldp_run, "write_outputs", killed)  # stopped after the pass
        with pytest.raises(Interrupted, match=r"2 of 2 chromosome\(s\) kept"):
            run(world, out, resume=True)
    assert f"{saved} cannot be read" in caplog.text and "computing chr1 again" in caplog.text
    assert computed == ["1", "22"] and not unfinished.exists()
    np.load(saved).close()  # written again, whole
    run(world, out, resume=True)
    assert computed == ["1", "22"]
    assert files_of(out) == files_of(tmp_path / "clean")


def test_resume_without_a_checkpoint_starts_from_the_beginning(world, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="crossreg"):
        run(world, tmp_path / "out", resume=True)
    assert "no finished chromosome to resume; starting from the beginning" in caplog.text
    assert (tmp_path / "out" / "results.tsv").is_file()
    assert not (tmp_path / "out" / CHECKPOINT).exists()


def command_line(world: Path) -> list[str]:
    """``crossreg sldp`` on `world` as :func:`run` runs it, without --out."""
    return [
        "sldp", "--bfile-chr", f"{world}/panel.", "--print-snps", f"{world}/print_snps.txt",
        "--ld-blocks", f"{world}/blocks.bed", "--ldscores-chr", f"{world}/ld.",
        "--sannot-chr", f"{world}/annot.", "--background-sannot-chr", f"{world}/bg.",
        "--sumstats", f"{world}/pheno_a.sumstats.gz", f"{world}/pheno_b.sumstats.gz",
        "--flips", "2000", "--jk-blocks", "10", "--verbose-thresh", "1", "--no-plots",
    ]  # fmt: skip


def test_command_line_resume(world, tmp_path, monkeypatch, capsys):
    argv = command_line(world)
    assert main([*argv, "--out", str(tmp_path / "clean")]) == 0
    out = tmp_path / "out"
    interrupted_run(world, out, monkeypatch)  # the folder holds only the checkpoint
    assert main([*argv, "--out", str(out)]) == 1
    assert "rerun with --resume to continue it" in capsys.readouterr().err
    assert main([*argv, "--out", str(out), "--resume"]) == 0
    runs_log = "crossreg-runs.jsonl"
    ours = {k: v for k, v in files_of(out).items() if k != runs_log}
    assert ours == {k: v for k, v in files_of(tmp_path / "clean").items() if k != runs_log}


KILLED_MID_WRITE = textwrap.dedent(
    """
    import os, signal, sys

    from crossreg.cli import main
    from crossreg.io.atomic import atomic_write
    from crossreg.stats.sldp.checkpoint import Checkpoint

    def save(self, part):  # chromosome 22's file half written, then kill -9
        if part.chrom == "22":
            with atomic_write(self.path(part.chrom), "wb") as handle:
                handle.write(b"PK half a file")
                handle.flush()
                os.kill(os.getpid(), signal.SIGKILL)
        real(self, part)

    real, Checkpoint.save = Checkpoint.save, save
    sys.exit(main(sys.argv[1:]))
    """
)


def test_kill_9_while_writing_a_chromosome_resumes(world, tmp_path):
    argv = command_line(world)
    assert main([*argv, "--out", str(tmp_path / "clean")]) == 0
    out = tmp_path / "out"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MID_WRITE, *argv, "--out", str(out)], check=False
    )
    assert killed.returncode == -signal.SIGKILL
    left = sorted(p.name for p in (out / CHECKPOINT).iterdir())
    assert left[1:] == ["chr1.npz", "settings.json"] and left[0].startswith(".chr22.npz.")
    assert main([*argv, "--out", str(out), "--resume"]) == 0
    runs_log = "crossreg-runs.jsonl"
    ours = {k: v for k, v in files_of(out).items() if k != runs_log}
    assert ours == {k: v for k, v in files_of(tmp_path / "clean").items() if k != runs_log}


def test_a_resumed_demo_continues_its_sldp_unless_the_sad_tables_are_newer(tmp_path, monkeypatch):
    import crossreg.demo_steps

    calls: list[tuple[list[str], dict]] = []
    monkeypatch.setattr(
        crossreg.demo_steps, "run_step", lambda argv, *a, **k: calls.append((argv, k))
    )
    out, table = tmp_path / "results", tmp_path / "panel.sad.h5"
    table.write_bytes(b"scores")
    checkpoint = out / CHECKPOINT

    def sldp(resume: bool) -> tuple[list[str], dict]:
        crossreg.demo_steps.sldp_step(["sldp", "--out", str(out)], out, [table], resume)
        return calls[-1][0], calls[-1][1]

    assert sldp(False) == (["sldp", "--out", str(out)], {"resume": False})
    checkpoint.mkdir(parents=True)  # stopped after the SAD tables were scored: continued
    assert sldp(True) == (["sldp", "--out", str(out), "--resume"], {"resume": True})
    future = checkpoint.stat().st_mtime_ns + 10**9
    os.utime(table, ns=(future, future))  # scored again since: the pass starts afresh
    assert sldp(True) == (["sldp", "--out", str(out)], {"resume": False})
    assert not checkpoint.exists()


def test_command_line_resume_after_an_interrupt_while_writing_the_outputs(
    world, tmp_path, monkeypatch
):
    # before: the results.tsv and chunk tables written before the Ctrl-C made the folder
    # "files no finished crossreg sldp wrote", and --resume was refused
    argv = command_line(world)
    assert main([*argv, "--out", str(tmp_path / "clean")]) == 0
    out = tmp_path / "out"
    with monkeypatch.context() as patch:
        patch.setattr("crossreg.stats.sldp.outputs.remove_stale_figures", killed)
        assert main([*argv, "--out", str(out)]) == 130
    assert (out / "results.tsv").is_file() and (out / CHECKPOINT).is_dir()
    assert main([*argv, "--out", str(out), "--resume"]) == 0
    runs_log = "crossreg-runs.jsonl"
    ours = {k: v for k, v in files_of(out).items() if k != runs_log}
    assert ours == {k: v for k, v in files_of(tmp_path / "clean").items() if k != runs_log}


def live_block_stats() -> int:
    """How many block (or chunk) statistics are alive now."""
    gc.collect()
    return sum(type(thing) is BlockStats for thing in gc.get_objects())


def test_block_statistics_are_held_a_chromosome_or_a_phenotype_at_a_time(
    world, tmp_path, monkeypatch
):
    # before: every phenotype's statistics of every block were held from the pass to the
    # end of the regression (~0.58 GB a phenotype at 1,700 blocks × 5,313 tracks)
    for name, copy in (("pheno_a", "pheno_c"), ("pheno_b", "pheno_d")):
        shutil.copy(world / f"{name}.sumstats.gz", world / f"{copy}.sumstats.gz")
    held_in_pass: dict[str, int] = {}
    real_part = block_loop._chrom_part

    def part(inputs, chrom, meter):
        held_in_pass[chrom] = live_block_stats()
        return real_part(inputs, chrom, meter)

    held_besides_chunks: list[int] = []
    real_regress = outputs.regress

    def regress(chunks, *args, **kwargs):
        held_besides_chunks.append(live_block_stats() - len(chunks))
        return real_regress(chunks, *args, **kwargs)

    monkeypatch.setattr(block_loop, "_chrom_part", part)
    monkeypatch.setattr(outputs, "regress", regress)
    phenos = [world / f"pheno_{x}.sumstats.gz" for x in "abcd"]
    run(world, tmp_path / "out", sumstats=phenos)
    assert held_in_pass == {"1": 0, "22": 0}  # chromosome 1's were written, not kept
    assert held_besides_chunks == [0, 0, 0, 0]  # a phenotype's chunk sums, no block's
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [p["blocks"] for p in summary["phenotypes"].values()] == [28, 28, 28, 28]


def test_a_checkpoint_written_by_np_savez_resumes(world, tmp_path, monkeypatch):
    """crossreg wrote each chromosome's file with np.savez, holding all its members at once;
    now a member at a time, in the same layout: a checkpoint of the earlier writer resumes."""
    run(world, tmp_path / "clean")
    out = tmp_path / "out"
    interrupted_run(world, out, monkeypatch)
    saved = out / CHECKPOINT / "chr1.npz"
    with np.load(saved) as members:
        arrays = {name: members[name] for name in members.files}
    assert {"p0.blocks", "p0.numerator", "p1.dbb", "meta"} <= arrays.keys()
    saved.unlink()
    np.savez(saved, **arrays)
    computed = computed_chroms(monkeypatch)
    run(world, out, resume=True)
    assert computed == ["22"]
    assert files_of(out) == files_of(tmp_path / "clean")


def test_damaged_block_statistics_in_a_checkpoint_are_computed_again(
    world, tmp_path, monkeypatch, caplog
):
    # the pass reads back a chromosome's file without its block statistics: their damage
    # is found then (each member's CRC), not when the regression reads them
    run(world, tmp_path / "clean")
    out = tmp_path / "out"
    interrupted_run(world, out, monkeypatch)
    saved = out / CHECKPOINT / "chr1.npz"
    with np.load(saved) as members:
        numbers = members["p1.numerator"].tobytes()
    data = bytearray(saved.read_bytes())
    at = data.find(numbers)
    assert at > 0
    data[at + len(numbers) // 2] ^= 0xFF
    saved.write_bytes(bytes(data))
    computed = computed_chroms(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="crossreg"):
        run(world, out, resume=True)
    assert "p1.numerator.npy is damaged" in caplog.text and "computing chr1 again" in caplog.text
    assert computed == ["1", "22"]
    assert files_of(out) == files_of(tmp_path / "clean")


def arrays_under(root: object) -> list[np.ndarray]:
    """The numpy arrays `root` holds, directly or through containers and objects."""
    found: list[np.ndarray] = []
    seen: set[int] = set()
    todo = [root]
    while todo:
        thing = todo.pop()
        if id(thing) in seen or isinstance(thing, (type, types.ModuleType, str, bytes)):
            continue
        seen.add(id(thing))
        if isinstance(thing, np.ndarray):
            found.append(thing)
        else:
            todo.extend(gc.get_referents(thing))
    return found


def test_phenotypes_are_held_without_their_ids_and_read_one_at_a_time(world, tmp_path, monkeypatch):
    # before: each phenotype's SNP ids and alleles at the print SNPs were held for the run
    # as numpy strings (4 bytes a character: ~80 MB a phenotype at 1.2M HapMap3 SNPs), and
    # every phenotype's file was read before the first was reduced
    names = ["pheno_a", "pheno_b", "pheno_c", "pheno_d"]
    for name, copy in (("pheno_a", "pheno_c"), ("pheno_b", "pheno_d")):
        shutil.copy(world / f"{name}.sumstats.gz", world / f"{copy}.sumstats.gz")
    alive_at_read: list[int] = []
    real_read = sldp_inputs.read_sumstats

    def read(path, print_snps):
        gc.collect()
        alive_at_read.append(sum(type(thing) is Sumstats for thing in gc.get_objects()))
        return real_read(path, print_snps)

    held: dict[str, list[list[np.ndarray]]] = {}
    real_part = block_loop._chrom_part

    def part(inputs, chrom, meter):
        held[chrom] = [arrays_under(pheno) for pheno in inputs.phenos]
        return real_part(inputs, chrom, meter)

    monkeypatch.setattr(sldp_inputs, "read_sumstats", read)
    monkeypatch.setattr(block_loop, "_chrom_part", part)
    run(world, tmp_path / "out", sumstats=[world / f"{n}.sumstats.gz" for n in names])
    assert alive_at_read == [0, 0, 0, 0]
    printed = read_print_snps(world / "print_snps.txt")
    rows = [len(real_read(world / f"{n}.sumstats.gz", printed).z) for n in names]
    assert held.keys() == {"1", "22"}
    for arrays_of in held.values():
        for arrays, count in zip(arrays_of, rows, strict=True):
            assert [a.dtype for a in arrays if a.dtype.kind in "OSU"] == []
            # a print-SNP index, two allele codes, Z and N: 22 bytes a row
            assert sum(a.nbytes for a in arrays) == 22 * count
