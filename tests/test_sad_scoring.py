"""Shared reference predictions in ``score_stats``: identical reference windows are one
model pass with bitwise the same statistics, ``cluster_bp`` windows equal a hand-built
reference, fewer sequences reach the model, and batches may split a cluster."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import torch

from crossreg.cli import build_parser
from crossreg.dna import one_hot
from crossreg.genome import Genome
from crossreg.io.vcf import Variant
from crossreg.model.inference import InferenceOptions, predict_batch
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.variants.alleles import Allele
from crossreg.variants.genes import GENES, GeneIndex
from crossreg.variants.sad_stats import compute_stats
from crossreg.variants.scoring import allele_windows, score_alleles, score_stats, window_starts
from tests.pipeline import SEQ_LENGTH, small_params

BASES = "ACGT"
CENTRE = SEQ_LENGTH // 2 - 1
STATS = ("SAD", "JS", "logSAD", "SAX", "REF", "ALT")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """A random two-chromosome genome and a small random-weight model (8,192 bp, 48 bins of
    128 bp, 3 softplus tracks)."""
    root = tmp_path_factory.mktemp("sad_scoring")
    rng = np.random.default_rng(11)
    seqs = {name: "".join(BASES[i] for i in rng.integers(0, 4, 40_000)) for name in ("c1", "c2")}
    (root / "g.fa").write_text("".join(f">{name}\n{seq}\n" for name, seq in seqs.items()))
    params = small_params({"human": 3}, dropout=0.0)
    model = SeqNN(parse_params(params).model, generator=torch.Generator().manual_seed(3)).eval()
    return {"genome": Genome(root / "g.fa"), "seqs": seqs, "model": model}


def _snp(
    world: dict, chrom: str, pos: int, alts: Sequence[str] | None = None, vid: str = "."
) -> Variant:
    ref = world["seqs"][chrom][pos]
    return Variant(chrom, pos, ref, tuple(alts or [b for b in BASES if b != ref][:1]), id=vid)


def _alleles(variants: list[Variant]) -> list[Allele]:
    return [Allele(v, alt) for v in variants for alt in v.alts]


class Counter:
    """Counts the sequences that reach the model's forward; with `per_sequence`, runs the
    forward one sequence at a time, so that a window's prediction does not depend on the
    batch it travels in (batched kernels may change the last bit with the batch's size)."""

    def __init__(self, model: SeqNN, per_sequence: bool = False) -> None:
        # kept as a Module, whose `forward` is an assignable attribute (__enter__ replaces it)
        self.model: torch.nn.Module = model
        self.forward, self.sequences = model.forward, 0
        self.per_sequence = per_sequence

    def __enter__(self) -> Counter:
        def counted(x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
            self.sequences += x.shape[0]
            if not self.per_sequence:
                return self.forward(x, *args, **kwargs)
            return torch.cat([self.forward(x[i : i + 1], *args, **kwargs) for i in range(len(x))])

        self.model.forward = counted
        return self

    def __exit__(self, *exc: object) -> None:
        del self.model.forward


def _collect(batches) -> dict[str, np.ndarray]:
    batches = list(batches)
    return {name: np.concatenate([b[name] for b in batches]) for name in STATS}


def _unshared(world: dict, alleles: list[Allele], options: InferenceOptions) -> dict:
    """The path before sharing: per batch, every reference and alternative window."""
    model, genome = world["model"], world["genome"]
    out: dict[str, list[np.ndarray]] = {name: [] for name in STATS}
    for i in range(0, len(alleles), options.batch_size):
        chunk = alleles[i : i + options.batch_size]
        ref, alt = allele_windows(chunk, genome, model.seq_length)
        x = one_hot(np.concatenate([ref, alt]), dtype=np.float32, n_value=0.25)
        pred = predict_batch(model, x, None, options)
        for name, value in compute_stats(pred[: len(chunk)], pred[len(chunk) :], STATS).items():
            out[name].append(value.cpu().numpy())
    return {name: np.concatenate(parts) for name, parts in out.items()}


ENSEMBLE = InferenceOptions(batch_size=5, rc=True, shifts=(1, 0, -1))


@pytest.mark.parametrize("options", [InferenceOptions(batch_size=4), ENSEMBLE])
def test_identical_reference_windows_share_one_pass_bitwise(world, options):
    seq = world["seqs"]["c1"]
    pos = 12_000
    multi = _snp(world, "c1", pos, alts=[b for b in BASES if b != seq[pos]], vid="multi")
    dup = _snp(world, "c1", 15_000, vid="dup")
    same_ref_ins = Variant("c1", pos, seq[pos], (seq[pos] + "GA",), id="ins_same_pos")
    deletion = Variant("c1", 17_000, seq[17_000:17_004], (seq[17_000],), id="del")
    swapped_base = next(b for b in BASES if b != seq[20_000])  # REF not the genome's base
    swapped = Variant("c1", 20_000, swapped_base, (seq[20_000],), id="swapped")
    variants = [
        multi,
        same_ref_ins,
        dup,
        dup,
        deletion,
        deletion,
        swapped,
        _snp(world, "c2", 9_000),
    ]
    alleles = _alleles(variants)
    model, genome = world["model"], world["genome"]
    with Counter(model, per_sequence=True) as counter:
        got = _collect(score_stats(model, alleles, genome, None, options, STATS))
    with Counter(model, per_sequence=True):
        want = _unshared(world, alleles, options)
    for name in STATS:  # sharing itself changes nothing
        assert got[name].dtype == np.float32
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    # batched as usual, a window's prediction may differ in the last bit with its batch's
    # size and its place in it
    batched = _collect(score_stats(model, alleles, genome, None, options, STATS))
    np.testing.assert_allclose(batched["SAD"], want["SAD"], rtol=1e-5, atol=1e-6)
    # the three ALTs of `multi` and the insertion at its position, the duplicated records
    # and the duplicated deletion: one reference each
    for name in STATS:
        np.testing.assert_array_equal(got[name][4], got[name][5], err_msg=name)
        np.testing.assert_array_equal(got[name][6], got[name][7], err_msg=name)
    np.testing.assert_array_equal(got["REF"][0], got["REF"][3])
    np.testing.assert_array_equal(batched["REF"][0], batched["REF"][3])  # one prediction
    # references per batch (distinct keys: multi/ins, dup, del, swapped, c2): batches of 4
    # hold 1 + 2 + 2 of them, batches of 5 hold 2 + 4 (dup on both sides of the boundary)
    refs = {4: 5, 5: 6}[options.batch_size]
    ensemble = 2 * 3 if options.rc else 1
    assert counter.sequences == (len(alleles) + refs) * ensemble


def test_window_starts_share_a_tile_per_d_bp():
    def allele(chrom: str, pos: int, ref: str = "A", alt: str = "C") -> Allele:
        return Allele(Variant(chrom, pos, ref, (alt,)), alt)

    alleles = [
        allele("c1", 1000),
        allele("c1", 1000, alt="G"),  # the same SNP's next ALT
        allele("c1", 1300),
        allele("c1", 1499),  # the tile [1000, 1500) ends here
        allele("c1", 1500),  # a new tile
        allele("c1", 1700, "AT", "A"),  # an indel: its own window
        allele("c1", 1800),
        allele("c1", 1200),  # unsorted: still its tile's window
        allele("c2", 1200),  # another chromosome: its own tiles
        allele("c2", 1900, "AC", "GT"),  # a two-base substitution: its own window
    ]
    got = window_starts(alleles, SEQ_LENGTH, cluster_bp=500)
    mids = [1250, 1250, 1250, 1250, 1750, 1700, 1750, 1250, 1250, 1900]
    assert got == [m - CENTRE for m in mids]
    assert window_starts(alleles[::-1], SEQ_LENGTH, cluster_bp=500) == got[::-1]
    assert window_starts(alleles, SEQ_LENGTH) == [a.variant.pos - CENTRE for a in alleles]
    with pytest.raises(ValueError, match="cluster_bp"):
        window_starts(alleles, SEQ_LENGTH, cluster_bp=SEQ_LENGTH // 2)


def _hand_windows(world: dict, allele: Allele, start: int) -> tuple[np.ndarray, np.ndarray]:
    """One allele's windows starting at `start`, built from the sequence string."""
    seq, v = world["seqs"][allele.variant.chrom], allele.variant
    ref = seq[start : v.pos] + v.ref + seq[v.end : start + SEQ_LENGTH]
    alt = (seq[start : v.pos] + allele.alt + seq[v.end :])[:SEQ_LENGTH]
    return np.frombuffer(ref.encode(), np.uint8), np.frombuffer(alt.encode(), np.uint8)


def _reference(world: dict, alleles: list[Allele], starts: list[int]) -> np.ndarray:
    """Plain per-allele SAD and predictions from windows built by hand at `starts`."""
    sads = []
    for allele, start in zip(alleles, starts, strict=True):
        ref, alt = _hand_windows(world, allele, start)
        x = one_hot(np.stack([ref, alt]), dtype=np.float32, n_value=0.25)
        pred = predict_batch(world["model"], x).cpu().numpy()
        sads.append((pred[1] - pred[0]).sum(axis=0))
    return np.stack(sads)


def _clustered(world: dict) -> list[Allele]:
    """Two tiles of SNPs around an indel, a lone SNP, a multi-allelic SNP, an unsorted
    neighbour."""
    seq = world["seqs"]["c1"]
    positions = [10_000, 10_040, 10_150, 10_310]  # one tile at D = 400
    variants = [_snp(world, "c1", p) for p in positions]
    variants.append(Variant("c1", 10_320, seq[10_320:10_323], (seq[10_320],)))  # deletion
    variants += [
        _snp(world, "c1", 10_330, alts=[b for b in BASES if b != seq[10_330]]),
        _snp(world, "c1", 10_500),
        _snp(world, "c1", 10_700),
        _snp(world, "c1", 10_650),  # unsorted
        _snp(world, "c1", 20_000),
    ]
    return _alleles(variants)


@pytest.mark.parametrize("batch_size", [3, 16])
def test_clusters_equal_hand_built_shifted_windows(world, batch_size):
    model, genome = world["model"], world["genome"]
    alleles = _clustered(world)
    starts = window_starts(alleles, SEQ_LENGTH, cluster_bp=400)
    mids = [10_200] * 4 + [10_320] + [10_200] * 3 + [10_600] * 3 + [20_200]
    assert starts == [m - CENTRE for m in mids]
    options = InferenceOptions(batch_size=batch_size)
    with Counter(model) as counter:
        got = np.concatenate(list(score_alleles(model, alleles, genome, None, options,
                                                cluster_bp=400, indel="left")))  # fmt: skip
    np.testing.assert_allclose(got, _reference(world, alleles, starts), rtol=1e-5, atol=1e-5)
    # references: the tile [10,000, 10,400) (4 SNPs and the 3 ALTs of 10,330), the
    # deletion, the tile [10,400, 10,800) (10,500, 10,700 and the unsorted 10,650), the
    # lone SNP's tile; one more per batch a tile continues into
    splits = 3 if batch_size == 3 else 0
    assert counter.sequences == len(alleles) + 4 + splits
    plain = np.concatenate(list(score_alleles(model, alleles, genome, None, options, indel="left")))
    assert not np.allclose(got, plain, rtol=1e-3, atol=1e-5)  # off-centre windows differ
    np.testing.assert_array_equal(got[4], plain[4])  # the indel keeps its window


def test_cluster_gene_scores_use_the_shared_window(world):
    model, genome = world["model"], world["genome"]
    alleles = _clustered(world)[:4]
    starts = window_starts(alleles, SEQ_LENGTH, cluster_bp=400)
    tss = 10_155 + 700
    index = GeneIndex({"G1": [("c1", tss)]})
    options = InferenceOptions(batch_size=3)
    batches = list(score_stats(model, alleles, genome, None, options, ("SAD",), index,
                               cluster_bp=400))  # fmt: skip
    rows = [(p, b[GENES].scores[k]) for b in batches for k, p in enumerate(b[GENES].pairs)]
    assert len(rows) == len(alleles)
    bins, width = model.output_length(), model.stride
    first_bin_base = (SEQ_LENGTH - bins * width) // 2
    for i, (allele, start) in enumerate(zip(alleles, starts, strict=True)):
        pair, score = rows[i]
        at = (tss - start - first_bin_base) // width
        assert pair.bins == (at,) and pair.distance == abs(tss - allele.variant.pos)
        ref, alt = _hand_windows(world, allele, start)
        pred = predict_batch(model, one_hot(np.stack([ref, alt]), dtype=np.float32,
                                            n_value=0.25)).cpu().numpy()  # fmt: skip
        np.testing.assert_allclose(score, pred[1, at] - pred[0, at], rtol=1e-5, atol=1e-6)


def test_the_cluster_help_says_what_the_windows_are(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sad", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "group's centre" not in shown
    assert "centred on the tile's middle (0-based kD + D/2)" in shown
    assert "(a SNP alone in its tile too)" in shown
    lone = Allele(Variant("c1", 1234, "A", ("C",)), "C")  # no other variant near it
    assert window_starts([lone], SEQ_LENGTH, cluster_bp=1000) == [1500 - CENTRE]
