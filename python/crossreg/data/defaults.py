"""Default settings of a dataset build (:func:`crossreg.data.build_dataset`), in a module of
their own so that ``crossreg --help`` can show them without importing numpy."""

# windows (crossreg.data.plan.Layout)
DEFAULT_SEQ_LENGTH = 131_072  # input bp per window
DEFAULT_POOL_WIDTH = 128  # bp per target bin
DEFAULT_CROP_BINS = 64  # target bins cropped from each side of a window
DEFAULT_STRIDE = 65_599  # bp between window starts

# split without a regions BED (crossreg.data.plan.SplitOptions)
DEFAULT_VALID_FRACTION = 0.05
DEFAULT_TEST_FRACTION = 0.05
DEFAULT_SPLIT_BLOCK = 1_048_576  # bp per randomly assigned block
DEFAULT_SEED = 44  # seed of the block assignment

# windows and targets (crossreg.data.build.BuildOptions)
DEFAULT_MIN_N_RUN = 1024  # N runs this long end contigs; 0: never
DEFAULT_MAX_UNMAPPABLE = 0.5  # drop windows with at least this fraction of unmappable bins
DEFAULT_FILL_QUANTILE = 0.25  # masked bins get this quantile of the track's bins
DEFAULT_MEMORY_GB = 8.0  # budget for the native track buffers
