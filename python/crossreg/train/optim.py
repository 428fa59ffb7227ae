"""The optimiser of a params file's ``train`` section and Basenji's gradient clipping."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from crossreg.model.train_section import SGD_NAMES

CLIP_MODES = ("per_tensor", "global")


def section_optimizer(train: Mapping[str, Any]) -> str:
    """The optimiser a params file's ``train`` section names, lower-case (default ``sgd``)."""
    return str(train.get("optimizer", "sgd")).lower()


def section_learning_rate(train: Mapping[str, Any]) -> float:
    """The learning rate of a params file's ``train`` section (default 0.01)."""
    return float(train.get("learning_rate", 0.01))


def build_optimizer(
    params: Iterable[torch.nn.Parameter], train: Mapping[str, Any]
) -> torch.optim.Optimizer:
    """SGD with momentum (Basenji's default) or Adam, from a params file's ``train`` section.

    Keys: ``optimizer`` (``sgd``, or ``momentum`` as Basenji also names it; ``adam``),
    ``learning_rate``, ``momentum`` (SGD), ``adam_beta1``/``adam_beta2`` (Adam). Keras'
    momentum update equals PyTorch's for a constant learning rate. Parameters on CUDA get
    the fused kernel: the whole update in one launch per group of tensors.
    """
    params = list(params)
    fused = bool(params) and all(p.is_cuda for p in params)
    name, lr = section_optimizer(train), section_learning_rate(train)
    if name in SGD_NAMES:
        momentum = float(train.get("momentum", 0.99))
        return torch.optim.SGD(params, lr=lr, momentum=momentum, fused=fused)
    if name == "adam":
        betas = (float(train.get("adam_beta1", 0.9)), float(train.get("adam_beta2", 0.999)))
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=fused)
    raise ValueError(
        f"train.optimizer '{name}' is not supported; use 'sgd' (or 'momentum') or 'adam'"
    )


def clip_gradients(params: Iterable[torch.nn.Parameter], max_norm: float, mode: str) -> None:
    """Clip gradients to L2 norm ``max_norm``.

    ``per_tensor`` clips each parameter's gradient on its own, as Keras' ``clipnorm`` (and
    so Basenji) does; ``global`` clips the norm of all gradients together.
    """
    if mode not in CLIP_MODES:
        raise ValueError(f"clip mode '{mode}' is unknown; use one of {', '.join(CLIP_MODES)}")
    with_grads = [p for p in params if p.grad is not None]
    grads = [p.grad for p in with_grads if p.grad is not None]
    if mode == "global":
        torch.nn.utils.clip_grad_norm_(with_grads, max_norm)
    elif grads:
        # multi-tensor kernels (as clip_grad_norm_ uses): on a GPU two launches for all
        # the norms and all the products instead of four per parameter
        norms = torch.stack(torch._foreach_norm(grads))
        scales = torch.clamp(max_norm / (norms + 1e-12), max=1.0)
        torch._foreach_mul_(grads, list(scales.unbind()))
