"""``crossreg import-basenji`` then ``crossreg predict``: Basenji's predictions end to end."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from crossreg.cli import build_parser, main
from crossreg.genome import Genome
from crossreg.model.checkpoint import load_checkpoint, read_config
from crossreg.model.inference import predict_batch

FIXTURES = Path(__file__).parent / "data" / "basenji_fixtures"


def _import_args(out: Path, *genomes: str, gelu: str | None = None) -> list[str]:
    args = ["import-basenji", "--params", str(FIXTURES / "params_joint_mini.json")]
    files = {"human": "model0_best.h5", "mouse": "model1_best.h5"}
    for genome in genomes:
        args += ["--weights", str(FIXTURES / files[genome]), "--genome", genome]
        args += ["--targets", str(FIXTURES / f"targets_{genome}_mini.txt")]
    args += ["--out", str(out)]
    return args + (["--gelu", gelu] if gelu else [])


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A folder with the fixture FASTA and joint checkpoints imported in both GELU forms
    (``joint`` in the 2020 form, ``joint_tanh``)."""
    root = tmp_path_factory.mktemp("predict")
    shutil.copy(FIXTURES / "inputs.fa", root / "inputs.fa")
    assert main(_import_args(root / "joint", "human", "mouse", gelu="sigmoid1702")) == 0
    assert main(_import_args(root / "joint_tanh", "human", "mouse", gelu="tanh")) == 0
    return root


def _run(argv: list[str]) -> int:
    """Run a subcommand, letting its errors raise (``main`` would log them)."""
    args = build_parser().parse_args(argv)
    return args.run(args)


@pytest.mark.parametrize(("checkpoint", "tag"), [("joint", "gelu1702"), ("joint_tanh", "tanh")])
@pytest.mark.parametrize("genome", ["human", "mouse"])
@pytest.mark.parametrize("ensemble", [False, True])
def test_predict_npy_equals_basenji(work, checkpoint, tag, genome, ensemble):
    out = work / f"{checkpoint}_{genome}_{ensemble}.npy"
    extra = ["--rc", "--shifts", "1,0,-1"] if ensemble else []
    argv = ["predict", "--model", str(work / checkpoint), "--genome", genome]
    argv += ["--fasta", str(work / "inputs.fa"), "--out", str(out), "--batch-size", "3", *extra]
    assert main(argv) == 0
    got = np.load(out)
    expected = np.load(FIXTURES / f"preds_{genome}_{tag}{'_rc_shifts' if ensemble else ''}.npy")
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_predict_h5_has_labels_and_windows(work):
    out = work / "human.h5"
    argv = ["predict", "--model", str(work / "joint"), "--genome", "human"]
    assert main([*argv, "--fasta", str(work / "inputs.fa"), "--out", str(out)]) == 0
    with h5py.File(out) as handle:
        assert handle["preds"].fletcher32  # a checksum per chunk
        np.testing.assert_allclose(
            handle["preds"][:], np.load(FIXTURES / "preds_human_gelu1702.npy"), atol=1e-4
        )
        assert [s.decode() for s in handle["target_ids"][:]] == ["t0", "t1", "t2", "t3", "t4"]
        assert handle["target_labels"][4].decode() == "CAGE:human mini track 4"
        assert [s.decode() for s in handle["name"][:]] == ["seq0", "seq1", "seq2", "seq3"]
        assert list(handle["end"][:]) == [8192] * 4
        assert handle.attrs["gelu_form"] == "sigmoid1702"
        assert handle.attrs["bin_width"] == 64
    assert sorted(p.name for p in work.iterdir() if p.name.startswith(".")) == []


def test_predict_out_keeps_only_the_targets_named(work):
    """``--targets`` cuts the head: the values and labels are those of the tracks named,
    in the order named."""
    expected = np.load(FIXTURES / "preds_human_gelu1702.npy")[..., [4, 0, 1]]
    argv = ["predict", "--model", str(work / "joint"), "--genome", "human"]
    argv += ["--fasta", str(work / "inputs.fa"), "--targets", "CAGE,0-1"]
    assert main([*argv, "--out", str(work / "cut.h5")]) == 0
    with h5py.File(work / "cut.h5") as handle:
        assert handle["preds"].shape == (4, expected.shape[1], 3)
        np.testing.assert_allclose(handle["preds"][:], expected, atol=1e-4)
        assert [s.decode() for s in handle["target_ids"][:]] == ["t4", "t0", "t1"]
        assert handle["target_labels"][0].decode() == "CAGE:human mini track 4"
        assert handle.attrs["tracks"] == "CAGE,0-1"
    assert main([*argv, "--out", str(work / "cut.npy")]) == 0
    np.testing.assert_allclose(np.load(work / "cut.npy"), expected, atol=1e-4)
    with pytest.raises(ValueError, match="--targets 'liver' selects no track"):
        _run([*argv[:-1], "liver", "--out", str(work / "none.npy")])


def test_predict_bed_regions_are_centred_windows(work):
    bed = work / "regions.bed"
    bed.write_text("seq1\t0\t8192\twhole\nseq3\t4000\t4200\n")
    out = work / "regions.h5"
    argv = ["predict", "--model", str(work / "joint"), "--genome", "mouse", "--bed", str(bed)]
    assert main([*argv, "--fasta", str(work / "inputs.fa"), "--out", str(out)]) == 0
    with h5py.File(out) as handle:
        preds = handle["preds"][:]
        assert [s.decode() for s in handle["name"][:]] == ["whole", "seq3:4000-4200"]
        # centre 4100: window [4, 8196) runs 4 bp off the end, which reads as N
        assert list(handle["start"][:]) == [0, 4]
        assert list(handle["end"][:]) == [8192, 8196]
    expected = np.load(FIXTURES / "preds_mouse_gelu1702.npy")
    np.testing.assert_allclose(preds[0], expected[1], atol=1e-4)
    model, _ = load_checkpoint(work / "joint")
    genome = Genome(work / "inputs.fa")
    x = genome.one_hot_many(["seq3"], [4], 8192, dtype=np.float32)
    assert x[0, -4:].sum() == 0
    np.testing.assert_allclose(
        preds[1], predict_batch(model, x, "mouse").cpu().numpy()[0], atol=1e-5
    )


def test_single_head_checkpoint_needs_no_genome(work):
    out_dir = work / "mouse_only"
    assert main(_import_args(out_dir, "mouse")) == 0
    config = read_config(out_dir)
    assert config.genomes == {"mouse": "head_mouse"}
    assert config.gelu_form == "tanh"  # what the file records
    out = work / "mouse_only.npy"
    argv = ["predict", "--model", str(out_dir), "--fasta", str(work / "inputs.fa")]
    assert main([*argv, "--out", str(out)]) == 0
    np.testing.assert_allclose(np.load(out), np.load(FIXTURES / "preds_mouse_tanh.npy"), atol=1e-4)


def test_predict_errors_are_clear(work):
    base = ["predict", "--model", str(work / "joint"), "--fasta", str(work / "inputs.fa")]
    with pytest.raises(ValueError, match="choose one with --head"):
        _run([*base, "--out", str(work / "x.npy")])
    with pytest.raises(ValueError, match=r"must end in \.npy or \.h5"):
        _run([*base, "--genome", "human", "--out", str(work / "x.csv")])
    short = work / "short.fa"
    short.write_text(">chr1\nACGTACGT\n")
    argv = ["predict", "--model", str(work / "joint"), "--genome", "human", "--fasta", str(short)]
    with pytest.raises(ValueError, match=r"record 'chr1' is 8 bp but the model reads 8,192 bp"):
        _run([*argv, "--out", str(work / "x.npy")])
    with pytest.raises(SystemExit):
        build_parser().parse_args([*base, "--shifts", "1,a", "--out", "x.npy"])
    assert not (work / "x.npy").exists()


def test_import_errors_are_clear(work):
    argv = _import_args(work / "bad", "human")
    argv[argv.index("--params") + 1] = str(FIXTURES / "params_human.json")
    with pytest.raises(ValueError, match=r"layer 'conv1d'.*\[15, 4, 24\].*\[15, 4, 288\]"):
        _run(argv)
    assert main(argv) == 1
    with pytest.raises(ValueError, match="once per head"):
        _run([*_import_args(work / "bad", "human"), "--genome", "mouse"])
    assert not (work / "bad").exists()
