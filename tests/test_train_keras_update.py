"""Training steps against Keras' update rule, as Basenji's trainer applies it: per-weight
``clipnorm``, then SGD with momentum ``v = μ·v − lr·g; w = w + v``."""

from __future__ import annotations

import copy

import pytest
import torch

from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.train.loss import poisson_loss
from crossreg.train.optim import build_optimizer
from crossreg.train.step import train_step

SECTION = {
    "seq_length": 256,
    "activation": "gelu",
    "norm_type": "batch",
    "bn_momentum": 0.9,
    "trunk": [
        {"name": "conv_block", "filters": 8, "kernel_size": 5, "pool_size": 4},
        {"name": "dilated_residual", "filters": 4, "rate_mult": 2, "repeat": 2},
        {"name": "Cropping1D", "cropping": 8},
        {"name": "conv_block", "filters": 6},
    ],
    "head_human": {"name": "final", "units": 3, "activation": "softplus"},
}


def _keras_clip_by_norm(g: torch.Tensor, clip: float) -> torch.Tensor:
    """``tf.clip_by_norm``: ``g · clip / max(‖g‖, clip)``."""
    return g * clip / torch.clamp(torch.linalg.vector_norm(g), min=clip)


@pytest.mark.parametrize("clip_norm", [0.05, None])
def test_sgd_steps_follow_keras_momentum_after_per_weight_clipping(clip_norm):
    lr, momentum = 0.15, 0.99
    params = parse_params({"model": SECTION}).model
    model = SeqNN(params, generator=torch.Generator().manual_seed(3))
    reference = copy.deepcopy(model).train()
    optimizer = build_optimizer(
        model.parameters(), {"optimizer": "sgd", "learning_rate": lr, "momentum": momentum}
    )
    velocity = {n: torch.zeros_like(p) for n, p in reference.named_parameters()}
    gen = torch.Generator().manual_seed(7)
    clipped = 0
    for _ in range(4):
        x = torch.nn.functional.one_hot(torch.randint(0, 4, (2, 256), generator=gen), 4).float()
        y = torch.rand(2, 48, 3, generator=gen) * 4
        train_step(model, optimizer, x, y, "human", clip_norm=clip_norm)
        reference.zero_grad(set_to_none=True)
        poisson_loss(reference(x, "human"), y).backward()
        with torch.no_grad():
            for name, p in reference.named_parameters():
                g = p.grad
                if clip_norm is not None:
                    clipped += bool(torch.linalg.vector_norm(g) > clip_norm)
                    g = _keras_clip_by_norm(g, clip_norm)
                velocity[name] = momentum * velocity[name] - lr * g
                p.add_(velocity[name])
    if clip_norm is not None:
        assert clipped > 10  # most weights' gradients were above the norm, the rest kept
    for (name, got), want in zip(
        model.state_dict().items(), reference.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6, msg=name)
