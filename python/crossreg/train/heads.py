"""Which head of a params file each dataset genome trains (no torch: the command line
checks it before the model is built)."""

from __future__ import annotations

from collections.abc import Sequence

from crossreg.model.params import Params


def dataset_heads(
    params: Params,
    genomes: Sequence[str],
    explicit: dict[str, str] | None = None,
    sources: Sequence[str] | None = None,
) -> dict[str, str]:
    """:func:`head_map` of the datasets' `genomes`, which must all differ (`sources`, the
    datasets' paths in the same order, name the two of one genome)."""
    names = list(sources) if sources is not None else [f"#{i + 1}" for i in range(len(genomes))]
    first: dict[str, str] = {}
    for genome, name in zip(genomes, names, strict=True):
        if genome in first:
            raise ValueError(
                f"datasets {first[genome]} and {name} are both of genome {genome}: a run "
                "trains one head per genome on its store; give each genome's store once"
            )
        first[genome] = name
    return head_map(params, genomes, explicit)


def head_map(
    params: Params, genomes: Sequence[str], explicit: dict[str, str] | None = None
) -> dict[str, str]:
    """Genome name → params head key: the head of the genome's name (``head_human`` for
    ``human``), or the head `explicit` pairs the genome with, given by its key
    (``head_mouse``) or its genome name (``mouse``). Every genome needs a head, and a head
    serves one genome; ValueError naming the genomes and the params' heads otherwise."""
    heads = params.model.heads
    defined = ", ".join(h.key for h in heads)
    by_name = {h.genome: h.key for h in heads}
    keys = {h.key for h in heads}
    explicit = dict(explicit or {})
    for genome, head in explicit.items():
        if genome not in genomes:
            raise ValueError(
                f"--head {genome}={head}: no dataset is of genome '{genome}' (the datasets "
                f"are of {', '.join(genomes)})"
            )
        if head not in keys and head not in by_name:
            raise ValueError(
                f"{params.source}: --head {genome}={head}: the params define no head "
                f"'{head}'; their heads are {defined}"
            )
    missing = [g for g in genomes if g not in explicit and g not in by_name]
    if missing:
        raise ValueError(
            f"{params.source}: no head for genome(s) {', '.join(missing)} of the dataset(s); "
            f"the params define {defined}: add a 'head_<genome>' entry per dataset genome, "
            f"or pass --head {missing[0]}={heads[0].key} to train that head on the "
            f"'{missing[0]}' dataset"
        )
    mapping: dict[str, str] = {}
    for genome in genomes:
        head = explicit.get(genome, genome)
        mapping[genome] = head if head in keys else by_name[head]
    served: dict[str, list[str]] = {}
    for genome, key in mapping.items():
        served.setdefault(key, []).append(genome)
    for key, users in served.items():
        if len(users) > 1:
            raise ValueError(
                f"{params.source}: head {key} would serve genomes {' and '.join(users)}; a "
                "head serves one genome: give each dataset its own head (--head GENOME=HEAD)"
            )
    return mapping
