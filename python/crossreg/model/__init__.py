"""The Basenji2 model in PyTorch: params, blocks, SeqNN, ensemble, Keras import, checkpoints.

- :mod:`crossreg.model.params`: Basenji params JSON (``load_params``)
- :mod:`crossreg.model.seqnn`: ``SeqNN`` (one trunk, one head per genome), ``count_parameters``
- :mod:`crossreg.model.ensemble`: reverse-complement / shift ensemble on tensors
- :mod:`crossreg.model.keras_h5`: read Keras ``.h5`` weight files (``read_keras_file``)
- :mod:`crossreg.model.keras_import`: Basenji weights into a SeqNN (``import_basenji``)
- :mod:`crossreg.model.checkpoint`: ``save_checkpoint`` / ``load_checkpoint``
"""

from crossreg import _lazy

__getattr__, __dir__ = _lazy.lazy_submodules(__name__, __path__, globals())
