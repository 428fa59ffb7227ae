"""Load Basenji Keras weights into a SeqNN and build crossreg models from Basenji files.

The i-th weighted layer of a file (in ``layer_names`` order) goes to the i-th conv / batch
norm / dense module of the model, whatever the layers are called (the Dense layer is
``dense`` in one head's file and ``dense_1`` in the other's). Every kind and shape is
checked first; a mismatch names the layer and both shapes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from crossreg.io.atomic import atomic_directory, check_replaceable
from crossreg.io.targets import TargetsTable, read_targets
from crossreg.model.blocks import ConvBlock, Crop, KerasBatchNorm
from crossreg.model.checkpoint import CheckpointConfig, make_config, save_checkpoint
from crossreg.model.checkpoint_info import CONFIG_NAME, WEIGHTS_NAME
from crossreg.model.keras_h5 import (
    LAYER_WEIGHTS,
    KerasFile,
    KerasLayer,
    read_keras_file,
    short_weight_name,
    trunk_differences,
)
from crossreg.model.params import ModelParams, Params, load_params
from crossreg.model.seqnn import SeqNN, keras_weight_layers

log = logging.getLogger("crossreg")

# the genome numbers of the paper's targets tables (their ``genome`` column)
PAPER_GENOMES = {"human": "0", "mouse": "1"}


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
            kind, shapes = _expected(modules[i])
            if kind == "Dense" and all(layer.kind != "Dense" for layer in layers):
                raise ValueError(
                    f"{source}: the file holds no Dense layer, only the {len(layers)} "
                    f"weighted layers of a trunk ({names[modules[i]]}: {_describe(kind, shapes)} "
                    "is not in it): a trunk saved alone (SeqNN.save with trunk=True)? Give "
                    "the file Basenji saved with the head (model_best.h5, model0_best.h5)"
                )
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
        if isinstance(module, nn.Conv1d) and layer.config:
            dilation = next(iter(layer.config.get("dilation_rate", [1])))
            if dilation != module.dilation[0]:
                raise ValueError(
                    f"{source}: layer '{layer.name}' has dilation {dilation} but the params "
                    f"build dilation {module.dilation[0]} at '{names[module]}' (check the "
                    "dilated_residual rate_mult and round settings)"
                )
        if isinstance(module, nn.Linear) and layer.config and "activation" in layer.config:
            _check_head_activation(model, genome, layer.name, layer.config["activation"], source)
        for short, keras_name in layer.weights.items():
            torch_name = f"{names[module]}.{_TORCH_NAMES[short]}"
            torch_shape = tuple(getattr(module, _TORCH_NAMES[short]).shape)
            mappings.append(
                WeightMapping(layer.name, keras_name, layer.shapes[short], torch_name, torch_shape)
            )
    return mappings


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


def trunk_activations(params: ModelParams) -> frozenset[str]:
    """The trunk activation kinds the params build (``gelu``, ``relu``)."""
    blocks = {b.options.get("activation", "gelu") for b in params.trunk if not b.name[0].isupper()}
    return frozenset(blocks | {params.activation})


def _built(model: SeqNN) -> dict[str, object]:
    """What the params build, in the terms of :class:`KerasArchitecture`."""
    convs = [m for m in model.trunk.modules() if isinstance(m, ConvBlock)]
    return {
        "seq_length": model.seq_length,
        "activations": trunk_activations(model.params),
        "pool_sizes": tuple(m.pool_size for m in convs if m.pool_size > 1),
        "croppings": tuple((m.left, m.right) for m in model.trunk.modules() if isinstance(m, Crop)),
    }


# per architecture field: what it is, and the params settings that decide it
_ARCHITECTURE_FIELDS = {
    "seq_length": ("input length (bp)", "model.seq_length"),
    "activations": ("trunk activation", "model.activation and the blocks' activation"),
    "pool_sizes": ("MaxPooling1D pool sizes", "the conv_block and conv_tower pool_size"),
    "croppings": ("Cropping1D (start, end) bins", "the Cropping1D cropping"),
}


def check_architecture(model: SeqNN, keras: KerasFile, params_source: str) -> None:
    """Refuse params that build another architecture than the file's ``model_config``
    records (input length, trunk activation, pooling, cropping): weights of the same shapes
    would load, and predict other numbers than Basenji's. Files without one pass, and an
    input length or activation the file does not record is not compared."""
    recorded = keras.architecture
    if recorded is None:
        return
    for name, built in _built(model).items():
        found = getattr(recorded, name)
        if found is None or found == frozenset():  # not recorded (no input, no activation)
            continue
        if found != built:
            what, settings = _ARCHITECTURE_FIELDS[name]
            raise ValueError(
                f"{keras.path}: its model_config records {what} {_show(found)} but the params "
                f"{params_source} build {_show(built)}; these are not the params the weights "
                f"were trained with (check {settings})"
            )


def _show(value: object) -> str:
    """An architecture value as the error messages write it."""
    if isinstance(value, frozenset):
        return " and ".join(sorted(value)) or "none"
    if isinstance(value, tuple):
        return str(list(value))
    return str(value)


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


@dataclass(frozen=True)
class BasenjiSource:
    """One Basenji weights file: the genome its head predicts and that head's targets table."""

    genome: str
    weights: str | os.PathLike[str]
    targets: str | os.PathLike[str]


def check_sources(sources: object) -> None:
    """Stop when `sources` is not a list of :class:`BasenjiSource`: one source given alone,
    or items of another kind (a tuple would otherwise fail deep inside the import)."""
    if isinstance(sources, BasenjiSource):
        raise TypeError(
            "sources takes a list of BasenjiSource, one per head, got one BasenjiSource: "
            "pass [source]"
        )
    if not isinstance(sources, Sequence) or isinstance(sources, str):
        raise TypeError(f"sources takes a list of BasenjiSource, got {type(sources).__name__}")
    for item in sources:
        if not isinstance(item, BasenjiSource):
            raise TypeError(
                "sources takes BasenjiSource(genome, weights, targets) items, got "
                f"{type(item).__name__} {item!r}"
            )


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


def _check_head_choice(
    params: Params, key: str, source: BasenjiSource, layers: Sequence[KerasLayer]
) -> None:
    """Stop when the file's head predicts another number of tracks than the params' head
    `key` that ``--genome`` chose, but as many as another of the params' heads: the file
    holds that head (e.g. the human weights given with ``--genome mouse``)."""
    dense = layers[-1] if layers else None
    if dense is None or dense.kind != "Dense" or "kernel" not in dense.shapes:
        return
    outputs = dense.shapes["kernel"][-1]
    chosen = next(h for h in params.model.heads if h.key == key)
    others = [h for h in params.model.heads if h.key != key and h.units == outputs]
    if chosen.units != outputs and others:
        raise ValueError(
            f"{source.weights}: its head, layer '{dense.name}' (kernel "
            f"{list(dense.shapes['kernel'])}), predicts {outputs} tracks, as the params' "
            f"'{others[0].key}' does, but --genome {source.genome} picks '{key}' (kernel "
            f"[{dense.shapes['kernel'][0]}, {chosen.units}]); give --genome {others[0].genome} "
            "(with that head's targets table) for this file"
        )


def check_head_genome(params: Params, genome: str) -> None:
    """`genome` does not contradict the head of one-head params: ``--genome human`` with
    only ``head_mouse`` is refused (only the paper's genome names are compared)."""
    heads = params.model.heads
    named = heads[0].genome
    if len(heads) == 1 and genome in PAPER_GENOMES and named in PAPER_GENOMES and named != genome:
        raise ValueError(
            f"--genome {genome}: {params.source} has one head, '{heads[0].key}', which "
            f"predicts {named}; give --genome {named}, or the params of the {genome} model"
        )


def check_table_genome(table: TargetsTable, genome: str) -> None:
    """`genome` does not contradict the ``genome`` column of its targets table: ``--genome
    human`` with a table whose every row is genome 1 (mouse in the paper's numbering) is
    refused; a table without the column, or with other or mixed numbers, is not checked."""
    numbers = {t.extra.get("genome", "") for t in table}
    named = {number: name for name, number in PAPER_GENOMES.items()}
    if genome not in PAPER_GENOMES or len(numbers) != 1:
        return
    number = numbers.pop()
    if named.get(number, genome) != genome:
        raise ValueError(
            f"--genome {genome}: every track of {table.path} has genome {number}, which is "
            f"{named[number]} in the paper's numbering (0 human, 1 mouse); give --genome "
            f"{named[number]}, or the {genome} targets table"
        )


#: What import-basenji may replace (with ``--overwrite``): a checkpoint's files.
CHECKPOINT_FILES = {CONFIG_NAME: "a checkpoint", WEIGHTS_NAME: "a checkpoint"}


def _choose_gelu(
    files: Sequence[KerasFile], gelu: str | None, trunk: KerasFile | None = None
) -> tuple[str, str]:
    """The GELU form and why: `gelu` when given, else the form the `trunk` file (of
    ``--trunk-from``, whose trunk alone applies GELU) records, else the one form the files
    that record one record (files without a ``model_config`` follow them), else Basenji's
    current tanh form; files that record different forms are refused (one model has one
    form)."""
    if gelu is not None:
        return gelu, "chosen by the user"
    if trunk is not None and trunk.gelu_form is not None:
        name = Path(trunk.path).name
        return (
            trunk.gelu_form,
            f"as the trunk's weights were trained: {trunk.gelu_evidence} in {name}",
        )
    evidence = "; ".join(f"{Path(f.path).name}: {f.gelu_evidence}" for f in files)
    recording = [f for f in files if f.gelu_form is not None]
    forms = {f.gelu_form for f in recording}
    if len(forms) > 1:
        choose = (
            f"the trunk's file, {Path(trunk.path).name} (--trunk-from), records none, so "
            "choose the form with --gelu"
            if trunk is not None
            else "import each file into its own checkpoint, choose the trunk with "
            "--trunk-from GENOME (its form is used), or the form with --gelu"
        )
        raise ValueError(
            f"the weights files record different GELU forms ({evidence}), but one "
            f"checkpoint has one form; {choose} (sigmoid1702 for the cross2020 models)"
        )
    if recording:
        form, first = forms.pop(), recording[0]
        assert form is not None
        silent = [Path(f.path).name for f in files if f.gelu_form is None]
        also = f" in {Path(first.path).name} ({', '.join(silent)}: none)" if silent else ""
        return form, f"as the weights were trained: {first.gelu_evidence}{also}"
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
    Each targets table is read as the head's track list
    (:func:`~crossreg.io.targets.read_targets` with ``tracks_only``); a genome name that
    one-head params or the table's ``genome`` column contradict is refused
    (:func:`check_head_genome`, :func:`check_table_genome`).
    """
    check_sources(sources)
    if not sources:
        raise ValueError("give at least one weights file")
    params = load_params(params_path)
    genomes: dict[str, str] = {}
    for src in sources:
        if src.genome in genomes:
            raise ValueError(f"genome '{src.genome}' is given twice")
        genomes[src.genome] = _head_key(params, src.genome, len(sources))
        check_head_genome(params, src.genome)
    model_params = params.model.select_heads(genomes)
    if trunk_from is not None and trunk_from not in genomes:
        given = ", ".join(genomes)
        raise ValueError(
            f"--trunk-from '{trunk_from}' names no file of this import: give the --genome of "
            f"one of its --weights files ({given}), or leave --trunk-from out"
        )
    files = {src.genome: read_keras_file(src.weights) for src in sources}
    trunk_genome = trunk_from or sources[0].genome
    trunk_file = files[trunk_from] if trunk_from is not None else None
    gelu_form, reason = _choose_gelu(list(files.values()), gelu, trunk_file)
    # check every file against the architecture before allocating and filling it
    with torch.device("meta"):
        model = SeqNN(model_params, gelu_form=gelu_form)
    targets: dict[str, TargetsTable] = {}
    for src in sources:
        table = read_targets(src.targets, tracks_only=True)
        check_table_genome(table, src.genome)
        keras = files[src.genome]
        _check_head_choice(params, genomes[src.genome], src, keras.layers)
        map_keras_layers(model, src.genome, keras.layers, keras.path)
        check_architecture(model, keras, params.source)
        dense = keras.layers[-1]
        if len(table) != model.num_targets(src.genome):
            raise ValueError(
                f"{src.targets}: {len(table)} tracks, but the head for '{src.genome}' "
                f"(layer '{dense.name}' of {src.weights}, kernel {list(dense.shapes['kernel'])}) "
                f"predicts {model.num_targets(src.genome)}; use the targets table the model was "
                "trained with"
            )
        targets[src.genome] = table

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


def import_checkpoint(
    params: str | os.PathLike[str],
    sources: Sequence[BasenjiSource],
    out: str | os.PathLike[str],
    *,
    gelu: str | None = None,
    trunk_from: str | None = None,
    overwrite: bool = False,
) -> CheckpointConfig:
    """The import-basenji step: :func:`import_basenji`, then save the model as a crossreg
    checkpoint in `out` whose config records where each part came from. `out` must be
    absent or an empty folder; with `overwrite` it may hold a checkpoint, which the new one
    replaces whole (:func:`crossreg.io.atomic.check_replaceable`)."""
    check_replaceable(out, overwrite, CHECKPOINT_FILES)
    imported = import_basenji(params, sources, gelu=gelu, trunk_from=trunk_from)
    if "gelu" in trunk_activations(imported.params.model):
        log.info("GELU form: %s (%s)", imported.gelu_form, imported.gelu_reason)
    else:
        log.info("trunk activation: relu (the params use no GELU)")
    config = make_config(
        imported.model,
        imported.params.raw,
        imported.targets,
        genomes=imported.genomes,
        source={
            "imported_from": "basenji-keras-h5",
            "params": Path(params).name,
            "weights": {s.genome: Path(s.weights).name for s in sources},
            "trunk": Path(imported.trunk_source).name,
            "gelu_reason": imported.gelu_reason,
            "keras_version": {s.genome: imported.keras_versions[s.genome] for s in sources},
        },
    )
    with atomic_directory(Path(out).absolute()) as work:
        save_checkpoint(work, imported.model, config)
    heads = ", ".join(f"{g} ({imported.model.num_targets(g)} tracks)" for g in imported.genomes)
    log.info(
        "wrote %s: %s, input %d bp -> %d bins of %d bp",
        out,
        heads,
        config.seq_length,
        config.bins,
        config.bin_width,
    )
    return config
