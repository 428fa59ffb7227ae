"""Every step that runs a model chooses its head with ``--head`` (``--genome`` the same
option where it was one before), and messages name the option as it was given."""

from __future__ import annotations

import pytest

from crossreg.cli import build_parser

REQUIRED = {
    "predict": ["--model", "m", "--fasta", "f.fa", "--out", "p.h5"],
    "sad": ["--model", "m", "--fasta", "f.fa", "--vcf", "v.vcf", "--out", "s.h5"],
    "ism": ["--model", "m", "--fasta", "f.fa", "--vcf", "v.vcf", "--out", "i.h5"],
    "evaluate": ["--model", "m", "--data", "d", "--out", "e"],
    "transfer": ["--model", "m", "--data", "d", "--gtf", "g.gtf", "--out", "t"],
}
#: the steps where --genome chose the head before --head did
ALIASED = ("predict", "sad", "ism", "evaluate")


def _parse(command: str, *head: str) -> dict[str, object]:
    return vars(build_parser().parse_args([command, *REQUIRED[command], *head]))


@pytest.mark.parametrize("command", sorted(REQUIRED))
def test_every_step_takes_the_head_as_head(command):
    # before: sad, ism and evaluate took --genome only ("unrecognized arguments: --head")
    parsed = _parse(command, "--head", "mouse")
    assert parsed["head"] == "mouse" and parsed["head_option"] == "--head"
    unset = _parse(command)
    assert unset["head"] is None and unset["head_option"] == "--head"
    assert {k: v for k, v in parsed.items() if k != "head"} == {
        k: v for k, v in unset.items() if k != "head"
    }


@pytest.mark.parametrize("command", ALIASED)
def test_genome_is_the_same_option_where_it_was_one(command):
    by_head, by_genome = _parse(command, "--head", "mouse"), _parse(command, "--genome", "mouse")
    assert by_genome.pop("head_option") == "--genome"
    by_head.pop("head_option")
    assert by_genome == by_head
    # the last one given wins, as for any option given twice
    assert _parse(command, "--genome", "human", "--head", "mouse")["head"] == "mouse"


def test_transfer_takes_no_genome_which_would_read_as_the_stores(capsys):
    with pytest.raises(SystemExit):
        _parse("transfer", "--genome", "mouse")
    assert "unrecognized arguments: --genome" in capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(REQUIRED))
def test_help_names_head_first(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = capsys.readouterr().out
    spelt = "--head NAME, --genome NAME" if command in ALIASED else "--head NAME"
    assert spelt in text
