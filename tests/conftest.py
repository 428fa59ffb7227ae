"""Shared test fixtures."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from crossreg.logs import setup_logging

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    """The folder of small real data files shipped with the tests."""
    return DATA


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator, fresh for each test."""
    return np.random.default_rng(20201)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Records of the ``crossreg`` logger (which does not propagate once configured)."""
    setup_logging()
    logger = logging.getLogger("crossreg")
    logger.propagate = True
    yield caplog
    logger.propagate = False
