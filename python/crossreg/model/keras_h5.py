"""Read Basenji's Keras HDF5 weight files (``SeqNN.save`` / ``save_weights``) with h5py.

Keras loads weighted layers in the order of the ``layer_names`` attribute (topological),
not by name (``conv1d_10`` sorts before ``conv1d_2``); :func:`read_keras_file` returns them
in that order. Files written by ``model.save`` keep the layers under ``model_weights``,
``save_weights`` files at the root; extra groups (``optimizer_weights``) are ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crossreg.io.h5 import read_h5

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


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


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
    with read_h5(path, "download the Basenji weights file again") as handle:
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
            weights = {short_weight_name(w): w for w in weight_names}
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
