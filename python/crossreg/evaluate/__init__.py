"""Evaluation: per-track accuracy tables, joint-vs-single comparisons, transfer tests."""
