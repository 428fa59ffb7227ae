"""One module per ``crossreg`` subcommand: ``HELP``, ``add_arguments(parser)``, ``run(args)``."""

from crossreg._lazy import submodule_getattr

__getattr__ = submodule_getattr(__name__, __path__)
