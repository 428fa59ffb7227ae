"""A SAD output's metadata read back (an ``.h5``'s attributes or a ``.tsv``'s JSON), and
the refusal of a shard where a whole run's file is needed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from crossreg.io.h5 import all_attrs, read_h5
from crossreg.variants.sad_h5 import SAD_REMEDY
from crossreg.variants.sad_tsv import metadata_path


def require_whole_run(path: Path, attrs: Mapping[str, object]) -> None:
    """Stop when `attrs` (a SAD file's :func:`read_attrs`) say the file is one shard of a
    ``crossreg sad --shard`` run: it holds only its share of the VCF's alleles, and a step
    reading it would take the others as never scored."""
    if "shard_count" in attrs:
        index, count = attrs.get("shard_index"), attrs["shard_count"]
        raise ValueError(
            f"{path}: shard {index}/{count} of a crossreg sad --shard run, with only its share "
            "of the VCF's alleles; join the shards with crossreg sad-merge and give the "
            "merged file"
        )


def read_attrs(path: Path) -> dict[str, object]:
    """The metadata of a SAD output: an ``.h5``'s attributes or a ``.tsv``'s JSON."""
    if path.suffix == ".h5":
        with read_h5(path, SAD_REMEDY) as handle:
            return all_attrs(handle, path, SAD_REMEDY)
    meta = metadata_path(path)
    if not meta.exists():
        raise ValueError(f"{path}: no {meta.name} beside it; is it a crossreg sad output?")
    return json.loads(meta.read_text())
