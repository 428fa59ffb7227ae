"""What an ISM run records (:mod:`crossreg.variants.ism`): its output's attributes of its
sites and inputs, the settings a resume and a shards' merge compare, and the record a
``--resume`` continues from."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crossreg.genome import Genome
from crossreg.io.identity import content_identity
from crossreg.io.partial import SETTINGS_FILE, left_over
from crossreg.model.inference import InferenceOptions
from crossreg.variants.alleles import format_counts
from crossreg.variants.chunk_store import partial_dir
from crossreg.variants.sad_attrs import read_attrs
from crossreg.variants.sad_settings import FIGURE_TRACKS, run_settings

ISM_INPUTS = "model, FASTA, sites and options"


#: What an earlier crossreg's ISM shards recorded of the tracks the merge draws
#: (:data:`~crossreg.variants.sad_settings.FIGURE_TRACKS`); shards now record ``--targets``
#: as given, which says it (:func:`each_track_drawn`).
FIGURES_EACH = "each --targets track"


FIGURES_STRONGEST = "the strongest (no --targets)"


def site_attrs(
    vcf: str | os.PathLike[str] | None,
    bed: str | os.PathLike[str] | None,
    stats: Sequence[str],
    *,
    width: int,
    chosen: list[int],
    skipped: dict[str, int],
) -> dict[str, object]:
    """The output's attributes beside the model's
    :func:`~crossreg.model.inference.provenance`: the width, statistics, sites' file and
    kept tracks (and, from a VCF, the records skipped off the genome)."""
    source = vcf if vcf is not None else bed
    attrs: dict[str, object] = {
        "width": width,
        "stats": ",".join(stats),
        "sites_from": "vcf" if vcf is not None else "bed",
        "source": str(source),
        "alt_applied": False,
        "n_one_hot": 0.0,
        "tracks": chosen,
    }
    if vcf is not None:
        attrs["skipped_records"] = sum(skipped.values())
        attrs["skipped_chromosomes"] = format_counts(skipped)
    return attrs


def input_attrs(fasta: str | os.PathLike[str], settings: Mapping[str, Any]) -> dict[str, object]:
    """The output's record of its inputs beside the model's and sites' paths (``model``,
    ``source``): the FASTA's path (``fasta``) and what the inputs are wherever they lie,
    ``inputs``, JSON of the model's, FASTA's and sites' file's identities by content (as
    :func:`chunk_settings` records them; the FASTA's without its chromosome sizes, which
    its SHA-256 fixes and which run to thousands for a genome in scaffolds)."""
    kind = "vcf" if "vcf" in settings else "bed"
    identities = {key: settings[key] for key in ("model", "fasta", kind)}
    identities["fasta"] = {k: v for k, v in identities["fasta"].items() if k != "chroms"}
    return {"fasta": str(fasta), "inputs": json.dumps(identities, sort_keys=True)}


def chunk_settings(
    model_dir: str | os.PathLike[str],
    genome: Genome,
    head: str,
    options: InferenceOptions,
    stats: Sequence[str],
    *,
    vcf: str | os.PathLike[str] | None,
    bed: str | os.PathLike[str] | None,
    strict: bool,
    width: int,
    tracks: str | Sequence[str] | None,
    chunk_size: int,
) -> dict[str, object]:
    """What a resume (and a shard's merge) compares: :func:`run_settings` with the sites'
    file named as given (``vcf`` or ``bed``), the width, ``--targets`` as given (``tracks``,
    as SAD records it: a refusal names it so) and the chunk size."""
    kind, source = ("vcf", vcf) if vcf is not None else ("bed", bed)
    assert source is not None
    settings = run_settings(
        model_dir, genome, content_identity(source), head, options, stats, strict
    )
    settings[kind] = settings.pop("vcf")  # --vcf or --bed, named as given
    given = tracks if tracks is None or isinstance(tracks, str) else list(tracks)
    return settings | {"width": width, "tracks": given, "chunk_size": chunk_size}


def each_track_drawn(settings: Mapping[str, Any]) -> bool:
    """Whether the figures of a run whose shards recorded `settings` are drawn for each
    kept track (``--targets`` given) rather than each site's strongest, as the one run
    draws them: an earlier crossreg's shards say it in
    :data:`~crossreg.variants.sad_settings.FIGURE_TRACKS`."""
    if "tracks" in settings:
        return settings["tracks"] is not None
    return settings.get(FIGURE_TRACKS) == FIGURES_EACH


def resumed_record(out: Path) -> Mapping[str, Any] | None:
    """The settings a ``--resume`` of `out` continues from: those its ``OUT.partial/``
    was left by, else those the finished `out` records; None where there are none or
    they cannot be read (the resume then says so, or scores again)."""
    partial = partial_dir(out)
    try:
        if left_over(partial):
            recorded = json.loads((partial / SETTINGS_FILE).read_text())
        elif out.is_file():
            recorded = json.loads(str(read_attrs(out)["settings"]))
        else:
            return None
    except (OSError, KeyError, UnicodeDecodeError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def recorded_form(
    settings: Mapping[str, object], recorded: Mapping[str, Any] | None, chosen: list[int]
) -> dict[str, object]:
    """`settings` in the form of the `recorded` settings a resume continues from: an
    earlier crossreg recorded the kept tracks by their indices in the head (``targets``)
    rather than ``--targets`` as given (``tracks``); a record of that form keeping the
    tracks `chosen`, in their order, is this run's, and the settings are given its form so
    that its chunks or output match. Any other record: `settings` as they are (a record
    of other tracks is refused naming its indices,
    :func:`~crossreg.variants.sad_settings.setting_changes`)."""
    if recorded is None or "tracks" in recorded or recorded.get("targets") != chosen:
        return dict(settings)
    return {k: v for k, v in settings.items() if k != "tracks"} | {"targets": chosen}
