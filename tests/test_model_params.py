"""Basenji params parsing: the cross2020 files, the mini joint file, and clear errors."""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crossreg.model.params import load_params, parse_params
from crossreg.model.params_heads import genome_of_head_key
from crossreg.model.params_trunk import BLOCK_GLOBALS, conv_tower_filters, residual_dilations
from crossreg.model.train_section import check_train_section

FIXTURES = Path(__file__).parent / "data" / "basenji_fixtures"


def _human() -> dict:
    return json.loads((FIXTURES / "params_human.json").read_text())


def test_cross2020_human_params():
    params = load_params(FIXTURES / "params_human.json")
    model = params.model
    assert model.seq_length == 131072
    assert model.bn_momentum == 0.9
    assert [b.name for b in model.trunk] == [
        "conv_block",
        "conv_tower",
        "dilated_residual",
        "Cropping1D",
        "conv_block",
    ]
    # globals reach lower-case blocks, not Keras layers
    assert model.trunk[0].options["bn_momentum"] == 0.9
    assert model.trunk[0].options["activation"] == "gelu"
    assert model.trunk[3].options == {"cropping": 64}
    assert [(h.key, h.genome, h.units, h.activation) for h in model.heads] == [
        ("head_human", "human", 5313, "softplus")
    ]
    assert params.train["batch_size"] == 4


def test_cross2020_filters_and_dilations():
    model = load_params(FIXTURES / "params_human.json").model
    assert conv_tower_filters(model.trunk[1].options) == [339, 399, 470, 554, 652, 768]
    assert residual_dilations(model.trunk[2].options) == [1, 2, 3, 4, 6, 9, 14, 21, 32, 48, 72]


def test_dilation_rounding_is_half_to_even_and_only_with_round():
    # 4.5 -> 4 (half to even), not 5
    assert residual_dilations({"repeat": 5, "rate_mult": 1.5, "round": True}) == [1, 2, 3, 4, 6]
    # without round the rate is carried unrounded: 1, 1.5, 2.25, 3.375, 5.0625
    assert residual_dilations({"repeat": 5, "rate_mult": 1.5}) == [1, 2, 2, 3, 5]


def test_conv_tower_filters_end_and_divisible_by():
    assert conv_tower_filters({"filters_init": 28, "filters_mult": 1.1776, "repeat": 5}) == [
        28,
        33,
        39,
        46,
        54,
    ]
    # filters_end: geometric from init to end; divisible_by rounds to multiples
    assert conv_tower_filters(
        {"filters_init": 64, "filters_end": 256, "repeat": 3, "divisible_by": 16}
    ) == [64, 128, 256]


def test_joint_heads_are_natsorted_by_key():
    data = json.loads((FIXTURES / "params_joint_mini.json").read_text())
    data["model"] = {"head_mouse": data["model"].pop("head_mouse"), **data["model"]}
    model = parse_params(data).model
    assert model.genomes == ["human", "mouse"]
    data["model"]["head10_x"] = dict(data["model"]["head_human"])
    data["model"]["head2_y"] = dict(data["model"]["head_human"])
    keys = [h.key for h in parse_params(data).model.heads]
    assert keys.index("head2_y") < keys.index("head10_x")


def test_genome_of_head_key():
    assert genome_of_head_key("head_human") == "human"
    assert genome_of_head_key("head0_mouse") == "mouse"
    assert genome_of_head_key("head") == "head"


def test_paper_era_spelling_parses():
    data = _human()
    model = data["model"]
    del model["norm_type"]
    model["batch_norm"] = True
    model["head_human"] = [{"name": "dense", "units": 5313, "activation": "softplus"}]
    parsed = parse_params(data).model
    assert parsed.heads[0].units == 5313


def test_select_heads_renames_and_orders():
    model = load_params(FIXTURES / "params_joint_mini.json").model
    picked = model.select_heads({"mm10": "head_mouse"})
    assert [(h.genome, h.key, h.units) for h in picked.heads] == [("mm10", "head_mouse", 3)]
    with pytest.raises(ValueError, match="no head 'head_rat'"):
        model.select_heads({"rat": "head_rat"})


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m["trunk"].append({"name": "transformer"}), r"trunk\[5\] block 'transformer'"),
        (lambda m: m["trunk"][1].update(filters_int=3), r"trunk\[1\].*unknown key.*'filters_int'"),
        # a typo is named with the key it may be
        (
            lambda m: m.update(seq_lenght=5),
            r"model section has unknown key.*'seq_lenght'.*; 'seq_lenght' may be seq_length$",
        ),
        (lambda m: m["trunk"][0].update(activation="swish"), r"activation 'swish'"),
        (lambda m: m.update(norm_type="layer"), r"norm_type 'layer'"),
        (lambda m: m.update(l2_scale=1e-6), r"l2_scale=1e-06 is not supported"),
        (lambda m: m["trunk"][3].update(activation="gelu"), r"Cropping1D.*unknown key"),
        (lambda m: m.pop("head_human"), r"has no head"),
        (lambda m: m["head_human"].update(units=0), r"units must be positive"),
        (lambda m: m["head_human"].update(name="conv_block"), r"must be a 'final'"),
        (lambda m: m["trunk"][2].pop("filters"), r"lacks the required key 'filters'"),
        (lambda m: m.update(bn_momentum=1.5), r"bn_momentum must be a number in \[0, 1\)"),
        (lambda m: m["head_human"].update(l2_scale=1e-3), r"head_human l2_scale=0.001"),
    ],
)
def test_bad_params_name_the_problem(edit, message):
    data = _human()
    edit(data["model"])
    with pytest.raises(ValueError, match=message):
        parse_params(copy.deepcopy(data), "params.json")


def test_bad_json_names_the_file(tmp_path):
    path = tmp_path / "params.json"
    path.write_text('{"model": {')
    with pytest.raises(ValueError, match=r"params.json: not valid JSON"):
        load_params(path)


@pytest.mark.parametrize(
    "name", ["params_human.json", "params_mouse.json", "params_joint_mini.json"]
)
def test_the_papers_train_sections_are_read_whole(name: str) -> None:
    params = load_params(FIXTURES / name)
    check_train_section(params.train, params.source)


@pytest.mark.parametrize(
    ("train", "message"),
    [
        # before: read without a word, and the run went unclipped
        (
            {"global_clipnorm": 2},
            r"train key\(s\) global_clipnorm are not implemented .* "
            r"global_clipnorm: give clip_norm and train with --clip-mode global; correct or "
            r"remove them",
        ),
        ({"train_epochs": 8, "warmup_steps": 10}, r"train key\(s\) train_epochs, warmup_steps are"),
        # an older tutorial's key, which Basenji's trainer ignores
        (
            {"train_epochs": 8},
            r"train key\(s\) train_epochs .*; train_epochs: Basenji's trainer does not read it "
            r"either \(its epochs are train_epochs_min and train_epochs_max\); give "
            r"train_epochs_max for a cap; correct or remove them",
        ),
        # before: a typo was "not implemented ...; remove them", not named as a typo
        (
            {"learning_rat": 0.1, "patiance": 2},
            r"train key\(s\) learning_rat, patiance .*; 'learning_rat' may be learning_rate; "
            r"'patiance' may be patience; correct or remove them",
        ),
        (
            {"loss": "mse"},
            r"train\.loss 'mse' is not supported; crossreg trains with Basenji's Poisson",
        ),
        ({"learning_rate": "0.1"}, r"train\.learning_rate must be a number, not '0\.1'"),
        ({"clip_norm": True}, r"train\.clip_norm must be a number, not True"),
        ({"optimizer": 3}, r"train\.optimizer must be a name, not 3"),
    ],
)
def test_a_train_key_crossreg_does_not_read_stops_training(train: dict, message: str) -> None:
    with pytest.raises(ValueError, match=rf"p\.json: {message}"):
        check_train_section(train, "p.json")


@pytest.mark.parametrize(
    ("train", "message"),
    [
        ({"optimizer": "rmsprop"}, r"train\.optimizer 'rmsprop' is not supported; use 'sgd'"),
        ({"learning_rate": -0.1}, r"train\.learning_rate must be a finite number above 0, got"),
        ({"learning_rate": math.nan}, r"train\.learning_rate must be a finite number above 0"),
        ({"momentum": -0.5}, r"train\.momentum must be a finite number, 0 or more, got -0\.5"),
        ({"adam_beta2": 1.0}, r"train\.adam_beta2 must be a number from 0 up to \(not includ"),
        ({"batch_size": 2.7}, r"train\.batch_size must be a whole number, 1 or more, got 2\.7"),
        ({"patience": 1.9}, r"train\.patience must be a whole number, 0 or more, got 1\.9"),
        ({"train_epochs_max": 2.5}, r"train\.train_epochs_max must be a whole number"),
    ],
)
def test_a_train_value_training_cannot_use_is_refused(train: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_train_section(train, "p.json")


def test_train_values_basenji_writes_are_accepted() -> None:
    train = {"optimizer": "momentum", "momentum": 0.0, "batch_size": 2.0, "patience": 0}
    check_train_section(train | {"adam_beta1": 0.0, "train_epochs_max": 5.0}, "p.json")
    check_train_section({"optimizer": "Adam", "adam_beta2": 0.999}, "p.json")
    # Basenji's tutorial params name the loss its trainer defaults to, crossreg's own
    check_train_section({"batch_size": 4, "loss": "poisson", "optimizer": "sgd"}, "p.json")


def test_weights_import_reads_params_with_train_keys_it_does_not_use() -> None:
    # importing or predicting reads no train key: a later Basenji params file still parses
    data = json.loads((FIXTURES / "params_human.json").read_text())
    data["train"] |= {"global_clipnorm": 1.0, "warmup_steps": 100}
    assert parse_params(data).train["warmup_steps"] == 100


@pytest.mark.parametrize("cropping", [[2, 6], [3]])
def test_an_uneven_crop_is_refused(cropping: list[int]) -> None:
    # with crop [a, b] the flipped reverse-complement bins are b - a bins off the forward ones
    data = json.loads((FIXTURES / "params_human.json").read_text())
    crop = next(b for b in data["model"]["trunk"] if b["name"] == "Cropping1D")
    crop["cropping"] = cropping
    with pytest.raises(ValueError, match=r"\(Cropping1D\) cropping .* is not one number of bins"):
        parse_params(data)
    crop["cropping"] = [64, 64]
    assert parse_params(data).model.trunk


def test_a_binary_file_given_as_params_is_named(tmp_path):
    weights = tmp_path / "model_best.h5"
    weights.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(
        ValueError, match=r"model_best\.h5: not JSON: line \d+ is not UTF-8 .*params JSON"
    ):
        load_params(weights)


def test_params_naming_no_normalization_are_refused() -> None:
    # before: crossreg built batch norm where Basenji builds none
    data = _human()
    del data["model"]["norm_type"]
    with pytest.raises(ValueError) as err:
        parse_params(data, "p.json")
    assert str(err.value) == (
        "p.json: model.trunk[0] (conv_block) names no normalization (no norm_type or "
        "batch_norm in the block or the model section); Basenji would build it without batch "
        'norm, which crossreg does not support; add "norm_type": "batch" (or "batch_norm": '
        "true) to the model section if the model has batch norm"
    )
    for named in ({"batch_norm": True}, {"norm_type": "batch-sync"}):
        data["model"].update(named)
        assert parse_params(copy.deepcopy(data)).model.trunk
        data["model"].pop(next(iter(named)))
    # named in every block but not the model section is named too
    for block in data["model"]["trunk"]:
        if block["name"] != "Cropping1D":
            block["norm_type"] = "batch"
    assert parse_params(data).model.trunk
    del data["model"]["trunk"][0]["norm_type"]
    data["model"]["trunk"][0]["batch_norm"] = False
    with pytest.raises(ValueError, match=r"trunk\[0\] \(conv_block\) norm_type 'None'"):
        parse_params(data)


def test_a_head_without_an_activation_takes_the_models_as_basenji_passes_it() -> None:
    # Basenji's build_block passes the model's activation to every lower-case block, heads
    # too: a head naming none gets the model's GELU (Keras' own), not its block's default
    data = _human()
    for name in ("final", "dense"):
        data["model"]["head_human"] = {"name": name, "units": 5313}
        with pytest.raises(ValueError) as err:
            parse_params(data, "p.json")
        assert str(err.value) == (
            "p.json: model.head_human names no activation, so Basenji gives its Dense the "
            "model's activation 'gelu' (Keras' own form of it), which crossreg's heads do not "
            'have; name the head\'s activation, e.g. "activation": "softplus" as Basenji2\'s '
            "heads do"
        )
    data["model"]["activation"] = "relu"
    data["model"]["head_human"] = {"name": "final", "units": 5313}
    assert parse_params(data).model.heads[0].activation == "relu"
    # without a model activation the block's own default holds
    del data["model"]["activation"]
    assert parse_params(data).model.heads[0].activation == "linear"
    data["model"]["head_human"] = {"name": "dense", "units": 5313}
    with pytest.raises(ValueError) as err:
        parse_params(data, "p.json")
    assert str(err.value) == (
        "p.json: model.head_human is a paper-era 'dense' head without an activation, which "
        "Basenji then defaulted to softplus (its 'final' block to linear); name it, e.g. "
        '"activation": "softplus"'
    )


@pytest.mark.parametrize(
    ("cropping", "message"),
    [
        (-3, r"cropping -3 must be a whole number of bins, 0 or more"),
        ([-3, -3], r"cropping \[-3, -3\] must be a whole number of bins"),
        (2.5, r"cropping 2\.5 must be a whole number of bins"),
        (True, r"cropping True must be a whole number of bins"),
        # the mini trunk pools 8,192 bp to 128 bins: 64 a side leaves none
        (64, r"cropping 64 removes every bin: 8192 bp reach it as 128 bins, so crop at most 63"),
        ([100, 100], r"cropping \[100, 100\] removes every bin"),
    ],
)
def test_a_crop_that_is_negative_or_leaves_no_bin_is_refused(cropping, message) -> None:
    # before: accepted, and import wrote a checkpoint predicting no bin (or too many)
    data = json.loads((FIXTURES / "params_joint_mini.json").read_text())
    crop = next(b for b in data["model"]["trunk"] if b["name"] == "Cropping1D")
    crop["cropping"] = cropping
    with pytest.raises(ValueError, match=rf"p\.json: model\.trunk\[3\] \(Cropping1D\) {message}"):
        parse_params(data, "p.json")
    for kept in (63, 0):
        crop["cropping"] = kept
        assert parse_params(data).model.trunk[3].options == {"cropping": kept}


def _mini_with_crop_at(index: int, cropping: int) -> dict:
    """The mini params (64-bp output bins) with their Cropping1D moved to trunk[index]."""
    data = json.loads((FIXTURES / "params_joint_mini.json").read_text())
    trunk = data["model"]["trunk"]
    crop = trunk.pop(next(i for i, b in enumerate(trunk) if b["name"] == "Cropping1D"))
    trunk.insert(index, {**crop, "cropping": cropping})
    return data


def test_a_crop_before_pooling_must_be_whole_output_bins() -> None:
    # trunk[1] crops 2-bp positions: 384 of them are 12 64-bp bins; 383 is not whole
    assert parse_params(_mini_with_crop_at(1, 384)).model.trunk[1].options == {"cropping": 384}
    with pytest.raises(ValueError) as err:
        parse_params(_mini_with_crop_at(1, 383), "p.json")
    assert str(err.value) == (
        "p.json: model.trunk[1] (Cropping1D) cropping 383 crops 766 bp at each end (2-bp "
        "bins there), not a whole number of the model's 64-bp output bins; crop a multiple "
        "of 32"
    )
    with pytest.raises(ValueError, match=r"trunk\[0\] \(Cropping1D\) cropping 12 crops 12 bp"):
        parse_params(_mini_with_crop_at(0, 12), "p.json")


def test_a_pooling_that_keras_pads_at_the_start_is_refused() -> None:
    # 131,072 positions pooled by 5: Keras pads 3, one at the start, so the bins would
    # start 1 bp before the genome's grid
    data = _human()
    data["model"]["trunk"][0]["pool_size"] = 5
    with pytest.raises(ValueError) as err:
        parse_params(data, "p.json")
    assert str(err.value) == (
        "p.json: model.trunk[0] (conv_block) pools 131072 positions by 5, which Keras pads by "
        "1 at the start, moving every bin off the 320-bp grid; use a seq_length that is a "
        "multiple of 320"
    )
    data["model"]["seq_length"] = 320 * 400
    data["model"]["trunk"][3]["cropping"] = 2
    assert parse_params(data).model.trunk[0].options["pool_size"] == 5


def _set(index: int, **values: object):
    """An edit of the human params' model section setting `values` in trunk[index]."""
    return lambda m: m["trunk"][index].update(values)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            _set(1, divisible_by=0),
            r"trunk\[1\] \(conv_tower\) divisible_by must be positive, got 0",
        ),
        (_set(0, kernel_size=0), r"trunk\[0\] \(conv_block\) kernel_size must be positive"),
        (_set(4, filters=0), r"trunk\[4\] \(conv_block\) filters must be positive, got 0"),
        (
            _set(4, filters=2.5),
            r"trunk\[4\] \(conv_block\) filters must be a whole number, got 2.5",
        ),
        (
            _set(4, filters=True),
            r"trunk\[4\] \(conv_block\) filters must be a whole number, got True",
        ),
        (_set(4, dilation_rate=0), r"trunk\[4\] \(conv_block\) dilation_rate must be positive"),
        (_set(1, repeat=5.5), r"trunk\[1\] \(conv_tower\) repeat must be a whole .* got 5.5"),
        (_set(2, repeat=0), r"trunk\[2\] \(dilated_residual\) repeat must be positive, got 0"),
        (_set(0, pool_size=-2), r"trunk\[0\] \(conv_block\) pool_size must be 0 or more"),
        (_set(0, pool_size=2.5), r"trunk\[0\] \(conv_block\) pool_size must be a whole number"),
        (_set(0, pool_size=256), r"trunk\[0\] \(conv_block\) pool_size 256 is not supported"),
        (_set(2, rate_mult=0), r"trunk\[2\] \(dilated_residual\) rate_mult must be a positive"),
        (_set(2, rate_mult="1.5"), r"trunk\[2\] .* rate_mult must be a positive .* '1.5'"),
        (_set(2, rate_mult=0.4), r"trunk\[2\] .* rate_mult 0.4 gives .* rates \[1, 0, 0,"),
        (_set(1, filters_mult=-1), r"trunk\[1\] \(conv_tower\) filters_mult must be a positive"),
        (_set(1, filters_init=0.3), r"trunk\[1\] .* the repeats \[0, 0, 0, 0, 1, 1\] filters"),
        (_set(4, dropout="0.1x"), r"trunk\[4\] \(conv_block\) dropout must be a number in"),
        (lambda m: m.update(augment_shift="12"), r"augment_shift must be a whole number"),
        (lambda m: m.update(augment_shift=1.5), r"augment_shift .* got 1.5"),
        (lambda m: m.update(augment_shift=[1, "2"]), r"augment_shift .* got \[1, '2'\]"),
        (lambda m: m.update(target_length="896"), r"target_length must be a whole number"),
        (lambda m: m.update(augment_rc="false"), r"augment_rc must be true or false, got 'f"),
    ],
)
def test_bad_block_numbers_name_the_file_block_and_key(edit, message):
    # before: tracebacks (ZeroDivisionError, torch errors at run), silent truncation of
    # 5.5 repeats, or an augment_shift "12" read as shifts (1, 2)
    data = _human()
    edit(data["model"])
    with pytest.raises(ValueError, match=rf"^params\.json: model\.{message}"):
        parse_params(data, "params.json")


def test_whole_numbers_may_be_written_as_floats_and_shifts_as_a_number_or_a_list():
    data = _human()
    data["model"]["trunk"][1].update(repeat=6.0, kernel_size=5.0)
    data["model"].update(augment_shift=3, target_length=896.0)
    model = parse_params(data).model
    assert (model.augment_shift, model.target_length) == ((3,), 896)
    data["model"]["augment_shift"] = [-1, 0, 1.0]
    assert parse_params(data).model.augment_shift == (-1, 0, 1)


def test_a_block_lists_its_options_in_the_file_s_order_in_every_process():
    # before: the model-wide settings were merged in the iteration order of a frozenset,
    # which string hashing varies per process: the parsed params printed differently
    script = (
        "import sys; from crossreg.model.params import load_params; "
        "print(list(load_params(sys.argv[1]).model.trunk[0].options))"
    )
    orders = {
        subprocess.run(
            [sys.executable, "-c", script, str(FIXTURES / "params_human.json")],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("0", "1", "2", "3")
    }
    assert len(orders) == 1
    model = _human()["model"]
    own = {k: v for k, v in model["trunk"][0].items() if k != "name"}
    merged = {**{k: v for k, v in model.items() if k in BLOCK_GLOBALS}, **own}
    assert orders.pop().strip() == str(list(merged))
