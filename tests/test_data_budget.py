"""``crossreg data --memory-gb``: the estimate of what a build holds, and its measured peak."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

from crossreg.data.budget import (
    FIXED_BYTES,
    GIB,
    Footprint,
    merge_rows,
    threads_within,
    tracks_per_chunk,
)
from crossreg.data.target_warnings import warn_budget
from tests.data_inputs import random_genome, write_fasta
from tests.own_peak import crossreg_peak


def test_the_footprint_counts_each_buffer_of_a_build():
    # windows a, a, b of 10 bins: 30 bins; edges at most 11 per window and 6 per chromosome
    fp = Footprint.of(["a", "b", "a"], bins=10, genome_bases=1_000)
    assert fp.windows_per_chrom == (2, 1) and fp.bins_total == 30
    assert (fp.edges(2), fp.edges(1), fp.edges(0)) == (28, 17, 0)
    # the FASTA, two masks (1 B per bin), 4-B edges, 32 B per window
    assert fp.base() == FIXED_BYTES + 1_000 + 2 * 30 + 4 * (28 + 17) + 32 * 3
    assert fp.per_thread() == 4 * 28  # the pieces of chromosome a
    # per chunk track 2 B per bin; per call track 15 B per bin
    assert fp.peak(5, 2, 3) == fp.base() + 2 * 30 * 5 + 15 * 30 * 2 + 112 * 3
    assert fp.smallest(2) == fp.peak(2, 2, 2)


def test_threads_and_chunks_fit_the_budget_exactly():
    fp = Footprint.of(["a"] * 4 + ["b"] * 3, bins=100, genome_bases=50_000)
    for threads in (1, 2, 3):
        budget = fp.smallest(threads)
        assert threads_within(fp, 8, budget) == threads
        assert threads_within(fp, 8, budget - 1) == max(threads - 1, 1)
        assert tracks_per_chunk(fp, 50, threads, budget) == threads
        # a chunk of six tracks: three more than the threads' own
        budget = fp.peak(threads + 3, threads, threads)
        assert tracks_per_chunk(fp, 50, threads, budget) == threads + 3
        assert tracks_per_chunk(fp, 50, threads, budget - 1) == threads + 2
    assert threads_within(fp, 8, 0) == 1 and tracks_per_chunk(fp, 50, 1, 0) == 1
    assert tracks_per_chunk(fp, 4, 2, 10 * GIB) == 4


def test_the_memory_the_warnings_advise_is_enough(caplog):
    # before: the advice was rounded to 3 digits, down as often as up: `give --memory-gb
    # 0.0681` for 8 threads that need 0.06812 GiB, which warned again and ran fewer threads
    for bases in range(1_000_000, 1_000_000 + 50 * 7_919, 7_919):
        fp = Footprint.of(["a"] * 40 + ["b"] * 30, bins=448, genome_bases=bases)
        for memory_gb, wanted in ((1e-6, 1), (fp.smallest(1) / GIB, 8)):
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="crossreg"):
                warn_budget(fp, memory_gb, wanted, threads_within(fp, wanted, int(memory_gb * GIB)))
            [advice] = re.findall(r"give --memory-gb ([0-9.e+-]+)", caplog.text)
            budget = int(float(advice) * GIB)
            assert budget >= fp.smallest(wanted), (bases, memory_gb, advice)
            assert threads_within(fp, wanted, budget) == wanted


def test_a_merge_block_and_a_chunk_of_it_fit_the_budget():
    # 10 bins, 6 tracks, chunks of at most 4: 2 B x 10 x (6 + 4) = 200 B per window
    assert merge_rows(10, 6, 4, 1_000) == 5
    assert merge_rows(10, 6, 4, 999) == 4
    assert merge_rows(10, 6, 4, 1) == 1


#: A genome and its windows (pool 8, 896 bins, a stride of 1,021 bp: each bin's edges
#: apart from its neighbours', as the paper's 65,599 bp stride leaves them) of 4.5 M bins,
#: so that a track's buffers (59 MB in a native call) outweigh the interpreter's.
SIZES = {"chr1": 3_000_000, "chr2": 2_000_000}
LAYOUT = ["--seq-length", "8192", "--pool-width", "8", "--stride", "1021", "--crop", "64"]


def _world(root: Path, n_tracks: int) -> Path:
    """A FASTA, four BigWigs (a value every 50 bp, half of them 0) and a table of
    `n_tracks` tracks naming them in turn, a replicate beside every third."""
    rng = np.random.default_rng(0)
    write_fasta(root / "genome.fa", random_genome(SIZES, seed=0))
    for k in range(4):
        bw = pyBigWig.open(str(root / f"d{k}.bw"), "w")
        bw.addHeader(list(SIZES.items()))
        for chrom, size in SIZES.items():
            values = rng.gamma(0.5, 2.0, size // 50) * (rng.random(size // 50) < 0.5)
            bw.addEntries(chrom, 0, values=values.tolist(), span=50, step=50)
        bw.close()
    rows = ["index\tgenome\tidentifier\tfile\tclip\tscale\tsum_stat\tdescription"]
    for i in range(n_tracks):
        files = ",".join(f"d{(i + r) % 4}.bw" for r in range(1 + (i % 3 == 0)))
        stat = "max" if i % 2 else "mean"
        rows.append(f"{i}\t0\tt{i}\t{files}\t32\t2\t{stat}\ttrack {i}")
    (root / "targets.txt").write_text("\n".join(rows) + "\n")
    return root


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's VmHWM")
def test_a_build_stays_within_its_memory_budget(tmp_path):
    # the estimate counted 10 B per bin per thread, called the native core on twice as
    # many tracks as threads (each holding its float16 targets until the call ended),
    # left freed buffers resident in the threads' heaps, and interleaved the chunks in
    # 256 MiB blocks allocated twice over: 2 threads on a 0.5 GiB budget peaked at
    # 0.93 GiB
    root = _world(tmp_path, 12)
    chroms = []
    for chrom, size in SIZES.items():
        chroms += [chrom] * ((size - 8192) // 1021 + 1)
    fp = Footprint.of(chroms, 896, sum(SIZES.values()))
    budget = fp.peak(4, 2, 2)  # two threads, chunks of four tracks
    args = ["--fasta", "genome.fa", "--targets", "targets.txt", "--genome", "g", *LAYOUT]
    args += ["--threads", "2", "--memory-gb", str(budget / GIB), "--out", "store"]
    with open(tmp_path / "log", "wb") as log:
        returncode, peak = crossreg_peak(["-q", "data", *args], root, log)
    errors = (tmp_path / "log").read_text()
    assert returncode == 0, errors
    assert "threads run" not in errors and "below" not in errors  # both threads busy
    assert np.load(root / "store" / "targets.npy", mmap_mode="r").shape[2] == 12
    assert peak <= budget, (peak / 2**20, budget / 2**20)
