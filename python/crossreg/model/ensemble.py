"""Basenji's prediction ensemble on torch tensors: reverse complement and shifts.

For each shift (in the order given) the forward sequence is predicted, then (with `rc`) its
reverse complement, whose predictions are reversed back along the bins; all predictions are
averaged arithmetically. Shifts pad with 0 (Basenji since 2021; 0.25 before) and are not
undone on the predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def reverse_complement(x: torch.Tensor) -> torch.Tensor:
    """Reverse complement of one-hot ``(B, L, 4)`` in A, C, G, T order (flip L and channels)."""
    return x.flip((-2, -1))


def shift_sequences(x: torch.Tensor, shift: int, pad_value: float = 0.0) -> torch.Tensor:
    """Shift one-hot ``(B, L, 4)`` by `shift` positions along L, keeping the length.

    ``+1`` moves the sequence towards higher indices (the pad lands at position 0),
    ``-1`` drops position 0 and pads the end.
    """
    if shift == 0:
        return x
    length = x.shape[-2]
    if abs(shift) >= length:
        return torch.full_like(x, pad_value)
    out = torch.empty_like(x)
    if shift > 0:
        out[..., :shift, :] = pad_value
        out[..., shift:, :] = x[..., : length - shift, :]
    else:
        out[..., shift:, :] = pad_value
        out[..., :shift, :] = x[..., -shift:, :]
    return out


def ensemble_predict(
    forward: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    rc: bool = False,
    shifts: Sequence[int] = (0,),
    pad_value: float = 0.0,
) -> torch.Tensor:
    """Mean of `forward` over every (shift, strand) of one-hot ``(B, L, 4)``.

    `forward` maps ``(B, L, 4)`` to ``(B, bins, tracks)``; the result has that shape and is
    float32 whatever `forward` computes in.
    """
    if not shifts:
        raise ValueError("give at least one shift (0 for none)")
    total: torch.Tensor | None = None
    count = 0
    for shift in shifts:
        shifted = shift_sequences(x, int(shift), pad_value)
        strands = [shifted, reverse_complement(shifted)] if rc else [shifted]
        for i, seq in enumerate(strands):
            pred = forward(seq).float()
            if i == 1:
                pred = pred.flip(-2)
            total = pred if total is None else total + pred
            count += 1
    assert total is not None
    return total / count
