"""The name of a fine-tuning's new head: what can be checked of it before torch loads
(``crossreg finetune``); the head's build checks it again."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from crossreg.model.params_heads import genome_of_head_key

HEAD_NAME = re.compile(r"[A-Za-z0-9_-]+")


def new_head_name(head: str | None, genome: str, data: str | os.PathLike[str]) -> tuple[str, str]:
    """The new head's name, `head` (``--head-name``) or else the genome of the store
    `data`, and where it came from, for the messages that name it."""
    if head is not None:
        return head, f"--head-name {head!r}"
    return genome, f"the genome '{genome}' of {data}, the new head's default name"


def check_head_name(name: str, what: str) -> None:
    """Stop when `name` cannot name a head (`what` says where it came from): a head's
    name holds letters, digits, '_' and '-' only. (Nor may it be a method of torch's
    container of heads: :func:`crossreg.train.finetune.check_new_head_name`.)"""
    if not HEAD_NAME.fullmatch(name):
        raise ValueError(
            f"{what}: a head's name holds letters, digits, '_' and '-' only (it names the "
            "head's weights)"
        )


def check_free_name(name: str, heads: Mapping[str, str], source: str) -> None:
    """Stop when the checkpoint `source`, whose heads are `heads` (name -> params key),
    has a head `name` or keeps one under the params key ``head_<name>``."""
    if name in heads:
        raise ValueError(
            f"{source} already has a head '{name}'; name the new head with --head-name"
        )
    for genome, parent_key in heads.items():
        if genome_of_head_key(parent_key) == name:
            raise ValueError(
                f"{source}: its head '{genome}' is stored under the params key '{parent_key}', "
                f"which a new head '{name}' cannot share; name the new head with --head-name"
            )
