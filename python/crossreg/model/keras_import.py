"""Import Basenji's Keras HDF5 weights (``SeqNN.save`` / ``save_weights`` files) with h5py.

Keras loads weighted layers in the order of the ``layer_names`` attribute (topological),
not by name (``conv1d_10`` sorts before ``conv1d_2``), so crossreg does the same: the i-th
weighted layer of the file goes to the i-th conv / batch norm / dense module of the model.
Each file holds the trunk plus one head; the Dense layer may be called ``dense``,
``dense_1`` or ``final``. Every kind and shape is checked; a mismatch names the layer and
both shapes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch import nn

from crossreg.io.targets import TargetsTable, read_targets
from crossreg.model.blocks import KerasBatchNorm
from crossreg.model.params import Params, load_params
from crossreg.model.seqnn import SeqNN, keras_weight_layers

log = logging.getLogger("crossreg")

# weight short names of each Keras layer kind, in Keras' order
LAYER_WEIGHTS = {
    "Conv1D": ("kernel",),
    "BatchNormalization": ("gamma", "beta", "moving_mean", "moving_variance"),
    "Dense": ("kernel", "bias"),
}


@dataclass(frozen=True)
class KerasLayer:
    """A weighted Keras layer: its name, kind, weight shapes and (when read) arrays.

    `weights` maps short names (``kernel``, ``gamma``, ...) to the full Keras weight name
    (``conv1d_3/kernel:0``); `shapes` and `arrays` use the short names.
    """

    name: str
    kind: str
    weights: dict[str, str]
    shapes: dict[str, tuple[int, ...]]
    arrays: dict[str, np.ndarray] | None = None
    config: dict[str, Any] | None = None


@dataclass(frozen=True)
class KerasFile:
    """Weighted layers of a Keras HDF5 file in load order, and what the file says of GELU."""

    path: str
    layers: tuple[KerasLayer, ...]
    gelu_form: str | None
    gelu_evidence: str
    keras_version: str | None


@dataclass(frozen=True)
class WeightMapping:
    """Where one Keras weight goes in the PyTorch model."""

    keras_layer: str
    keras_weight: str
    keras_shape: tuple[int, ...]
    torch_name: str
    torch_shape: tuple[int, ...]


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _short_name(weight_name: str) -> str:
    return weight_name.rsplit("/", 1)[-1].split(":", 1)[0]


def layer_kind(name: str, shapes: Mapping[str, tuple[int, ...]], source: str) -> str:
    """Keras layer kind from its weight names and kernel rank."""
    names = tuple(shapes)
    if names == ("kernel",) and len(shapes["kernel"]) == 3:
        return "Conv1D"
    if names == ("kernel", "bias") and len(shapes["kernel"]) == 2:
        return "Dense"
    if names == LAYER_WEIGHTS["BatchNormalization"]:
        return "BatchNormalization"
    described = ", ".join(f"{n} {list(s)}" for n, s in shapes.items())
    raise ValueError(
        f"{source}: layer '{name}' holds weights ({described}) that no Basenji2 layer has; "
        "crossreg imports bias-free Conv1D, BatchNormalization (gamma, beta, moving stats) "
        "and Dense layers"
    )


def gelu_form_of_config(model_config: Mapping[str, Any] | None) -> tuple[str | None, str]:
    """The GELU form a Keras ``model_config`` records, with the evidence.

    Paper-era Basenji saved its custom ``GELU`` layer (``x·sigmoid(1.702x)``); later code
    ``tf.nn.gelu`` with ``approximate`` true (tanh) or false (erf).
    """
    if not model_config:
        return None, "the file has no model_config"
    layers = model_config.get("config", {}).get("layers", [])
    forms: dict[str, str] = {}
    for layer in layers:
        cls, cfg = layer.get("class_name"), layer.get("config", {})
        if cls == "GELU":
            forms.setdefault("sigmoid1702", f"paper-era Basenji GELU layer '{cfg.get('name')}'")
        elif cls == "TFOpLambda" and cfg.get("function") == "nn.gelu":
            approximate = False
            for node in layer.get("inbound_nodes", []):
                if node and isinstance(node[-1], dict):
                    approximate = bool(node[-1].get("approximate", False))
            form = "tanh" if approximate else "erf"
            forms.setdefault(form, f"tf.nn.gelu(approximate={approximate}) '{cfg.get('name')}'")
        elif cls == "Activation" and cfg.get("activation") == "gelu":
            forms.setdefault("erf", f"Activation('gelu') '{cfg.get('name')}'")
    if len(forms) == 1:
        form, evidence = next(iter(forms.items()))
        return form, f"model_config records {evidence}"
    if not forms:
        return None, "model_config records no GELU layer"
    return None, f"model_config records several GELU forms ({', '.join(forms)})"


def read_keras_file(path: str | os.PathLike[str], *, read_arrays: bool = True) -> KerasFile:
    """Read the weighted layers of a Keras HDF5 file in Keras' load order."""
    path = Path(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{path}: not a readable HDF5 file ({err})") from None
    with handle:
        group = handle.get("model_weights", handle)
        if "layer_names" not in group.attrs:
            raise ValueError(
                f"{path}: no 'layer_names' attribute; this is not a Keras weights file "
                "(expected one written by SeqNN.save or model.save_weights)"
            )
        layers = []
        for raw_name in group.attrs["layer_names"]:
            name = _text(raw_name)
            weight_names = [_text(w) for w in group[name].attrs.get("weight_names", [])]
            if not weight_names:
                continue
            weights = {_short_name(w): w for w in weight_names}
            shapes = {s: tuple(group[name][w].shape) for s, w in weights.items()}
            arrays = (
                {s: np.asarray(group[name][w], dtype=np.float32) for s, w in weights.items()}
                if read_arrays
                else None
            )
            kind = layer_kind(name, shapes, str(path))
            layers.append(KerasLayer(name, kind, weights, shapes, arrays))
        model_config = None
        if "model_config" in handle.attrs:
            model_config = json.loads(_text(handle.attrs["model_config"]))
        version = handle.attrs.get("keras_version")
        keras_version = None if version is None else _text(version)
    if model_config:
        configs = {
            layer.get("config", {}).get("name"): layer.get("config", {})
            for layer in model_config.get("config", {}).get("layers", [])
        }
        layers = [
            KerasLayer(la.name, la.kind, la.weights, la.shapes, la.arrays, configs.get(la.name))
            for la in layers
        ]
    gelu_form, evidence = gelu_form_of_config(model_config)
    return KerasFile(str(path), tuple(layers), gelu_form, evidence, keras_version)


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
    and (when the file records them) kernel size and dilation."""
    modules = keras_weight_layers(model, genome)
    names = {m: n for n, m in model.named_modules()}
    mappings: list[WeightMapping] = []
    for i in range(max(len(modules), len(layers))):
        if i >= len(layers):
            kind, shapes = _expected(modules[i])
            after = f" after '{layers[-1].name}'" if layers else ""
            raise ValueError(
                f"{source}: missing layer: the params build {len(modules)} weighted layers but "
                f"the file has {len(layers)}; weighted layer {i} ({names[modules[i]]}: "
                f"{_describe(kind, shapes)}){after} is not in the file. Are these the right "
                "params for this file?"
            )
        layer = layers[i]
        if i >= len(modules):
            raise ValueError(
                f"{source}: the file has {len(layers)} weighted layers but the params build "
                f"{len(modules)}; layer '{layer.name}' ({_describe(layer.kind, layer.shapes)}) "
                "has no place in the model. Are these the right params for this file?"
            )
        module = modules[i]
        kind, shapes = _expected(module)
        if layer.kind != kind or layer.shapes != shapes:
            raise ValueError(
                f"{source}: layer '{layer.name}' (weighted layer {i}) is "
                f"{_describe(layer.kind, layer.shapes)} but the params build "
                f"{_describe(kind, shapes)} at '{names[module]}'. Are these the right params "
                "(and head) for this file?"
            )
        if layer.kind == "Conv1D" and layer.config:
            dilation = next(iter(layer.config.get("dilation_rate", [1])))
            if dilation != module.dilation[0]:
                raise ValueError(
                    f"{source}: layer '{layer.name}' has dilation {dilation} but the params "
                    f"build dilation {module.dilation[0]} at '{names[module]}' (check the "
                    "dilated_residual rate_mult and round settings)"
                )
        for short, keras_name in layer.weights.items():
            torch_name = f"{names[module]}.{_TORCH_NAMES[short]}"
            torch_shape = tuple(getattr(module, _TORCH_NAMES[short]).shape)
            mappings.append(
                WeightMapping(layer.name, keras_name, layer.shapes[short], torch_name, torch_shape)
            )
    return mappings


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
            short = _short_name(m.keras_weight)
            value = _keras_to_torch(short, layer.kind, layer.arrays[short])
            target = tensors[m.torch_name]
            target.copy_(torch.from_numpy(np.ascontiguousarray(value)).to(target))
    return mappings


def trunk_differences(a: KerasFile, b: KerasFile) -> list[tuple[str, float]]:
    """(layer, max |difference|) of every trunk layer whose weights differ between two files
    of the same architecture (the last weighted layer, the head, is not compared)."""
    diffs = []
    for la, lb in zip(a.layers[:-1], b.layers[:-1], strict=True):
        assert la.arrays is not None and lb.arrays is not None
        worst = max(float(np.max(np.abs(la.arrays[k] - lb.arrays[k]))) for k in la.arrays)
        if worst > 0:
            diffs.append((la.name, worst))
    return diffs


@dataclass(frozen=True)
class BasenjiSource:
    """One Basenji weights file: the genome its head predicts and that head's targets table."""

    genome: str
    weights: Path
    targets: Path


@dataclass
class ImportedModel:
    """A SeqNN holding imported weights, and what a checkpoint needs to describe it."""

    model: SeqNN
    params: Params
    genomes: dict[str, str]
    targets: dict[str, TargetsTable]
    gelu_form: str
    gelu_reason: str
    trunk_source: str
    keras_versions: dict[str, str | None]


def _head_key(params: Params, genome: str, n_sources: int) -> str:
    heads = params.model.heads
    if len(heads) == 1:
        if n_sources > 1:
            raise ValueError(
                f"{params.source}: the params have one head ('{heads[0].key}') but "
                f"{n_sources} weights files were given; use a params file with one head per genome"
            )
        return heads[0].key
    for head in heads:
        if genome in (head.genome, head.key):
            return head.key
    raise ValueError(
        f"{params.source}: no head for genome '{genome}'; the params' heads are "
        f"{', '.join(h.key for h in heads)} (genomes {', '.join(h.genome for h in heads)})"
    )


def _choose_gelu(files: Sequence[KerasFile], gelu: str | None) -> tuple[str, str]:
    if gelu is not None:
        return gelu, "chosen by the user"
    recorded = {f.gelu_form for f in files}
    if len(recorded) == 1 and None not in recorded:
        form = files[0].gelu_form
        assert form is not None
        return form, f"as the weights were trained: {files[0].gelu_evidence}"
    evidence = "; ".join(f"{Path(f.path).name}: {f.gelu_evidence}" for f in files)
    return "tanh", (
        f"Basenji's current form, since the files do not say ({evidence}); pass "
        "--gelu sigmoid1702 for weights trained before 2022-04 such as the cross2020 models"
    )


def import_basenji(
    params_path: str | os.PathLike[str],
    sources: Sequence[BasenjiSource],
    *,
    gelu: str | None = None,
    trunk_from: str | None = None,
) -> ImportedModel:
    """Build a SeqNN from Basenji params and load one Keras weights file per genome.

    With several files (one per head of a joint params file) the trunks must be identical,
    unless `trunk_from` names the genome whose file provides the shared trunk (the other
    heads then sit on a trunk they were not trained with, and a warning says so).
    """
    if not sources:
        raise ValueError("give at least one weights file")
    params = load_params(params_path)
    genomes: dict[str, str] = {}
    for src in sources:
        if src.genome in genomes:
            raise ValueError(f"genome '{src.genome}' is given twice")
        genomes[src.genome] = _head_key(params, src.genome, len(sources))
    model_params = params.model.select_heads(genomes)
    files = {src.genome: read_keras_file(src.weights) for src in sources}
    gelu_form, reason = _choose_gelu(list(files.values()), gelu)
    # check every file against the architecture before allocating and filling it
    with torch.device("meta"):
        model = SeqNN(model_params, gelu_form=gelu_form)
    targets: dict[str, TargetsTable] = {}
    for src in sources:
        table = read_targets(src.targets)
        keras = files[src.genome]
        map_keras_layers(model, src.genome, keras.layers, keras.path)
        dense = keras.layers[-1]
        if len(table) != model.num_targets(src.genome):
            raise ValueError(
                f"{src.targets}: {len(table)} tracks, but the head for '{src.genome}' "
                f"(layer '{dense.name}' of {src.weights}, kernel {list(dense.shapes['kernel'])}) "
                f"predicts {model.num_targets(src.genome)}; use the targets table the model was "
                "trained with"
            )
        targets[src.genome] = table

    trunk_genome = trunk_from or sources[0].genome
    if trunk_genome not in files:
        raise ValueError(f"--trunk-from '{trunk_genome}' is not one of {', '.join(files)}")
    for genome, keras in files.items():
        if genome == trunk_genome:
            continue
        diffs = trunk_differences(files[trunk_genome], keras)
        if not diffs:
            continue
        worst = max(diffs, key=lambda d: d[1])
        message = (
            f"the trunks of {files[trunk_genome].path} and {keras.path} differ in {len(diffs)} "
            f"of {len(keras.layers) - 1} layers (largest |difference| {worst[1]:.3g} in layer "
            f"'{worst[0]}'), e.g. per-genome fine-tuned or best-epoch files of a joint run"
        )
        if trunk_from is None:
            raise ValueError(
                f"{message}. One shared trunk cannot reproduce both; import each file into its "
                "own checkpoint, or choose the trunk with --trunk-from GENOME"
            )
        log.warning(
            "%s; using the trunk of '%s', so '%s' predictions will differ from Basenji's",
            message,
            trunk_genome,
            genome,
        )
    # every parameter and moving statistic is overwritten below; only the BN batch
    # counters (unused with a fixed momentum) need a value
    model = model.to_empty(device="cpu").eval()
    for module in model.modules():
        if isinstance(module, KerasBatchNorm):
            module.num_batches_tracked.zero_()
    for genome, keras in files.items():
        load_keras_weights(model, genome, keras, trunk=genome == trunk_genome, head=True)
    return ImportedModel(
        model=model,
        params=params,
        genomes=genomes,
        targets=targets,
        gelu_form=gelu_form,
        gelu_reason=reason,
        trunk_source=files[trunk_genome].path,
        keras_versions={g: f.keras_version for g, f in files.items()},
    )
