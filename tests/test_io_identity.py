"""Inputs told apart by what they hold, not where they lie (crossreg.io.identity): a copy
or a renamed file is the same input, an edit of the same size is not, and the refusal
says what differs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from crossreg.io.identity import (
    content_identity,
    fasta_identity,
    identity_difference,
    sampled_identity,
)
from crossreg.model.checkpoint_info import checkpoint_identity


def test_a_copy_elsewhere_is_the_same_file_and_a_same_size_edit_is_not(tmp_path):
    original = tmp_path / "calls.vcf"
    original.write_bytes(b"chr1\t10\trs1\tA\tG\n" * 1000)
    (tmp_path / "node").mkdir()
    copy = Path(shutil.copy(original, tmp_path / "node" / "renamed.vcf"))
    os.utime(copy, ns=(1, 1))  # another modification time
    expected = {"size": 16_000, "sha256": hashlib.sha256(original.read_bytes()).hexdigest()}
    assert content_identity(original) == expected == content_identity(copy)
    copy.write_bytes(original.read_bytes().replace(b"rs1", b"rs2", 1))
    edited = hashlib.sha256(copy.read_bytes()).hexdigest()
    assert identity_difference(expected, content_identity(copy)) == (
        f"the same size, other content (SHA-256 {expected['sha256'][:12]}… then, "
        f"{edited[:12]}… now)"
    )
    copy.write_bytes(b"short")
    assert identity_difference(expected, content_identity(copy)) == "16,000 bytes then, 5 now"
    assert identity_difference(expected, expected) == ""


def test_sampled_identity_hashes_evenly_spread_blocks(tmp_path):
    path = tmp_path / "sad.h5"
    data = bytes(range(256)) * 40  # 10,240 bytes
    path.write_bytes(data)
    # 4 blocks of 100 bytes at (10,240 - 100) * k // 3: 0, 3,380, 6,760, 10,140 (the end)
    blocks = b"".join(data[s : s + 100] for s in (0, 3380, 6760, 10140))
    found = sampled_identity(path, samples=4, block=100)
    assert found == {"size": 10_240, "sampled_sha256": hashlib.sha256(blocks).hexdigest()}
    small = sampled_identity(path, samples=4, block=4096)  # the file is under 4 blocks
    assert small["sampled_sha256"] == hashlib.sha256(data).hexdigest()
    edited = bytearray(data)
    edited[3400] ^= 1  # inside a sampled block: seen
    path.write_bytes(bytes(edited))
    changed = sampled_identity(path, samples=4, block=100)
    assert identity_difference(found, changed).startswith(
        "the same size, other content (SHA-256 of sampled blocks "
    )
    edited[3400] ^= 1
    edited[5000] ^= 1  # between sampled blocks: unseen, as documented
    path.write_bytes(bytes(edited))
    assert sampled_identity(path, samples=4, block=100) == found


def test_a_fasta_names_the_chromosome_that_differs(tmp_path):
    fasta = tmp_path / "genome.fa"
    fasta.write_text(">chr1\nACGT\n")
    content = content_identity(fasta)
    before = fasta_identity({"chr1": 4, "chr2": 1_000}, content)
    now = fasta_identity({"chr1": 4, "chr2": 990}, content)
    assert identity_difference(before, now) == "chromosome chr2 1,000 bp then, 990 bp now"
    now = fasta_identity({"chr1": 4}, content)
    assert identity_difference(before, now) == "chromosome chr2 1,000 bp then, absent now"


def test_an_identity_recorded_by_path_says_so():
    old = {"path": "/data/calls.vcf", "size": 10, "mtime_ns": 5}
    assert identity_difference(old, {"size": 10, "sha256": "ab"}) == (
        "recorded by path and modification time by an earlier crossreg"
    )


def test_a_checkpoint_copy_is_the_same_and_another_save_is_not(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    config = {"format": "crossreg-checkpoint", "save_id": "a" * 32, "weights_sha256": "f" * 64}
    (model / "config.json").write_text(json.dumps(config))
    (model / "model.safetensors").write_bytes(b"weights")
    copy = Path(shutil.copytree(model, tmp_path / "staged" / "checkpoint"))
    assert checkpoint_identity(copy) == checkpoint_identity(model)
    assert checkpoint_identity(model)["save_id"] == "a" * 32
    (copy / "config.json").write_text(json.dumps({**config, "save_id": "b" * 32}))
    assert identity_difference(checkpoint_identity(model), checkpoint_identity(copy)) == (
        f"another checkpoint (save id {'a' * 32} then, {'b' * 32} now)"
    )
    (copy / "config.json").write_text(json.dumps({**config, "epoch": 3}))
    assert identity_difference(checkpoint_identity(model), checkpoint_identity(copy)) == (
        "the same checkpoint with another config.json (edited since)"
    )
