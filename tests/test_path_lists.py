"""Python functions that take several paths (or SLDP file stems), chromosomes or splits
refuse one given alone, which a string would otherwise turn into one per letter; and
those that take an options dataclass refuse a dict of its fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossreg.data.build import BuildOptions, build_dataset
from crossreg.data.shards import merge_shards as merge_data_shards
from crossreg.evaluate.accuracy import evaluate_model
from crossreg.evaluate.transfer_plan import plan_transfer
from crossreg.predict.bigwig import write_bigwigs
from crossreg.stats.sldp.run import write_sldp
from crossreg.train.trainer import train
from crossreg.variants.sad_join import merge_shards as merge_sad_shards


def test_train_names_data_dirs_given_as_one_path(tmp_path: Path) -> None:
    # before: "d is not a finished crossreg dataset (no dataset.json)"
    with pytest.raises(TypeError) as caught:
        train(tmp_path / "params.json", "data/human", tmp_path / "run")
    assert str(caught.value) == (
        "data_dirs takes a list of paths, got the one path 'data/human': pass ['data/human']"
    )
    assert not (tmp_path / "run").exists()


def test_build_dataset_names_a_blacklist_given_as_one_path(tmp_path: Path) -> None:
    # before: "w: blacklist BED not found; check the path"
    options = BuildOptions(genome="human")
    with pytest.raises(TypeError, match=r"^blacklist takes a list of paths, got the one path "):
        build_dataset(
            tmp_path / "store",
            fasta=tmp_path / "genome.fa",
            targets=tmp_path / "targets.txt",
            options=options,
            blacklist=tmp_path / "blacklist.bed",  # type: ignore[arg-type]
        )
    assert not (tmp_path / "store").exists()


def test_shard_merges_and_sldp_name_a_list_given_as_one_path(tmp_path: Path) -> None:
    one = str(tmp_path / "x")
    message = rf"takes a list of paths, got the one path '{one}': pass \['{one}'\]$"
    with pytest.raises(TypeError, match=rf"^shards {message}"):
        merge_data_shards(tmp_path / "store", one, overwrite=False)
    with pytest.raises(TypeError, match=rf"^shards {message}"):
        merge_sad_shards(tmp_path / "sad.h5", one)
    for option in ("sumstats", "sad", "eqtl", "sannot_chr", "background_sannot_chr"):
        with pytest.raises(TypeError, match=rf"^{option} {message}"):
            write_sldp(one, one, one, one, tmp_path / "sldp", **{option: one})  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


def test_chromosomes_and_splits_given_as_one_name_are_refused(tmp_path: Path) -> None:
    # before: write_bigwigs(chroms="chr1") stopped with "--chroms c,h,r,1: not in ...",
    # write_transfer(splits="test") with "no split 't'"
    one = str(tmp_path / "x")
    with pytest.raises(TypeError, match=r"^chroms must be a list of names, e\.g\. \['chr1'\], "):
        write_bigwigs(one, one, tmp_path / "bw", chroms="chr1")
    with pytest.raises(TypeError, match=r"^chroms must be a list of names, .*got the string '22'$"):
        write_sldp(one, one, one, one, tmp_path / "sldp", sumstats=[one], chroms="22")
    with pytest.raises(TypeError, match=r"^splits must be a list of names, .*string 'test'$"):
        plan_transfer(one, one, one, head="human", splits="test")
    assert not list(tmp_path.iterdir())


def test_options_given_as_a_dict_of_their_fields_are_refused(tmp_path: Path) -> None:
    # before: "'dict' object has no attribute 'layout'" and "asdict() should be called on
    # dataclass instances", from inside the steps
    one = tmp_path / "x"
    with pytest.raises(TypeError, match=r"^options must be of type BuildOptions, e\.g\. "):
        build_dataset(one, fasta=one, targets=one, options={"genome": "human"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^columns must be of type ColumnOptions, e\.g\. "):
        evaluate_model(one, one, tmp_path / "eval", columns={"rank": True})  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())
