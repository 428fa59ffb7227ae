"""The checks of an ISM request (:func:`crossreg.variants.ism.write_ism`) made before its
model loads."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from crossreg.shard import Shard
from crossreg.synth.motifs import Motif
from crossreg.variants.chunk_store import refuse_partial
from crossreg.variants.ism_score import check_ism_stats
from crossreg.variants.ism_settings import ISM_INPUTS
from crossreg.variants.sad_shards import refuse_shard_under_torchrun


def checked_request(
    out: Path,
    vcf: str | os.PathLike[str] | None,
    bed: str | os.PathLike[str] | None,
    stats: Sequence[str],
    *,
    strict: bool,
    chunk_size: int,
    shard: Shard | str | None,
    figures: str | os.PathLike[str] | None,
    svg: bool,
    resume: bool,
    motifs: Sequence[Motif],
) -> Shard | None:
    """Stop on a request :func:`~crossreg.variants.ism.write_ism` cannot run, before the
    model loads: an output not ``.h5``, sites from neither or both of a VCF and a BED,
    ``--strict`` with a BED, bad statistics, a chunk under 1 site, a shard asked for
    figures or under torchrun, a left-over partial run without `resume`; the shard
    parsed."""
    if out.suffix != ".h5":
        raise ValueError(f"{out}: the output must end in .h5")
    if (vcf is None) == (bed is None):
        raise ValueError("give either a VCF or a BED file of sites")
    if strict and vcf is None:
        raise ValueError(
            "--strict: only with --vcf (a BED region on a chromosome the FASTA lacks always "
            "stops the run)"
        )
    check_ism_stats(stats)
    if chunk_size < 1:
        raise ValueError(f"the chunk size must be at least 1 site, got {chunk_size}")
    if isinstance(shard, str):
        shard = Shard.parse(shard)
    if shard is not None and (figures is not None or svg or motifs):
        raise ValueError(
            f"--shard {shard}: a shard draws no figures (the merge draws them, named by "
            "each site's row in the merged file); give --figures, --svg and --motifs to "
            "crossreg ism-merge"
        )
    refuse_shard_under_torchrun(shard)
    if not resume:
        refuse_partial(out, ISM_INPUTS)
    return shard
