"""``crossreg ism`` against a plain brute-force reference: each base of the span set by hand
in a window cut from the FASTA's text, every mutant predicted alone through the model's
own forward pass with the reverse-complement and shift ensemble written out here, and the
statistics, effects and position means computed in numpy."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from crossreg.cli import build_parser
from crossreg.io.targets import Target
from crossreg.model.checkpoint import make_config, save_checkpoint
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from tests.pipeline import SEQ_LENGTH, small_params

BASES = "ACGT"
CHROM_LENGTH = 3 * SEQ_LENGTH
SNP = 10_000  # 0-based; a gap of 3 N lies 2 bases to its right, inside a width-7 span
DELETION = 15_000  # 0-based; REF 5 bases, ALT its first: REF sits 4 // 2 bases earlier
GAP = range(SNP + 2, SNP + 5)
WIDTH = 7
SHIFTS = (1, 0, -2)
COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def _window(seq: str, start: int) -> str:
    """The `SEQ_LENGTH` bases from `start`, N off the chromosome."""
    return "".join(seq[i] if 0 <= i < len(seq) else "N" for i in range(start, start + SEQ_LENGTH))


def _encode(text: str) -> np.ndarray:
    """One-hot ``(L, 4)`` float32 with N as 0 in every channel."""
    x = np.zeros((len(text), 4), dtype=np.float32)
    for i, base in enumerate(text):
        if base in BASES:
            x[i, BASES.index(base)] = 1.0
    return x


def _predict(model: SeqNN, x: np.ndarray) -> np.ndarray:
    """Mean predictions ``(n, bins, tracks)`` of one-hot ``(n, L, 4)`` over each shift
    (0-padded) and both strands."""
    preds = []
    for shift in SHIFTS:
        shifted = np.zeros_like(x)
        if shift >= 0:
            shifted[:, shift:] = x[:, : x.shape[1] - shift]
        else:
            shifted[:, :shift] = x[:, -shift:]
        for rc in (False, True):
            seq = shifted[:, ::-1, ::-1] if rc else shifted
            with torch.no_grad():
                out = model(torch.from_numpy(seq.copy())).numpy()
            preds.append(out[:, ::-1] if rc else out)
    return np.mean(preds, axis=0)


def _stats(pred: np.ndarray) -> dict[str, np.ndarray]:
    """``sum`` over all bins and ``center`` over bins B/2 - 1 and B/2, of ``(n, B, tracks)``."""
    bins = pred.shape[1]
    return {"sum": pred.sum(axis=1), "center": pred[:, bins // 2 - 1 : bins // 2 + 1].sum(axis=1)}


def _brute_force(model: SeqNN, seq: str, window_start: int, strand: str) -> dict[str, np.ndarray]:
    """Mean-removed scores ``(WIDTH, 4, tracks)`` per statistic, NaN off the chromosome."""
    text = _window(seq, window_start)
    on = np.array([0 <= i < len(seq) for i in range(window_start, window_start + SEQ_LENGTH)])
    if strand == "-":
        text, on = text.translate(COMPLEMENT)[::-1], on[::-1]
    first = SEQ_LENGTH // 2 - WIDTH // 2
    reference = _encode(text)
    mutants, cells = [reference], []
    for row in range(WIDTH):
        for base in range(4):
            if on[first + row] and text[first + row] != BASES[base]:
                mutant = reference.copy()
                mutant[first + row] = np.eye(4)[base]
                mutants.append(mutant)
                cells.append((row, base))
    stats = _stats(_predict(model, np.stack(mutants)))
    effects = {}
    for stat, values in stats.items():
        effects[stat] = np.full((WIDTH, 4, values.shape[1]), np.nan)
        effects[stat][on[first : first + WIDTH]] = 0.0
        for (row, base), value in zip(cells, values[1:], strict=True):
            effects[stat][row, base] = value - values[0]
    return {s: e - e.mean(axis=1, keepdims=True) for s, e in effects.items()}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("ism_brute")
    rng = np.random.default_rng(3)
    bases = [BASES[i] for i in rng.integers(0, 4, CHROM_LENGTH)]
    for i in GAP:
        bases[i] = "N"
    seq = "".join(bases)
    (root / "genome.fa").write_text(f">chr1\n{seq}\n")
    params = small_params({"human": 2}, dropout=0.0)
    model = SeqNN(parse_params(params).model, generator=torch.Generator().manual_seed(9)).eval()
    targets = [Target(i, f"T{i}", (f"t{i}.bw",), 32.0, 1.0, "sum", f"DNASE:{i}") for i in range(2)]
    save_checkpoint(root / "model", model, make_config(model, params, {"human": targets}))
    end = CHROM_LENGTH - 2
    (root / "sites.vcf").write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t{SNP + 1}\tgap\t{seq[SNP]}\t{'A' if seq[SNP] != 'A' else 'C'}\t.\t.\t.\n"
        f"chr1\t{DELETION + 1}\tdel\t{seq[DELETION : DELETION + 5]}\t{seq[DELETION]}\t.\t.\t.\n"
        f"chr1\t{end + 1}\tend\t{seq[end]}\t{'A' if seq[end] != 'A' else 'C'}\t.\t.\t.\n"
    )
    (root / "sites.bed").write_text("chr1\t0\t3\tstart_minus\t0\t-\nchr1\t5000\t5010\tmid\t0\t+\n")
    return {"root": root, "model": model, "seq": seq}


def _ism(world: dict, source: str, out: str) -> dict[str, np.ndarray]:
    root = world["root"]
    argv = ["ism", "--model", str(root / "model"), "--fasta", str(root / "genome.fa")]
    argv += [f"--{source}", str(root / f"sites.{source}"), "--out", str(root / out)]
    argv += ["--width", str(WIDTH), "--rc", "--shifts", ",".join(map(str, SHIFTS))]
    argv += ["--batch-size", "5", "--no-plots", "--device", "cpu"]
    args = build_parser().parse_args(argv)
    assert args.run(args) == 0
    with h5py.File(root / out) as h5:
        return {k: h5[k][:] for k in ("sum", "center", "seqs", "start", "end", "strand")}


def test_vcf_sites_equal_the_brute_force_reference(world):
    """A SNP whose span holds an assembly gap (N rows: all 4 bases mutated), a deletion
    (its REF at window index L/2 - 1 - 4 // 2, as SAD frames it) and a SNP whose span runs
    off the chromosome's end, with --rc and --shifts, both statistics."""
    model, seq = world["model"], world["seq"]
    got = _ism(world, "vcf", "vcf.h5")
    half = SEQ_LENGTH // 2
    for k, (pos, earlier) in enumerate([(SNP, 0), (DELETION, 2), (CHROM_LENGTH - 2, 0)]):
        expected = _brute_force(model, seq, pos - (half - 1 - earlier), "+")
        for stat in ("sum", "center"):
            scores = got[stat][k].astype(np.float32)
            np.testing.assert_array_equal(np.isnan(scores), np.isnan(expected[stat]))
            np.testing.assert_allclose(scores, expected[stat], rtol=2e-3, atol=5e-5, equal_nan=True)
        assert got["start"][k] == pos + earlier - WIDTH // 2 + 1
    gap_rows = [i - (SNP - WIDTH // 2 + 1) for i in GAP]
    assert gap_rows == [4, 5, 6] and not got["seqs"][0, gap_rows].any()
    assert np.all(np.abs(got["sum"][0, gap_rows].astype(np.float32)).sum(axis=1) > 0)
    assert np.isnan(got["sum"][2, 4:]).all() and np.isfinite(got["sum"][2, :4]).all()
    assert np.abs(got["center"][0].astype(np.float32)).max() > 1e-3  # not trivially 0


def test_bed_sites_equal_the_brute_force_reference(world):
    """A minus-strand region at the chromosome's start (reverse-complemented, running off
    it) and a plus-strand region inside it."""
    model, seq = world["model"], world["seq"]
    got = _ism(world, "bed", "bed.h5")
    for k, (start, end, strand) in enumerate([(0, 3, "-"), (5000, 5010, "+")]):
        expected = _brute_force(model, seq, (start + end) // 2 - SEQ_LENGTH // 2, strand)
        for stat in ("sum", "center"):
            scores = got[stat][k].astype(np.float32)
            np.testing.assert_array_equal(np.isnan(scores), np.isnan(expected[stat]))
            np.testing.assert_allclose(scores, expected[stat], rtol=2e-3, atol=5e-5, equal_nan=True)
    assert got["strand"].tolist() == [b"-", b"+"]
