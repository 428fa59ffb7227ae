"""The Python API page's pipeline example runs as a script, outside the repository, on a
checkpoint, a FASTA, a VCF, a SAD file and a dataset store, and gives what the steps and a
plain ensemble give."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from crossreg.data import DataStore
from crossreg.dna import one_hot, reverse_complement_one_hot, shift_one_hot
from crossreg.genome import Genome
from crossreg.model.checkpoint import make_config, save_checkpoint
from crossreg.model.inference import InferenceOptions
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.variants.sad import write_sad
from crossreg.variants.sad_read import read_sad
from tests.pipeline import small_params

ROOT = Path(__file__).resolve().parents[1]
ENSEMBLE = InferenceOptions(rc=True, shifts=(1, 0, -1))


def pipeline_snippet() -> str:
    """The Python block of the API page that loads a checkpoint."""
    text = (ROOT / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    (snippet,) = [b for b in blocks if "load_checkpoint(" in b]
    return snippet


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
    (work / "data").mkdir()
    (work / "data" / "human").symlink_to(stores["human"])
    write_sad(
        work / "run" / "best", work / "genome.fa", work / "variants.vcf", work / "sad.h5",
        head="human", options=ENSEMBLE, plots=False,
    )  # fmt: skip
    return work


def test_the_api_pages_pipeline_runs_as_a_script_and_agrees_with_the_steps(folder):
    keep = (
        "\nnp.savez('out.npz', pred=pred, sad=sad, table=table.values, targets=targets,"
        " x=x)\n"
        "print(len(tracks), len(labels), len(windows))\n"
    )
    (folder / "snippet.py").write_text(pipeline_snippet() + keep)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    run = subprocess.run(
        [sys.executable, "snippet.py"], cwd=folder, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
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
