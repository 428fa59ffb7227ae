"""How much each resumable step scores and keeps on disk at a time (its ``--chunk-size``),
in a module of their own so that ``crossreg --help`` can show them without importing numpy."""

DEFAULT_CHUNK_WINDOWS = 32  # predict --bigwig: windows (crossreg.predict.bigwig)
DEFAULT_CHUNK_SITES = 16  # ism: sites (crossreg.variants.ism)
DEFAULT_CHUNK_ALLELES = 50_000  # sad: alleles (crossreg.variants.sad)
