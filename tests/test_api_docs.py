"""The Python API page's examples run as scripts, outside the repository, on the files
they name (a checkpoint, a FASTA, a VCF, a SAD file, a dataset store, Basenji weights, an
ISM file, an evaluation), and give what the steps, a plain ensemble and Basenji give."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from crossreg.data import DataStore
from crossreg.dna import one_hot, reverse_complement_one_hot, shift_one_hot
from crossreg.evaluate.accuracy import evaluate_model
from crossreg.evaluate.table import read_metrics
from crossreg.evaluate.transfer import write_transfer
from crossreg.genome import Genome
from crossreg.model import inference
from crossreg.model.checkpoint import make_config, save_checkpoint
from crossreg.model.inference import InferenceOptions
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.predict import write_predictions
from crossreg.predict.bigwig import write_bigwigs
from crossreg.variants.ism import write_ism
from crossreg.variants.sad import write_sad
from crossreg.variants.sad_read import read_sad
from tests.pipeline import small_params

ROOT = Path(__file__).resolve().parents[1]
BASENJI = Path(__file__).parent / "data" / "basenji_fixtures"
ENSEMBLE = InferenceOptions(rc=True, shifts=(1, 0, -1))


def python_blocks() -> list[str]:
    """The Python blocks of the API page, in order."""
    text = (ROOT / "docs" / "api.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def pipeline_snippet() -> str:
    """The Python block of the API page that runs a pipeline on a trained model."""
    (snippet,) = [b for b in python_blocks() if "score_alleles(" in b]
    return snippet


def opening_snippet() -> str:
    """The API page's opening block: the whole pipeline on the tiny world, from nothing."""
    (snippet,) = [b for b in python_blocks() if "synthesize(" in b]
    return snippet


def run_script(folder: Path, text: str) -> subprocess.CompletedProcess:
    """`text` run as a script in `folder` on the CPU; it must succeed."""
    (folder / "snippet.py").write_text(text)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    run = subprocess.run(
        [sys.executable, "snippet.py"], cwd=folder, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return run


def plain_ensemble(model: SeqNN, x: np.ndarray) -> np.ndarray:
    """Basenji's ensemble spelt out: the mean over shifts 1, 0, -1 of the forward and
    reverse-complement predictions, the latter flipped back along the bins."""
    outputs = []
    with torch.no_grad():
        for shift in (1, 0, -1):
            shifted = shift_one_hot(x, shift)
            for rc in (False, True):
                inputs = reverse_complement_one_hot(shifted) if rc else shifted
                y = model(torch.from_numpy(np.ascontiguousarray(inputs)), "human").numpy()
                outputs.append(y[:, ::-1] if rc else y)
    return np.mean(outputs, axis=0)


@pytest.fixture(scope="module")
def folder(stores, tmp_path_factory) -> Path:
    """A working folder holding what the example names: a random-weight checkpoint with a
    head for the tiny world's human tracks in run/best, the world's FASTA and VCF, the
    SAD file write_sad makes of them, and the human store in data/human."""
    work = tmp_path_factory.mktemp("api_pipeline")
    store = DataStore(stores["human"])
    params = small_params({"human": store.num_targets}, dropout=0.0)
    model = SeqNN(parse_params(params).model, generator=torch.Generator().manual_seed(4))
    config = make_config(model.eval(), params, {"human": store.table.targets})
    save_checkpoint(work / "run" / "best", model, config)
    synth = stores["human"].parent / "synth"
    files = json.loads((synth / "manifest.json").read_text())["genomes"]["human"]
    (work / "genome.fa").symlink_to(synth / files["fasta"])
    (work / "variants.vcf").symlink_to(synth / files["vcf"])
    (work / "genes.gtf").symlink_to(synth / files["gtf"])
    (work / "data").mkdir()
    (work / "data" / "human").symlink_to(stores["human"])
    write_sad(
        work / "run" / "best", work / "genome.fa", work / "variants.vcf", work / "sad.h5",
        head="human", options=ENSEMBLE, plots=False,
    )  # fmt: skip
    # what the other examples name: the FASTA and VCF under other names, Basenji's files,
    # an ISM file of three variants and an evaluation of the checkpoint
    (work / "hg38.fa").symlink_to(synth / files["fasta"])
    vcf = (synth / files["vcf"]).read_text()
    (work / "1kg.vcf.gz").write_bytes(gzip.compress(vcf.encode()))
    names = {"params_human.json": "params_joint_mini.json", "model_human.h5": "model0_best.h5"}
    for name, fixture in {**names, "targets_human.txt": "targets_human_mini.txt"}.items():
        (work / name).symlink_to(BASENJI / fixture)
    lines = vcf.splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    (work / "three.vcf").write_text("".join(lines[: first + 3]))
    write_ism(
        work / "run" / "best", work / "genome.fa", work / "ism.h5", vcf=work / "three.vcf",
        head="human", width=8, plots=False,
    )  # fmt: skip
    evaluate_model(work / "run" / "best", work / "data" / "human", work / "eval", plots=False)
    return work


def test_the_api_pages_pipeline_runs_as_a_script_and_agrees_with_the_steps(folder):
    keep = (
        "\nnp.savez('out.npz', pred=pred, sad=sad, table=table.values, targets=targets,"
        " x=x)\n"
        "print(len(tracks), len(labels), len(windows))\n"
    )
    run = run_script(folder, pipeline_snippet() + keep)
    out = np.load(folder / "out.npz")
    store = DataStore(folder / "data" / "human")
    model_tracks, alleles, windows = map(int, run.stdout.split())
    assert model_tracks == store.num_targets and windows == len(store.windows("test"))
    # the two windows: the reference's chromosome 1 at 0 and 100,000, through the ensemble
    genome = Genome(folder / "genome.fa")
    x = one_hot(genome.fetch_many(["chr1", "chr1"], [0, 100_000], 8192), dtype="float32")
    np.testing.assert_array_equal(out["x"], x)
    from crossreg.model.checkpoint import load_checkpoint

    model, _ = load_checkpoint(folder / "run" / "best")
    np.testing.assert_allclose(out["pred"], plain_ensemble(model, x), rtol=1e-4, atol=1e-5)
    # SAD in memory is what crossreg sad wrote (float16 there), allele for allele
    table = read_sad(folder / "sad.h5")
    assert out["sad"].shape == (alleles, store.num_targets) == out["table"].shape
    assert np.abs(out["sad"]).max() > 0
    np.testing.assert_allclose(out["sad"], table.values, rtol=2e-3, atol=1e-3)
    np.testing.assert_array_equal(out["targets"], np.asarray(store.targets("test")[:2], "f4"))


def test_the_api_pages_other_examples_run_as_scripts_and_give_what_they_say(folder):
    # every other Python block in the page's order, as one script, then what they made
    others = [b for b in python_blocks() if b not in (pipeline_snippet(), opening_snippet())]
    inputs = str(BASENJI / "inputs.fa")
    keep = f"""
import json
import torch
basenji_x = Genome({inputs!r}).one_hot_many(["seq0", "seq1", "seq2", "seq3"], [0] * 4, 8192)
np.savez(
    "other.npz", x=x, x_rc=x_rc, x_shift=x_shift, ism_sum=ism_sum,
    sad_values=sad_frame.drop("snp").to_numpy(), metrics_r=metrics["pearson_r"].to_numpy(),
    preds=basenji2(torch.from_numpy(basenji_x), "human").detach().numpy(),
)
said = dict(
    record=[record.chrom, record.pos], sites=sad_table.sites, snp=sad_frame["snp"].to_list(),
    ism_sites=ism_sites.tolist(), track=basenji2_config.targets["human"][0].identifier,
)
json.dump(said, open("other.json", "w"))
"""
    run_script(
        folder,
        "import numpy as np\nfrom crossreg.genome import Genome\n" + "\n".join(others) + keep,
    )
    out = np.load(folder / "other.npz")
    said = json.loads((folder / "other.json").read_text())
    # DNA: two N-padded windows of chr1 and chr2, their reverse complement and shift
    genome = Genome(folder / "hg38.fa")
    x = one_hot(genome.fetch_many(["chr1", "chr2"], [10_000, -50], 131_072), dtype="float32")
    np.testing.assert_array_equal(out["x"], x)
    assert out["x"][1, :50].sum() == 0 and out["x"][1, 50:].sum() > 0
    np.testing.assert_array_equal(out["x_rc"], x[:, ::-1, ::-1])
    np.testing.assert_array_equal(out["x_shift"][:, 2:], x[:, :-2])
    # VCFs: the last record, its pos 0-based (one less than the VCF's POS)
    last = (folder / "variants.vcf").read_text().splitlines()[-1].split("\t")
    assert said["record"] == [last[0], int(last[1]) - 1]
    # Basenji2's weights predict what Basenji predicted on its inputs
    expect = np.load(BASENJI / "preds_human_gelu1702.npy")
    np.testing.assert_allclose(out["preds"], expect, rtol=1e-4, atol=1e-4)
    assert said["track"] == "t0"
    # the steps' files as they were written
    table = read_sad(folder / "sad.h5", sites=True)
    np.testing.assert_array_equal(out["sad_values"], table.values)
    assert said["snp"] == table.labels and table.sites is not None
    assert [tuple(site) for site in said["sites"]] == table.sites
    with h5py.File(folder / "ism.h5", "r") as ism:
        np.testing.assert_array_equal(out["ism_sum"], ism["sum"][:].astype(np.float32))
    assert out["ism_sum"].shape[:3] == (3, 8, 4) and np.abs(out["ism_sum"]).max() > 0
    assert said["ism_sites"] == table.labels[:3]
    metrics = read_metrics(folder / "eval" / "metrics.tsv")
    np.testing.assert_array_equal(out["metrics_r"], metrics["pearson_r"].to_numpy())


def test_the_api_pages_opening_pipeline_runs_on_the_tiny_world_from_nothing(tmp_path):
    run = run_script(tmp_path, opening_snippet())
    mean_r, alleles, tracks = run.stdout.split()
    # one store per genome of the world, a joint run with a head each, and the human
    # head's evaluation and SAD of the human variants, as the steps write them
    manifest = json.loads((tmp_path / "world" / "manifest.json").read_text())
    assert set(manifest["genomes"]) == {"human", "mouse"}
    human = DataStore(tmp_path / "data" / "human")
    assert DataStore(tmp_path / "data" / "mouse").genome == "mouse"
    assert (tmp_path / "split" / "human.regions.bed").is_file()
    from crossreg.model.checkpoint import load_checkpoint

    _, config = load_checkpoint(tmp_path / "joint" / "best")
    assert set(config.targets) == {"human", "mouse"}
    metrics = read_metrics(tmp_path / "eval_human" / "metrics.tsv")
    assert metrics.height == human.num_targets == int(tracks)
    assert float(mean_r) == pytest.approx(float(metrics["pearson_r"].mean()))
    records = [
        line for line in (tmp_path / "world" / "human" / "variants.vcf").read_text().splitlines()
        if not line.startswith("#")
    ]  # fmt: skip
    table = read_sad(tmp_path / "sad_human.h5")
    assert table.values.shape == (int(alleles), human.num_targets) and int(alleles) > 0
    assert int(alleles) == sum(len(r.split("\t")[4].split(",")) for r in records)


def test_every_name_crossreg_exports_is_on_the_api_page():
    import crossreg

    text = (ROOT / "docs" / "api.md").read_text()
    missing = [name for name in crossreg.__all__ if f"crossreg.{name}" not in text]
    assert not missing, f"docs/api.md does not document crossreg.{missing}"


#: The functions and options classes whose arguments the API page's prose spells out.
DOCUMENTED = {
    "synthesize": "crossreg.synth.world.synthesize",
    "split_genomes": "crossreg.split.synteny.split_genomes",
    "write_split": "crossreg.split.report.write_split",
    "NetSpec": "crossreg.split.synteny.NetSpec",
    "build_dataset": "crossreg.data.build.build_dataset",
    "build_shard": "crossreg.data.build.build_shard",
    "merge_shards": "crossreg.data.shards.merge_shards",
    "BuildOptions": "crossreg.data.build.BuildOptions",
    "Layout": "crossreg.data.build.Layout",
    "train": "crossreg.train.trainer.train",
    "TrainOptions": "crossreg.train.options.TrainOptions",
    "finetune": "crossreg.train.finetune.finetune",
    "FineTuneSpec": "crossreg.train.finetune.FineTuneSpec",
    "import_checkpoint": "crossreg.model.keras_import.import_checkpoint",
    "BasenjiSource": "crossreg.model.keras_import.BasenjiSource",
    "load_checkpoint": "crossreg.model.checkpoint.load_checkpoint",
    "evaluate_model": "crossreg.evaluate.accuracy.evaluate_model",
    "compare_metrics": "crossreg.evaluate.compare.compare_metrics",
    "write_transfer": "crossreg.evaluate.transfer.write_transfer",
    "write_predictions": "crossreg.predict.write_predictions",
    "write_bigwigs": "crossreg.predict.bigwig.write_bigwigs",
    "predict": "crossreg.predict.predict",
    "InferenceOptions": "crossreg.model.inference.InferenceOptions",
    "write_sad": "crossreg.variants.sad.write_sad",
    "merge_sad": "crossreg.variants.sad_merge.merge_sad",
    "write_ism": "crossreg.variants.ism.write_ism",
    "merge_ism": "crossreg.variants.ism_merge.merge_ism",
    "write_denovo": "crossreg.stats.denovo_report.write_denovo",
    "write_sldp": "crossreg.stats.sldp.run.write_sldp",
    "write_report": "crossreg.report.write_report",
    "run_demo": "crossreg.demo.run_demo",
    "setup_logging": "crossreg.logs.setup_logging",
}


def top_level_split(text: str) -> list[str]:
    """`text` split at the commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [part.strip() for part in [*parts, text[start:]] if part.strip()]


def prose_signatures() -> list[tuple[str, list[str]]]:
    """Each call ``name(arguments)`` in the API page's inline code (outside its code
    blocks; dotted, ``crossreg.predict.predict(...)``, or nested, ``layout=Layout(...)``),
    for the names of :data:`DOCUMENTED`: the name and its arguments."""
    text = re.sub(r"```.*?```", "", (ROOT / "docs" / "api.md").read_text(), flags=re.DOTALL)
    found = []
    for span in re.findall(r"`([^`]+)`", text):
        for call in re.finditer(r"(\w+)\(", span):
            depth, end = 1, call.end()
            while depth and end < len(span):
                depth += {"(": 1, ")": -1}.get(span[end], 0)
                end += 1
            if call.group(1) in DOCUMENTED and not depth:
                found.append((call.group(1), top_level_split(span[call.end() : end - 1])))
    return found


def test_the_arguments_the_api_page_spells_out_are_the_codes():
    import ast
    import importlib
    import inspect

    checked = set()
    for name, args in prose_signatures():
        module, attribute = DOCUMENTED[name].rsplit(".", 1)
        target = getattr(importlib.import_module(module), attribute)
        parameters = list(inspect.signature(target).parameters.values())
        by_name = {p.name: p for p in parameters}
        in_order = not inspect.isclass(target)  # a class's fields are listed, not called
        for position, arg in enumerate(args):
            if arg in ("*", "..."):
                in_order = False
                continue
            key, _, default = arg.partition("=")
            if not key.isidentifier():
                continue  # a value given positionally: load_checkpoint("run")
            assert key in by_name, f"api.md: {name}() has no argument {key!r}"
            if in_order and not default:
                assert parameters[position].name == key, f"api.md: {name}()'s {key!r}"
            if default:
                in_order = False
                try:
                    value = ast.literal_eval(default)
                except (ValueError, SyntaxError):
                    continue  # an expression or alternatives: "probe" | "lora"
                if value is not Ellipsis:
                    assert by_name[key].default == value, f"api.md: {name}({arg})"
        checked.add(name)
    # every one of them is spelt out somewhere
    assert checked == set(DOCUMENTED)


def cuda_flags() -> tuple[bool, bool, bool]:
    """The CUDA math settings a step tunes: TF32 products, TF32 convolutions, cuDNN search."""
    return (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
        torch.backends.cudnn.benchmark,
    )


def set_cuda_flags(flags: tuple[bool, bool, bool]) -> None:
    """Set the settings :func:`cuda_flags` reads."""
    (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
        torch.backends.cudnn.benchmark,
    ) = flags


def test_the_steps_give_the_pipeline_its_cuda_settings_back(folder, tmp_path, monkeypatch):
    # before: on a GPU every step left cuDNN's search on and TF32 products off, whatever
    # the pipeline had set for its own work; simulated here, where tune_cuda does nothing
    monkeypatch.setattr(
        inference, "tune_cuda", lambda device, tf32=False: set_cuda_flags((tf32, True, True))
    )
    model, fasta, vcf = folder / "run" / "best", folder / "genome.fa", folder / "three.vcf"
    store = folder / "data" / "human"
    (tmp_path / "windows.bed").write_text("chr1\t0\t8192\nchr2\t8192\t16384\n")
    steps = {
        "write_predictions": lambda: write_predictions(
            model, fasta, tmp_path / "p.npy", bed=tmp_path / "windows.bed"
        ),
        "write_bigwigs": lambda: write_bigwigs(model, fasta, tmp_path / "bw", chroms=["chr1"]),
        "write_sad": lambda: write_sad(model, fasta, vcf, tmp_path / "s.h5", plots=False),
        "write_ism": lambda: write_ism(
            model, fasta, tmp_path / "i.h5", vcf=vcf, width=2, plots=False
        ),
        "evaluate_model": lambda: evaluate_model(model, store, tmp_path / "e", plots=False),
        "write_transfer": lambda: write_transfer(
            model, store, folder / "genes.gtf", tmp_path / "t", head="human", plots=False
        ),
    }
    before = cuda_flags()
    callers = (True, False, False)  # TF32 products on, TF32 convolutions and search off
    try:
        for name, step in steps.items():
            set_cuda_flags(callers)
            step()
            assert cuda_flags() == callers, name
    finally:
        set_cuda_flags(before)
