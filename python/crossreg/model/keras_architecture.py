"""The architecture a Basenji Keras file's ``model_config`` records (input length, trunk
activation, pooling, cropping), compared with what the params build."""

from __future__ import annotations

from crossreg.model.blocks import ConvBlock, Crop
from crossreg.model.keras_h5 import KerasFile
from crossreg.model.params import ModelParams
from crossreg.model.seqnn import SeqNN


def trunk_activations(params: ModelParams) -> frozenset[str]:
    """The trunk activation kinds the params build (``gelu``, ``relu``)."""
    blocks = {b.options.get("activation", "gelu") for b in params.trunk if not b.name[0].isupper()}
    return frozenset(blocks | {params.activation})


def _built(model: SeqNN) -> dict[str, object]:
    """What the params build, in the terms of :class:`KerasArchitecture`."""
    convs = [m for m in model.trunk.modules() if isinstance(m, ConvBlock)]
    return {
        "seq_length": model.seq_length,
        "activations": trunk_activations(model.params),
        "pool_sizes": tuple(m.pool_size for m in convs if m.pool_size > 1),
        "croppings": tuple((m.left, m.right) for m in model.trunk.modules() if isinstance(m, Crop)),
    }


# per architecture field: what it is, and the params settings that decide it
_ARCHITECTURE_FIELDS = {
    "seq_length": ("input length (bp)", "model.seq_length"),
    "activations": ("trunk activation", "model.activation and the blocks' activation"),
    "pool_sizes": ("MaxPooling1D pool sizes", "the conv_block and conv_tower pool_size"),
    "croppings": ("Cropping1D (start, end) bins", "the Cropping1D cropping"),
}


def check_architecture(model: SeqNN, keras: KerasFile, params_source: str) -> None:
    """Refuse params that build another architecture than the file's ``model_config``
    records (input length, trunk activation, pooling, cropping): weights of the same shapes
    would load, and predict other numbers than Basenji's. Files without one pass, and an
    input length or activation the file does not record is not compared."""
    recorded = keras.architecture
    if recorded is None:
        return
    for name, built in _built(model).items():
        found = getattr(recorded, name)
        if found is None or found == frozenset():  # not recorded (no input, no activation)
            continue
        if found != built:
            what, settings = _ARCHITECTURE_FIELDS[name]
            raise ValueError(
                f"{keras.path}: its model_config records {what} {_show(found)} but the params "
                f"{params_source} build {_show(built)}; these are not the params the weights "
                f"were trained with (check {settings})"
            )


def _show(value: object) -> str:
    """An architecture value as the error messages write it."""
    if isinstance(value, frozenset):
        return " and ".join(sorted(value)) or "none"
    if isinstance(value, tuple):
        return str(list(value))
    return str(value)
