"""Training: loss, metrics, optimiser, multi-genome batch schedule, early stopping, trainer."""
