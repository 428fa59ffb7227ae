"""Statistics on variant scores: case/control de novo tests."""
