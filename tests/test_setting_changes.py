"""crossreg.io.changes: every command names a setting that changed between a run and its
--resume the same way, as its command line gives it; and every option a command's refusal
names is one that command takes."""

from __future__ import annotations

import argparse
import re
from types import SimpleNamespace
from typing import Any

import pytest

from crossreg.cli import build_parser
from crossreg.data import build_settings as data_settings
from crossreg.evaluate import checkpoint as evaluate_checkpoint
from crossreg.evaluate.spill import ColumnOptions
from crossreg.io.changes import Option, change, changes
from crossreg.model.inference import InferenceOptions
from crossreg.predict import bigwig_settings
from crossreg.stats.sldp import checkpoint as sldp_checkpoint
from crossreg.stats.sldp.outputs import run_record
from crossreg.train import resume_checks
from crossreg.variants import ism_settings, sad_settings

IDENTITY = {"size": 10, "sha256": "a" * 64}
FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*")


def test_a_value_reads_as_the_command_line_gives_it():
    options = {"tracks": Option("--targets", unset="every track")}
    before = {"rc": False, "shifts": [0], "tracks": None, "batch_size": 8}
    now = {"rc": True, "shifts": [1, 0, -1], "tracks": "0-2", "batch_size": 8}
    assert changes(before, now, options) == [
        "--rc off then, on now",
        "--shifts 0 then, 1,0,-1 now",
        "--targets every track then, 0-2 now",
    ]


def test_an_option_s_own_words_label_and_inputs():
    layout = Option("--trunk-layout", words={"None": "auto", "True": "channels-last"})
    assert change(layout, None, True) == "--trunk-layout auto then, channels-last now"
    assert change(Option("--targets", label="figure tracks"), "a", "b") == (
        "--targets: figure tracks a then, b now"
    )
    other = {"size": 11, "sha256": "b" * 64}
    assert change(Option("--fasta"), IDENTITY, other) == "--fasta: 10 bytes then, 11 now"
    assert change(Option("--gtf"), IDENTITY, None) == "--gtf: given then, not now"
    assert change(Option("--gtf"), None, IDENTITY) == "--gtf: not given then, given now"


def test_nested_settings_are_named_in_place_and_absent_ones_read_as_given():
    before = {"a": 1, "options": {"rc": False}, "z": 1}
    now = {"a": 2, "options": {"rc": True}, "z": 2, "chunk_dtype": "float16"}
    assert changes(before, now, {}, absent={"chunk_dtype": "float32"}, nested=("options",)) == [
        "--a 1 then, 2 now",
        "--chunk-dtype float32 then, float16 now",
        "--rc off then, on now",
        "--z 1 then, 2 now",
    ]


# -- every command's recorded settings, walked through its formatter -------------------------


def _differ(value: Any) -> Any:
    """Another value of the same kind (an input: other content)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return [*value, 7]
    if isinstance(value, dict):
        return {**value, "size": 11}
    return 1


def _all_changed(record: dict[str, Any], nested: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        key: (
            {k: _differ(v) for k, v in value.items()}
            if key in nested and isinstance(value, dict)
            else value
            if key == "identity"
            else _differ(value)
        )
        for key, value in record.items()
    }


def _options_of(command: str) -> set[str]:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {s for a in commands.choices[command]._actions for s in a.option_strings}


def _named(messages: list[str]) -> set[str]:
    return {flag for message in messages for flag in FLAG.findall(message)}


def _check(command: str, messages: list[str], keys: int) -> None:
    assert len(messages) >= keys, messages  # every changed setting is named
    unknown = _named(messages) - _options_of(command)
    assert not unknown, f"crossreg {command} has no {sorted(unknown)}: {messages}"


@pytest.fixture
def stubbed(monkeypatch):
    """Records built without a model or store: their identities stubbed."""
    for module in (sad_settings, bigwig_settings, evaluate_checkpoint):
        monkeypatch.setattr(module, "checkpoint_identity", lambda _: dict(IDENTITY))
    monkeypatch.setattr(ism_settings, "content_identity", lambda _: dict(IDENTITY))
    monkeypatch.setattr(
        evaluate_checkpoint, "store_fingerprint", lambda _: {"path": "s", "sha256": "a"}
    )
    return SimpleNamespace(fasta_identity=lambda: dict(IDENTITY))


def test_sad_names_only_options_crossreg_sad_takes(stubbed):
    # before: "--tracks …", which sad does not take
    options = InferenceOptions(device="cpu")
    record = sad_settings.run_settings("m", stubbed, IDENTITY, "human", options, ["SAD"], False)
    record |= {"tracks": None, "cluster_bp": 0, "indel": "basenji", "gtf": None}
    record |= {"variants_genome": "human", "shard": "None", "chunk_size": 5}
    now = _all_changed(record, ("options",)) | {"gtf": IDENTITY, "shard": "0/2"}
    messages = sad_settings.setting_changes(record, now)
    _check("sad", messages, len(record) + len(options.__dict__) - 2)
    assert "--gtf: not given then, given now" in messages
    assert "--head human then, humanx now" in messages
    assert "--variants-genome human then, humanx now" in messages
    assert "--targets every track then, 1 now" in messages
    assert "--shard none (the whole run) then, 0/2 now" in messages
    assert "--trunk-layout auto then, 1 now" in messages


def test_ism_names_only_options_crossreg_ism_takes(stubbed):
    options = InferenceOptions(device="cpu")
    record = ism_settings.chunk_settings(
        "m", stubbed, "human", options, ["sum"], vcf=None, bed="b", strict=False, width=4,
        tracks="CAGE,T1", chunk_size=2,
    )  # fmt: skip
    record |= {sad_settings.FIGURE_TRACKS: ism_settings.FIGURES_EACH, "shard": "0/2"}
    messages = sad_settings.setting_changes(record, _all_changed(record, ("options",)))
    _check("ism", messages, len(record) + len(options.__dict__) - 2)
    assert "--targets CAGE,T1 then, CAGE,T1x now" in messages  # before: the indices
    earlier = {k: v for k, v in record.items() if k != "tracks"} | {"targets": [0, 3]}
    assert sad_settings.setting_changes(earlier, record) == [
        "--targets 0,3 (the tracks' indices, as an earlier crossreg recorded them) then, "
        "CAGE,T1 now"
    ]


def test_predict_names_only_options_crossreg_predict_takes(stubbed):
    options = InferenceOptions(device="cpu")
    record = bigwig_settings.run_settings("m", stubbed, None, None, "human", None, options, 32)
    record = {**record, "chunk_dtype": "float32"}
    now = _all_changed(record) | {"options": [True, [1], True], "bed": IDENTITY}
    messages = bigwig_settings.run_setting_changes(record, now)
    _check("predict", messages, len(record) + 1)
    assert "--bed: not given then, given now" in messages


def test_evaluate_names_only_options_crossreg_evaluate_takes(stubbed):
    # before: "--rc False then, True now", "--trunk-layout (channels_last) None then, …"
    options, columns = InferenceOptions(device="cpu"), ColumnOptions()
    record = evaluate_checkpoint.evaluation_settings(
        "m", None, "test", "human", options, columns, "cpu"
    )
    record["data"] = {"genome": "human", "sha256": "a"}
    now = _all_changed(record, ("options", "columns"))
    messages = evaluate_checkpoint.differences(record, now)
    _check("evaluate", messages, len(record) + len(options.__dict__) + len(columns.__dict__) - 3)
    assert "--rc off then, on now" in messages


def test_sldp_names_only_options_crossreg_sldp_takes():
    given = {k: "1 file(s)" for k in ("sumstats", "eqtl", "sad")}
    given |= {k: "1 stem(s)" for k in ("sannot_chr", "background_sannot_chr")}
    chosen = {"background_maf_bins": 0, "eqtl_n": None, "chroms": ["1", "22"], "weights": "w"}
    chosen |= {"alpha": -1.0, "background_alpha": -1.0, "spectrum_percent": 95.0}
    record = run_record(
        sldp_checkpoint.fingerprint({**given, **chosen}, []),
        seed=0,
        flips=10,
        jk_blocks=3,
        verbose_thresh=0.05,
    )
    messages = sldp_checkpoint.differences(record, _all_changed(record, ("options",)))
    _check("sldp", messages, len(given) + len(chosen) + 4)
    assert "--chroms 1,22 then, 1,22,7 now" in messages
    assert "--eqtl-n each table's N column then, 1 now" in messages


def test_data_names_only_options_crossreg_data_takes():
    assert {o.flag for o in data_settings.OPTIONS.values()} <= _options_of("data")
    record = {key: None for key in data_settings.OPTIONS if key != "track_rows"}
    messages = data_settings.differences(record, {key: 1 for key in record})
    _check("data", messages, len(record))
    assert "--compress-targets off (uncompressed) then, 1 now" in messages
    assert "--tracks every track (no shard) then, 1 now" in messages


@pytest.mark.parametrize("command", ["train", "finetune"])
def test_training_names_only_options_the_command_takes(command):
    # before: "--augment-rc True, this run has False". A fine-tuning takes neither --head
    # nor --gelu (its runs record no heads and the tanh GELU), so a resume of one never
    # names them
    fixed = () if command == "train" else ("heads", "gelu_form")
    steps = {k: v for k, v in resume_checks.STEP_OPTIONS.items() if k not in fixed}
    assert {option.flag for option in steps.values()} <= _options_of(command)
    messages = changes({key: True for key in steps}, {key: False for key in steps}, steps)
    _check(command, messages, len(steps))
    assert "--augment-rc on then, off now" in messages
    assert {o.flag for o in resume_checks.EXTRA_FLAGS.values()} <= _options_of("finetune")
    heads = [resume_checks._as_given("heads", h) for h in ({"mouse": "head_m"}, {})]
    assert changes({"heads": heads[0]}, {"heads": heads[1]}, resume_checks.STEP_OPTIONS) == [
        "--head mouse=head_m then, head_<genome> for each store now"
    ]
    # before: "--head human=h,mouse=m then, …": --head is given once per head
    two, one = ({"human": "h", "mouse": "m"}, {"human": "x", "mouse": "m"})
    heads = [resume_checks._as_given("heads", h) for h in (two, one)]
    assert changes({"heads": heads[0]}, {"heads": heads[1]}, resume_checks.STEP_OPTIONS) == [
        "--head human=h --head mouse=m then, --head human=x --head mouse=m now"
    ]


def test_demo_names_only_options_crossreg_demo_takes(tmp_path):
    # before: "holds a world of preset fast, seed 0 and 2 genomes, not mini, 1 and 3"
    from crossreg import demo_resume
    from crossreg.demo_settings import FAST
    from crossreg.errors import CommandError

    made = {"preset": "mini", "seed": FAST.seed + 1, "genomes": {"human": {}}}
    with pytest.raises(CommandError) as refused:
        demo_resume._check_world(tmp_path, made, FAST)
    named = _named([str(refused.value)]) - {"--resume", "--out"}
    assert named == {"--preset", "--seed", "--genomes"} <= _options_of("demo")
    assert f"--seed {FAST.seed + 1} then, {FAST.seed} now" in str(refused.value)
