"""Basenji Keras weights into a SeqNN: the i-th weighted layer of a file (in ``layer_names``
order) goes to the i-th conv / batch norm / dense module of the model, whatever the layers
are called (the Dense layer is ``dense`` in one head's file and ``dense_1`` in the other's).
Every kind and shape is checked first; a mismatch names the layer and both shapes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from crossreg.model.blocks import KerasBatchNorm
from crossreg.model.keras_h5 import LAYER_WEIGHTS, KerasFile, KerasLayer, short_weight_name
from crossreg.model.seqnn import SeqNN, keras_weight_layers


@dataclass(frozen=True)
class WeightMapping:
    """Where one Keras weight goes in the PyTorch model."""

    keras_layer: str
    keras_weight: str
    keras_shape: tuple[int, ...]
    torch_name: str
    torch_shape: tuple[int, ...]


def _expected(module: nn.Module) -> tuple[str, dict[str, tuple[int, ...]]]:
    """Keras kind and weight shapes that `module` needs."""
    if isinstance(module, nn.Conv1d):
        c_out, c_in, k = module.weight.shape
        return "Conv1D", {"kernel": (k, c_in, c_out)}
    if isinstance(module, KerasBatchNorm):
        c = module.num_features
        return "BatchNormalization", dict.fromkeys(LAYER_WEIGHTS["BatchNormalization"], (c,))
    if isinstance(module, nn.Linear):
        return "Dense", {
            "kernel": (module.in_features, module.out_features),
            "bias": (module.out_features,),
        }
    raise TypeError(f"no Keras counterpart for {type(module).__name__}")


_TORCH_NAMES = {
    "kernel": "weight",
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
    "bias": "bias",
}


def _describe(kind: str, shapes: Mapping[str, tuple[int, ...]]) -> str:
    return f"{kind} " + ", ".join(f"{n} {list(s)}" for n, s in shapes.items())


def map_keras_layers(
    model: SeqNN, genome: str, layers: Sequence[KerasLayer], source: str
) -> list[WeightMapping]:
    """Pair every Keras weight with its PyTorch tensor, by load order, checking kinds, shapes
    and (when the file records them) dilation and the head's activation."""
    modules = keras_weight_layers(model, genome)
    names = {m: n for n, m in model.named_modules()}
    mappings: list[WeightMapping] = []
    for i in range(max(len(modules), len(layers))):
        if i >= len(layers):
            raise _missing_layer(modules, i, names[modules[i]], layers, source)
        layer = layers[i]
        if i >= len(modules):
            raise ValueError(
                f"{source}: the file has {len(layers)} weighted layers but the params build "
                f"{len(modules)}; layer '{layer.name}' ({_describe(layer.kind, layer.shapes)}) "
                "has no place in the model. Are these the right params for this file?"
            )
        module = modules[i]
        _check_layer(model, genome, layer, i, module, names[module], source)
        for short, keras_name in layer.weights.items():
            torch_name = f"{names[module]}.{_TORCH_NAMES[short]}"
            torch_shape = tuple(getattr(module, _TORCH_NAMES[short]).shape)
            mappings.append(
                WeightMapping(layer.name, keras_name, layer.shapes[short], torch_name, torch_shape)
            )
    return mappings


def _missing_layer(
    modules: Sequence[nn.Module], i: int, name: str, layers: Sequence[KerasLayer], source: str
) -> ValueError:
    """The error for weighted layer `i` of the model (module `name`), which the file lacks:
    a trunk saved without its head, or params of another model."""
    kind, shapes = _expected(modules[i])
    if kind == "Dense" and all(layer.kind != "Dense" for layer in layers):
        return ValueError(
            f"{source}: the file holds no Dense layer, only the {len(layers)} "
            f"weighted layers of a trunk ({name}: {_describe(kind, shapes)} "
            "is not in it): a trunk saved alone (SeqNN.save with trunk=True)? Give "
            "the file Basenji saved with the head (model_best.h5, model0_best.h5)"
        )
    after = f" after '{layers[-1].name}'" if layers else ""
    return ValueError(
        f"{source}: missing layer: the params build {len(modules)} weighted layers but "
        f"the file has {len(layers)}; weighted layer {i} ({name}: "
        f"{_describe(kind, shapes)}){after} is not in the file. Are these the right "
        "params for this file?"
    )


def _check_layer(
    model: SeqNN,
    genome: str,
    layer: KerasLayer,
    i: int,
    module: nn.Module,
    name: str,
    source: str,
) -> None:
    """Refuse Keras `layer` (weighted layer `i`) for `module` (named `name`) when its kind
    or shapes differ, or the dilation or the head's activation it records."""
    kind, shapes = _expected(module)
    if layer.kind != kind or layer.shapes != shapes:
        raise ValueError(
            f"{source}: layer '{layer.name}' (weighted layer {i}) is "
            f"{_describe(layer.kind, layer.shapes)} but the params build "
            f"{_describe(kind, shapes)} at '{name}'. Are these the right params "
            "(and head) for this file?"
        )
    if isinstance(module, nn.Conv1d) and layer.config:
        dilation = next(iter(layer.config.get("dilation_rate", [1])))
        if dilation != module.dilation[0]:
            raise ValueError(
                f"{source}: layer '{layer.name}' has dilation {dilation} but the params "
                f"build dilation {module.dilation[0]} at '{name}' (check the "
                "dilated_residual rate_mult and round settings)"
            )
    if isinstance(module, nn.Linear) and layer.config and "activation" in layer.config:
        _check_head_activation(model, genome, layer.name, layer.config["activation"], source)


def _check_head_activation(
    model: SeqNN, genome: str, layer: str, recorded: str, source: str
) -> None:
    """The Dense layer's `recorded` activation is the one the params give `genome`'s head."""
    built = next(h.activation for h in model.params.heads if h.genome == genome)
    if recorded != built:
        raise ValueError(
            f"{source}: layer '{layer}' (the head's Dense layer) has activation "
            f"'{recorded}' but the params give the head activation '{built}'; set the head's "
            f'"activation": "{recorded}" in the params'
        )


def _keras_to_torch(short: str, kind: str, array: np.ndarray) -> np.ndarray:
    if short == "kernel" and kind == "Conv1D":
        return array.transpose(2, 1, 0)  # (k, C_in, C_out) -> (C_out, C_in, k)
    if short == "kernel" and kind == "Dense":
        return array.T  # (C_in, C_out) -> (C_out, C_in)
    return array


def load_keras_weights(
    model: SeqNN, genome: str, keras: KerasFile, *, trunk: bool = True, head: bool = True
) -> list[WeightMapping]:
    """Copy `keras`'s weights into `model`'s trunk and/or `genome`'s head (in place)."""
    mappings = map_keras_layers(model, genome, keras.layers, keras.path)
    head_prefix = f"heads.{genome}."
    tensors = dict(model.named_parameters()) | dict(model.named_buffers())
    by_name = {layer.name: layer for layer in keras.layers}
    with torch.no_grad():
        for m in mappings:
            in_head = m.torch_name.startswith(head_prefix)
            if (in_head and not head) or (not in_head and not trunk):
                continue
            layer = by_name[m.keras_layer]
            if layer.arrays is None:
                raise ValueError(f"{keras.path}: read the file with read_arrays=True to load it")
            short = short_weight_name(m.keras_weight)
            value = _keras_to_torch(short, layer.kind, layer.arrays[short])
            target = tensors[m.torch_name]
            target.copy_(torch.from_numpy(np.ascontiguousarray(value)).to(target))
    return mappings
