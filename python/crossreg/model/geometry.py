"""How a model's output lines up with a dataset's targets: cropping and compatibility."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from crossreg.data.store import DataStore
    from crossreg.model.seqnn import SeqNN


def crop_to_targets(pred: torch.Tensor, bins: int) -> torch.Tensor:
    """Centre-crop predictions ``(B, model_bins, T)`` to the targets' ``bins``."""
    extra = pred.shape[1] - bins
    if extra < 0 or extra % 2:
        raise ValueError(
            f"the model predicts {pred.shape[1]} bins but the targets have {bins}; the model's "
            "seq_length and crop must match the dataset's"
        )
    return pred[:, extra // 2 : extra // 2 + bins] if extra else pred


def check_compatible(
    model: SeqNN,
    store: DataStore,
    source: str,
    head: str | None = None,
    *,
    training: bool = False,
    model_fixed: bool = True,
    head_option: str = "--head",
) -> None:
    """Raise ValueError when the model's geometry (:func:`check_geometry`, whose advice
    `model_fixed` chooses) or the size of `head` (default: the store's genome) do not fit
    the store; the message's advice is for `training` the head on the store, or else for
    choosing another head with `head_option` (the head's option as the user gave it)."""
    head = head or store.genome
    check_geometry(model, store, source, model_fixed=model_fixed)
    units = model.num_targets(head)
    if units == store.num_targets:
        return
    if training:
        fix = f"set the head's units to {store.num_targets}"
    else:
        fix = (
            f"the store and the head hold different tracks; pass {head_option} naming a head "
            f"whose tracks are the store's (the model's heads: {', '.join(model.genomes)})"
        )
    raise ValueError(
        f"{source}: head for '{head}' has {units} units but dataset {store.path} has "
        f"{store.num_targets} tracks; {fix}"
    )


def check_geometry(
    model: SeqNN, store: DataStore, source: str, *, model_fixed: bool = True
) -> None:
    """Raise ValueError when the model's input length, bin width or bins do not fit the
    store's windows (any head of the model then predicts the store's target bins).

    With `model_fixed` (a checkpoint used as it is: fine-tuning, evaluating) the message
    says how to rebuild the store with ``crossreg data`` to fit it; without (a model being
    configured for training) it says what to set in the model's params."""
    if model.seq_length != store.seq_length:
        fix = (
            rebuild_advice(model) if model_fixed else f"set model.seq_length to {store.seq_length}"
        )
        raise ValueError(
            f"{source}: the model reads {model.seq_length:,} bp but dataset {store.path} has "
            f"{store.seq_length:,}-bp windows; {fix}"
        )
    if model.stride != store.pool_width:
        fix = (
            rebuild_advice(model)
            if model_fixed
            else f"build the dataset with --pool-width {model.stride} (and the --crop that "
            "leaves the model's bins)"
        )
        raise ValueError(
            f"{source}: the model predicts {model.stride}-bp bins but dataset {store.path} "
            f"has {store.pool_width}-bp target bins; {fix}"
        )
    bins, want = model.output_length(), store.target_length
    if bins < want or (bins - want) % 2:
        fix = (
            rebuild_advice(model)
            if model_fixed
            else "adjust the model's Cropping1D (or the dataset's --crop)"
        )
        raise ValueError(
            f"{source}: the model predicts {bins} bins but dataset {store.path} has {want} "
            f"target bins; {fix}"
        )


def crop_bins(model: SeqNN) -> int | None:
    """The bins per side ``crossreg data --crop`` takes for `model`'s windows to hold its
    output bins, or None when no whole number of bins does."""
    extra = model.seq_length // model.stride - model.output_length()
    if model.seq_length % model.stride or extra < 0 or extra % 2:
        return None
    return extra // 2


def rebuild_advice(model: SeqNN) -> str:
    """How to rebuild a store for a fixed `model`: the ``crossreg data`` options and
    values of its window length, bin width and crop."""
    crop = crop_bins(model)
    options = f"--seq-length {model.seq_length} --pool-width {model.stride}"
    options += "" if crop is None else f" --crop {crop}"
    return (
        f"the model's checkpoint is fixed, so rebuild the dataset with crossreg data {options} "
        "(its other options as before)"
    )
