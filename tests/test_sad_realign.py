"""Indel rules. Basenji's windows (``indel="basenji"``) equal a plain copy of Basenji's
``snp_seq1`` + ``dna_length_1hot``, and score as the model does on them. Realigned scores
(``indel="realign"``): SNPs unchanged, a binned base-level signal with bases deleted or
inserted maps back onto the reference profile, insertions fold into one bin and keep the
total, and ``score_stats`` end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crossreg.dna import one_hot
from crossreg.genome import Genome
from crossreg.io.vcf import Variant
from crossreg.model.inference import InferenceOptions, predict_batch
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.variants.alleles import Allele
from crossreg.variants.genes import GENES, GeneIndex
from crossreg.variants.realign import check_indel_rule, realign
from crossreg.variants.scoring import allele_windows, score_stats
from tests.pipeline import SEQ_LENGTH, small_params

WIDTH, BINS = 128, 48  # the small model's output: 48 bins of 128 bp
FIRST = (SEQ_LENGTH - BINS * WIDTH) // 2  # window index of the first output bin's first base
AT = SEQ_LENGTH // 2 - 1  # the variant's first base (the last base of bin 23)


def _signal(length: int, tapered: bool = False) -> np.ndarray:
    """A smooth positive base-level signal ``(length, 2 tracks)``; `tapered`: zero from three
    bins before the output bins' end on."""
    x = np.arange(length, dtype=np.float64)[:, None]
    phase = np.array([[0.0, 1.3]])
    s = 2 + np.sin(2 * np.pi * x / 3000 + phase) + 0.5 * np.cos(2 * np.pi * x / 1700 + phase)
    if tapered:
        s[FIRST + (BINS - 3) * WIDTH :] = 0
    return s


def _binned(signal: np.ndarray) -> torch.Tensor:
    """Mean of each output bin ``(1, bins, tracks)``, as a model's bins cover the window."""
    out = signal[FIRST : FIRST + BINS * WIDTH].reshape(BINS, WIDTH, -1).mean(axis=1)
    return torch.tensor(out[None], dtype=torch.float32)


def _deleted(signal: np.ndarray, delta: int) -> np.ndarray:
    """The signal of the alternative window of a deletion of `delta` bases after ``AT``."""
    return np.concatenate([signal[: AT + 1], signal[AT + 1 + delta :]])


def _inserted(signal: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """The signal of the alternative window with `extra` inserted after ``AT``."""
    return np.concatenate([signal[: AT + 1], extra, signal[AT + 1 :]])


def _realign(ref: torch.Tensor, alt: torch.Tensor, lengths: list[tuple[int, int]]):
    return realign(
        ref,
        alt,
        [AT] * len(lengths),
        [r for r, _ in lengths],
        [a for _, a in lengths],
        first_base=FIRST,
        bin_width=WIDTH,
    )


def test_snps_and_substitutions_are_unchanged():
    gen = torch.Generator().manual_seed(0)
    ref, alt = torch.rand(3, BINS, 4, generator=gen), torch.rand(3, BINS, 4, generator=gen)
    got_ref, got_alt = _realign(ref, alt, [(1, 1), (3, 3), (40, 40)])
    assert torch.equal(got_ref, ref) and torch.equal(got_alt, alt)


@pytest.mark.parametrize("delta", [128, 256, 37, 300])
def test_deletions_realign_to_the_reference_profile(delta):
    signal = _signal(SEQ_LENGTH + delta)
    ref, alt = _binned(signal), _binned(_deleted(signal, delta))
    got_ref, got_alt = _realign(ref, alt, [(1 + delta, 1)])
    # bins holding the deleted bases [AT + 1, AT + 1 + delta) are masked in both
    masked = np.zeros(BINS, dtype=bool)
    masked[(AT + 1 - FIRST) // WIDTH : (AT + delta - FIRST) // WIDTH + 1] = True
    assert (got_ref[0, masked] == 0).all() and (got_alt[0, masked] == 0).all()
    assert torch.equal(got_ref[0, ~masked], ref[0, ~masked])
    if delta % WIDTH == 0:  # whole bins move: exact
        assert torch.equal(got_alt[0, ~masked], ref[0, ~masked])
    else:  # an overlap-weighted mix of two bins: close on a smooth signal
        np.testing.assert_allclose(got_alt[0, ~masked], ref[0, ~masked], rtol=0.02)
    # the left rule compares shifted bins downstream
    after = (AT + 1 + delta - FIRST) // WIDTH + 1
    assert not np.allclose(alt[0, after:], ref[0, after:], rtol=0.02)


@pytest.mark.parametrize("size", [128, 256, 37])
def test_insertions_fold_into_the_insertion_bin_and_keep_the_total(size):
    signal = _signal(SEQ_LENGTH, tapered=True)
    extra = np.full((size, 2), 3.0)
    ref, alt = _binned(signal), _binned(_inserted(signal, extra))
    got_ref, got_alt = _realign(ref, alt, [(1, 1 + size)])
    torch.testing.assert_close(got_alt.sum(dim=1), alt.sum(dim=1), rtol=1e-6, atol=0)
    at = (AT - FIRST) // WIDTH  # the bin of REF's last base takes the inserted bases
    # the bins at the window's end whose bases were pushed out are masked
    pushed = np.arange(BINS) >= BINS - -(-size // WIDTH)
    assert (got_ref[0, pushed] == 0).all() and (got_alt[0, pushed] == 0).all()
    kept = ~pushed
    kept[at] = False
    folded = float(extra[:, 0].sum()) / WIDTH
    if size % WIDTH == 0:
        assert torch.equal(got_alt[0, kept], ref[0, kept])
        torch.testing.assert_close(got_alt[0, at], ref[0, at] + folded)
    else:  # close on the smooth signal, away from the bins that mix in inserted bases
        smooth = kept & (np.abs(np.arange(BINS) - at) > 2) & (np.arange(BINS) < BINS - 5)
        np.testing.assert_allclose(got_alt[0, smooth], ref[0, smooth], rtol=0.02)


def _realign_by_base(alt: np.ndarray, ref_len: int, alt_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Alt bins ``(bins, tracks)`` in reference coordinates, one reference base at a time:
    each base takes the alt bin holding its image (the same index before and within the
    variant's common part, minus δ after REF), a bin is masked when it holds a deleted base
    or a base whose image lies outside the alt bins, and the inserted bases' alt bins fold
    into the bin of REF's last base. Returns the values and the mask."""
    delta = ref_len - alt_len
    out = np.zeros_like(alt, dtype=np.float64)
    mask = np.zeros(BINS, dtype=bool)
    for k in range(BINS):
        for j in range(FIRST + k * WIDTH, FIRST + (k + 1) * WIDTH):
            if j < AT + min(ref_len, alt_len):
                image = j
            elif j < AT + ref_len:
                mask[k] = True  # a deleted base
                continue
            else:
                image = j - delta
            if not FIRST <= image < FIRST + BINS * WIDTH:
                mask[k] = True
                continue
            out[k] += alt[(image - FIRST) // WIDTH] / WIDTH
    for image in range(AT + ref_len, AT + alt_len):  # inserted bases, alt coordinates
        if FIRST <= image < FIRST + BINS * WIDTH:
            out[(AT + ref_len - 1 - FIRST) // WIDTH] += alt[(image - FIRST) // WIDTH] / WIDTH
    out[mask] = 0
    return out, mask


@pytest.mark.parametrize(
    ("ref_len", "alt_len"),
    [(2, 1), (38, 1), (1, 38), (130, 1), (1, 130), (5, 3), (3, 5), (301, 2), (1, 200), (1, 3100)],
)
def test_realigned_bins_equal_a_base_by_base_reference(ref_len, alt_len):
    gen = torch.Generator().manual_seed(ref_len * 1000 + alt_len)
    ref, alt = torch.rand(1, BINS, 3, generator=gen), torch.rand(1, BINS, 3, generator=gen)
    got_ref, got_alt = _realign(ref, alt, [(ref_len, alt_len)])
    want, mask = _realign_by_base(alt[0].double().numpy(), ref_len, alt_len)
    assert mask.any()
    np.testing.assert_allclose(got_alt[0].double().numpy(), want, rtol=1e-5, atol=1e-6)
    assert (got_ref[0, mask] == 0).all()
    assert torch.equal(got_ref[0, ~mask], ref[0, ~mask])


def test_a_batch_realigns_each_allele_by_its_own_delta():
    gen = torch.Generator().manual_seed(1)
    ref, alt = torch.rand(5, BINS, 3, generator=gen), torch.rand(5, BINS, 3, generator=gen)
    lengths = [(1, 1), (201, 1), (1, 61), (3, 1), (2, 2)]
    got_ref, got_alt = _realign(ref, alt, lengths)
    for i, pair in enumerate(lengths):
        one_ref, one_alt = _realign(ref[i : i + 1], alt[i : i + 1], [pair])
        assert torch.equal(got_ref[i], one_ref[0]) and torch.equal(got_alt[i], one_alt[0])


def test_unknown_rules_are_named():
    assert check_indel_rule("realign") == "realign"
    with pytest.raises(
        ValueError, match="unknown indel rule 'right'; choose among basenji, left, realign"
    ):
        check_indel_rule("right")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """A random genome and a small random-weight model (3 softplus tracks)."""
    root = tmp_path_factory.mktemp("sad_realign")
    rng = np.random.default_rng(5)
    seq = "".join("ACGT"[i] for i in rng.integers(0, 4, 40_000))
    (root / "g.fa").write_text(f">c1\n{seq}\n")
    params = small_params({"human": 3}, dropout=0.0)
    model = SeqNN(parse_params(params).model, generator=torch.Generator().manual_seed(2)).eval()
    return {"genome": Genome(root / "g.fa"), "seq": seq, "model": model}


def test_score_stats_realign_end_to_end(world):
    seq, model, genome = world["seq"], world["model"], world["genome"]
    snp_alt = "A" if seq[12_000] != "A" else "C"
    variants = [
        Variant("c1", 12_000, seq[12_000], (snp_alt,), id="snp"),
        Variant("c1", 15_000, seq[15_000:15_301], (seq[15_000],), id="del300"),
        Variant("c1", 18_000, seq[18_000], (seq[18_000] + "ACGTA" * 20,), id="ins100"),
        Variant("c1", 21_000, seq[21_000:21_003], (seq[21_000],), id="del2"),
    ]
    alleles = [Allele(v, v.alts[0]) for v in variants]
    stats = ("SAD", "JS", "logSAD", "SAX", "REF", "ALT")
    index = GeneIndex({"G1": [("c1", 15_000 + 900)], "G2": [("c1", 18_000 + 900)]})
    options = InferenceOptions(batch_size=3, rc=True)

    def run(rule: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
        batches = list(score_stats(model, alleles, genome, None, options, stats, index,
                                   indel=rule))  # fmt: skip
        genes = np.concatenate([b[GENES].scores for b in batches])
        return {name: np.concatenate([b[name] for b in batches]) for name in stats}, genes

    left, left_genes = run("left")
    got, got_genes = run("realign")
    for name in stats:
        assert np.isfinite(got[name]).all(), name
        np.testing.assert_array_equal(got[name][0], left[name][0], err_msg=name)  # the SNP
    assert (got["JS"] >= 0).all() and np.isfinite(got_genes).all()
    # the 300-bp deletion: its bins are masked (0 in REF and ALT), the SAD changes
    deleted = slice((AT + 1 - FIRST) // WIDTH, (AT + 300 - FIRST) // WIDTH + 1)
    assert (got["REF"][1, deleted] == 0).all() and (got["ALT"][1, deleted] == 0).all()
    assert not np.allclose(got["SAD"][1], left["SAD"][1])
    # masked bins count as no difference: SAD is the sum over the others
    np.testing.assert_allclose(
        got["SAD"][1], (got["ALT"][1] - got["REF"][1]).sum(axis=0), rtol=1e-5, atol=1e-5
    )
    assert not np.allclose(got_genes, left_genes)


def basenji_windows(seq: str, pos: int, ref: str, alts: tuple[str, ...], alt: str, length: int):
    """Basenji's reference and alternative sequences of one ALT, as its ``snp_seq1`` and
    ``dna_length_1hot`` build them (written out plainly from their description)."""
    left = length // 2 - 1
    extra = max(0, len(ref) - max(len(a) for a in alts))
    start = pos - left
    read = "".join(
        seq[i] if 0 <= i < len(seq) else "N" for i in range(start, start + length + extra)
    )
    ref_seq = read[:left] + ref + read[left + len(ref) :]
    alt_seq = read[:left] + alt + read[left + len(ref) :]

    def to_length(text: str) -> str:
        if len(text) >= length:
            front = (len(text) - length) // 2
            return text[front : front + length]
        pad = length - len(text)
        return "N" * (pad // 2) + text + "N" * (pad - pad // 2)

    return to_length(ref_seq), to_length(alt_seq)


def _records(seq: str) -> list[Variant]:
    """SNP, deletions of 1, 2 and 9 bp, insertions of 1, 2 and 10 bp, an MNP, a record
    whose ALTs are a deletion and a substitution (Basenji pads the deletion's window with
    N), deletions and insertions at both chromosome ends."""
    end = len(seq)
    return [
        Variant("c1", 12_000, seq[12_000], ("A" if seq[12_000] != "A" else "C",), id="snp"),
        Variant("c1", 13_000, seq[13_000:13_002], (seq[13_000],), id="del1"),
        Variant("c1", 14_000, seq[14_000:14_003], (seq[14_000],), id="del2"),
        Variant("c1", 15_000, seq[15_000:15_010], (seq[15_000],), id="del9"),
        Variant("c1", 16_000, seq[16_000], (seq[16_000] + "G",), id="ins1"),
        Variant("c1", 17_000, seq[17_000], (seq[17_000] + "GT",), id="ins2"),
        Variant("c1", 18_000, seq[18_000], (seq[18_000] + "ACGTACGTAC",), id="ins10"),
        Variant("c1", 19_000, seq[19_000:19_003], ("TTT",), id="mnp"),
        Variant(
            "c1", 20_000, seq[20_000:20_003], (seq[20_000], "T" + seq[20_001:20_003]), id="mix"
        ),
        Variant("c1", 5, seq[5:12], (seq[5],), id="del6_start"),
        Variant("c1", end - 30, seq[end - 30 : end - 20], (seq[end - 30],), id="del9_end"),
        Variant("c1", end - 3, seq[end - 3], (seq[end - 3] + "CCCCC",), id="ins5_end"),
    ]


def _left_windows(seq: str, pos: int, ref: str, alt: str, length: int) -> tuple[str, str]:
    """Both windows from the same base, the variant's first base at ``L/2 - 1``."""
    start = pos - (length // 2 - 1)
    read = "".join(seq[i] if 0 <= i < len(seq) else "N" for i in range(start, start + 2 * length))
    at = pos - start
    return (read[:at] + ref + read[at + len(ref) :])[:length], (
        read[:at] + alt + read[at + len(ref) :]
    )[:length]


def test_windows_of_each_rule_equal_a_plain_copy(world):
    seq, genome = world["seq"], world["genome"]
    alleles = [Allele(v, alt) for v in _records(seq) for alt in v.alts]
    basenji = allele_windows(alleles, genome, SEQ_LENGTH, indel="basenji")
    left = allele_windows(alleles, genome, SEQ_LENGTH, indel="left")
    differ = set()
    for i, a in enumerate(alleles):
        v = a.variant
        want = basenji_windows(seq, v.pos, v.ref, v.alts, a.alt, SEQ_LENGTH)
        assert (basenji[0][i].tobytes().decode(), basenji[1][i].tobytes().decode()) == want
        want_left = _left_windows(seq, v.pos, v.ref, a.alt, SEQ_LENGTH)
        assert (left[0][i].tobytes().decode(), left[1][i].tobytes().decode()) == want_left
        if want_left != want:
            differ.add(a.label)
    # the rules agree on SNPs, MNPs and 1-bp indels (half of 1 is 0), and on nothing else
    assert differ == {"del2", "del9", "ins2", "ins10", "mix", "del6_start", "del9_end", "ins5_end"}


def test_basenji_windows_score_as_the_model_does_on_them(world):
    # a deletion and a SNP at one position: their reference windows differ by the deletion's
    # front trim, so they must not share a reference prediction
    seq, model, genome = world["seq"], world["model"], world["genome"]
    records = [
        *_records(seq),
        Variant("c1", 14_000, seq[14_000], ("A" if seq[14_000] != "A" else "C",)),
    ]
    alleles = [Allele(v, alt) for v in records for alt in v.alts]
    options = InferenceOptions(batch_size=5)
    got = np.concatenate([b["SAD"] for b in score_stats(model, alleles, genome, None, options)])
    for i, a in enumerate(alleles):
        v = a.variant
        ref, alt = basenji_windows(seq, v.pos, v.ref, v.alts, a.alt, SEQ_LENGTH)
        codes = np.frombuffer((ref + alt).encode(), dtype=np.uint8).reshape(2, SEQ_LENGTH)
        pred = predict_batch(model, one_hot(codes, dtype=np.float32, n_value=0.25), None, options)
        want = (pred[1] - pred[0]).sum(dim=0).numpy()
        np.testing.assert_allclose(got[i], want, rtol=1e-4, atol=1e-4, err_msg=a.label)
