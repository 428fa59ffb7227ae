"""Basenji Keras .h5 import: order, values, predictions equal to Basenji's, clear errors."""

from __future__ import annotations

import json
import logging
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from crossreg.genome import Genome
from crossreg.model.ensemble import ensemble_predict
from crossreg.model.keras_h5 import (
    KerasLayer,
    architecture_of_config,
    config_layers,
    gelu_form_of_config,
    layer_kind,
    read_keras_file,
)
from crossreg.model.keras_import import (
    BasenjiSource,
    _choose_gelu,
    import_basenji,
    import_checkpoint,
)
from crossreg.model.keras_weights import map_keras_layers
from crossreg.model.params import load_params
from crossreg.model.seqnn import SeqNN

FIXTURES = Path(__file__).parent / "data" / "basenji_fixtures"
PARAMS = FIXTURES / "params_joint_mini.json"
WEIGHTS = {"human": FIXTURES / "model0_best.h5", "mouse": FIXTURES / "model1_best.h5"}
TARGETS = {g: FIXTURES / f"targets_{g}_mini.txt" for g in WEIGHTS}
FORM_TAGS = {"tanh": "tanh", "sigmoid1702": "gelu1702"}


def _sources(*genomes: str, weights: dict | None = None) -> list[BasenjiSource]:
    files = {**WEIGHTS, **(weights or {})}
    return [BasenjiSource(g, files[g], TARGETS[g]) for g in genomes]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> torch.Tensor:
    """The fixture sequences as one-hot (4, 8192, 4), N as zeros."""
    fasta = tmp_path_factory.mktemp("fasta") / "inputs.fa"
    shutil.copy(FIXTURES / "inputs.fa", fasta)
    genome = Genome(fasta)
    x = genome.one_hot_many(genome.names, [0] * 4, 8192, dtype=np.float32)
    assert x[2, 5000:5050].sum() == 0 and x[2, 4999].sum() == 1  # N reads as zeros
    return torch.from_numpy(x)


@pytest.fixture(scope="module")
def imported():
    """The joint mini model imported from both files, in each GELU form."""
    return {
        form: import_basenji(PARAMS, _sources("human", "mouse"), gelu=form) for form in FORM_TAGS
    }


def _manifest_layers(path: Path, section: str | None = None) -> list[tuple[str, list[tuple]]]:
    """(layer, [(weight, shape, sum)]) of weighted layers in a manifest, in file order."""
    layers: list[tuple[str, list[tuple]]] = []
    active = section is None
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            active = section is not None and line.startswith(f"## {section}")
            continue
        if not active or line.startswith("#") or not line.strip():
            continue
        weight = re.match(r"^\s+(\S+:0)\s+\[([\d, ]*)\](?:.*sum=(\S+))?", line)
        if weight:
            shape = tuple(int(v) for v in weight.group(2).split(",") if v.strip())
            total = float(weight.group(3)) if weight.group(3) else None
            layers[-1][1].append((weight.group(1), shape, total))
            continue
        fields = line.split()
        # mini manifest: index, weighted index or '-', name, class; full: index, name, class
        if fields[1] == "-":
            continue
        name = fields[2] if fields[1].isdigit() else fields[1]
        layers.append((name, []))
    return layers


@pytest.mark.parametrize(
    ("file", "section"), [("model0_best.h5", "model0"), ("model1_best.h5", "model1")]
)
def test_reads_layers_in_layer_names_order_with_their_values(file, section):
    keras = read_keras_file(FIXTURES / file)
    manifest = _manifest_layers(FIXTURES / "weights_manifest_joint_mini.txt", section)
    assert [la.name for la in keras.layers] == [name for name, _ in manifest]
    assert len(keras.layers) == 35
    # name order would be wrong: conv1d_10 sorts before conv1d_2
    names = [la.name for la in keras.layers]
    assert sorted(names) != names
    for layer, (_, weights) in zip(keras.layers, manifest, strict=True):
        assert list(layer.weights.values()) == [w for w, _, _ in weights]
        for (weight, shape, total), array in zip(weights, layer.arrays.values(), strict=True):
            assert array.shape == shape, weight
            assert float(array.astype(np.float64).sum()) == pytest.approx(total, rel=1e-6, abs=1e-6)
    assert keras.layers[-1].name == ("dense" if section == "model0" else "dense_1")
    shapes_only = read_keras_file(FIXTURES / file, read_arrays=False)
    assert [(la.name, la.shapes) for la in shapes_only.layers] == [
        (la.name, la.shapes) for la in keras.layers
    ]
    assert all(la.arrays is None for la in shapes_only.layers)


@pytest.mark.parametrize("form", list(FORM_TAGS))
@pytest.mark.parametrize("genome", ["human", "mouse"])
@pytest.mark.parametrize("ensemble", [False, True])
def test_predictions_equal_basenji(imported, inputs, form, genome, ensemble):
    model = imported[form].model
    suffix = "_rc_shifts" if ensemble else ""
    expected = np.load(FIXTURES / f"preds_{genome}_{FORM_TAGS[form]}{suffix}.npy")
    with torch.inference_mode():
        if ensemble:
            got = ensemble_predict(lambda s: model(s, genome), inputs, rc=True, shifts=[1, 0, -1])
        else:
            got = model(inputs, genome)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-4)


def test_the_two_gelu_forms_really_differ(imported, inputs):
    with torch.inference_mode():
        tanh = imported["tanh"].model(inputs, "human")
        sigmoid = imported["sigmoid1702"].model(inputs, "human")
    assert (tanh - sigmoid).abs().max() > 0.1


def test_gelu_default_is_what_the_file_records():
    result = import_basenji(PARAMS, _sources("human"))
    assert result.gelu_form == "tanh"
    assert "tf.nn.gelu(approximate=True)" in result.gelu_reason


def _rewrite_config(src: Path, dst: Path, edit) -> None:
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as handle:
        config = json.loads(handle.attrs["model_config"])
        edit(config)
        handle.attrs["model_config"] = json.dumps(config)


def _activation_layers_as(class_name: str) -> Callable[[dict], None]:
    """An edit of a model_config that makes its TFOpLambda (tf.nn.gelu) layers `class_name`
    layers (``GELU``: the paper era's; ``ReLU``)."""

    def edit(config: dict) -> None:
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "TFOpLambda":
                layer["class_name"] = class_name
                layer["config"] = {"name": layer["config"]["name"], "trainable": True}

    return edit


_to_paper_era_gelu = _activation_layers_as("GELU")


def test_paper_era_gelu_layers_select_sigmoid1702(tmp_path, inputs):
    path = tmp_path / "paper_era.h5"
    _rewrite_config(WEIGHTS["human"], path, _to_paper_era_gelu)
    result = import_basenji(PARAMS, _sources("human", weights={"human": path}))
    assert result.gelu_form == "sigmoid1702"
    assert "paper-era Basenji GELU layer" in result.gelu_reason
    with torch.inference_mode():
        got = result.model(inputs, "human").numpy()
    np.testing.assert_allclose(got, np.load(FIXTURES / "preds_human_gelu1702.npy"), atol=1e-4)


def test_unknown_gelu_form_defaults_to_tanh_and_says_so(tmp_path):
    path = tmp_path / "no_config.h5"
    shutil.copy(WEIGHTS["human"], path)
    with h5py.File(path, "r+") as handle:
        del handle.attrs["model_config"]
    result = import_basenji(PARAMS, _sources("human", weights={"human": path}))
    assert result.gelu_form == "tanh"
    assert "--gelu sigmoid1702" in result.gelu_reason
    assert gelu_form_of_config(None) == (None, "the file has no model_config")


def test_a_file_without_model_config_follows_the_form_the_other_file_records(tmp_path, inputs):
    # before: tanh, "since the files do not say", although the human file records the
    # paper-era GELU: both heads then missed Basenji's predictions by up to 0.3
    human = tmp_path / "paper_era.h5"
    _rewrite_config(WEIGHTS["human"], human, _to_paper_era_gelu)
    mouse = tmp_path / "no_config.h5"
    shutil.copy(WEIGHTS["mouse"], mouse)
    with h5py.File(mouse, "r+") as handle:
        del handle.attrs["model_config"]
    result = import_basenji(
        PARAMS, _sources("human", "mouse", weights={"human": human, "mouse": mouse})
    )
    assert result.gelu_form == "sigmoid1702"
    assert "paper-era Basenji GELU layer" in result.gelu_reason
    assert "no_config.h5: none" in result.gelu_reason
    with torch.inference_mode():
        for genome in ("human", "mouse"):
            got = result.model(inputs, genome).numpy()
            expected = np.load(FIXTURES / f"preds_{genome}_gelu1702.npy")
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_files_that_record_different_gelu_forms_are_refused_unless_one_is_chosen(tmp_path):
    # before: tanh, "since the files do not say", naming the two forms the files record
    human = tmp_path / "paper_era.h5"
    _rewrite_config(WEIGHTS["human"], human, _to_paper_era_gelu)
    sources = _sources("human", "mouse", weights={"human": human})
    with pytest.raises(ValueError, match="the weights files record different GELU forms") as err:
        import_basenji(PARAMS, sources)
    assert "paper_era.h5: model_config records paper-era Basenji GELU" in str(err.value)
    assert "model1_best.h5: model_config records tf.nn.gelu(approximate=True)" in str(err.value)
    assert import_basenji(PARAMS, sources, gelu="sigmoid1702").gelu_form == "sigmoid1702"
    # the trunk alone applies GELU: the form of the file --trunk-from names is the model's
    for genome, form in (("human", "sigmoid1702"), ("mouse", "tanh")):
        result = import_basenji(PARAMS, sources, trunk_from=genome)
        assert result.gelu_form == form
        assert result.gelu_reason.startswith("as the trunk's weights were trained: ")


def test_a_trunk_file_that_records_no_form_among_files_that_differ_asks_for_gelu():
    """With --trunk-from naming a file without model_config, beside files that record
    different forms, only --gelu can settle the form; before, the refusal advised
    --trunk-from, which the run had given."""
    keras = read_keras_file(WEIGHTS["human"], read_arrays=False)
    files = [
        replace(keras, path=name, gelu_form=form, gelu_evidence=evidence)
        for name, form, evidence in (
            ("a.h5", "sigmoid1702", "model_config records paper-era Basenji GELU"),
            ("b.h5", "tanh", "model_config records tf.nn.gelu(approximate=True)"),
            ("trunk.h5", None, "the file has no model_config"),
        )
    ]
    with pytest.raises(ValueError, match="record different GELU forms") as err:
        _choose_gelu(files, None, files[2])
    assert "the trunk's file, trunk.h5 (--trunk-from), records none, so choose the form with" in (
        str(err.value)
    )
    assert "choose the trunk with --trunk-from" not in str(err.value)
    with pytest.raises(ValueError, match="choose the trunk with --trunk-from GENOME"):
        _choose_gelu(files, None)
    assert _choose_gelu(files, "erf", files[2]) == ("erf", "chosen by the user")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # before: "ERROR Expecting value: line 1 column 198 (char 197)", naming nothing
        (lambda text: text[:200], "its model_config attribute is not valid JSON"),
        # before: AttributeError: 'list' object has no attribute 'get'
        (lambda text: "[1, 2]", "its model_config attribute is not a Keras model description"),
    ],
)
def test_a_damaged_model_config_names_the_file_and_attribute(tmp_path, edit, message):
    path = tmp_path / "damaged_config.h5"
    shutil.copy(WEIGHTS["human"], path)
    with h5py.File(path, "r+") as handle:
        handle.attrs["model_config"] = edit(handle.attrs["model_config"])
    with pytest.raises(ValueError, match=message) as err:
        read_keras_file(path)
    assert str(err.value).startswith(f"{path}: ")
    assert str(err.value).endswith("download the Basenji weights file again")


def test_a_model_config_whose_config_is_the_layer_list_is_read():
    """Keras before 2.2.3 wrote a Sequential model's config as the bare list of layers."""
    path = WEIGHTS["human"]
    with h5py.File(path, "r") as handle:
        config = json.loads(handle.attrs["model_config"])
    listed = {"class_name": "Sequential", "config": config["config"]["layers"]}
    # before: AttributeError: 'list' object has no attribute 'get'
    assert config_layers(listed) == config_layers(config)
    assert architecture_of_config(listed) == read_keras_file(path).architecture
    assert gelu_form_of_config(listed)[0] == "tanh"


def test_a_keras_archive_is_named_as_such(tmp_path):
    # before: "not a complete HDF5 file (... file signature not found) ...: download the
    # Basenji weights file again", which a download would not cure
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.write(WEIGHTS["human"], "model.weights.h5")
    with pytest.raises(ValueError, match=r"a zip archive \(a Keras 3 .keras file\?\)") as err:
        read_keras_file(path)
    assert str(err.value).startswith(f"{path}: ")


def test_a_trunk_saved_alone_is_named_as_such(tmp_path):
    # before: "missing layer: ... Are these the right params for this file?", of the
    # params that are the right ones
    path = tmp_path / "trunk.h5"
    shutil.copy(WEIGHTS["human"], path)
    with h5py.File(path, "r+") as handle:
        group = handle["model_weights"]
        names = [n for n in group.attrs["layer_names"] if n not in ("dense", b"dense")]
        group.attrs["layer_names"] = np.array(names, dtype=group.attrs["layer_names"].dtype)
        del group["dense"]
    with pytest.raises(ValueError, match="the file holds no Dense layer") as err:
        import_basenji(PARAMS, _sources("human", weights={"human": path}))
    assert "heads.human.dense: Dense kernel [48, 5], bias [5]" in str(err.value)
    assert "SeqNN.save with trunk=True" in str(err.value)


def test_save_weights_layout_is_read_too(tmp_path):
    """``model.save_weights`` files keep the layer groups at the root."""
    path = tmp_path / "weights_only.h5"
    with h5py.File(WEIGHTS["mouse"], "r") as src, h5py.File(path, "w") as dst:
        group = src["model_weights"]
        for name in group:
            group.copy(name, dst)
        for key, value in group.attrs.items():
            dst.attrs[key] = value
    a, b = read_keras_file(path), read_keras_file(WEIGHTS["mouse"])
    assert [la.name for la in a.layers] == [la.name for la in b.layers]
    for la, lb in zip(a.layers, b.layers, strict=True):
        for key in la.arrays:
            np.testing.assert_array_equal(la.arrays[key], lb.arrays[key])


def test_mouse_only_params_load_the_mouse_file(tmp_path, inputs):
    """With ``head_mouse`` alone the file's ``dense_1`` goes to the only head, by order."""
    data = json.loads(PARAMS.read_text())
    del data["model"]["head_human"]
    params = tmp_path / "params_mouse_mini.json"
    params.write_text(json.dumps(data))
    result = import_basenji(params, [BasenjiSource("mm10", WEIGHTS["mouse"], TARGETS["mouse"])])
    assert result.genomes == {"mm10": "head_mouse"}
    with torch.inference_mode():
        got = result.model(inputs).numpy()
    np.testing.assert_allclose(got, np.load(FIXTURES / "preds_mouse_tanh.npy"), atol=1e-4)


def test_optimizer_state_of_older_saves_is_ignored(tmp_path, inputs):
    """2020-era ``model.save`` also wrote ``optimizer_weights`` and ``training_config``."""
    path = tmp_path / "with_optimizer.h5"
    shutil.copy(WEIGHTS["human"], path)
    with h5py.File(path, "r+") as handle:
        handle.attrs["training_config"] = json.dumps({"loss": "poisson"})
        group = handle.create_group("optimizer_weights")
        group.attrs["weight_names"] = np.array([b"SGD/iter:0"])
        group.create_dataset("SGD/iter:0", data=np.int64(7))
    result = import_basenji(PARAMS, _sources("human", weights={"human": path}), gelu="tanh")
    with torch.inference_mode():
        got = result.model(inputs, "human").numpy()
    np.testing.assert_allclose(got, np.load(FIXTURES / "preds_human_tanh.npy"), atol=1e-4)


def _full_manifest_layers(path: Path) -> list[KerasLayer]:
    layers = []
    for name, weights in _manifest_layers(path):
        shapes = {w.rsplit("/", 1)[-1].split(":")[0]: s for w, s, _ in weights}
        full = {w.rsplit("/", 1)[-1].split(":")[0]: w for w, _, _ in weights}
        config_line = next(
            line for line in path.read_text().splitlines() if re.match(rf"^\s*\d+ {name} ", line)
        )
        dilation = re.search(r"dilation=(\d+)", config_line)
        config = {"dilation_rate": [int(dilation.group(1))]} if dilation else {}
        layers.append(
            KerasLayer(name, layer_kind(name, shapes, path.name), full, shapes, None, config)
        )
    return layers


@pytest.mark.parametrize("species", ["human", "mouse"])
def test_full_cross2020_manifest_maps_every_weight(species):
    params = load_params(FIXTURES / f"params_{species}.json")
    with torch.device("meta"):
        model = SeqNN(params.model)
    layers = _full_manifest_layers(FIXTURES / f"full_{species}_weights_manifest.txt")
    assert len(layers) == 61
    mappings = map_keras_layers(model, species, layers, "manifest")
    n_weights = sum(len(la.weights) for la in layers)
    assert len(mappings) == n_weights == 30 + 30 * 4 + 2
    assert [m.keras_weight for m in mappings] == [w for la in layers for w in la.weights.values()]
    # every model tensor receives exactly one weight (BN moving stats included)
    state = model.state_dict()
    expected = {k for k in state if not k.endswith("num_batches_tracked")}
    assert {m.torch_name for m in mappings} == expected
    for m in mappings:
        assert tuple(state[m.torch_name].shape) == m.torch_shape
        assert sorted(m.keras_shape) == sorted(m.torch_shape)
    conv = next(m for m in mappings if m.keras_weight == "conv1d_1/kernel:0")
    assert (conv.keras_shape, conv.torch_shape) == ((5, 288, 339), (339, 288, 5))
    last = mappings[-2]
    units = 5313 if species == "human" else 1643
    assert (last.keras_weight, last.keras_shape, last.torch_shape) == (
        "dense/kernel:0",
        (1536, units),
        (units, 1536),
    )


def test_wrong_params_for_the_file_names_layer_and_shapes():
    with pytest.raises(ValueError) as err:
        import_basenji(FIXTURES / "params_human.json", _sources("human"))
    message = str(err.value)
    assert "layer 'conv1d'" in message
    assert "kernel [15, 4, 24]" in message and "kernel [15, 4, 288]" in message


def test_other_heads_file_names_dense_layer_and_shapes():
    with pytest.raises(ValueError) as err:
        import_basenji(PARAMS, _sources("human", weights={"human": WEIGHTS["mouse"]}))
    message = str(err.value)
    assert "layer 'dense_1'" in message
    assert "kernel [48, 3]" in message and "kernel [48, 5]" in message


def test_wrong_target_count_names_layer_and_shapes(tmp_path):
    table = tmp_path / "targets4.txt"
    lines = TARGETS["human"].read_text().splitlines()
    table.write_text("\n".join(lines[:5]) + "\n")
    with pytest.raises(ValueError) as err:
        import_basenji(PARAMS, [BasenjiSource("human", WEIGHTS["human"], table)])
    message = str(err.value)
    assert "4 tracks" in message and "layer 'dense'" in message
    assert "kernel [48, 5]" in message and "predicts 5" in message


def test_missing_layer_names_it_and_its_shapes(tmp_path):
    path = tmp_path / "truncated.h5"
    shutil.copy(WEIGHTS["human"], path)
    with h5py.File(path, "r+") as handle:
        names = list(handle["model_weights"].attrs["layer_names"])
        names.remove("batch_normalization_16")
        handle["model_weights"].attrs["layer_names"] = names
    with pytest.raises(ValueError) as err:
        import_basenji(PARAMS, _sources("human", weights={"human": path}))
    message = str(err.value)
    assert "layer 'dense'" in message
    assert "Dense kernel [48, 5]" in message and "BatchNormalization gamma [48]" in message


def test_one_head_params_with_two_files_is_refused():
    with pytest.raises(ValueError, match="one head"):
        import_basenji(FIXTURES / "params_human.json", _sources("human", "mouse"))


def test_unknown_genome_lists_heads():
    with pytest.raises(ValueError, match=r"no head for genome 'rat'.*head_human, head_mouse"):
        import_basenji(PARAMS, [BasenjiSource("rat", WEIGHTS["human"], TARGETS["human"])])


def test_sources_of_the_wrong_kind_are_a_type_error_saying_what_to_pass(tmp_path):
    # before: one source alone failed as "'BasenjiSource' object is not iterable" and a
    # tuple as an AttributeError, both from inside the import
    (source,) = _sources("human")
    with pytest.raises(TypeError, match=r"got one BasenjiSource: pass \[source\]"):
        import_checkpoint(PARAMS, source, tmp_path / "one")
    triple = ("human", str(WEIGHTS["human"]), str(TARGETS["human"]))
    with pytest.raises(
        TypeError, match=r"BasenjiSource\(genome, weights, targets\) items, got tuple"
    ):
        import_basenji(PARAMS, [triple])
    assert not (tmp_path / "one").exists()
    # paths as strings, as a pipeline gives them
    strings = BasenjiSource("human", str(WEIGHTS["human"]), str(TARGETS["human"]))
    assert import_basenji(PARAMS, [strings]).model.num_targets("human") == 5


def test_not_a_keras_file(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as handle:
        handle["x"] = np.zeros(3)
    with pytest.raises(ValueError, match="no 'layer_names' attribute"):
        read_keras_file(path)


def test_differing_trunks_fail_unless_a_trunk_is_chosen(tmp_path, inputs, caplog):
    path = tmp_path / "model1_finetuned.h5"
    shutil.copy(WEIGHTS["mouse"], path)
    with h5py.File(path, "r+") as handle:
        handle["model_weights/conv1d_3/conv1d_3/kernel:0"][0, 0, 0] += 0.5
    sources = _sources("human", "mouse", weights={"mouse": path})
    with pytest.raises(ValueError, match=r"differ in 1 of 34 layers.*'conv1d_3'.*--trunk-from"):
        import_basenji(PARAMS, sources)
    logger = logging.getLogger("crossreg")
    logger.addHandler(caplog.handler)  # the CLI's logger may not propagate to the root
    try:
        result = import_basenji(PARAMS, sources, trunk_from="human", gelu="tanh")
    finally:
        logger.removeHandler(caplog.handler)
    assert "using the trunk of 'human'" in caplog.text
    assert result.trunk_source.endswith("model0_best.h5")
    # before: "--trunk-from 'rat' is not one of human, mouse", saying neither where the
    # names come from nor what to do
    with pytest.raises(
        ValueError,
        match=r"'rat' names no file of this import: give the --genome of one of its "
        r"--weights files \(human, mouse\), or leave --trunk-from out",
    ):
        import_basenji(PARAMS, sources, trunk_from="rat")
    with torch.inference_mode():
        human = result.model(inputs, "human").numpy()
    np.testing.assert_allclose(human, np.load(FIXTURES / "preds_human_tanh.npy"), atol=1e-4)


def _params_with(tmp_path: Path, edit) -> Path:
    """The mini joint params after `edit` (of the model section)."""
    data = json.loads(PARAMS.read_text())
    edit(data["model"])
    path = tmp_path / "params_edited.json"
    path.write_text(json.dumps(data))
    return path


def _block(model: dict, name: str) -> dict:
    return next(b for b in model["trunk"] if b["name"] == name)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda m: m.update(activation="relu"),
            r"records trunk activation gelu but the params \S+ build relu;.*"
            r"check model\.activation",
        ),
        (
            lambda m: _block(m, "dilated_residual").update(activation="relu"),
            r"records trunk activation gelu but the params \S+ build gelu and relu;",
        ),
        (
            lambda m: m["head_human"].update(activation="linear"),
            r"layer 'dense' \(the head's Dense layer\) has activation 'softplus' but the params "
            r"give the head activation 'linear'; set the head's \"activation\": \"softplus\"",
        ),
        (
            lambda m: _block(m, "Cropping1D").update(cropping=8),
            r"records Cropping1D \(start, end\) bins \[\(12, 12\)\] but the params \S+ build "
            r"\[\(8, 8\)\];.*check the Cropping1D cropping",
        ),
        (
            lambda m: _block(m, "conv_tower").update(pool_size=1),
            r"records MaxPooling1D pool sizes \[2, 2, 2, 2, 2, 2\] but the params \S+ build \[2\]",
        ),
        (
            lambda m: m.update(seq_length=16384),
            r"records input length \(bp\) 8192 but the params \S+ build 16384;.*model\.seq_length",
        ),
    ],
)
def test_params_that_differ_from_the_files_model_config_are_refused(tmp_path, edit, message):
    # before: every weight shape matched, so these imported and predicted other numbers
    params = _params_with(tmp_path, edit)
    with pytest.raises(ValueError, match=message) as err:
        import_basenji(params, _sources("human"))
    assert str(err.value).startswith(str(WEIGHTS["human"]))


def test_params_whose_head_names_no_activation_are_refused_before_the_weights(tmp_path):
    # Basenji would give that head the model's GELU, which the file's softplus Dense is not
    params = _params_with(tmp_path, lambda m: m["head_human"].pop("activation"))
    with pytest.raises(ValueError, match=r"head_human names no activation, so Basenji gives"):
        import_basenji(params, _sources("human"))


_to_relu = _activation_layers_as("ReLU")


def test_a_relu_file_imports_with_relu_params_and_no_gelu_claim(tmp_path, caplog):
    weights = tmp_path / "relu.h5"
    _rewrite_config(WEIGHTS["human"], weights, _to_relu)
    assert read_keras_file(weights, read_arrays=False).architecture.activations == {"relu"}
    with pytest.raises(ValueError, match="records trunk activation relu but the params"):
        import_basenji(PARAMS, _sources("human", weights={"human": weights}))
    params = _params_with(tmp_path, lambda m: m.update(activation="relu"))
    logger = logging.getLogger("crossreg")
    logger.addHandler(caplog.handler)  # the CLI's logger may not propagate to the root
    caplog.set_level(logging.INFO, "crossreg")
    try:
        import_checkpoint(params, _sources("human", weights={"human": weights}), tmp_path / "ck")
    finally:
        logger.removeHandler(caplog.handler)
    assert "trunk activation: relu (the params use no GELU)" in caplog.text
    assert "GELU form:" not in caplog.text  # before: "GELU form: tanh (...)" for a relu model


def _damage(src: Path, dst: Path, edit) -> Path:
    shutil.copy(src, dst)
    dst.chmod(0o644)
    with h5py.File(dst, "r+") as handle:
        edit(handle["model_weights"])
    return dst


def _set_value(group, weight: str, value: float) -> None:
    data = group[weight]
    array = data[...]
    array.flat[0] = value
    data[...] = array


BN3 = "batch_normalization_3/batch_normalization_3"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda g: g.__delitem__(f"{BN3}/moving_mean:0"),
            r"layer 'batch_normalization_3' lists weight "
            r"'batch_normalization_3/moving_mean:0' but the file holds no such dataset",
        ),
        (
            lambda g: g.__delitem__("conv1d_4"),
            r"layer_names lists layer 'conv1d_4' but it has no group",
        ),
        (
            lambda g: _set_value(g, f"{BN3}/moving_variance:0", np.nan),
            r"weight 'batch_normalization_3/moving_variance:0' of layer 'batch_normalization_3' "
            r"holds 1 NaN or infinite value\(s\)",
        ),
        (
            lambda g: _set_value(g, "conv1d_2/conv1d_2/kernel:0", np.inf),
            r"weight 'conv1d_2/kernel:0' of layer 'conv1d_2' holds 1 NaN or infinite",
        ),
        (
            lambda g: _set_value(g, f"{BN3}/moving_variance:0", -5.0),
            r"weight 'batch_normalization_3/moving_variance:0' of layer 'batch_normalization_3' "
            r"holds a negative variance \(-5\)",
        ),
    ],
)
def test_a_damaged_file_names_the_layer_and_weight(tmp_path, edit, message):
    # before: a raw h5py KeyError traceback, or NaN predictions from a file read in silence
    path = _damage(WEIGHTS["human"], tmp_path / "damaged.h5", edit)
    with pytest.raises(ValueError, match=message) as err:
        read_keras_file(path)
    assert str(err.value).startswith(f"{path}: ")
    assert str(err.value).endswith("download the Basenji weights file again")
