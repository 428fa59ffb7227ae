"""SLDP: signed LD profile regression (Reshef et al. 2018), as the reference package
``sldp`` 1.1.5 computes it. :func:`crossreg.stats.sldp.run.write_sldp` is the step."""

from crossreg import _lazy

__getattr__, __dir__ = _lazy.lazy_submodules(__name__, __path__, globals())
