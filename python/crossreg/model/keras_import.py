"""The import-basenji step: a crossreg model and checkpoint from Basenji params, one Keras
weights file per head and each head's targets table.

Each file is checked against the params (:mod:`crossreg.model.keras_weights`, its layers;
:mod:`crossreg.model.keras_architecture`, its recorded architecture;
:mod:`crossreg.model.keras_heads`, the head and genome it is given for) before the model
is allocated and filled.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from crossreg.io.atomic_dir import atomic_directory
from crossreg.io.replaceable import check_replaceable
from crossreg.io.targets import TargetsTable
from crossreg.io.targets_read import read_targets
from crossreg.model.blocks import KerasBatchNorm
from crossreg.model.checkpoint import CheckpointConfig, make_config, save_checkpoint
from crossreg.model.checkpoint_info import CONFIG_NAME, WEIGHTS_NAME
from crossreg.model.keras_architecture import check_architecture, trunk_activations
from crossreg.model.keras_h5 import KerasFile, read_keras_file, trunk_differences
from crossreg.model.keras_heads import (
    check_head_choice,
    check_head_genome,
    check_table_genome,
    head_key,
)
from crossreg.model.keras_weights import load_keras_weights, map_keras_layers
from crossreg.model.params import Params, load_params
from crossreg.model.seqnn import SeqNN

log = logging.getLogger("crossreg")


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
    (:func:`~crossreg.io.targets_read.read_targets` with ``tracks_only``); a genome name that
    one-head params or the table's ``genome`` column contradict is refused
    (:func:`~crossreg.model.keras_heads.check_head_genome`,
    :func:`~crossreg.model.keras_heads.check_table_genome`).
    """
    check_sources(sources)
    if not sources:
        raise ValueError("give at least one weights file")
    params = load_params(params_path)
    genomes = _head_keys(params, sources)
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
    targets = {
        src.genome: _checked_source(model, params, genomes[src.genome], src, files[src.genome])
        for src in sources
    }
    _check_trunks(files, trunk_genome, trunk_from)
    return ImportedModel(
        model=_filled(model, files, trunk_genome),
        params=params,
        genomes=genomes,
        targets=targets,
        gelu_form=gelu_form,
        gelu_reason=reason,
        trunk_source=files[trunk_genome].path,
        keras_versions={g: f.keras_version for g, f in files.items()},
    )


def _head_keys(params: Params, sources: Sequence[BasenjiSource]) -> dict[str, str]:
    """Each source's genome → the key of the params' head its file fills; a genome given
    twice, or one the params' only head contradicts, is refused."""
    genomes: dict[str, str] = {}
    for src in sources:
        if src.genome in genomes:
            raise ValueError(f"genome '{src.genome}' is given twice")
        genomes[src.genome] = head_key(params, src.genome, len(sources))
        check_head_genome(params, src.genome)
    return genomes


def _checked_source(
    model: SeqNN, params: Params, key: str, src: BasenjiSource, keras: KerasFile
) -> TargetsTable:
    """The targets table of `src`, after its file `keras` is checked against the head `key`
    of the params and the `model` they build (layers, architecture, number of tracks)."""
    table = read_targets(src.targets, tracks_only=True)
    check_table_genome(table, src.genome)
    check_head_choice(params, key, src.genome, src.weights, keras.layers)
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
    return table


def _check_trunks(
    files: Mapping[str, KerasFile], trunk_genome: str, trunk_from: str | None
) -> None:
    """Refuse files whose trunks differ from the file of `trunk_genome`, unless `trunk_from`
    chose it (a warning then says which heads' predictions will differ from Basenji's)."""
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


def _filled(model: SeqNN, files: Mapping[str, KerasFile], trunk_genome: str) -> SeqNN:
    """`model` (on the meta device) allocated on the CPU in eval mode, each head filled
    from its genome's file and the trunk from `trunk_genome`'s."""
    # every parameter and moving statistic is overwritten below; only the BN batch
    # counters (unused with a fixed momentum) need a value
    model = model.to_empty(device="cpu").eval()
    for module in model.modules():
        if isinstance(module, KerasBatchNorm):
            module.num_batches_tracked.zero_()
    for genome, keras in files.items():
        load_keras_weights(model, genome, keras, trunk=genome == trunk_genome, head=True)
    return model


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
    replaces whole (:func:`crossreg.io.replaceable.check_replaceable`)."""
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
