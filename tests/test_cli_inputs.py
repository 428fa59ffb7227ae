"""Commands that run a model check their arguments and inputs before importing torch: a
mistyped path, head or track is reported at once, by a process that never loaded torch."""

from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crossreg.cli import input_error_message, main
from crossreg.commands.inputs import require_rereadable
from crossreg.model.checkpoint_info import CONFIG_NAME, FORMAT, WEIGHTS_NAME
from tests.pipeline import small_params


def _target(index: int, description: str) -> dict:
    return {
        "index": index,
        "identifier": f"t{index}",
        "files": [f"t{index}.bw"],
        "clip": 32.0,
        "scale": 1.0,
        "sum_stat": "sum",
        "description": description,
    }


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """A checkpoint's files (config of two heads; the weights file only needs to exist),
    a dataset description, and small FASTA, VCF and GTF files."""
    root = tmp_path_factory.mktemp("inputs")
    model = root / "model"
    model.mkdir()
    targets = [_target(0, "CAGE:liver"), _target(1, "DNASE:liver")]
    config: dict[str, object] = {"format": FORMAT, "seq_length": 8, "bin_width": 2, "bins": 2}
    config |= {"crop": [1, 1], "genomes": {"human": "head_human", "mouse": "head_mouse"}}
    config["targets"] = {"human": targets, "mouse": targets}
    (model / CONFIG_NAME).write_text(json.dumps(config))
    (model / WEIGHTS_NAME).write_bytes(b"")
    files = {"model": model, "run": root / "run"}  # a training run: its checkpoint in best/
    shutil.copytree(model, files["run"] / "best")
    files["model_batch_8"] = root / "model_batch_8"  # params that train in batches of 8
    shutil.copytree(model, files["model_batch_8"])
    config["params"] = {"train": {"batch_size": 8}}
    (files["model_batch_8"] / CONFIG_NAME).write_text(json.dumps(config))
    # without and with valid windows, and a store of another genome with fewer train windows
    for name, genome, train, valid in (
        ("store", "dog", 4, 0),
        ("store_valid", "dog", 4, 2),
        ("store_cat", "cat", 3, 2),
    ):
        files[name] = root / name
        files[name].mkdir()
        splits = {
            "train": {"offset": 0, "count": train},
            "valid": {"offset": train, "count": valid},
        }
        meta = {
            "format": "crossreg-dataset",
            "format_version": 1,
            "genome": genome,
            "pool_width": 128,
        }
        (files[name] / "dataset.json").write_text(json.dumps({**meta, "splits": splits}))
    files["params"] = root / "params.json"
    files["params"].write_text(json.dumps(small_params({"dog": 2})))
    unclipped = small_params({"dog": 2})
    unclipped["train"]["global_clipnorm"] = 1.0
    files["params_unread"] = root / "params_unread.json"
    files["params_unread"].write_text(json.dumps(unclipped))
    files["params_two"] = root / "params_two.json"  # heads dog and cat, batches of 4
    files["params_two"].write_text(json.dumps(small_params({"dog": 2, "cat": 2})))
    batch_8 = small_params({"dog": 2})
    batch_8["train"]["batch_size"] = 8
    files["params_batch_8"] = root / "params_batch_8.json"
    files["params_batch_8"].write_text(json.dumps(batch_8))
    for name, text in {
        "fasta": ">chr1\nACGT\n",
        "vcf": "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\nchr1\t2\tv\tC\tG\n",
        "vcf_bare": "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n1\t2\tv\tC\tG\n",
        "vcf_mixed": "#CHROM\tPOS\tID\tREF\tALT\nchrUn\t2\tu\tC\tG\nchr1\t2\tv\tC\tG\n",
        "gtf": 'chr1\ts\texon\t1\t2\t.\t+\t.\tgene_id "G";\n',
        "h5": "",
        "bed": "chr1\t0\t2\nchr1\t2\t9\n",  # its second region runs past chr1's 4 bp
        "bed_bare": "1\t0\t2\n",
    }.items():
        files[name] = root / f"input.{name}"
        files[name].write_text(text)
    Path(f"{files['fasta']}.fai").write_text("chr1\t4\t6\t4\t5\n")  # the FASTA's index
    return files


def _cases(f: dict[str, Path], out: Path) -> list[tuple[list[str], str]]:
    """(argv, the message it must log) of each command that runs a model, and of the
    commands whose inputs are NAME=FILE pairs or many files."""
    model, store, fasta, vcf, gtf = (str(f[k]) for k in ("model", "store", "fasta", "vcf", "gtf"))
    params, good, cat = str(f["params"]), str(f["store_valid"]), str(f["store_cat"])
    nope = str(out / "nope")
    o = ["--out", str(out / "o")]
    return [
        (["train", "--params", f"{nope}.json", "--data", good, *o],
         f"--params {nope}.json: no such file"),
        (["train", "--params", gtf, "--data", good, *o], f"{gtf}: not valid JSON"),
        (["train", "--params", params, "--data", good, "--data", nope, *o],
         f"--data {nope}: no such file"),
        (["train", "--params", params, "--data", store, *o],
         f"dataset {store} has no windows in valid; it has train (4 windows), valid (0"),
        (["train", "--params", params, "--data", str(f["fasta"]), *o],
         "not a finished crossreg dataset"),
        (["train", "--params", params, "--data", good, "--out", f"{vcf}/run"],
         f"--out {vcf}/run: cannot be written"),
        (["train", "--params", params, "--data", good, "--resume", *o],
         f"--resume: {out / 'o' / 'last'} does not exist"),
        (["finetune", "--model", nope, "--data", good, *o], f"--model {nope}: no such file"),
        (["finetune", "--model", model, "--data", store, *o], "has no windows in valid; it "
         "has train (4 windows), valid (0 windows): rebuild it with crossreg data, giving that "
         "split regions of at least one window"),
        (["finetune", "--model", model, "--data", good, "--resume", *o],
         f"--resume: {out / 'o' / 'last'} does not exist"),
        (["finetune", "--model", model, "--data", good, "--head-name", "human", *o],
         f"{model} already has a head 'human'; name the new head with --head-name"),
        (["finetune", "--model", model, "--data", good, "--head-name", "a b", *o],
         "--head-name 'a b': a head's name holds letters, digits"),
        (["finetune", "--model", model, "--data", good, "--lora-rank", "4", *o],
         "--lora-rank (--mode lora): not an option of this run's --mode probe"),
        (["finetune", "--model", model, "--data", good, "--batch-size", "5", *o],
         f"dataset {good} has 4 train windows, fewer than one batch of 5 (batches are whole); "
         "lower --batch-size to 4 or less"),
        (["finetune", "--model", str(f["model_batch_8"]), "--data", good, *o],
         f"dataset {good} has 4 train windows, fewer than one batch of 8"),
        (["train", "--params", params, "--data", good, "--data", good, *o],
         f"datasets {good} and {good} are both of genome dog: a run trains one head per "
         "genome on its store; give each genome's store once"),
        (["train", "--params", params, "--data", good, "--head", "dog=head_cat", *o],
         "--head dog=head_cat: the params define no head 'head_cat'; their heads are head_dog"),
        (["train", "--params", str(f["params_unread"]), "--data", good, *o],
         "train key(s) global_clipnorm are not implemented by crossreg"),
        (["train", "--params", params, "--data", good, "--batch-size", "5", *o],
         f"dataset {good} has 4 train windows, fewer than one batch of 5 (batches are whole); "
         "lower --batch-size to 4 or less"),
        (["train", "--params", str(f["params_batch_8"]), "--data", good, *o],
         f"dataset {good} has 4 train windows, fewer than one batch of 8"),
        # the advice fits every store at once: the one with the fewest windows is named
        (["train", "--params", str(f["params_two"]), "--data", good, "--data", cat,
          "--batch-size", "5", *o], f"dataset {cat} has 3 train windows (the fewest of the 2 "
         "stores), fewer than one batch of 5 (batches are whole); lower --batch-size to 3"),
        (["evaluate", "--model", nope, "--data", store, *o], f"--model {nope}: no such file"),
        (["evaluate", "--model", model, "--data", nope, *o], f"--data {nope}: no such file"),
        (["evaluate", "--model", model, "--data", store, "--split", "tset", *o], "no split 'tset'"),
        (["evaluate", "--model", model, "--data", store, "--split", "valid", *o], "no windows"),
        (["evaluate", "--model", model, "--data", store, "--split", "train", *o],
         "no head for the dataset's genome 'dog'"),
        (["evaluate", "--model", model, "--data", store, "--genome", "rat", "--split", "train",
          *o], "--genome rat: "),
        (["evaluate", "--model", str(f["fasta"]), "--data", store, "--split", "train", *o],
         "not a crossreg checkpoint directory"),
        (["evaluate", "--model", str(f["run"]), "--data", store, "--split", "train", *o],
         f"it holds a training run: give its checkpoint {f['run'] / 'best'}"),
        (["evaluate", "--model", store, "--data", store, "--split", "train", *o],
         f"{store}: not a crossreg checkpoint directory (no config.json); it is a dataset store "
         "(dataset.json), which goes to --data"),
        (["evaluate", "--model", store, "--data", model, "--split", "train", *o],
         f"{model} is a model checkpoint (config.json), not a dataset: give it as the model"),
        (["transfer", "--model", model, "--head", "rat", "--data", store, "--gtf", gtf, *o],
         "--head rat: "),
        (["transfer", "--model", model, "--data", store, "--gtf", gtf, *o],
         "choose one with --head"),
        (["evaluate", "--model", model, "--data", store, "--head", "rat", "--split", "train",
          *o], "--head rat: "),
        (["transfer", "--model", model, "--head", "human", "--data", store, "--gtf", nope, *o],
         f"--gtf {nope}: no such file"),
        (["transfer", "--model", model, "--head", "human", "--data", good, "--gtf", gtf, *o],
         f"--splits valid,test: dataset {good} has no split 'test'; it has train (4 windows), "
         "valid (2 windows): choose another --splits, or rebuild it with crossreg data"),
        (["sad", "--model", model, "--fasta", fasta, "--vcf", nope, *o], f"--vcf {nope}: no such"),
        (["sad", "--model", model, "--fasta", fasta, "--vcf", vcf, *o], "choose one with --head"),
        (["sad", "--model", model, "--head", "rat", "--fasta", fasta, "--vcf", vcf, *o],
         "--head rat: "),
        (["sad", "--model", model, "--genome", "rat", "--fasta", fasta, "--vcf", vcf, *o],
         "--genome rat: "),
        (["sad", "--model", model, "--genome", "human", "--fasta", fasta, "--vcf", vcf,
          "--targets", "CHIP", *o], "--targets 'CHIP' selects no track"),
        (["sad", "--model", model, "--genome", "human", "--fasta", fasta, "--vcf", vcf,
          "--gtf", nope, *o], f"--gtf {nope}: no such"),
        (["sad", "--model", model, "--genome", "human", "--fasta", fasta, "--vcf", vcf,
          "--indel", "right", *o], "unknown indel rule 'right'; choose among basenji, left"),
        (["sad", "--model", model, "--genome", "human", "--fasta", fasta, "--vcf", vcf,
          "--out", str(out / "sad.txt")],
         f"--out {out / 'sad.txt'}: the output must end in .h5 or .tsv; rename it"),
        (["sad", "--model", model, "--genome", "human", "--fasta", fasta, "--vcf", vcf,
          "--stats", "SAD,REF", "--out", str(out / "sad.tsv")], "REF are (alleles, bins, tracks)"),
        (["ism", "--model", model, "--genome", "human", "--fasta", fasta, "--vcf", vcf,
          "--out", str(out / "ism.npy")], f"--out {out / 'ism.npy'}: the output must end in .h5"),
        (["ism", "--model", model, "--genome", "human", "--fasta", fasta, "--bed", nope, *o],
         f"--bed {nope}: no such"),
        (["ism", "--model", model, "--genome", "mouse", "--fasta", nope, "--vcf", vcf, *o],
         f"--fasta {nope}: no such"),
        (["import-basenji", "--params", gtf, "--weights", gtf, "--weights", gtf, "--targets",
          gtf, "--genome", "human", *o], "once per head: got 2, 1 and 1"),
        (["import-basenji", "--params", gtf, "--weights", nope, "--targets", gtf, "--genome",
          "human", *o], f"--weights {nope}: no such"),
        (["import-basenji", "--params", gtf, "--weights", gtf, "--targets", gtf, "--genome",
          "human", *o], f"{gtf}: not valid JSON"),
        (["denovo", "--cases-vcf", vcf, "--controls-vcf", vcf, "--cases-sad", nope,
          "--controls-sad", nope, *o], f"--cases-sad {nope}: no such"),
        (["sad-merge", *o, str(f["h5"]), nope], f"{nope}: no such file"),
        (["evaluate", "--model", model, "--data", store, "--split", "train", "--out",
          f"{vcf}/out"], f"--out {vcf}/out: cannot be written ({vcf} is a file, not a folder)"),
        (["sad", "--model", model, "--genome", "human", "--fasta", fasta, "--vcf", vcf,
          "--out", f"{vcf}/sad.h5"], f"--out {vcf}/sad.h5: cannot be written"),
        (["transfer", "--model", model, "--head", "human", "--data", store, "--gtf", gtf,
          "--out", f"{vcf}/a/b"], f"--out {vcf}/a/b: cannot be written"),
        (["split", "--sizes", f"human={nope}", *o], f"--sizes human={nope}: no such file"),
        (["split", "--sizes", f"human={fasta}", "--sizes", f"mouse={fasta}", "--net",
          f"human,mouse={nope}", *o],
         f"--net human,mouse={nope}: no such file"),
        (["sldp", "--bfile-chr", nope, "--print-snps", vcf, "--ld-blocks", vcf, "--ldscores-chr",
          nope, "--sad", f"{nope}.h5", "--sumstats", vcf, *o], f"--sad {nope}.h5: no such file"),
        *_folder_cases(f, out),
        *_content_cases(f, out),
    ]  # fmt: skip


def _content_cases(f: dict[str, Path], out: Path) -> list[tuple[list[str], str]]:
    """(argv, the message it must log) of regions, chromosomes or FASTA records that do not
    fit the FASTA (its .fai) or the model (its config.json): found before torch loads."""
    model, fasta, bed, vcf, gtf = (str(f[k]) for k in ("model", "fasta", "bed", "vcf", "gtf"))
    bare, mixed = str(f["vcf_bare"]), str(f["vcf_mixed"])
    o = ["--out", str(out / "o.h5")]
    lacks = f"{bare}:3: variant v at 1:2 is on a chromosome not in {fasta}; did you mean 'chr1'?"
    past = f"{bed}:2: interval chr1:2-9 runs past the chromosome end (4 bp)"
    bare_bed = str(f["bed_bare"])
    return [
        (["predict", "--model", model, "--genome", "human", "--fasta", fasta, "--bed", bare_bed,
          *o], f"{bare_bed}:1: chromosome '1' is not in {fasta}; did you mean 'chr1'?"),
        (["predict", "--model", model, "--genome", "human", "--fasta", fasta, "--bed", bed, *o],
         past),
        (["predict", "--model", model, "--genome", "human", "--fasta", fasta, "--bed", bed,
          "--bigwig", str(out / "bw")], past),
        (["predict", "--model", model, "--genome", "human", "--fasta", fasta, *o],
         f"{fasta}: record 'chr1' is 4 bp but the model reads 8 bp"),
        (["predict", "--model", model, "--genome", "human", "--fasta", fasta, "--chroms", "chrZ",
          "--bigwig", str(out / "bw")], f"--chroms chrZ: not in {fasta} (its chromosomes: chr1)"),
        (["ism", "--model", model, "--genome", "human", "--fasta", fasta, "--bed", bed, *o], past),
        (["ism", "--model", model, "--genome", "rat", "--fasta", fasta, "--vcf", vcf, *o],
         "--genome rat: "),
        (["ism", "--model", model, "--head", "rat", "--fasta", fasta, "--vcf", vcf, *o],
         "--head rat: "),
        (["predict", "--model", model, "--head", "rat", "--fasta", fasta, *o], "--head rat: "),
        (["predict", "--model", model, "--genome", "rat", "--fasta", fasta, *o],
         "--genome rat: "),
        (["ism", "--model", model, "--genome", "human", "--fasta", fasta, "--vcf", vcf,
          "--targets", "CHIP", *o], "--targets 'CHIP' selects no track"),
        (["ism", "--model", model, "--genome", "human", "--fasta", fasta, "--vcf", vcf,
          "--width", "9", *o], "--width must be between 1 and the model's 8 bp, got 9"),
        (["ism", "--model", model, "--genome", "human", "--fasta", fasta, "--vcf", bare, *o],
         lacks),
        (["sad", "--model", model, "--genome", "human", "--fasta", fasta, "--vcf", bare, *o],
         lacks),
        (["sad", "--model", model, "--genome", "human", "--fasta", fasta, "--vcf", mixed,
          "--strict", *o], f"{mixed}:2: variant u at chrUn:2 is on a chromosome not in {fasta} ("),
        (["sad", "--model", model, "--genome", "human", "--fasta", fasta, "--vcf", gtf, *o],
         f"{gtf}:1: POS 's' is not a whole number"),
    ]  # fmt: skip


def _folder_cases(f: dict[str, Path], out: Path) -> list[tuple[list[str], str]]:
    """(argv, the message it must log) of a folder given where a file is read, and of an
    output folder that cannot be made: named by the option, before any work is done."""
    model, store, fasta, vcf, gtf = (str(f[k]) for k in ("model", "store", "fasta", "vcf", "gtf"))
    folder = str(f["model"].parent)
    is_folder = f"{folder}: is a folder; give the file"
    o = ["--out", str(out / "o")]
    return [
        (["sad", "--model", model, "--fasta", fasta, "--vcf", folder, *o], f"--vcf {is_folder}"),
        (["ism", "--model", model, "--fasta", fasta, "--bed", folder, *o], f"--bed {is_folder}"),
        (["predict", "--model", model, "--fasta", fasta, "--bed", folder, "--out",
          str(out / "p.npy")], f"--bed {is_folder}"),
        (["transfer", "--model", model, "--head", "human", "--data", store, "--gtf", folder, *o],
         f"--gtf {is_folder}"),
        (["denovo", "--cases-vcf", folder, "--controls-vcf", vcf, "--cases-sad", vcf,
          "--controls-sad", vcf, *o], f"--cases-vcf {is_folder}"),
        (["split", "--sizes", f"human={folder}", *o], f"--sizes human={is_folder}"),
        (["split", "--sizes", f"human={fasta}", "--sizes", f"mouse={fasta}", "--net",
          f"human,mouse={folder}", *o], f"--net human,mouse={is_folder}"),
        (["sldp", "--bfile-chr", vcf, "--print-snps", vcf, "--ld-blocks", folder,
          "--ldscores-chr", vcf, "--sad", vcf, "--sumstats", vcf, *o], f"--ld-blocks {is_folder}"),
        (["train", "--params", folder, "--data", store, *o], f"--params {is_folder}"),
        (["import-basenji", "--params", gtf, "--weights", folder, "--targets", gtf, "--genome",
          "human", *o], f"--weights {is_folder}"),
        (["sad-merge", *o, folder], f"shards {is_folder}"),
        (["compare", "--joint", folder, "--single", folder, *o],
         f"{folder}: is a folder without a metrics.tsv; give crossreg evaluate's metrics.tsv"),
        (["data", "--genome", "dog", "--fasta", fasta, "--targets", gtf, "--out",
          f"{vcf}/dog"], f"--out {vcf}/dog: cannot be written"),
        (["data-merge", "--out", f"{vcf}/dog", store], f"--out {vcf}/dog: cannot be written"),
        (["demo", "--fast", "--out", folder], f"--out {folder} already holds files no finished "
         "crossreg demo wrote ("),
        (["predict", "--model", model, "--genome", "human", "--fasta", fasta, "--bigwig", folder],
         f"--bigwig {folder} "
         "exists, is not empty and is not the BigWigs of crossreg predict --bigwig"),
    ]  # fmt: skip


DRIVER = textwrap.dedent(
    """
    import json, logging, sys
    from crossreg.cli import build_parser, main

    build_parser()
    results = [{"argv": ["--help"], "torch": "torch" in sys.modules, "rc": 0, "log": ""}]

    class Last(logging.Handler):
        def emit(self, record):
            self.text = record.getMessage()

    for argv in json.loads(sys.argv[1]):
        last = Last()
        logging.getLogger("crossreg").addHandler(last)
        rc = main(argv)
        logging.getLogger("crossreg").removeHandler(last)
        entry = {"argv": argv, "rc": rc, "log": getattr(last, "text", "")}
        results.append({**entry, "torch": "torch" in sys.modules})
    print(json.dumps(results))
    """
)


def test_bad_arguments_fail_before_torch_is_imported(inputs, tmp_path):
    cases = _cases(inputs, tmp_path)
    run = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps([argv for argv, _ in cases])],
        capture_output=True,
        text=True,
        check=True,
    )
    results = json.loads(run.stdout)
    assert results[0]["torch"] is False  # the parser of every command: no torch
    for (argv, message), got in zip(cases, results[1:], strict=True):
        assert got["rc"] == 1 and message in got["log"], (argv, got)
        assert got["torch"] is False, f"crossreg {' '.join(argv)} imported torch"
    assert "Traceback" not in run.stderr


def test_a_missing_metrics_table_is_refused_before_scipy_loads(tmp_path):
    # before: compare imported scipy and polars (4-8 s) before finding --joint missing
    nope = tmp_path / "nope.tsv"
    argv = ["compare", "--joint", str(nope), "--single", str(nope), "--out", str(tmp_path / "o")]
    assert f"--joint {nope}: no such file or directory" in _refused_before_the_statistics(argv)


def _refused_before_the_statistics(argv: list[str]) -> str:
    """The stderr of ``crossreg argv`` run in a fresh process, checked to fail (status 1)
    without importing scipy, polars or torch."""
    code = (
        "import sys; from crossreg.cli import main\n"
        f"assert main({argv!r}) == 1\n"
        "heavy = [m for m in ('scipy', 'polars', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stderr


def test_a_file_that_is_no_sad_output_is_refused_before_scipy_loads(inputs, tmp_path):
    # before: denovo imported scipy and polars (~3 s) before reading its SAD files
    vcf, gtf = inputs["vcf"], inputs["gtf"]
    headless = tmp_path / "cases.tsv"
    headless.write_text(gtf.read_text())
    cases = [
        (
            vcf,
            f"--cases-sad {vcf}: SAD files are .h5 or .tsv, as crossreg sad writes them; "
            "this is a VCF: give the SAD file crossreg sad scored from it",
        ),
        (headless, f"{headless} line 1: a SAD .tsv starts with columns snp chrom"),
    ]
    for sad, message in cases:
        argv = ["denovo", "--cases-vcf", str(vcf), "--controls-vcf", str(vcf), "--cases-sad"]
        argv += [str(sad), "--controls-sad", str(sad), "--out", str(tmp_path / "o")]
        assert message in _refused_before_the_statistics(argv)


def test_the_statistic_names_checked_without_torch_are_those_computed():
    from crossreg.variants.sad_names import STAT_NAMES
    from crossreg.variants.sad_stats import STATS

    assert tuple(STATS) == STAT_NAMES


def test_a_vcf_given_as_a_pipe_is_refused_where_it_is_read_twice(tmp_path):
    # before: `sad --vcf <(...)` read the VCF once to survey it, then found it empty
    fifo = tmp_path / "v.vcf"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"--vcf .*v\.vcf: is a pipe, which can be read only once"):
        require_rereadable(argparse.Namespace(vcf=fifo), "vcf")
    plain = tmp_path / "plain.vcf"
    plain.write_text("")
    require_rereadable(argparse.Namespace(vcf=plain), "vcf")
    require_rereadable(argparse.Namespace(vcf=None), "vcf")


def _deny_reading(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """`path` reads as without read permission (which root, running the tests, ignores)."""
    readable = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: Path(p) != path and readable(p, mode))


@pytest.mark.parametrize(
    ("name", "argv", "named"),
    [
        ("vcf", ["sad", "--model", "{model}", "--fasta", "{fasta}", "--vcf", "{vcf}"],
         "--vcf {vcf}"),
        ("params", ["train", "--params", "{params}", "--data", "{store_valid}"],
         "--params {params}"),
        ("fasta", ["split", "--sizes", "human={fasta}"], "--sizes human={fasta}"),
        ("gtf", ["transfer", "--model", "{model}", "--head", "human", "--data", "{store}",
                 "--gtf", "{gtf}"], "--gtf {gtf}"),
        ("model", ["evaluate", "--model", "{model}", "--data", "{store}"], "--model {model}"),
    ],
)  # fmt: skip
def test_an_unreadable_input_is_named_with_its_option(
    inputs, tmp_path, monkeypatch, logs, name, argv, named
):
    # before: "[Errno 13] Permission denied: ...", or the file was read as missing
    _deny_reading(monkeypatch, inputs[name])
    paths = {key: str(path) for key, path in inputs.items()}
    argv = [arg.format(**paths) for arg in argv]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 1
    assert f"{named.format(**paths)}: not readable; check its permissions" in logs.text


def test_an_os_error_of_an_input_is_named_with_its_option(tmp_path, monkeypatch):
    # the safety net of errors raised where a command reads its inputs
    folder, vcf = tmp_path / "calls", tmp_path / "calls.vcf"
    folder.mkdir()
    vcf.write_text("")
    args = argparse.Namespace(vcf=folder, gtf=vcf, out=tmp_path / "o")
    is_folder = IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(folder))
    assert input_error_message(args, is_folder) == f"--vcf {folder}: is a folder; give the file"
    _deny_reading(monkeypatch, vcf)
    denied = PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(vcf))
    assert input_error_message(args, denied) == f"--gtf {vcf}: not readable; check its permissions"
    # an error that names an input in its text only is not blamed on a folder that exists
    missing = FileNotFoundError(f"No such file or directory: {folder}/model.safetensors")
    assert input_error_message(args, missing) == str(missing)
    # nor on an option that holds no path: a word of its text that is no file here
    monkeypatch.chdir(tmp_path)
    words = argparse.Namespace(command="predict", genome="human", out=tmp_path / "o")
    weights = FileNotFoundError("No such file or directory: runs/predict/human.safetensors")
    assert input_error_message(words, weights) == str(weights)


def test_a_folder_output_goes_only_where_nothing_else_is(inputs, tmp_path, capsys):
    """evaluate, transfer, denovo, compare and sldp write files into `--out`: a folder
    holding another command's output or the user's files is refused before any work (it
    was written into: denovo replaced a split's components.tsv)."""
    from crossreg.io.atomic_dir import CONTENTS_FILE
    from crossreg.runlog import record_run

    model, vcf = str(inputs["model"]), str(inputs["vcf"])
    split, user, evaluated = (tmp_path / name for name in ("split", "user", "evaluated"))
    record_run(split, ["split", "--out", str(split)], 0.0, 1.0)
    (split / "components.tsv").write_text("the split's own table\n")
    user.mkdir()
    (user / "notes.txt").write_text("mine\n")
    record_run(evaluated, ["evaluate", "--out", str(evaluated)], 0.0, 1.0)
    store = str(shutil.copytree(inputs["store"], tmp_path / "store"))  # as data writes it:
    (Path(store) / CONTENTS_FILE).write_text("dataset.json\n")  # a whole folder
    denovo = ["denovo", "--cases-vcf", vcf, "--controls-vcf", vcf, "--cases-sad", vcf,
              "--controls-sad", vcf]  # fmt: skip
    sldp = ["sldp", "--bfile-chr", vcf, "--print-snps", vcf, "--ld-blocks", vcf,
            "--ldscores-chr", vcf, "--sad", vcf, "--sumstats", vcf]  # fmt: skip
    evaluate = ["evaluate", "--model", model, "--data", store, "--split", "train", "--genome",
                "human"]  # fmt: skip
    for argv, message in (
        ([*denovo, "--out", str(split)], "holds the output of crossreg split (its "),
        (["compare", "--joint", vcf, "--single", vcf, "--out", str(user)],
         "holds files no finished crossreg compare wrote (notes.txt); crossreg compare "
         "writes into a folder of its own: choose a new or empty --out, or remove them if a "
         "crossreg compare stopped before it finished"),
        ([*sldp, "--out", str(evaluated)], "holds the output of crossreg evaluate"),
        ([*evaluate, "--out", store], "holds the whole output of another crossreg command"),
    ):  # fmt: skip
        assert main(argv) == 1
        said = capsys.readouterr().err
        assert f"--out {argv[-1]} already holds" in said and message in said, said
        assert "choose a new or empty --out" in said
    assert (split / "components.tsv").read_text() == "the split's own table\n"
    assert sorted(p.name for p in user.iterdir()) == ["notes.txt"]


def test_a_folder_output_may_be_new_empty_or_the_commands_own(tmp_path):
    from crossreg.commands.inputs import require_own_folder
    from crossreg.runlog import record_run

    new, empty, logged = tmp_path / "a" / "new", tmp_path / "empty", tmp_path / "logged"
    empty.mkdir()
    record_run(logged, ["-q", "evaluate", "--out", str(logged)], 0.0, 1.0)
    record_run(logged, ["report", str(logged), "--out", str(logged / "r.html")], 0.0, 1.0)
    (logged / "metrics.tsv").write_text("earlier\n")
    for folder in (new, empty, logged):  # logged: a rerun replaces its own output
        require_own_folder(argparse.Namespace(out=str(folder), command="evaluate"))
    assert not new.exists()  # a check: nothing written
    with pytest.raises(ValueError, match=r"holds the output of crossreg evaluate .*; crossreg "):
        require_own_folder(argparse.Namespace(out=str(logged), command="denovo"))
