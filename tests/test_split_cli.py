"""``crossreg split`` end to end: the files it writes and its errors."""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from crossreg.cli import main
from crossreg.io.atomic_dir import CONTENTS_FILE, atomic_directory
from crossreg.io.bed import read_bed
from crossreg.io.chrom_sizes import read_chrom_sizes
from crossreg.runlog import RUNS_FILE, read_runs
from crossreg.split.report import write_split
from crossreg.split.synteny import NetSpec, SplitResult, split_genomes
from tests.split_reference import syntenic_net, write

SIZES = {
    "hg": {f"chr{i}": 200_000 + 37_000 * i for i in range(1, 6)},
    "mm": {f"chr{i}": 180_000 + 41_000 * i for i in range(1, 5)},
}


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    rng = random.Random(11)
    paths = {}
    for name, sizes in SIZES.items():
        paths[name] = write(
            tmp_path / f"{name}.sizes", "".join(f"{c}\t{n}\n" for c, n in sizes.items())
        )
    paths["net"] = write(tmp_path / "hg.mm.net", syntenic_net(rng, SIZES["hg"], SIZES["mm"]))
    return paths


def run_split(inputs: dict[str, Path], out: Path, *extra: str) -> int:
    return main(
        [
            "split",
            "--sizes", f"hg={inputs['hg']}",
            "--sizes", f"mm={inputs['mm']}",
            "--net", f"hg,mm={inputs['net']}",
            "--out", str(out),
            "--region-size", "2000",
            "--min-aligned", "300",
            *extra,
        ]
    )  # fmt: skip


def test_split_writes_consistent_files(inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_split(inputs, out, "--valid", "0.1", "--test", "0.2", "--seed", "5") == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        CONTENTS_FILE,
        "components.tsv",
        "crossreg-runs.jsonl",
        "hg.regions.bed",
        "links.tsv",
        "mm.regions.bed",
        "split.json",
        "split.txt",
    ]
    report = json.loads((out / "split.json").read_text())
    assert report["parameters"]["seed"] == 5
    assert report["leakage"]["ok"] and report["leakage"]["above_threshold_bp"] == 0
    label_of: dict[tuple[str, str, int], str] = {}
    for genome, sizes in SIZES.items():
        regions = read_bed(out / f"{genome}.regions.bed", sizes=sizes, min_columns=4)
        # the regions tile every chromosome without gaps or overlaps
        by_chrom = defaultdict(list)
        for iv in regions:
            by_chrom[iv.chrom].append(iv)
            label_of[genome, iv.chrom, iv.start] = iv.extra[0]
        for chrom, size in sizes.items():
            ivs = by_chrom[chrom]
            assert ivs[0].start == 0 and ivs[-1].end == size
            assert all(a.end == b.start for a, b in pairwise(ivs))
        bp: defaultdict[str, int] = defaultdict(int)
        for iv in regions:
            bp[iv.extra[0]] += iv.length
        total = sum(sizes.values())
        for label, requested in (("train", 0.7), ("valid", 0.1), ("test", 0.2)):
            assert bp[label] / total == pytest.approx(report["genomes"][genome]["fraction"][label])
            assert bp[label] / total == pytest.approx(requested, abs=0.02)
    # every region of a component carries the component's split
    component_labels = defaultdict(set)
    rows = (out / "components.tsv").read_text().splitlines()
    assert rows[0] == "component\tsplit\tgenome\tchrom\tstart\tend"
    for row in rows[1:]:
        component, label, genome, chrom, start, _ = row.split("\t")
        assert label_of[genome, chrom, int(start)] == label
        component_labels[component].add(label)
    assert all(len(labels) == 1 for labels in component_labels.values())
    assert len(component_labels) == report["components"]["count"]
    # links above the threshold never cross splits; those below are counted in the report
    below = 0
    for row in (out / "links.tsv").read_text().splitlines()[1:]:
        fields = row.split("\t")
        bases, split_a, split_b = int(fields[8]), fields[9], fields[10]
        assert split_a == label_of[fields[0], fields[1], int(fields[2])]
        if split_a != split_b:
            assert bases <= 300
            below += bases
    assert below == report["leakage"]["below_threshold_bp"]
    text = (out / "split.txt").read_text()
    for heading in ("Fraction of each genome per split", "Components:", "Leakage check", "Nets"):
        assert heading in text


def test_same_seed_same_files(inputs: dict[str, Path], tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert run_split(inputs, tmp_path / name, "--seed", "9") == 0
    for file in ("hg.regions.bed", "mm.regions.bed", "components.tsv", "links.tsv"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


def _ordered_rows(folder: Path, sizes: dict[str, Path]) -> dict[str, list[tuple[int, ...]]]:
    """The rows of the split in `folder` as sort keys, by file: a region is (genome index in
    `sizes`, chromosome index in the genome's sizes file, start); components.tsv's rows are
    (component, *region), the BEDs' the region, links.tsv's (*end a, *end b)."""
    genomes = list(sizes)
    chroms = {name: list(read_chrom_sizes(path)) for name, path in sizes.items()}

    def region(genome: str, chrom: str, start: str) -> tuple[int, int, int]:
        return genomes.index(genome), chroms[genome].index(chrom), int(start)

    def rows(name: str) -> list[list[str]]:
        return [line.split("\t") for line in (folder / name).read_text().splitlines()]

    keys: dict[str, list[tuple[int, ...]]] = {
        "components.tsv": [(int(f[0]), *region(*f[2:5])) for f in rows("components.tsv")[1:]],
        "links.tsv": [(*region(*f[0:3]), *region(*f[4:7])) for f in rows("links.tsv")[1:]],
    }
    for genome in genomes:
        bed = f"{genome}.regions.bed"
        keys[bed] = [region(genome, *f[0:2]) for f in rows(bed)]
    return keys


def _assert_documented_order(folder: Path, sizes: dict[str, Path]) -> None:
    """Every file of the split in `folder` lists its rows in the documented order, each row
    once; a link's first end comes before its second."""
    for name, keys in _ordered_rows(folder, sizes).items():
        assert keys == sorted(keys) and len(set(keys)) == len(keys) > 0, name
        if name == "links.tsv":
            assert all(key[:3] < key[3:] for key in keys)


def _split(sizes: dict[str, Path], net: Path) -> SplitResult:
    """The split of `sizes` by the hg-mm `net`, as :func:`run_split` makes it."""
    return split_genomes(sizes, [NetSpec("hg", "mm", net)], region_size=2000, min_aligned=300)


def _files(folder: Path) -> dict[str, bytes]:
    """Every file of a split folder, by name."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_split_files_list_their_rows_in_a_documented_order(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    """Every file of a split lists its rows in an order of its own: the regions by genome
    in the order given, by chromosome in the order of the genome's sizes file and by start
    (components.tsv by component first), the links by their two ends in that order. So the
    files are the same, byte for byte, whatever order the native core hands the regions,
    the links and their ends over in, or the net's records come in."""
    sizes = {"hg": inputs["hg"], "mm": inputs["mm"]}
    net = write(tmp_path / "order.net", inputs["net"].read_text())
    result = _split(sizes, net)
    write_split(result, tmp_path / "as-given")
    _assert_documented_order(tmp_path / "as-given", sizes)
    keys = _ordered_rows(tmp_path / "as-given", sizes)
    assert len(keys["components.tsv"]) == len(result.region_start)
    assert len({key[:2] for key in keys["components.tsv"]}) > len(result.component_split)
    assert len(keys["links.tsv"]) == len(result.link_a) > 100
    files = _files(tmp_path / "as-given")
    assert len(files) == 7  # the two BEDs, components, links, json, text, contents list

    rng = np.random.default_rng(0)
    perm = rng.permutation(len(result.region_start))
    inverse = np.argsort(perm).astype(np.uint32)
    links_perm = rng.permutation(len(result.link_a))
    swap = rng.random(len(result.link_a)) < 0.5  # half the links given end b first
    link_a, link_b = inverse[result.link_a][links_perm], inverse[result.link_b][links_perm]
    shuffled = dataclasses.replace(
        result,
        region_genome=result.region_genome[perm],
        region_chrom=result.region_chrom[perm],
        region_start=result.region_start[perm],
        region_end=result.region_end[perm],
        region_component=result.region_component[perm],
        link_a=np.where(swap, link_b, link_a),
        link_b=np.where(swap, link_a, link_b),
        link_bases=result.link_bases[links_perm],
    )
    write_split(shuffled, tmp_path / "shuffled")
    assert _files(tmp_path / "shuffled") == files

    # the net's records in another order: the same components, listed alike
    records = net.read_text().replace("\nnet ", "\n\0net ").split("\0")
    random.Random(5).shuffle(records)
    write(net, "".join(r if r.endswith("\n") else r + "\n" for r in records))
    write_split(_split(sizes, net), tmp_path / "net-shuffled")
    assert _files(tmp_path / "net-shuffled") == files

    # a sizes file in another chromosome order, or the genomes given the other way round:
    # the rows follow them
    reverse = write(
        tmp_path / "mm.reversed", "".join(reversed(inputs["mm"].read_text().splitlines(True)))
    )
    others = {
        "mm-reversed": {"hg": inputs["hg"], "mm": reverse},
        "mm-first": {"mm": inputs["mm"], "hg": inputs["hg"]},
    }
    for name, order in others.items():
        folder = tmp_path / name
        write_split(_split(order, inputs["net"]), folder)
        _assert_documented_order(folder, order)
        assert _files(folder) != files


def test_a_rerun_without_a_genome_removes_its_regions(
    inputs: dict[str, Path], tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    assert run_split(inputs, out) == 0
    only_hg = ["split", "--sizes", f"hg={inputs['hg']}", "--out", str(out)]
    assert main([*only_hg, "--region-size", "2000"]) == 0
    assert sorted(p.name for p in out.glob("*.regions.bed")) == ["hg.regions.bed"]
    # the folder is replaced whole; its run log keeps the history of both runs
    assert [str(run["command"]).split()[1] for run in read_runs(out / RUNS_FILE)] == ["split"] * 2
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "mm.regions.bed").write_text("chr1\t0\t10\ttrain\n")  # not a split's folder
    assert main(["split", "--sizes", f"hg={inputs['hg']}", "--out", str(keep)]) == 1
    assert f"--out {keep} exists, is not empty and is not a split" in logs.text
    assert sorted(p.name for p in keep.iterdir()) == ["mm.regions.bed"]


def test_a_failed_rerun_leaves_the_earlier_split_whole(
    inputs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the files were written one by one into --out, so a rerun that failed part
    way (a full disk) left its new regions beside the earlier run's split.json."""
    import crossreg.split.report as report

    out = tmp_path / "out"
    assert run_split(inputs, out, "--seed", "1") == 0
    before = _files(out)

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report, "_write_links", disk_full)
    assert run_split(inputs, out, "--seed", "2") == 1
    assert _files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "hg.mm.net",
        "hg.sizes",
        "mm.sizes",
        "out",
    ]


def test_a_split_being_written_is_not_written_by_a_second_run(
    inputs: dict[str, Path], tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    """Before: two runs into one --out at the same time both wrote there, file by file."""
    out = tmp_path / "out"
    assert run_split(inputs, out, "--seed", "1") == 0
    before = _files(out)
    with pytest.raises(RuntimeError, match="left unfinished"), atomic_directory(out):
        assert run_split(inputs, out, "--seed", "2") == 1  # while another run writes it
        raise RuntimeError("left unfinished")
    assert f"{out}: another crossreg process is writing it now" in logs.text
    assert _files(out) == before


def test_an_earlier_split_is_replaced_only_when_it_holds_nothing_else(
    inputs: dict[str, Path], tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    assert run_split(inputs, out) == 0
    (out / "notes.txt").write_text("mine\n")
    assert run_split(inputs, out, "--seed", "2") == 1
    assert (
        f"--out {out} holds a split and also notes.txt, which crossreg did not write there "
        "and a new split would remove; move them out or choose another --out"
    ) in logs.text
    assert (out / "notes.txt").read_text() == "mine\n"
    assert json.loads((out / "split.json").read_text())["parameters"]["seed"] != 2
    # a split written before crossreg listed what it wrote: its own files are replaced,
    # the regions of each genome its split.json names (rn, a genome the new split lacks)
    (out / "notes.txt").unlink()
    (out / CONTENTS_FILE).unlink()
    report = json.loads((out / "split.json").read_text())
    report["genomes"]["rn"] = report["genomes"]["mm"]
    (out / "split.json").write_text(json.dumps(report))
    (out / "rn.regions.bed").write_text("chr1\t0\t10\ttrain\n")
    # but not a BED of the user's named like one (before: any *.regions.bed was the split's)
    (out / "mine.regions.bed").write_text("chr1\t0\t10\tmine\n")
    assert run_split(inputs, out, "--seed", "2") == 1
    assert "holds a split and also mine.regions.bed, which crossreg did not write" in logs.text
    assert (out / "mine.regions.bed").read_text() == "chr1\t0\t10\tmine\n"
    (out / "mine.regions.bed").unlink()
    assert run_split(inputs, out, "--seed", "2") == 0
    assert not (out / "rn.regions.bed").exists()
    assert json.loads((out / "split.json").read_text())["parameters"]["seed"] == 2
    assert (out / CONTENTS_FILE).is_file()


def test_folds_label_the_regions(inputs: dict[str, Path], tmp_path: Path) -> None:
    assert run_split(inputs, tmp_path / "f", "--folds", "4") == 0
    labels = {iv.extra[0] for iv in read_bed(tmp_path / "f" / "hg.regions.bed")}
    assert labels == {"fold0", "fold1", "fold2", "fold3"}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (("--folds", "3", "--valid", "0.1"), "either --folds or --valid/--test"),
        (("--sizes", "hg=x.sizes"), "--sizes given twice for genome hg"),
        (("--net", "hg,rn=x.net"), "genome 'rn' has no sizes"),
        (("--valid", "0.5", "--test", "0.5"), "--valid 0.5 + --test 0.5 leave nothing to train"),
    ],
)
def test_errors_are_logged_with_exit_code_1(
    inputs: dict[str, Path],
    tmp_path: Path,
    logs: pytest.LogCaptureFixture,
    extra: tuple[str, ...],
    expected: str,
) -> None:
    assert run_split(inputs, tmp_path / "out", *extra) == 1
    assert expected in logs.text
    assert not (tmp_path / "out" / "split.json").exists()


def test_malformed_arguments_stop_argparse(inputs: dict[str, Path], tmp_path: Path) -> None:
    for bad in (["--net", "hg.mm.net"], ["--sizes", "hg"]):
        with pytest.raises(SystemExit):
            run_split(inputs, tmp_path / "o", *bad)


def test_the_help_example_gives_the_syntenic_net() -> None:
    """The help's example names UCSC's syntenic net, the one the page says to give: the
    full net's nonSyn fills would join regions that are not orthologous."""
    from crossreg.commands import split

    words = " ".join(split.EXAMPLES).split()
    nets = [words[i + 1] for i, word in enumerate(words) if word == "--net"]
    assert nets and all(net.endswith(".syn.net.gz") for net in nets), nets


def test_a_bad_net_names_file_and_line(
    inputs: dict[str, Path], tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    bad = write(tmp_path / "bad.net", "net chr1 237000\n fill 0 10 chr1 + 0 10\n  gap 5\n")
    inputs = {**inputs, "net": bad}
    assert run_split(inputs, tmp_path / "out") == 1
    assert "bad.net:3: a 'gap' line needs 6 fields" in logs.text


def test_nets_of_both_directions_stop_before_writing(
    inputs: dict[str, Path], tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    reverse = write(tmp_path / "mm.hg.net", "net chr1 221000\n fill 0 900 chr1 + 0 900\n")
    assert run_split(inputs, tmp_path / "out", "--net", f"mm,hg={reverse}") == 1
    assert "align the same two genomes in both directions" in logs.text
    assert "give the nets of one direction only (--net hg,mm=FILE or --net mm,hg=FILE)" in (
        logs.text
    )
    assert not (tmp_path / "out").exists()


GENOMES = Path(__file__).parent / "data" / "genomes"


def test_real_assembly_sizes_and_ucsc_scaffold_names(
    tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    # The hg38/mm10 sizes name scaffolds by accession (KI270728.1) while UCSC nets use
    # chrUn_KI270728v1: such fills stop the run unless --skip-unknown-chroms.
    net = write(
        tmp_path / "hg38.mm10.net",
        "net chr21 46709983\n fill 10000000 300000 chr16 - 49900000 300000 id 1\n"
        "  gap 10100000 1000 chr16 - 50099000 1000\n"
        " fill 20000000 5000 chrUn_JH584304 + 0 5000 id 2\n"
        "net chrUn_KI270728v1 1872759\n fill 0 5000 chr1 + 0 5000 id 3\n",
    )
    args = [
        "split",
        "--sizes", f"hg38={GENOMES / 'human.hg38.genome'}",
        "--sizes", f"mm10={GENOMES / 'mouse.mm10.genome'}",
        "--net", f"hg38,mm10={net}",
        "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    assert main(args) == 1
    assert "chromosome 'chrUn_JH584304' is not in the sizes of genome 'mm10'" in logs.text
    assert "did you mean 'JH584304.1'? The net names the scaffold as UCSC does" in logs.text
    assert "hg38.mm10.net:4" in logs.text
    assert main([*args, "--skip-unknown-chroms"]) == 0
    report = json.loads((tmp_path / "out" / "split.json").read_text())
    assert report["nets"][0]["skipped_chroms"] == ["chrUn_JH584304", "chrUn_KI270728v1"]
    assert report["nets"][0]["aligned_bases"] == 299_000
    hg_regions = read_bed(tmp_path / "out" / "hg38.regions.bed")
    hg38 = read_chrom_sizes(GENOMES / "human.hg38.genome")
    expected = sum(-(-n // 1_000_000) for n in hg38.values())
    assert len(hg_regions) == expected
    # chr21:10.0-10.3 Mb against mm10 chr16:49.9-50.2 Mb on the minus strand (forward
    # coordinates, as UCSC writes them): target 10.0-10.1 Mb runs down chr16 50.2-50.1 Mb
    # (region 50 Mb), the gap is chr16 50.099-50.1 Mb, then target 10.101-10.3 Mb runs down
    # chr16 50.099-49.9 Mb (99,000 bp in region 50 Mb, 100,000 bp in region 49 Mb)
    links = (tmp_path / "out" / "links.tsv").read_text().splitlines()[1:]
    hg = ["hg38", "chr21", "10000000", "11000000"]
    assert [row.split("\t")[:9] for row in links] == [
        [*hg, "mm10", "chr16", "49000000", "50000000", "100000"],
        [*hg, "mm10", "chr16", "50000000", "51000000", "199000"],
    ]
    labels = {(iv.chrom, iv.start): iv.extra[0] for iv in hg_regions}
    mm_regions = read_bed(tmp_path / "out" / "mm10.regions.bed")
    mm = {(iv.chrom, iv.start): iv.extra[0] for iv in mm_regions}
    assert labels["chr21", 10_000_000] == mm["chr16", 50_000_000]
    components = {}
    for row in (tmp_path / "out" / "components.tsv").read_text().splitlines()[1:]:
        component, _, genome, chrom, start, _ = row.split("\t")
        components[genome, chrom, int(start)] = component
    # exactly 100,000 bp is not above --min-aligned 100000: region 49 Mb stays apart
    assert components["hg38", "chr21", 10_000_000] == components["mm10", "chr16", 50_000_000]
    assert components["hg38", "chr21", 10_000_000] != components["mm10", "chr16", 49_000_000]


def test_an_indivisible_component_is_logged_as_a_warning(
    tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    a = write(tmp_path / "a.sizes", "chr1\t10000\n")
    b = write(tmp_path / "b.sizes", "chr1\t10000\n")
    net = write(tmp_path / "a.b.net", "net chr1 10000\n fill 0 8000 chr1 + 500 8000\n")
    args = ["split", "--sizes", f"a={a}", "--sizes", f"b={b}", "--net", f"a,b={net}"]
    args += ["--out", str(tmp_path / "out"), "--region-size", "1000", "--min-aligned", "100"]
    assert main(args) == 0
    warnings = [r.getMessage() for r in logs.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "genome 'a': the requested fractions cannot be met: train 80.0%" in warnings[0]
    report = json.loads((tmp_path / "out" / "split.json").read_text())
    assert report["warnings"] == warnings
    assert report["components"]["largest"]["share"] == {"a": 0.8, "b": 0.9}


def test_a_folder_holding_only_a_run_log_takes_a_split(inputs: dict[str, Path], tmp_path: Path):
    # the demo logs its split step in the folder before writing the split there
    from crossreg.runlog import RUNS_FILE
    from crossreg.split.report import check_out

    out = tmp_path / "out"
    out.mkdir()
    (out / RUNS_FILE).write_text('{"argv": ["split"]}\n')
    check_out(out)
    assert run_split(inputs, out) == 0
    assert (out / "split.json").is_file() and (out / RUNS_FILE).is_file()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_sigterm_while_the_net_is_read_stops_cleanly(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    """A SIGTERM (or Ctrl-C) that arrives while the native core reads the net is raised
    once the core returns, as an interrupt: it was raised inside the first numpy array the
    core made, where loading numpy's C API ran Python code, and the run ended in a Rust
    panic and its backtrace."""
    fifo = tmp_path / "net.fifo"
    os.mkfifo(fifo)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "crossreg", "split",
            "--sizes", f"hg={inputs['hg']}",
            "--sizes", f"mm={inputs['mm']}",
            "--net", f"hg,mm={fifo}",
            "--out", str(out),
            "--region-size", "2000",
            "--min-aligned", "300",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    with os.fdopen(_open_when_read(fifo, process), "w") as writer:
        process.send_signal(signal.SIGTERM)  # while the core waits for the net's lines
        writer.write(inputs["net"].read_text())
    _, stderr = process.communicate(timeout=60)
    assert "panic" not in stderr.lower() and "Traceback" not in stderr
    said = f"ERROR terminated (SIGTERM); nothing was written: --out {out} was not made"
    assert stderr.strip().endswith(said)
    assert process.returncode == 143
    assert not out.exists()


def _open_when_read(fifo: Path, process: subprocess.Popen, timeout: float = 60) -> int:
    """The named pipe `fifo` opened for writing once `process` opened it to read."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as err:  # ENXIO: no reader yet
            if err.errno != errno.ENXIO or process.poll() is not None:
                raise
            if time.monotonic() > deadline:
                process.kill()
                raise TimeoutError(f"{fifo} was never opened for reading") from err
            time.sleep(0.01)
            continue
        os.set_blocking(fd, True)
        return fd


def test_the_net_line_counts_one_as_one(tmp_path: Path) -> None:
    """split.txt's line of a net of one chromosome, fill and gap reads in the singular."""
    hg = write(tmp_path / "hg.sizes", "chr1\t10000\n")
    mm = write(tmp_path / "mm.sizes", "chr1\t10000\n")
    net = write(
        tmp_path / "hg.mm.net",
        "net chr1 10000\n"
        " fill 1000 5000 chr1 + 2000 5000 id 1 score 1 ali 4900\n"
        "  gap 3000 100 chr1 + 4000 100\n",
    )
    out = tmp_path / "out"
    argv = ["split", "--sizes", f"hg={hg}", "--sizes", f"mm={mm}", "--net", f"hg,mm={net}"]
    assert main([*argv, "--out", str(out), "--region-size", "2000"]) == 0
    text = (out / "split.txt").read_text()
    assert f"hg vs mm {net}: 1 chromosome, 1 fill, 1 gap, 4,900 aligned bp" in text, text
