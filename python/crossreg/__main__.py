"""``python -m crossreg`` runs the command line."""

import sys

from crossreg.cli import main

sys.exit(main())
