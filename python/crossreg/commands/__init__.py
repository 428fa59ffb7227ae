"""One module per ``crossreg`` subcommand: ``HELP``, ``add_arguments(parser)``, ``run(args)``."""
