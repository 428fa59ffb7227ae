"""docs/formats.md against the files the commands write: every dataset, attribute, key and
column of a SAD file, an ISM file, predict's outputs and a checkpoint's config is named
in its section of the page, so that a field added to a writer is documented with it."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from crossreg.cli import main
from crossreg.io.targets import Target
from crossreg.model.checkpoint import make_config, save_checkpoint
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from tests.formats_doc import section, unnamed
from tests.pipeline import SEQ_LENGTH, small_params

SNPS = (9_000, 15_000)  # 0-based positions of the VCF's two SNPs on chr1


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A small random two-track model, a chromosome, two SNPs, a gene near them and a
    BED region."""
    root = tmp_path_factory.mktemp("formats")
    rng = np.random.default_rng(3)
    seq = "".join("ACGT"[i] for i in rng.integers(0, 4, 3 * SEQ_LENGTH))
    (root / "genome.fa").write_text(f">chr1\n{seq}\n")
    params = small_params({"human": 2}, dropout=0.0)
    model = SeqNN(parse_params(params).model, generator=torch.Generator().manual_seed(1)).eval()
    targets = [
        Target(i, f"T{i}", (f"t{i}.bw",), 32.0, 1.0, "sum", f"DNASE:cell {i}") for i in range(2)
    ]
    save_checkpoint(root / "model", model, make_config(model, params, {"human": targets}))
    records = [
        f"chr1\t{pos + 1}\tsnp{k}\t{seq[pos]}\t{'C' if seq[pos] != 'C' else 'G'}\t.\t.\t."
        for k, pos in enumerate(SNPS)
    ]
    header = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    (root / "snps.vcf").write_text(header + "\n".join(records) + "\n")
    attrs = 'gene_id "G1"; transcript_id "G1.1";'
    (root / "genes.gtf").write_text(f"chr1\tt\ttranscript\t9101\t9900\t.\t+\t.\t{attrs}\n")
    (root / "regions.bed").write_text("chr1\t9000\t9500\tregion1\n")
    return root


def _h5_names(path: Path) -> tuple[list[str], list[str]]:
    with h5py.File(path, "r") as handle:
        return list(handle), list(handle.attrs)


def test_every_dataset_and_attribute_of_a_sad_shard_is_named(work):
    """A shard of a run with every optional attribute: --gtf, --targets, --variants-genome."""
    out = work / "sad.h5"
    common = ["--model", str(work / "model"), "--fasta", str(work / "genome.fa")]
    argv = ["-q", "sad", *common, "--vcf", str(work / "snps.vcf"), "--out", str(out)]
    argv += ["--gtf", str(work / "genes.gtf"), "--targets", "0,1", "--variants-genome", "human"]
    assert main([*argv, "--stats", "SAD,REF", "--shard", "0/2", "--no-plots"]) == 0
    datasets, attrs = _h5_names(out)
    assert {"SAD", "REF", "SAD_pct", "gene_rows", "shard_settings"} <= {*datasets, *attrs}
    generic = [
        "{stat}_pct" if d.endswith("_pct") else d for d in datasets if d not in ("SAD", "REF")
    ]
    text = section("SAD files")
    assert not unnamed(generic + attrs + ["SAD", "REF"], text)
    settings = json.loads(h5py.File(out, "r").attrs["shard_settings"])
    assert {"identity", "model", "fasta", "vcf", "gtf"} <= set(settings)


def test_every_dataset_and_attribute_of_an_ism_shard_is_named(work):
    out = work / "ism.h5"
    common = ["--model", str(work / "model"), "--fasta", str(work / "genome.fa")]
    argv = ["-q", "ism", *common, "--vcf", str(work / "snps.vcf"), "--out", str(out)]
    argv += ["--width", "4", "--stats", "sum,center", "--variants-genome", "human"]
    assert main([*argv, "--shard", "0/2", "--no-plots"]) == 0
    datasets, attrs = _h5_names(out)
    assert {"pos", "sum", "center", "shard_settings", "variants_genome"} <= {*datasets, *attrs}
    assert not unnamed(datasets + attrs, section("ISM scores"))


def test_every_field_predict_writes_is_named(work, tmp_path):
    """The ``.h5`` of --out and, of --bigwig, ``summary.json`` with its settings and the
    columns of ``tracks.tsv``."""
    common = ["--model", str(work / "model"), "--fasta", str(work / "genome.fa")]
    common += ["--targets", "1", "--bed", str(work / "regions.bed")]
    assert main(["-q", "predict", *common, "--out", str(tmp_path / "p.h5")]) == 0
    assert main(["-q", "predict", *common, "--bigwig", str(tmp_path / "bw")]) == 0
    datasets, attrs = _h5_names(tmp_path / "p.h5")
    summary = json.loads((tmp_path / "bw" / "summary.json").read_text())
    columns = (tmp_path / "bw" / "tracks.tsv").read_text().splitlines()[0].split("\t")
    assert "tracks" in attrs
    text = section("Predictions")
    assert not unnamed(datasets + attrs + list(summary) + list(summary["settings"]), text)
    assert not unnamed(columns, text)


def test_every_key_of_a_checkpoints_config_is_named(work):
    config = json.loads((work / "model" / "config.json").read_text())
    assert {"save_id", "weights_sha256", "branches"} <= set(config)
    assert not unnamed(config, section("Checkpoints"))
