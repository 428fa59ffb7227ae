"""Default settings of evaluate's whole-column statistics (:mod:`crossreg.evaluate.spill`),
in a module of their own so that ``crossreg --help`` can show them without importing numpy."""

MIN_CLASS = 2  # Basenji's paper-era script: a class of one track has no specificity
