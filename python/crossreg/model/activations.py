"""Activation functions of Basenji models, including the three GELU forms.

Basenji's released cross2020 weights were trained with ``x·sigmoid(1.702x)``; Basenji since
2022 evaluates the tanh approximation; the exact form uses erf. GELU(1) is 0.845796,
0.841192 and 0.841345 respectively.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from crossreg.model.params import GELU_FORMS


def gelu(x: torch.Tensor, form: str) -> torch.Tensor:
    """GELU of `x` (any shape/dtype) in the given form."""
    if form == "tanh":
        return functional.gelu(x, approximate="tanh")
    if form == "sigmoid1702":
        return x * torch.sigmoid(1.702 * x)
    if form == "erf":
        return functional.gelu(x)
    raise ValueError(f"GELU form '{form}' is unknown; use one of {', '.join(GELU_FORMS)}")


class GELU(nn.Module):
    """GELU as a module, in one of :data:`GELU_FORMS`."""

    def __init__(self, form: str = "tanh") -> None:
        super().__init__()
        if form not in GELU_FORMS:
            raise ValueError(f"GELU form '{form}' is unknown; use one of {', '.join(GELU_FORMS)}")
        self.form = form

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gelu(x, self.form)

    def extra_repr(self) -> str:
        return f"form={self.form!r}"


def make_activation(name: str, gelu_form: str) -> nn.Module:
    """The trunk activation named in params (``gelu`` in `gelu_form`, or ``relu``)."""
    if name == "gelu":
        return GELU(gelu_form)
    if name == "relu":
        return nn.ReLU()
    raise ValueError(f"activation '{name}' is not supported; use 'gelu' or 'relu'")


def head_activation(name: str) -> nn.Module:
    """The Keras activation of a head: softplus ``log(1+e^x)``, linear, relu, sigmoid, exp."""
    modules: dict[str, nn.Module] = {
        "softplus": nn.Softplus(beta=1.0, threshold=20.0),
        "linear": nn.Identity(),
        "relu": nn.ReLU(),
        "sigmoid": nn.Sigmoid(),
    }
    if name == "exponential":
        return _Exp()
    if name not in modules:
        raise ValueError(f"head activation '{name}' is not supported")
    return modules[name]


class _Exp(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x)
