"""What shards of one sad or ism run may differ in (crossreg.variants.shard_layout), on
attributes as shards record them."""

from __future__ import annotations

import json

import numpy as np

from crossreg.io.identity import settings_hash
from crossreg.variants.shard_layout import layout_attrs, merged_settings, scored_alike


def _shard(
    index: int, batch: int, *, chunk: int | None = None, given: str = "auto", **attrs: object
) -> dict:
    """A shard's attributes: 2 shards of 10 records, settings with `batch` (and `chunk`)
    and --device `given`."""
    options = {"batch_size": batch, "device": given}
    settings: dict[str, object] = {"identity": "content", "options": options}
    settings |= {"chunk_size": chunk} if chunk is not None else {}
    settings |= {"width": attrs.pop("width", 4)}
    return {
        "shard_index": index,
        "shard_count": 2,
        "shard_records": np.array([5 * index, 5 * index + 5]),
        "run_settings": settings_hash(settings),
        "shard_settings": json.dumps(settings, sort_keys=True),
        **attrs,
    }


def test_shards_batched_otherwise_are_one_run_and_others_are_not():
    first = _shard(0, 16, chunk=8)
    assert scored_alike(first, _shard(1, 4, chunk=2))
    assert not scored_alike(first, _shard(1, 16, chunk=8, width=5))
    old = {**_shard(1, 4), "shard_settings": json.dumps({"options": {"batch_size": 4}})}
    assert not scored_alike(first, old)  # inputs matched by path: only equal settings


def test_shards_given_another_device_are_one_run_where_each_recorded_its_own():
    first = _shard(0, 16, given="cpu", device="cpu")
    assert scored_alike(first, _shard(1, 16, given="auto", device="cuda: X"))
    assert scored_alike(first, _shard(1, 4, given="cuda:1", device="cuda: X"))
    assert not scored_alike(first, _shard(1, 16, given="auto"))  # where it ran unrecorded
    assert not scored_alike(first, _shard(1, 16, given="auto", device="cpu", width=5))


def test_the_layout_is_recorded_only_where_shards_differ():
    alike = [_shard(i, 8, model="m", device="cpu") for i in range(2)]
    assert layout_attrs(alike, "records") == {}
    mixed = [_shard(0, 8, model="m", device="cpu"), _shard(1, 2, model="/n/m", device="cuda: X")]
    attrs = layout_attrs(mixed, "records")
    assert list(attrs["batch_sizes"]) == [2, 8]
    assert attrs["model"] == ["m", "/n/m"] and attrs["device"] == ["cpu", "cuda: X"]
    assert json.loads(str(attrs["shard_layout"])) == [
        {"shard": "0/2", "batch_size": 8, "device": "cpu", "records": [0, 5]},
        {"shard": "1/2", "batch_size": 2, "device": "cuda: X", "records": [5, 10]},
    ]


def test_a_shard_that_recorded_no_device_is_not_given_the_others():
    attrs = layout_attrs([_shard(0, 8, device="cpu"), _shard(1, 8)], "sites")
    assert attrs["device"] == ["cpu", ""]
    assert [entry.get("device") for entry in json.loads(str(attrs["shard_layout"]))] == [
        "cpu",
        None,
    ]


def test_a_shard_scored_on_several_devices_lists_them_in_the_merge():
    resumed = _shard(0, 8, device=np.array(["cuda: X", "cpu"], dtype=object))  # as h5py reads
    attrs = layout_attrs([resumed, _shard(1, 8, device="cpu")], "records")
    assert attrs["device"] == ["cuda: X", "cpu", "cpu"]  # each shard's devices in turn
    layout = json.loads(str(attrs["shard_layout"]))
    assert [entry["device"] for entry in layout] == [["cuda: X", "cpu"], "cpu"]
    both = [_shard(i, 8, device=["cuda: X", "cpu"]) for i in range(2)]
    assert layout_attrs(both, "records")["device"] == ["cuda: X", "cpu"] * 2


def test_the_merged_settings_list_only_the_values_the_shards_differ_in():
    def run(shard: str, batch: int, device: object, chunk: int = 2) -> dict:
        options = {"batch_size": batch, "device": device, "rc": True}
        return {"options": options, "chunk_size": chunk, "width": 4, "shard": shard}

    alike = [run("0/2", 8, "cpu"), run("1/2", 8, "cpu")]
    assert merged_settings(alike) == {**run("None", 8, "cpu")}
    mixed = [run("0/3", 16, "cuda"), run("1/3", 4, ["cpu", "cuda"], 1), run("2/3", 16, "cpu")]
    assert merged_settings(mixed) == {
        "options": {"batch_size": [4, 16], "device": ["cpu", "cuda"], "rc": True},
        "chunk_size": [1, 2],
        "width": 4,
        "shard": "None",
    }
