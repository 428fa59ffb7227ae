"""Reverse-complement / shift ensemble on tensors against crossreg.dna's numpy versions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crossreg.dna import one_hot, reverse_complement_one_hot, shift_one_hot
from crossreg.model.ensemble import ensemble_predict, reverse_complement, shift_sequences


def test_reverse_complement_matches_dna_module():
    x = one_hot("GATTACANNC", dtype=np.float32)
    got = reverse_complement(torch.from_numpy(x)[None])[0].numpy()
    np.testing.assert_array_equal(got, one_hot("GNNTGTAATC", dtype=np.float32))
    batch = np.random.default_rng(0).random((3, 17, 4)).astype(np.float32)
    np.testing.assert_array_equal(
        reverse_complement(torch.from_numpy(batch)).numpy(), reverse_complement_one_hot(batch)
    )


@pytest.mark.parametrize("shift", [-3, -1, 0, 1, 2, 17, -17, 40])
def test_shift_matches_dna_module(shift):
    batch = np.random.default_rng(1).random((2, 17, 4)).astype(np.float32)
    got = shift_sequences(torch.from_numpy(batch), shift).numpy()
    np.testing.assert_array_equal(got, shift_one_hot(batch, shift))


def test_shift_examples():
    def encode(seq: str) -> torch.Tensor:
        return torch.from_numpy(one_hot(seq, dtype=np.float32))

    x = encode("GATTACA")[None]
    assert torch.equal(shift_sequences(x, 1)[0], encode("NGATTAC"))
    assert torch.equal(shift_sequences(x, -1)[0], encode("ATTACAN"))
    padded = shift_sequences(x, 1, pad_value=0.25)[0, 0]
    assert torch.equal(padded, torch.full((4,), 0.25))


def test_ensemble_is_mean_over_shifts_and_strands_with_rc_unreversed():
    calls = []

    def forward(seq: torch.Tensor) -> torch.Tensor:
        calls.append(seq.clone())
        # a position-dependent "prediction": cumulative A count per position, 2 tracks
        a = seq[..., 0].cumsum(-1)
        return torch.stack([a, 2 * a], dim=-1)

    x = torch.from_numpy(one_hot("ACGTAACGTT", dtype=np.float32))[None]
    got = ensemble_predict(forward, x, rc=True, shifts=[1, 0, -1])
    assert len(calls) == 6
    expected = torch.zeros_like(got)
    for shift in (1, 0, -1):
        fwd = shift_sequences(x, shift)
        expected += forward(fwd) + forward(reverse_complement(fwd)).flip(-2)
    torch.testing.assert_close(got, expected / 6)
    # order as Basenji: forward then rc, shift by shift
    torch.testing.assert_close(calls[0], shift_sequences(x, 1))
    torch.testing.assert_close(calls[1], reverse_complement(shift_sequences(x, 1)))
    with pytest.raises(ValueError, match="at least one shift"):
        ensemble_predict(forward, x, shifts=[])
