"""One module per ``crossreg`` subcommand: ``HELP``, ``add_arguments(parser)``, ``run(args)``."""

from crossreg import _lazy

__getattr__, __dir__ = _lazy.lazy_submodules(__name__, __path__, globals())
