"""Batched inference: the one loop through which every step runs a model.

Prediction, SAD, evaluation, transfer and validation all go through :func:`run_inference`:
items (windows, alleles, store rows) are taken :attr:`InferenceOptions.batch_size` at a
time, a ``load`` function turns each chunk into one-hot input on the CPU (the next chunk
is loaded in a background thread while the model runs on the current one), the model
predicts on its device under the options' reverse-complement/shift ensemble and
precision, and a ``reduce`` function turns each batch of predictions into what the step
keeps (crop and metric update, alt − ref sums, host copies).

bf16 has one rule everywhere: ``bf16=True`` autocasts to bfloat16 on whatever device the
model is on (CUDA, or a CPU, which gains where it has bf16 instructions); ``False``
computes in float32. Only training has a device-dependent default (``None``: CUDA only).
"""

from __future__ import annotations

import contextlib
import functools
import numbers
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ParamSpec, Protocol, TypeGuard, TypeVar

import numpy as np
import numpy.typing as npt
import torch

from crossreg.devices import check_device, device_name
from crossreg.distributed import resolve_device
from crossreg.errors import CommandError, require_kind
from crossreg.io.targets import Target
from crossreg.io.targets_select import select_targets
from crossreg.model.checkpoint import CheckpointConfig, load_checkpoint
from crossreg.model.ensemble import ensemble_predict
from crossreg.model.seqnn import SeqNN
from crossreg.step_defaults import DEFAULT_BATCH_SIZE

C = TypeVar("C", bound="Chunkable")
R = TypeVar("R")
P = ParamSpec("P")


class Chunkable(Protocol):
    """Items that slices cut into chunks of the same kind: a list, a range, an array."""

    def __len__(self) -> int: ...

    def __getitem__(self: C, key: slice, /) -> C: ...


@dataclass(frozen=True)
class InferenceOptions:
    """How a model is run: on which device, with which rc/shift ensemble, in which
    precision, how many sequences (windows, alleles) per batch, with the trunk in which
    memory layout (``channels_last``: ``None`` for the device's default) and whether
    through ``torch.compile`` (``compile``: each new input shape is compiled first, so it
    pays on long runs).

    They are checked as the commands' options are: `device` is ``auto`` or a torch device
    this machine has (``cpu``, ``cuda``, ``cuda:N``, ``mps``, ``xpu``; a ``torch.device``
    is taken too), `shifts` whole numbers of bp (a tuple such as ``(1, 0, -1)``, not a
    string), none given twice, `batch_size` a whole number of at least 1, and `rc`,
    `bf16`, `compile` (and `channels_last` unless ``None``) booleans (a string such as
    ``"false"`` is refused, not taken as true). A shift of an output bin or more is refused
    when the model is known (:func:`predict_batch`)."""

    device: str = "auto"
    rc: bool = False
    shifts: tuple[int, ...] = field(default=(0,))
    bf16: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    channels_last: bool | None = None
    compile: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "device", checked_device(self.device))
        object.__setattr__(self, "shifts", checked_shifts(self.shifts))
        object.__setattr__(self, "batch_size", checked_batch_size(self.batch_size))
        for name in ("rc", "bf16", "compile", "channels_last"):
            value = getattr(self, name)
            if name == "channels_last" and value is None:
                continue
            if not isinstance(value, bool | np.bool_):
                raise TypeError(f"{name} must be True or False, got {value!r}")
            object.__setattr__(self, name, bool(value))

    def trunk_channels_last(self, device: torch.device) -> bool:
        """Whether a :class:`SeqNN`'s trunk runs channels-last on `device`: as
        :attr:`channels_last` says, or when it is ``None`` on CPUs only, where it measured
        1.2–2.4× faster (``benches/README.md``); GPUs keep the plain trunk until it is
        measured there. Either way the predictions agree to float32 rounding."""
        return self.channels_last if self.channels_last is not None else device.type == "cpu"

    def describe(self) -> str:
        """The ensemble, precision and compilation in words, for logs (empty when plain
        float32, eager)."""
        parts = []
        if self.rc or self.shifts != (0,):
            parts.append(f"rc={self.rc}, shifts={list(self.shifts)}")
        if self.bf16:
            parts.append("bf16")
        if self.compile:
            parts.append("compiled")
        return f" ({'; '.join(parts)})" if parts else ""


def require_options(options: object) -> None:
    """Stop when `options` is not an :class:`InferenceOptions`
    (:func:`~crossreg.errors.require_kind`)."""
    require_kind(
        options, InferenceOptions, "options", "InferenceOptions(rc=True, shifts=(1, 0, -1))"
    )


def is_whole_number(value: object) -> TypeGuard[numbers.Integral]:
    """An int or numpy integer, not a bool (nor a float, even 1.0)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def checked_device(device: object) -> str:
    """`device` (a string, or a :class:`torch.device`) as ``auto`` or a torch device this
    machine has, as ``--device`` is checked; otherwise a ValueError naming it."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(
            f"device must be a string such as 'auto', 'cpu' or 'cuda:0', got {device!r}"
        )
    device_name(device)
    check_device(device, "device")
    return device


def checked_shifts(shifts: object) -> tuple[int, ...]:
    """`shifts` as a tuple of ints: whole numbers of bp, at least one, none given twice (it
    would count twice in the average), as ``--shifts`` is checked."""
    if isinstance(shifts, str):
        raise TypeError(
            f"shifts must be whole numbers such as (1, 0, -1), not the string {shifts!r}"
        )
    if not isinstance(shifts, Iterable):
        raise TypeError(
            f"shifts must be a sequence of whole numbers such as (1, 0, -1), got {shifts!r}"
        )
    given = tuple(shifts)
    odd = [shift for shift in given if not is_whole_number(shift)]
    if odd:
        raise TypeError(f"shifts must be whole numbers of bp such as (1, 0, -1), got {odd[0]!r}")
    values = tuple(int(shift) for shift in given)
    if not values:
        raise ValueError("give at least one shift (0 for none)")
    twice = sorted({shift for shift in values if values.count(shift) > 1})
    if twice:
        raise ValueError(
            f"shift {', '.join(map(str, twice))} is given more than once in shifts={values}; "
            "give each shift once"
        )
    return values


def checked_batch_size(batch_size: object) -> int:
    """`batch_size` as an int of at least 1."""
    if not is_whole_number(batch_size):
        raise TypeError(f"batch size must be a whole number of sequences, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    return int(batch_size)


def bf16_wanted(device: torch.device, bf16: bool | None) -> bool:
    """Whether a run asks for bf16 on `device`: `bf16` as given, ``None`` on CUDA only."""
    return bf16 if bf16 is not None else device.type == "cuda"


def autocast_for(device: torch.device, bf16: bool | None) -> contextlib.AbstractContextManager:
    """bf16 autocast: ``True`` on CUDA and CPU, ``False`` never, ``None`` on CUDA only."""
    if bf16_wanted(device, bf16) and device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def tune_cuda(device: torch.device, *, tf32: bool = False) -> None:
    """On CUDA, let cuDNN time its convolution algorithms on each new input shape and keep
    the fastest (windows come in one or two shapes, so the timing is paid once); with
    `tf32` (training), let float32 convolutions and matrix products both use TF32 tensor
    cores. Without it PyTorch's defaults are set (TF32 for cuDNN convolutions, full
    float32 for matrix products), also after a training in the same process. Nothing
    changes on other devices."""
    if device.type != "cuda":
        return
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = True


@contextlib.contextmanager
def cuda_settings_kept() -> Iterator[None]:
    """A block after which the CUDA math settings :func:`tune_cuda` sets (TF32 matrix
    products and convolutions, cuDNN's algorithm search) are as the caller had them."""
    flags = (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
        torch.backends.cudnn.benchmark,
    )
    try:
        yield
    finally:
        (
            torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32,
            torch.backends.cudnn.benchmark,
        ) = flags


def gives_back_cuda_settings(step: Callable[P, R]) -> Callable[P, R]:
    """`step`, a step that runs a model (:func:`load_head` tunes CUDA for it), run in
    :func:`cuda_settings_kept`: a pipeline's own GPU work keeps its settings after it."""

    @functools.wraps(step)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with cuda_settings_kept():
            return step(*args, **kwargs)

    return run


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of the model's parameters."""
    return next(model.parameters()).device


def device_label(device: torch.device) -> str:
    """The kind of device a model ran on, as output files record it: its type (``cpu``),
    with a GPU's name (``cuda: NVIDIA H100 80GB HBM3``)."""
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return device.type


def load_head(
    directory: str | os.PathLike[str], head: str | None, options: InferenceOptions
) -> tuple[SeqNN, CheckpointConfig, str]:
    """Load a checkpoint on the options' device (``auto``: CUDA when available) and choose
    its head: `head`, or the only head when `head` is ``None``. Fails before any work on an
    unknown or ambiguous head, or on shifts of a bin or more."""
    require_options(options)
    where = resolve_device(options.device)
    tune_cuda(where)
    model, config = load_checkpoint(directory, device=where)
    if head is None:
        if len(model.genomes) != 1:
            raise ValueError(
                f"{directory} has heads for {', '.join(model.genomes)}; choose one with "
                "--head (head= in Python)"
            )
        head = model.genomes[0]
    model.head(head)  # an unknown head fails here
    check_shifts(options.shifts, model.stride)
    return model, config, head


def check_shifts(shifts: tuple[int, ...], bin_width: int) -> None:
    """Every shift moves the input by less than one of the model's `bin_width`-bp output
    bins: the average over shifts is then of predictions for the same bins."""
    far = [shift for shift in shifts if abs(shift) >= bin_width]
    if far:
        raise ValueError(
            f"--shifts {','.join(map(str, shifts))}: a shift of {far[0]} bp moves the sequence "
            f"past whole {bin_width}-bp output bins of the model; give shifts between "
            f"{1 - bin_width} and {bin_width - 1} (Basenji's are 1,0,-1)"
        )


def keep_head_tracks(
    model: SeqNN, head: str, targets: Sequence[Target], tracks: str | Sequence[str] | None
) -> list[int]:
    """The indices of the `head` tracks `tracks` names, in the order named
    (:func:`crossreg.io.targets_select.select_targets`; every track when ``None``); the head is
    cut to them (:meth:`SeqNN.keep_tracks`) unless `tracks` is ``None``."""
    chosen = select_targets(targets, tracks)
    if tracks is not None:
        model.keep_tracks(head, chosen)
    return chosen


def provenance(
    model_dir: str | os.PathLike[str],
    head: str,
    config: CheckpointConfig,
    options: InferenceOptions,
) -> dict[str, object]:
    """What an output file records about the predictions it holds: the head, the
    checkpoint, the ensemble, the precision and the GELU form."""
    return {
        "genome": head,
        "model": str(model_dir),
        "rc": options.rc,
        "shifts": list(options.shifts),
        "bf16": options.bf16,
        "gelu_form": config.gelu_form,
    }


@contextlib.contextmanager
def trunk_layout(model: torch.nn.Module, channels_last: bool) -> Iterator[None]:
    """Run a :class:`SeqNN`'s trunk channels-last or not inside the block, as it was
    after (other models, such as test stand-ins, run as they are)."""
    if not isinstance(model, SeqNN):
        yield
        return
    before = model.channels_last
    model.channels_last = channels_last
    try:
        yield
    finally:
        model.channels_last = before


def _eager_forward(model: SeqNN, x: torch.Tensor, head: str | None) -> torch.Tensor:
    return model(x, head)


@functools.cache
def _compiled_forward() -> Callable[[SeqNN, torch.Tensor, str | None], torch.Tensor]:
    """``model(x, head)`` through ``torch.compile``, made on first use. Parameters are
    graph inputs, so models of one architecture share a compilation; a new head name,
    track count, layout or input shape compiles again (a second batch size makes the batch
    dimension dynamic, so a run compiles two or three times). One process holds at most
    ``torch._dynamo.config.recompile_limit`` (8) of them; past it PyTorch warns and runs
    the new ones eagerly."""
    return torch.compile(_eager_forward)


@torch.inference_mode()
def predict_batch(
    model: SeqNN,
    one_hot: npt.NDArray | torch.Tensor,
    head: str | None = None,
    options: InferenceOptions = InferenceOptions(),
) -> torch.Tensor:
    """Predictions ``(B, bins, tracks)`` float32 on the model's device for one-hot
    ``(B, L, 4)`` (uint8 or float), in eval and inference mode, averaged over the options'
    rc/shift ensemble, the trunk laid out as :meth:`InferenceOptions.trunk_channels_last`
    says, compiled if they ask. Integer one-hot travels to the device as is and becomes
    float there. Shifts of an output bin or more are refused (:func:`check_shifts`)."""
    require_options(options)
    check_shifts(options.shifts, model.stride)
    device = model_device(model)
    model.eval()
    x = torch.as_tensor(one_hot).to(device, non_blocking=True).float()
    layout = trunk_layout(model, options.trunk_channels_last(device))
    forward = _compiled_forward() if options.compile else _eager_forward
    try:
        with autocast_for(device, options.bf16), layout:
            out = ensemble_predict(
                lambda s: forward(model, s, head), x, rc=options.rc, shifts=options.shifts
            )
    except torch._dynamo.exc.TorchDynamoException as error:  # only raised when compiling
        raise CommandError(
            f"torch.compile could not compile the model on {device} ({type(error).__name__}: "
            f"{str(error).strip().splitlines()[0]}); run without --compile (compile=False), "
            "or on a CPU install a C++ compiler for it"
        ) from error
    return out.float()


def run_inference(
    model: SeqNN,
    head: str | None,
    items: C,
    options: InferenceOptions,
    *,
    load: Callable[[C], npt.NDArray | torch.Tensor],
    reduce: Callable[[torch.Tensor, C], R],
) -> Iterator[R]:
    """Yield ``reduce(predictions, chunk)`` for each chunk of ``options.batch_size`` items,
    in order.

    ``load(chunk)`` returns the chunk's one-hot ``(b, L, 4)``; it runs one chunk ahead in a
    background thread (Rust fetch and one-hot release the GIL), so reading and encoding
    overlap the model's work; on CUDA the batch is pinned there too, so its copy to the
    device does not hold up the GPU. Shifts of an output bin or more are refused at the
    first batch (:func:`predict_batch`).
    """
    require_options(options)
    chunks = [items[i : i + options.batch_size] for i in range(0, len(items), options.batch_size)]
    if not chunks:
        return
    pinned = model_device(model).type == "cuda"

    def prepare(chunk: C) -> npt.NDArray | torch.Tensor:
        x = load(chunk)  # in page-locked memory for CUDA: the copy to the device is async
        return torch.as_tensor(x).pin_memory() if pinned else x

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future = pool.submit(prepare, chunks[0])
        for k, chunk in enumerate(chunks):
            x = pending.result()
            if k + 1 < len(chunks):
                pending = pool.submit(prepare, chunks[k + 1])
            yield reduce(predict_batch(model, x, head, options), chunk)
