"""The trunk of a Basenji params file's ``model`` section (:mod:`crossreg.model.params`):
each block's options checked (the model-wide settings merged in), the conv_tower and
dilated_residual schedules, and the trunk's pooling and crops on the bin grid."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crossreg.model.params_values import (
    check_keys,
    check_weight_settings,
    is_number,
    positive_number,
    require_key,
    whole_number,
)

# options a block may set, per block type; globals below are accepted by every lower-case block
CONV_BLOCK_KEYS = frozenset(
    {"filters", "kernel_size", "dilation_rate", "strides", "dropout", "pool_size", "bn_gamma"}
)
BLOCK_KEYS: dict[str, frozenset[str]] = {
    "conv_block": CONV_BLOCK_KEYS,
    "conv_tower": (CONV_BLOCK_KEYS - {"filters"})
    | {"filters_init", "filters_end", "filters_mult", "divisible_by", "repeat"},
    "dilated_residual": frozenset(
        {"filters", "kernel_size", "rate_mult", "dropout", "repeat", "round", "conv_type"}
    ),
    "Cropping1D": frozenset({"cropping"}),
}
# model-wide settings passed to every lower-case block (a block may override them)
BLOCK_GLOBALS = frozenset(
    {
        "activation",
        "norm_type",
        "batch_norm",
        "bn_momentum",
        "l2_scale",
        "l1_scale",
        "padding",
        "kernel_initializer",
    }
)
# the blocks that build conv → batch norm layers
CONV_BLOCKS = ("conv_block", "conv_tower", "dilated_residual")
ACTIVATIONS = ("gelu", "relu")
NORM_TYPES = ("batch", "batch-sync")
# whole-number block options and the least value each takes (pool_size 0 or 1: no pooling)
BLOCK_WHOLE_NUMBERS = {
    "filters": 1,
    "kernel_size": 1,
    "dilation_rate": 1,
    "repeat": 1,
    "divisible_by": 1,
    "pool_size": 0,
}
# block options that are positive numbers, fractions allowed
BLOCK_POSITIVE_NUMBERS = ("filters_init", "filters_end", "filters_mult", "rate_mult")
# crossreg's max pooling keeps each maximum's offset in its window in a byte
MAX_POOL_SIZE = 255


@dataclass(frozen=True)
class Block:
    """One trunk block: its Basenji name and its own options (globals already merged in)."""

    name: str
    options: dict[str, Any]


def _check_norm(name: str, opts: Mapping[str, Any], where: str, src: str) -> None:
    """Batch norm, named: Basenji builds none where neither ``norm_type`` nor ``batch_norm``
    is given, crossreg's blocks always have it."""
    if "norm_type" not in opts and "batch_norm" not in opts:
        if name in CONV_BLOCKS:
            raise ValueError(
                f"{src}: {where} names no normalization (no norm_type or batch_norm in the "
                "block or the model section); Basenji would build it without batch norm, "
                'which crossreg does not support; add "norm_type": "batch" (or '
                '"batch_norm": true) to the model section if the model has batch norm'
            )
        return
    norm = opts.get("norm_type", "batch" if opts.get("batch_norm") else None)
    if norm not in NORM_TYPES:
        raise ValueError(
            f"{src}: {where} norm_type '{norm}' is not supported; Basenji2 uses batch norm "
            f"({' or '.join(NORM_TYPES)})"
        )


def _check_cropping(cropping: Any, where: str, src: str) -> None:
    """A Cropping1D value: whole bins, not negative, the same at both ends."""
    listed = isinstance(cropping, (list, tuple))
    values = list(cropping) if listed else [cropping]
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(
                f"{src}: {where} cropping {cropping!r} must be a whole number of bins, 0 or more"
            )
    if listed and (len(values) != 2 or values[0] != values[1]):
        # reverse-complement averaging and augmentation flip bins about the window's centre
        raise ValueError(
            f"{src}: {where} cropping {list(values)} is not one number of bins for both "
            "ends; crossreg crops both ends alike (reverse-complement predictions and "
            "augmentation flip bins about the centre, which an uneven crop moves)"
        )


def conv_tower_filters(options: Mapping[str, Any]) -> list[int]:
    """Filters of each conv_tower repeat: a float grows by ``filters_mult`` and each block
    takes it rounded (half to even) to a multiple of ``divisible_by``."""
    repeat = int(options["repeat"])
    current = float(options["filters_init"])
    divisible_by = int(options.get("divisible_by", 1))
    mult = options.get("filters_mult")
    if mult is None:
        end = float(options["filters_end"])
        mult = math.exp(math.log(end / current) / (repeat - 1)) if repeat > 1 else 1.0
    filters = []
    for _ in range(repeat):
        filters.append(int(round(current / divisible_by) * divisible_by))
        current *= float(mult)
    return filters


def residual_dilations(options: Mapping[str, Any]) -> list[int]:
    """Dilation of each dilated_residual repeat: a rate from 1 times ``rate_mult`` per
    repeat, rounded half to even each time when ``round`` is true (1,2,3,4,6,9,14,...)."""
    rate = 1.0
    dilations = []
    for _ in range(int(options.get("repeat", 1))):
        dilations.append(round(rate))
        rate *= float(options.get("rate_mult", 2))
        if options.get("round", False):
            rate = float(round(rate))
    return dilations


def _check_block_numbers(name: str, opts: Mapping[str, Any], where: str, src: str) -> None:
    """Sizes, counts and rates: whole numbers where Keras takes integers, positive, and
    schedules (conv_tower filters, dilated_residual dilations) of at least 1."""
    for key, least in BLOCK_WHOLE_NUMBERS.items():
        if key in opts:
            whole_number(opts[key], f"{where} {key}", src, least)
    for key in BLOCK_POSITIVE_NUMBERS:
        if key in opts:
            positive_number(opts[key], f"{where} {key}", src)
    if opts.get("pool_size", 1) > MAX_POOL_SIZE:
        raise ValueError(
            f"{src}: {where} pool_size {opts['pool_size']} is not supported; crossreg pools "
            f"at most {MAX_POOL_SIZE} positions into one"
        )
    if name == "conv_tower":
        filters = conv_tower_filters(opts)
        if min(filters) < 1:
            raise ValueError(
                f"{src}: {where} filters_init, filters_mult/filters_end and divisible_by give "
                f"the repeats {filters} filters; every conv needs at least 1"
            )
    if name == "dilated_residual":
        dilations = residual_dilations(opts)
        if min(dilations) < 1:
            raise ValueError(
                f"{src}: {where} rate_mult {opts.get('rate_mult')!r} gives the repeats "
                f"dilation rates {dilations}; each must be at least 1"
            )


def check_block_values(name: str, opts: Mapping[str, Any], where: str, src: str) -> None:
    """Refuse a block's (or the model-wide) settings crossreg does not build, and options
    missing or out of range."""
    activation = opts.get("activation", "gelu")
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"{src}: {where} activation '{activation}' is not supported; use "
            f"{' or '.join(ACTIVATIONS)}"
        )
    _check_norm(name, opts, where, src)
    if opts.get("padding", "same") != "same":
        raise ValueError(f"{src}: {where} padding '{opts['padding']}' is not supported; use 'same'")
    check_weight_settings(opts, where, src)
    momentum = opts.get("bn_momentum", 0.99)
    if (
        isinstance(momentum, bool)
        or not isinstance(momentum, (int, float))
        or not 0 <= momentum < 1
    ):
        raise ValueError(f"{src}: {where} bn_momentum must be a number in [0, 1), got {momentum!r}")
    if opts.get("strides", 1) != 1:
        raise ValueError(f"{src}: {where} strides {opts['strides']} is not supported; use 1")
    if opts.get("conv_type", "standard") != "standard":
        raise ValueError(
            f"{src}: {where} conv_type '{opts['conv_type']}' is not supported; use 'standard'"
        )
    if opts.get("bn_gamma") not in (None, "ones", "zeros"):
        raise ValueError(f"{src}: {where} bn_gamma must be 'ones' or 'zeros'")
    dropout = opts.get("dropout", 0.0)
    if not is_number(dropout) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"{src}: {where} dropout must be a number in [0, 1), got {dropout!r}")
    if name == "conv_tower" and "filters_mult" not in opts and "filters_end" not in opts:
        raise ValueError(f"{src}: {where} needs filters_mult or filters_end")
    required = {
        "conv_tower": ("filters_init", "repeat"),
        "dilated_residual": ("filters",),
        "Cropping1D": ("cropping",),
    }.get(name, ())
    for key in required:
        require_key(opts, key, where, src)
    if name == "Cropping1D":
        _check_cropping(opts["cropping"], where, src)
    _check_block_numbers(name, opts, where, src)


def _parse_block(spec: Any, globals_: Mapping[str, Any], index: int, source: str) -> Block:
    """Trunk block `index`, checked, with the model-wide `globals_` it does not set."""
    where = f"model.trunk[{index}]"
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ValueError(f"{source}: {where} must be an object with a 'name'")
    name = spec["name"]
    if name not in BLOCK_KEYS:
        raise ValueError(
            f"{source}: {where} block '{name}' is not supported; crossreg builds "
            f"{', '.join(BLOCK_KEYS)}"
        )
    own = {k: v for k, v in spec.items() if k != "name"}
    where = f"{where} ({name})"
    keras_layer = name[0].isupper()  # Keras layers (Cropping1D) take no model-wide settings
    check_keys(
        own, BLOCK_KEYS[name] if keras_layer else BLOCK_KEYS[name] | BLOCK_GLOBALS, where, source
    )
    options = own if keras_layer else {**globals_, **own}
    check_block_values(name, options, where, source)
    return Block(name=name, options=options)


def parse_trunk(section: Mapping[str, Any], seq_length: int, source: str) -> tuple[Block, ...]:
    """The ``model`` section's trunk, each block checked with the model-wide settings
    merged in, its pooling and crops checked against `seq_length`."""
    trunk_specs = require_key(section, "trunk", "the model section", source)
    if not isinstance(trunk_specs, list) or not trunk_specs:
        raise ValueError(f"{source}: model.trunk must be a non-empty list of blocks")
    globals_ = {k: v for k, v in section.items() if k in BLOCK_GLOBALS}  # in the file's order
    check_block_values("model", globals_, "the model section", source)
    trunk = tuple(_parse_block(b, globals_, i, source) for i, b in enumerate(trunk_specs))
    _check_output_bins(seq_length, trunk, source)
    return trunk


def _pools(block: Block) -> list[int]:
    """The pool size of each pooling a block does, in order (Basenji pools only where
    pool_size > 1)."""
    if block.name not in ("conv_block", "conv_tower"):
        return []
    pool = int(block.options.get("pool_size", 1))
    repeat = int(block.options.get("repeat", 1)) if block.name == "conv_tower" else 1
    return [pool] * repeat if pool > 1 else []


def _crop_of(block: Block) -> int:
    """Positions a Cropping1D block crops at each end (checked even by then)."""
    cropping = block.options["cropping"]
    return int(cropping[0] if isinstance(cropping, (list, tuple)) else cropping)


def _check_output_bins(seq_length: int, trunk: tuple[Block, ...], source: str) -> None:
    """The trunk keeps at least one bin of a `seq_length` window after its crops, every
    pooling window starts on the bin grid (Keras pads the start where a pool does not
    divide its input into windows, shifting every later bin), and every crop is a whole
    number of output bins (the model's bins then lie on the genome's grid)."""
    bins, bin_width = seq_length, 1
    stride = math.prod(pool for block in trunk for pool in _pools(block))
    for i, block in enumerate(trunk):
        where = f"model.trunk[{i}] ({block.name})"
        for pool in _pools(block):
            if -bins % pool >= 2:
                raise ValueError(
                    f"{source}: {where} pools {bins} positions by {pool}, which Keras pads "
                    f"by {-bins % pool // 2} at the start, moving every bin off the "
                    f"{stride}-bp grid; use a seq_length that is a multiple of {stride}"
                )
            bins, bin_width = -(-bins // pool), bin_width * pool
        if block.name != "Cropping1D":
            continue
        crop, cropping = _crop_of(block), block.options["cropping"]
        if bins - 2 * crop < 1:
            raise ValueError(
                f"{source}: {where} cropping {cropping!r} removes every bin: {seq_length} "
                f"bp reach it as {bins} bins, so crop at most {(bins - 1) // 2} at each end"
            )
        if crop * bin_width % stride:
            raise ValueError(
                f"{source}: {where} cropping {cropping!r} crops {crop * bin_width} bp at "
                f"each end ({bin_width}-bp bins there), not a whole number of the model's "
                f"{stride}-bp output bins; crop a multiple of {stride // bin_width}"
            )
        bins -= 2 * crop
