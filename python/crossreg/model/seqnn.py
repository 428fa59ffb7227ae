"""SeqNN: one shared Basenji2 trunk and one head per genome.

Input ``(B, L, 4)`` float one-hot (A, C, G, T; channels last as in Basenji), output
``(B, bins, tracks)`` of the chosen genome's head. The trunk output passes through one more
activation (GELU) before the heads; each head is a per-bin Dense layer with softplus.
A head may have a branch (:mod:`crossreg.model.branches`, from fine-tuning): its own path
through the trunk's last modules; the other heads run the shared trunk alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import islice
from typing import cast

import torch
from torch import nn

from crossreg.model.activations import GELU_FORMS, head_activation, make_activation
from crossreg.model.blocks import ConvBlock, Crop, KerasBatchNorm, build_block, init_weights
from crossreg.model.branches import AdapterBranch, BlocksBranch, BranchSpec, build_branch
from crossreg.model.gpu_forms import gpu_multiple, padded_linear
from crossreg.model.params import ModelParams


class TrackHead(nn.Module):
    """A per-bin Dense layer: ``(B, bins, C)`` → ``(B, bins, units)``, then its activation.
    On a GPU its product runs :func:`~crossreg.model.gpu_forms.padded_linear`."""

    def __init__(self, in_features: int, units: int, activation: str) -> None:
        super().__init__()
        self.dense = nn.Linear(in_features, units)
        self.activation = head_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.activation(padded_linear(x, self.dense, gpu_multiple(x)))
        return out.contiguous()  # a linear head's output may be a view of a padded one


class SeqNN(nn.Module):
    """Basenji2 ``SeqNN`` built from params' model section.

    ``gelu_form`` picks the GELU used everywhere (``tanh``, ``sigmoid1702`` or ``erf``).
    Heads are keyed by genome name (``model.heads["human"]``). Weights are initialised as
    Basenji does, from `generator` when given. `branches` (genome -> spec) gives heads
    their own path through the trunk's tail (:meth:`add_branch`).

    ``channels_last`` (an attribute, settable at any time; not saved with the weights)
    runs the trunk on ``(B, C, 1, L)`` tensors in ``torch.channels_last`` memory rather
    than on ``(B, C, L)``: the same function, laid out as cuDNN's NHWC convolution and
    batch-norm kernels read it, and the heads read its output without a transpose.
    Inference through :func:`crossreg.model.inference.predict_batch` sets it for the
    call as its :class:`~crossreg.model.inference.InferenceOptions` say.
    """

    def __init__(
        self,
        params: ModelParams,
        *,
        gelu_form: str = "tanh",
        generator: torch.Generator | None = None,
        branches: Mapping[str, BranchSpec] | None = None,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.channels_last = channels_last
        if gelu_form not in GELU_FORMS:
            raise ValueError(f"GELU form '{gelu_form}' is unknown; use {', '.join(GELU_FORMS)}")
        self.params = params
        self.gelu_form = gelu_form
        modules: list[nn.Module] = []
        channels = 4
        for block in params.trunk:
            for module in build_block(block, channels, gelu_form):
                modules.append(module)
                if isinstance(module, ConvBlock):
                    channels = module.out_channels
        self.trunk = nn.Sequential(*modules)
        self.trunk_activation = make_activation(params.activation, gelu_form)
        self.channels = channels
        self.heads = nn.ModuleDict(
            {h.genome: TrackHead(channels, h.units, h.activation) for h in params.heads}
        )
        init_weights(self, generator)
        self.branches = nn.ModuleDict()
        for genome, spec in (branches or {}).items():
            self.add_branch(genome, spec, generator)

    def add_branch(
        self, genome: str, spec: BranchSpec, generator: torch.Generator | None = None
    ) -> BlocksBranch | AdapterBranch:
        """Give `genome`'s head its own path through the trunk from module ``spec.start``
        on, built from the trunk as it is now (a copy of its modules, or adapters drawn
        from `generator` that start at zero): the head predicts what it did until the
        branch trains, and the other heads never run it."""
        self.head(genome)
        if genome in self.branches:
            raise ValueError(f"the head '{genome}' has a branch already")
        where = f"the branch of head '{genome}'"
        branch = build_branch(spec, self.trunk, where, generator)
        self.branches[genome] = branch
        return branch

    def _branch(self, genome: str) -> BlocksBranch | AdapterBranch:
        """The branch of `genome`'s head (which must have one)."""
        return cast("BlocksBranch | AdapterBranch", self.branches[genome])

    @property
    def branch_specs(self) -> dict[str, BranchSpec]:
        """The heads' branches (genome -> spec), in the order they were added."""
        return {genome: self._branch(genome).spec for genome in self.branches}

    @property
    def genomes(self) -> list[str]:
        """Genome names of the heads, in head order."""
        return list(self.heads)

    @property
    def seq_length(self) -> int:
        """Input length in bp."""
        return self.params.seq_length

    @property
    def stride(self) -> int:
        """Input bp per output bin (product of the pool sizes; as in Basenji, a
        ``pool_size`` of 0 or 1 pools nothing)."""
        stride = 1
        for m in self.trunk.modules():
            if isinstance(m, ConvBlock) and m.pool_size > 1:
                stride *= m.pool_size
        return stride

    @property
    def crop(self) -> tuple[int, int]:
        """Output bins cropped at (start, end): each Cropping1D's positions times the bp
        of a position where it crops, in output bins (the params are refused where that
        is not a whole number of them)."""
        left = right = 0  # bp
        position_bp = 1
        for m in self.trunk.modules():
            if isinstance(m, ConvBlock) and m.pool_size > 1:
                position_bp *= m.pool_size
            elif isinstance(m, Crop):
                left += m.left * position_bp
                right += m.right * position_bp
        return left // position_bp, right // position_bp  # position_bp is now the stride

    def output_length(self, seq_length: int | None = None) -> int:
        """Output bins for an input of `seq_length` bp (the model's length by default)."""
        length = self.seq_length if seq_length is None else seq_length
        for m in self.trunk.modules():
            if isinstance(m, ConvBlock) and m.pool_size > 1:
                length = -(-length // m.pool_size)
            elif isinstance(m, Crop):
                length -= m.left + m.right
        return length

    def num_targets(self, genome: str) -> int:
        """Tracks of `genome`'s head."""
        return self.head(genome).dense.out_features

    def head(self, genome: str | None = None) -> TrackHead:
        """The head of `genome` (optional when there is only one)."""
        return cast(TrackHead, self.heads[self.head_name(genome)])

    def head_name(self, genome: str | None = None) -> str:
        """`genome`, checked, or the only head's name when `genome` is None."""
        if genome is None:
            if len(self.heads) != 1:
                raise ValueError(f"name the genome: this model has heads {', '.join(self.heads)}")
            genome = next(iter(self.heads))
        if genome not in self.heads:
            raise ValueError(
                f"the model has no head for genome '{genome}'; its genomes are "
                f"{', '.join(self.heads)}"
            )
        return genome

    def keep_tracks(self, genome: str, indices: Sequence[int]) -> None:
        """Cut `genome`'s head down to the tracks `indices` (in that order): its Dense
        layer keeps only their rows, so the model predicts and costs only those tracks."""
        dense = self.head(genome).dense
        rows = torch.as_tensor(list(indices), dtype=torch.long, device=dense.weight.device)
        kept = nn.Linear(
            dense.in_features, len(rows), device=dense.weight.device, dtype=dense.weight.dtype
        )
        with torch.no_grad():
            kept.weight.copy_(dense.weight[rows])
            kept.bias.copy_(dense.bias[rows])
        self.head(genome).dense = kept

    def embed(self, x: torch.Tensor, genome: str | None = None) -> torch.Tensor:
        """Trunk output after the final activation: ``(B, L, 4)`` → ``(B, bins, channels)``,
        through `genome`'s branch when its head has one (the shared trunk otherwise).

        Integer one-hot (e.g. uint8) is converted to float32; windows must be the model's
        ``seq_length`` long (another length would give another number of bins)."""
        if x.ndim != 3 or x.shape[-1] != 4:
            raise ValueError(f"input must be one-hot (batch, length, 4), got {tuple(x.shape)}")
        if x.shape[1] != self.seq_length:
            raise ValueError(
                f"windows of {x.shape[1]:,} bp given to a model of {self.seq_length:,}-bp "
                "windows; cut or pad them to the model's seq_length"
            )
        if not x.is_floating_point():
            x = x.float()
        if self.channels_last:
            h = x.transpose(1, 2).unsqueeze(2).contiguous(memory_format=torch.channels_last)
        else:
            h = x.transpose(1, 2).contiguous()
        if genome is not None and genome in self.branches:
            branch = self._branch(genome)
            for module in islice(self.trunk, branch.spec.start):
                h = module(h)
            h = branch(self.trunk, h)
        else:
            h = self.trunk(h)
        h = self.trunk_activation(h)
        return (h.squeeze(2) if self.channels_last else h).transpose(1, 2)

    def forward(self, x: torch.Tensor, genome: str | None = None) -> torch.Tensor:
        """Predictions ``(B, bins, tracks)`` of `genome`'s head for one-hot ``(B, L, 4)``."""
        genome = self.head_name(genome)
        return self.heads[genome](self.embed(x, genome))


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of values as Keras counts them: parameters plus batch-norm moving mean and
    variance (the non-trainable part) unless `trainable_only`."""
    total = sum(p.numel() for p in model.parameters())
    if not trainable_only:
        for m in model.modules():
            if isinstance(m, KerasBatchNorm):
                total += m.running_mean.numel() + m.running_var.numel()
    return total


def keras_weight_layers(model: SeqNN, genome: str) -> list[nn.Module]:
    """The modules holding weights in Keras' load order for `genome`'s model: each
    conv then its batch norm through the trunk, then the head's Dense layer."""
    layers: list[nn.Module] = [
        m for m in model.trunk.modules() if isinstance(m, (nn.Conv1d, KerasBatchNorm))
    ]
    layers.append(model.head(genome).dense)
    return layers
