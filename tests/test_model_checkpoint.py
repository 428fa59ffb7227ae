"""Checkpoint directories: round trip, self-description, and refusal of broken ones."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from crossreg import __version__
from crossreg.io.targets_read import read_targets
from crossreg.model.checkpoint import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    load_checkpoint,
    make_config,
    read_config,
    save_checkpoint,
)
from crossreg.model.checkpoint_info import checkpoint_info
from crossreg.model.params import load_params
from crossreg.model.seqnn import SeqNN

FIXTURES = Path(__file__).parent / "data" / "basenji_fixtures"


@pytest.fixture
def saved(tmp_path):
    """A randomly initialised two-head mini model saved as a checkpoint."""
    params = load_params(FIXTURES / "params_joint_mini.json")
    model = SeqNN(params.model, gelu_form="sigmoid1702", generator=torch.Generator().manual_seed(5))
    with torch.no_grad():  # make the moving statistics differ from their defaults
        for name, buffer in model.named_buffers():
            if name.endswith(("running_mean", "running_var")):
                buffer.uniform_(0.5, 1.5)
    targets = {g: read_targets(FIXTURES / f"targets_{g}_mini.txt") for g in ("human", "mouse")}
    config = make_config(model, params.raw, targets, epoch=7, metrics={"valid_r": 0.5})
    save_checkpoint(tmp_path / "ckpt", model, config)
    return tmp_path / "ckpt", model


def test_round_trip_restores_weights_and_description(saved):
    directory, model = saved
    loaded, config = load_checkpoint(directory)
    assert not loaded.training
    assert loaded.gelu_form == "sigmoid1702"
    original, restored = model.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    for key in original:
        assert torch.equal(original[key], restored[key]), key
    x = torch.rand(2, 8192, 4)
    model.eval()
    with torch.inference_mode():
        assert torch.equal(model(x, "mouse"), loaded(x, "mouse"))
    assert config.genomes == {"human": "head_human", "mouse": "head_mouse"}
    assert [t.identifier for t in config.targets["human"]] == ["t0", "t1", "t2", "t3", "t4"]
    assert config.targets["mouse"][2].description == "CAGE:mouse mini track 2"
    assert (config.seq_length, config.bin_width, config.crop, config.bins) == (
        8192,
        64,
        (12, 12),
        104,
    )
    assert (config.epoch, config.metrics) == (7, {"valid_r": 0.5})
    assert config.crossreg_version == __version__


def test_files_are_json_and_safetensors(saved):
    directory, _ = saved
    assert sorted(p.name for p in directory.iterdir()) == [CONFIG_NAME, WEIGHTS_NAME]
    data = json.loads((directory / CONFIG_NAME).read_text())
    assert data["format"] == "crossreg-checkpoint" and data["format_version"] == 1
    assert data["params"]["model"]["head_mouse"]["units"] == 3
    raw = (directory / WEIGHTS_NAME).read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    assert header["__metadata__"]["save_id"] == data["save_id"]
    assert header["trunk.0.conv.weight"]["shape"] == [24, 4, 15]
    umask = os.umask(0)
    os.umask(umask)
    for name in (CONFIG_NAME, WEIGHTS_NAME):  # readable like any new file, not 0600
        assert (directory / name).stat().st_mode & 0o777 == 0o666 & ~umask


def test_weights_from_another_save_are_refused(saved, tmp_path):
    directory, model = saved
    other = tmp_path / "other"
    save_checkpoint(other, model, read_config(directory))
    (directory / WEIGHTS_NAME).write_bytes((other / WEIGHTS_NAME).read_bytes())
    with pytest.raises(ValueError, match="come from different saves"):
        load_checkpoint(directory)


def _forget_digest(directory: Path) -> None:
    """Drop the weights' SHA-256 from the config, as in checkpoints saved before it was
    stored: the weights load unchecked."""
    data = json.loads((directory / CONFIG_NAME).read_text())
    del data["weights_sha256"]
    (directory / CONFIG_NAME).write_text(json.dumps(data))


def test_missing_or_misshapen_tensor_is_named(saved):
    directory, _ = saved
    _forget_digest(directory)
    tensors = load_file(directory / WEIGHTS_NAME)
    meta = {"format": "crossreg-checkpoint", "save_id": read_config(directory).save_id}
    tensors["heads.mouse.dense.bias"] = torch.zeros(4)
    save_file(tensors, directory / WEIGHTS_NAME, metadata=meta)
    with pytest.raises(ValueError, match=r"'heads.mouse.dense.bias' has shape \[4\].*needs \[3\]"):
        load_checkpoint(directory)
    del tensors["heads.mouse.dense.bias"]
    save_file(tensors, directory / WEIGHTS_NAME, metadata=meta)
    with pytest.raises(ValueError, match=r"missing \['heads.mouse.dense.bias'\]"):
        load_checkpoint(directory)


def test_the_config_records_the_weights_sha256(saved):
    directory, _ = saved
    digest = hashlib.sha256((directory / WEIGHTS_NAME).read_bytes()).hexdigest()
    assert read_config(directory).weights_sha256 == digest


def test_every_flipped_bit_of_the_weights_is_refused(saved):
    directory, model = saved
    weights = directory / WEIGHTS_NAME
    intact = weights.read_bytes()
    header = 8 + struct.unpack("<Q", intact[:8])[0]
    rng = random.Random(3)
    # tensor bytes, where safetensors itself checks nothing, and the header's last bytes
    places = [rng.randrange(header, len(intact)) for _ in range(40)] + [header - 2, len(intact) - 1]
    for place in places:
        damaged = bytearray(intact)
        damaged[place] ^= 1 << rng.randrange(8)
        weights.write_bytes(bytes(damaged))
        with pytest.raises(ValueError, match=re.escape(str(weights))):
            load_checkpoint(directory)
    weights.write_bytes(intact)
    reloaded, _ = load_checkpoint(directory)
    for key, tensor in model.state_dict().items():
        assert torch.equal(reloaded.state_dict()[key], tensor)


def test_a_checkpoint_saved_without_a_digest_loads_unchecked(saved):
    directory, model = saved
    _forget_digest(directory)
    assert read_config(directory).weights_sha256 is None
    reloaded, _ = load_checkpoint(directory)
    for key, tensor in model.state_dict().items():
        assert torch.equal(reloaded.state_dict()[key], tensor)


def test_bad_config_is_refused(saved, tmp_path):
    directory, _ = saved
    with pytest.raises(ValueError, match="not a crossreg checkpoint"):
        load_checkpoint(tmp_path)
    data = json.loads((directory / CONFIG_NAME).read_text())
    data["format_version"] = 99
    (directory / CONFIG_NAME).write_text(json.dumps(data))
    with pytest.raises(ValueError, match="format version 99"):
        load_checkpoint(directory)
    data["format_version"] = 1
    data["targets"]["mouse"][0]["colour"] = "red"
    (directory / CONFIG_NAME).write_text(json.dumps(data))
    with pytest.raises(ValueError, match="malformed targets"):
        load_checkpoint(directory)
    del data["targets"]["mouse"][0]["colour"]
    data["targets"]["mouse"] = data["targets"]["mouse"][:2]
    (directory / CONFIG_NAME).write_text(json.dumps(data))
    with pytest.raises(ValueError, match="genome 'mouse' lists 2 targets but its head has 3"):
        load_checkpoint(directory)


@pytest.mark.parametrize("read", [load_checkpoint, checkpoint_info])
def test_a_config_that_is_not_utf8_is_named_with_the_fix(saved, read):
    # before: a bare "'utf-8' codec can't decode byte 0xe9 in position ..." naming no file
    directory, _ = saved
    config = directory / CONFIG_NAME
    text = config.read_text().replace('"crossreg_version"', '"caf\u00e9"', 1)
    config.write_bytes(text.encode("latin-1"))
    with pytest.raises(ValueError) as refused:
        read(directory)
    assert not isinstance(refused.value, UnicodeDecodeError)
    line = text[: text.index("caf")].count("\n") + 1
    assert str(refused.value) == (
        f"{config}: not JSON: line {line} is not UTF-8 text (a binary file?); the checkpoint "
        "is damaged: use another checkpoint (best/, last/) or save this one again"
    )


def test_save_refuses_wrong_target_count(saved, tmp_path):
    directory, model = saved
    config = read_config(directory)
    config.targets["human"] = config.targets["human"][:4]
    with pytest.raises(ValueError, match="genome 'human': 4 targets for a head of 5 outputs"):
        save_checkpoint(tmp_path / "bad", model, config)


def test_truncated_weights_are_named_not_a_traceback(saved):
    directory, _ = saved
    weights = directory / WEIGHTS_NAME
    weights.write_bytes(weights.read_bytes()[:500])
    with pytest.raises(ValueError, match=r"model.safetensors: not a readable safetensors file"):
        load_checkpoint(directory)


def test_the_device_is_checked_before_the_weights_are_read(saved, monkeypatch):
    directory, _ = saved
    with pytest.raises(ValueError, match=r"unknown device 'gpu': give auto, cpu, cuda"):
        load_checkpoint(directory, device="gpu")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(ValueError, match=r"device cuda:1: this machine has no CUDA device"):
        load_checkpoint(directory, device="cuda:1")
    model, _ = load_checkpoint(directory, device="auto" if not torch.cuda.is_available() else "cpu")
    assert next(model.parameters()).device.type == "cpu"


def test_unreadable_weights_are_not_called_missing(saved, monkeypatch):
    # before: safetensors' FileNotFoundError for EACCES read "No such file or directory"
    directory, _ = saved
    weights = directory / WEIGHTS_NAME
    readable = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: Path(p) != weights and readable(p, mode)
    )
    with pytest.raises(
        ValueError, match=r"model\.safetensors: not readable; check its permissions"
    ):
        load_checkpoint(directory)


@pytest.mark.parametrize(
    ("name", "content", "hint"),
    [
        (
            "model_human.h5",
            b"\x89HDF\r\n\x1a\n" + bytes(64),
            "convert it with crossreg import-basenji",
        ),
        ("config.json", b"{}", "give the folder that holds it, "),
        ("model.safetensors", b"\0" * 16, "give the folder that holds it, "),
        ("weights.bin", b"\0" * 16, "it is a file; give the checkpoint folder"),
    ],
)
def test_a_file_given_as_the_model_is_named_with_what_to_give(tmp_path, name, content, hint):
    # Basenji's Keras weights given straight to --model, or a file of a checkpoint
    from crossreg.model.checkpoint_info import checkpoint_info

    path = tmp_path / "ckpt" / name
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a crossreg checkpoint directory") as err:
        checkpoint_info(path)
    assert hint in str(err.value)
    if name in ("config.json", "model.safetensors"):
        assert str(err.value).endswith(str(path.parent))


def test_load_checkpoint_names_what_to_give_as_the_commands_do(saved, tmp_path):
    # a pipeline's load_checkpoint("run") of a training run's folder said only "not a
    # crossreg checkpoint (no config.json)", where `crossreg predict --model run` names
    # run/best; and a folder that does not exist was a ValueError, not FileNotFoundError
    directory, _ = saved
    run = tmp_path / "run"
    run.mkdir()
    directory.rename(run / "best")
    with pytest.raises(ValueError, match="not a crossreg checkpoint directory") as err:
        load_checkpoint(run)
    assert str(err.value).endswith(f"it holds a training run: give its checkpoint {run / 'best'}")
    with pytest.raises(FileNotFoundError, match="no-such-run"):
        load_checkpoint(tmp_path / "no-such-run")
    with pytest.raises(ValueError, match="give the folder that holds it, "):
        load_checkpoint(run / "best" / CONFIG_NAME)
    loaded, _ = load_checkpoint(run / "best")
    assert not loaded.training
