"""One module per ``crossreg`` subcommand: ``HELP``, ``add_arguments(parser)``, ``run(args)``."""

from crossreg._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __path__, globals())
