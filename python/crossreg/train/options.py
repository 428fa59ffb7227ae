"""The options of a training run (:class:`TrainOptions`), filled from the params file's
``train`` section where a field is left ``None``, and the run's batch size with the check
that every store holds a whole batch of it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from crossreg.errors import require_kind
from crossreg.train.augmentation import augment_shift, names_augmentation


@dataclass
class TrainOptions:
    """How to train; ``None`` fields come from the params file's ``train`` section."""

    max_epochs: int | None = None
    patience: int | None = None
    min_epochs: int | None = None
    batch_size: int | None = None
    clip_norm: float | None = None
    clip_mode: str = "per_tensor"
    augment_rc: bool | None = None
    augment_shift: int | None = None
    steps_per_epoch: int | None = None
    finetune_epochs: int = 0
    gelu_form: str = "tanh"
    seed: int = 0
    device: str = "auto"
    bf16: bool | None = None  # None: on CUDA only
    compile: bool = False
    #: run the trunk channels-last while training (:attr:`SeqNN.channels_last`)
    channels_last: bool = False
    num_workers: int = 0
    #: batches read ahead on threads without worker processes (None: the loader's)
    read_ahead: int | None = None
    #: genome -> head (params key ``head_mouse`` or its genome ``mouse``) for a dataset
    #: whose genome has no head of its own name (``crossreg train --head GENOME=HEAD``)
    heads: dict[str, str] = field(default_factory=dict)
    #: in a store of folds, the fold validated on and the one held out (training takes
    #: the others; :func:`crossreg.train.folds.training_splits`)
    valid_fold: str | None = None
    test_fold: str | None = None

    def check(self) -> None:
        """Stop on a count that cannot be meant: epochs, batch size and steps below 1,
        patience, shift, clipping norm, fine-tuning epochs or loader processes below 0 (or
        not finite: a NaN clipping norm would train NaN weights), and more epochs at the
        least than at the most; and a `device` that is not ``auto`` or a torch device this
        machine has (as ``--device`` is checked)."""
        from crossreg.model.inference import checked_device

        checked_device(self.device)
        for name in ("max_epochs", "min_epochs", "batch_size", "steps_per_epoch"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        for name in (
            "patience",
            "augment_shift",
            "clip_norm",
            "finetune_epochs",
            "num_workers",
            "read_ahead",
        ):
            value = getattr(self, name)
            if value is not None and not 0 <= value < math.inf:
                raise ValueError(f"{name} must be a finite number, 0 or more, got {value}")
        if self.num_workers and self.read_ahead is not None:
            raise ValueError(
                "--read-ahead (read_ahead) is for the loader without worker processes; with "
                f"--workers {self.num_workers} (num_workers) each process reads its own "
                "batches: drop one of the two"
            )
        least, most = self.min_epochs, self.max_epochs
        if least is not None and most is not None and least > most:
            raise ValueError(f"min_epochs ({least}) is above max_epochs ({most})")

    def resolved(self, train: dict[str, Any], model_params: Any) -> TrainOptions:
        """These options with every ``None`` filled from the params; where they lack a key,
        the paper's params file's batch size and patience and Basenji's trainer's epoch
        limits."""
        clip = train.get("clip_norm", train.get("clipnorm"))
        says = names_augmentation(model_params)
        return TrainOptions(
            **{
                **asdict(self),
                "max_epochs": _given(self.max_epochs, int(train.get("train_epochs_max", 10_000))),
                "patience": _given(self.patience, int(train.get("patience", 16))),
                "min_epochs": _given(self.min_epochs, int(train.get("train_epochs_min", 1))),
                "batch_size": batch_size(self.batch_size, train),
                "clip_norm": self.clip_norm if self.clip_norm is not None else clip,
                # The paper trains with reverse complements and ±3 bp shifts; its params
                # files do not say so, hence these defaults when the params are silent
                # (params that name either key, even to turn it off, are followed).
                "augment_rc": self.augment_rc
                if self.augment_rc is not None
                else (bool(model_params.augment_rc) if says else True),
                "augment_shift": augment_shift(self.augment_shift, model_params)[0],
            }
        )


def batch_size(given: int | None, train: dict[str, Any]) -> int:
    """The batch size of a run: `given` (``--batch-size``), else the params' ``train``
    section's, else the paper's 4."""
    return int(_given(given, int(train.get("batch_size", 4))))


def check_batch_size(batch_size: int, windows: Mapping[str, int]) -> None:
    """Stop unless every store (its path -> the windows the run trains on in it) holds one
    whole batch of `batch_size`: batches are whole, so a smaller store would train no step.
    The message names the store with the fewest windows, so that the batch size it advises
    fits every store at once."""
    source, fewest = min(windows.items(), key=lambda item: item[1])
    if fewest < batch_size:
        among = f" (the fewest of the {len(windows)} stores)" if len(windows) > 1 else ""
        raise ValueError(
            f"dataset {source} has {fewest} train windows{among}, fewer than one batch of "
            f"{batch_size} (batches are whole); lower --batch-size to {fewest} or less"
        )


def _given(value: Any, default: Any) -> Any:
    """`value` when set (0 included: a count of 0 is refused, not replaced), else `default`."""
    return default if value is None else value


def require_train_options(options: object) -> None:
    """Stop when `options` is neither None nor a :class:`TrainOptions`
    (:func:`~crossreg.errors.require_kind`)."""
    if options is not None:
        require_kind(options, TrainOptions, "options", "TrainOptions(max_epochs=10)")
