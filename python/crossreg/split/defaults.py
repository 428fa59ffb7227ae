"""Default settings of the synteny split (:mod:`crossreg.split.synteny`), in a module of their own
so that ``crossreg --help`` can show them without importing numpy."""

DEFAULT_REGION_SIZE = 1_000_000  # bp per region (the last region of a chromosome is shorter)
DEFAULT_MIN_ALIGNED = 100_000  # regions are joined above this many aligned bases
DEFAULT_VALID = 0.12  # fraction of each genome
DEFAULT_TEST = 0.12  # fraction of each genome
DEFAULT_SEED = 44
