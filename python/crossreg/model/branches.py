"""Per-head branches of the trunk's tail: a head's own path through the last trunk modules.

A fine-tuned head may read a trunk that differs from the one its model's other heads read,
without changing theirs. A :class:`BranchSpec` says how: from trunk module `start` on, the
head's path runs either its own copy of those modules (``blocks``: trained copies of the
trunk's last blocks) or the shared modules with low-rank adapters added to their
convolutions' weights (``lora``, :class:`~crossreg.model.adapters.LowRankDelta`). The
modules before `start` are shared. A branch's forward takes the shared trunk and the
output of ``trunk[:start]``; heads without a branch never run one, so they compute and
cost what they did.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn
from torch.func import functional_call

from crossreg.model.adapters import LowRankDelta

BRANCH_KINDS = ("blocks", "lora")


@dataclass(frozen=True)
class BranchSpec:
    """A head's branch: its `kind` (``blocks``: its own copy of the trunk's modules from
    `start` on; ``lora``: adapters of `rank` scaled by ``alpha / rank`` on the
    convolutions of the shared modules from `start` on)."""

    kind: str
    start: int
    rank: int | None = None
    alpha: float | None = None

    def check(self, trunk_length: int, where: str) -> None:
        """Stop on an unknown kind, a `start` outside a trunk of `trunk_length` modules,
        or LoRA without a positive rank; `where` names the spec in the message."""
        if self.kind not in BRANCH_KINDS:
            raise ValueError(
                f"{where}: branch kind '{self.kind}' is unknown; use {', '.join(BRANCH_KINDS)}"
            )
        if not 0 <= self.start < trunk_length:
            raise ValueError(
                f"{where}: branch start {self.start} is outside the trunk's {trunk_length} modules"
            )
        if self.kind == "lora" and (self.rank is None or self.rank < 1 or self.alpha is None):
            raise ValueError(f"{where}: a lora branch needs a rank of at least 1 and an alpha")

    def to_json(self) -> dict[str, Any]:
        """The spec as ``config.json`` stores it."""
        data: dict[str, Any] = {"kind": self.kind, "start": self.start}
        if self.kind == "lora":
            data.update(rank=self.rank, alpha=self.alpha)
        return data

    @classmethod
    def from_json(cls, data: Any, where: str) -> BranchSpec:
        """A spec from its ``config.json`` entry; `where` names it in errors."""
        if not isinstance(data, Mapping) or not {"kind", "start"} <= set(data):
            raise ValueError(f"{where}: a branch is an object with 'kind' and 'start'")
        unknown = sorted(set(data) - {"kind", "start", "rank", "alpha"})
        if unknown:
            raise ValueError(f"{where}: unknown branch key(s) {', '.join(unknown)}")
        start = data["start"]
        if isinstance(start, bool) or not isinstance(start, int):
            raise ValueError(f"{where}: branch start must be a whole number, got {start!r}")
        alpha = data.get("alpha")
        return cls(
            kind=str(data["kind"]),
            start=start,
            rank=data.get("rank"),
            alpha=None if alpha is None else float(alpha),
        )


class BlocksBranch(nn.Module):
    """The head's own copy of the trunk's modules from ``spec.start`` on, named by their
    trunk index (``blocks.21`` is the copy of ``trunk.21``). Built from the trunk as it is
    then: its weights, and any hook registered on those modules, are copied."""

    def __init__(self, spec: BranchSpec, trunk: nn.Sequential) -> None:
        super().__init__()
        self.spec = spec
        modules = list(trunk)[spec.start :]
        self.blocks = nn.Sequential(
            OrderedDict(
                (str(spec.start + i), copy.deepcopy(module)) for i, module in enumerate(modules)
            )
        )

    def forward(self, trunk: nn.Sequential, h: torch.Tensor) -> torch.Tensor:
        """The branch's output for `h`, the output of ``trunk[:start]``."""
        return self.blocks(h)


class AdapterBranch(nn.Module):
    """Low-rank adapters on every convolution of the trunk's modules from ``spec.start``
    on (``adapters.<trunk index>.<conv path, '-' for '.'>``); the trunk's own weights
    are used, never changed, with the adapters' deltas added on this path only."""

    def __init__(
        self, spec: BranchSpec, trunk: nn.Sequential, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.spec = spec
        assert spec.rank is not None and spec.alpha is not None
        self.adapters = nn.ModuleDict()
        for index, module in enumerate(trunk):
            if index < spec.start:
                continue
            deltas = {
                name.replace(".", "-"): LowRankDelta(
                    conv.weight.shape,
                    spec.rank,
                    spec.alpha,
                    generator=generator,
                    device=conv.weight.device,
                )
                for name, conv in module.named_modules()
                if isinstance(conv, nn.Conv1d)
            }
            if deltas:
                self.adapters[str(index)] = nn.ModuleDict(deltas)
        if not self.adapters:
            raise ValueError(f"the trunk has no convolution from module {spec.start} on to adapt")

    def forward(self, trunk: nn.Sequential, h: torch.Tensor) -> torch.Tensor:
        """The shared modules from ``start`` on applied to `h` (the output of
        ``trunk[:start]``), each adapted convolution with its weight plus its delta."""
        for index, module in enumerate(trunk):
            if index < self.spec.start:
                continue
            key = str(index)
            if key not in self.adapters:
                h = module(h)
                continue
            weights = {}
            for name, delta in cast(nn.ModuleDict, self.adapters[key]).items():
                path = name.replace("-", ".")
                weights[f"{path}.weight"] = delta(module.get_submodule(path).weight)
            h = functional_call(module, weights, (h,))
        return h


def build_branch(
    spec: BranchSpec, trunk: nn.Sequential, where: str, generator: torch.Generator | None = None
) -> BlocksBranch | AdapterBranch:
    """The branch `spec` describes on `trunk` (adapters drawn from `generator`), checked
    first; `where` names the spec in errors."""
    spec.check(len(trunk), where)
    if spec.kind == "blocks":
        return BlocksBranch(spec, trunk)
    return AdapterBranch(spec, trunk, generator)
