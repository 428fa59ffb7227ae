"""Default settings of evaluate's whole-column statistics (:mod:`crossreg.evaluate.spill`)
and of transfer's sites (:mod:`crossreg.evaluate.transfer_sites`), in a module of their own
so that ``crossreg --help`` can show them without importing numpy."""

MIN_CLASS = 2  # Basenji's paper-era script: a class of one track has no specificity
VARIABLE_FRACTION = 0.1  # transfer: share of held-out bins taken as most variable (DNase)
