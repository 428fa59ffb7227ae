"""Read Basenji's Keras HDF5 weight files (``SeqNN.save`` / ``save_weights``) with h5py.

Keras loads weighted layers in the order of the ``layer_names`` attribute (topological),
not by name (``conv1d_10`` sorts before ``conv1d_2``); :func:`read_keras_file` returns them
in that order. Files written by ``model.save`` keep the layers under ``model_weights``,
``save_weights`` files at the root; extra groups (``optimizer_weights``) are ignored.
A layer or weight that ``layer_names`` or ``weight_names`` lists but the file lacks, a NaN
or infinite weight, a negative batch-norm moving variance, or a ``model_config`` that is
not valid JSON (or no model description) is refused as a damaged file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from crossreg.io.h5 import read_h5, stored_text

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
class KerasArchitecture:
    """What a file's ``model_config`` records beyond the weights' shapes: the input length,
    the trunk activation kinds (``gelu``, ``relu``), and the MaxPooling1D pool sizes and
    Cropping1D (start, end) crops in layer order."""

    seq_length: int | None
    activations: frozenset[str]
    pool_sizes: tuple[int, ...]
    croppings: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class KerasFile:
    """Weighted layers of a Keras HDF5 file in load order, what the file says of GELU and,
    when it has a ``model_config``, its architecture."""

    path: str
    layers: tuple[KerasLayer, ...]
    gelu_form: str | None
    gelu_evidence: str
    keras_version: str | None
    architecture: KerasArchitecture | None = None


def short_weight_name(weight_name: str) -> str:
    """``conv1d_3/kernel:0`` -> ``kernel``."""
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


def config_layers(model_config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The layers a ``model_config`` records, in its order, nested models' layers inlined
    (a ``config`` that is itself the list of layers, as Keras before 2.2.3 wrote a
    ``Sequential`` model, counts as its layers)."""
    config = model_config.get("config", {})
    layers = config if isinstance(config, list) else config.get("layers", [])
    found: list[dict[str, Any]] = []
    for layer in layers:
        inner = layer.get("config", {})
        if isinstance(inner, list) or "layers" in inner:
            found.extend(config_layers(layer))
        else:
            found.append(layer)
    return found


def activation_kind(layer: Mapping[str, Any]) -> str | None:
    """``gelu`` or ``relu`` for a ``model_config`` activation layer (Basenji's ``GELU``,
    ``tf.nn.gelu``, ``ReLU``, ``Activation``), None for any other layer."""
    cls, cfg = layer.get("class_name"), layer.get("config", {})
    if cls in ("GELU", "ReLU"):
        return str(cls).lower()
    if cls == "TFOpLambda" and cfg.get("function") in ("nn.gelu", "nn.relu"):
        return str(cfg["function"]).removeprefix("nn.")
    if cls == "Activation" and cfg.get("activation") in ("gelu", "relu"):
        return str(cfg["activation"])
    return None


def _input_length(layer: Mapping[str, Any]) -> int | None:
    cfg = layer.get("config", {})
    shape = cfg.get("batch_input_shape", cfg.get("batch_shape"))
    return shape[1] if shape and len(shape) == 3 and isinstance(shape[1], int) else None


def architecture_of_config(model_config: Mapping[str, Any] | None) -> KerasArchitecture | None:
    """The :class:`KerasArchitecture` a ``model_config`` records (None without one)."""
    layers = config_layers(model_config) if model_config else []
    if not layers:
        return None
    lengths = {_input_length(la) for la in layers if la.get("class_name") == "InputLayer"}
    by_class: dict[str, list[dict[str, Any]]] = {}
    for layer in layers:
        by_class.setdefault(str(layer.get("class_name")), []).append(layer.get("config", {}))
    crops = [c["cropping"] for c in by_class.get("Cropping1D", [])]
    return KerasArchitecture(
        seq_length=lengths.pop() if len(lengths) == 1 else None,
        activations=frozenset(k for la in layers if (k := activation_kind(la))),
        pool_sizes=tuple(_first(c["pool_size"]) for c in by_class.get("MaxPooling1D", [])),
        croppings=tuple((_first(c), _first(c, -1)) for c in crops),
    )


def _first(value: Any, index: int = 0) -> int:
    """A Keras size given as a number or a list (``[2]``, ``[12, 12]``)."""
    return int(value[index] if isinstance(value, (list, tuple)) else value)


def gelu_form_of_config(model_config: Mapping[str, Any] | None) -> tuple[str | None, str]:
    """The GELU form a Keras ``model_config`` records, with the evidence.

    Paper-era Basenji saved its custom ``GELU`` layer (``x·sigmoid(1.702x)``); later code
    ``tf.nn.gelu`` with ``approximate`` true (tanh) or false (erf).
    """
    if not model_config:
        return None, "the file has no model_config"
    layers = config_layers(model_config)
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


_DAMAGED = "the file is damaged or incomplete; download the Basenji weights file again"


def _datasets(group: Any, name: str, weights: Mapping[str, str], path: Path) -> dict[str, Any]:
    """The datasets of layer `name`'s weights (short name -> dataset), each checked present."""
    missing = [w for w in weights.values() if w not in group[name]]
    if missing:
        raise ValueError(
            f"{path}: layer '{name}' lists weight '{missing[0]}' but the file holds no such "
            f"dataset; {_DAMAGED}"
        )
    return {s: group[name][w] for s, w in weights.items()}


def check_weight_values(array: np.ndarray, layer: str, weight: str, source: str) -> None:
    """Refuse NaN or infinite values, and negative batch-norm moving variances."""
    bad = int(np.count_nonzero(~np.isfinite(array)))
    if bad:
        raise ValueError(
            f"{source}: weight '{weight}' of layer '{layer}' holds {bad} NaN or infinite "
            f"value(s) (as float32), which would make every prediction NaN; {_DAMAGED}"
        )
    if short_weight_name(weight) == "moving_variance" and array.size and array.min() < 0:
        raise ValueError(
            f"{source}: weight '{weight}' of layer '{layer}' holds a negative variance "
            f"({float(array.min()):.4g}), which batch norm cannot use; {_DAMAGED}"
        )


def _read_layer(group: Any, name: str, path: Path, read_arrays: bool) -> KerasLayer | None:
    """Layer `name` of a ``model_weights`` group, or None where it holds no weights."""
    if name not in group:
        raise ValueError(
            f"{path}: layer_names lists layer '{name}' but it has no group; {_DAMAGED}"
        )
    weight_names = [stored_text(w) for w in group[name].attrs.get("weight_names", [])]
    if not weight_names:
        return None
    weights = {short_weight_name(w): w for w in weight_names}
    datasets = _datasets(group, name, weights, path)
    shapes = {s: tuple(d.shape) for s, d in datasets.items()}
    arrays = None
    if read_arrays:
        arrays = {s: np.asarray(d, dtype=np.float32) for s, d in datasets.items()}
        for s, array in arrays.items():
            check_weight_values(array, name, weights[s], str(path))
    return KerasLayer(name, layer_kind(name, shapes, str(path)), weights, shapes, arrays)


def _refuse_keras_archive(path: Path) -> None:
    """Stop at a zip archive, as Keras 3 (and Keras 2.13+ given a ``.keras`` name) saves
    models, which HDF5 would call damaged."""
    if not path.is_file():
        return  # read_h5 says what it is
    with open(path, "rb") as handle:
        if handle.read(4) == b"PK\x03\x04":
            raise ValueError(
                f"{path}: a zip archive (a Keras 3 .keras file?), not the Keras HDF5 file "
                "Basenji writes; give the .h5 that SeqNN.save wrote, or save the model again "
                "with tf_keras as model.save('model.h5')"
            )


def _model_config(text: str, path: Path) -> dict[str, Any]:
    """The parsed ``model_config`` attribute: a JSON description of a Keras model."""
    try:
        config = json.loads(text)
    except ValueError as err:
        raise ValueError(
            f"{path}: its model_config attribute is not valid JSON ({err}); {_DAMAGED}"
        ) from None
    if not isinstance(config, dict) or not isinstance(config.get("config", {}), (dict, list)):
        raise ValueError(
            f"{path}: its model_config attribute is not a Keras model description (a JSON "
            f"object with a 'config'); {_DAMAGED}"
        )
    return config


def read_keras_file(path: str | os.PathLike[str], *, read_arrays: bool = True) -> KerasFile:
    """Read the weighted layers of a Keras HDF5 file in Keras' load order (their values
    checked finite when `read_arrays`)."""
    path = Path(path)
    _refuse_keras_archive(path)
    with read_h5(path, "download the Basenji weights file again") as handle:
        group = handle.get("model_weights", handle)
        if "layer_names" not in group.attrs:
            raise ValueError(
                f"{path}: no 'layer_names' attribute; this is not a Keras weights file "
                "(expected one written by SeqNN.save or model.save_weights)"
            )
        read = (
            _read_layer(group, stored_text(n), path, read_arrays)
            for n in group.attrs["layer_names"]
        )
        layers = [layer for layer in read if layer is not None]
        model_config = None
        if "model_config" in handle.attrs:
            model_config = _model_config(stored_text(handle.attrs["model_config"]), path)
        version = handle.attrs.get("keras_version")
        keras_version = None if version is None else stored_text(version)
    if model_config:
        configs = {
            la.get("config", {}).get("name"): la.get("config", {})
            for la in config_layers(model_config)
        }
        layers = [replace(la, config=configs.get(la.name)) for la in layers]
    gelu_form, evidence = gelu_form_of_config(model_config)
    return KerasFile(
        str(path),
        tuple(layers),
        gelu_form,
        evidence,
        keras_version,
        architecture_of_config(model_config),
    )


def trunk_differences(a: KerasFile, b: KerasFile) -> list[tuple[str, float]]:
    """(layer, max |difference|) of every trunk layer whose weights differ between two files
    of the same architecture (the last weighted layer, the head, is not compared)."""
    diffs = []
    for la, lb in zip(a.layers[:-1], b.layers[:-1], strict=True):
        if la.arrays is None or lb.arrays is None:
            raise ValueError("compare files read with read_arrays=True")
        worst = max(float(np.max(np.abs(la.arrays[k] - lb.arrays[k]))) for k in la.arrays)
        if worst > 0:
            diffs.append((la.name, worst))
    return diffs
