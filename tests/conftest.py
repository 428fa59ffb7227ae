"""Shared test fixtures."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from crossreg.logs import setup_logging
from tests.pipeline import build_tiny_stores

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


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under `root`."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The tiny world's dataset store per genome (seed 1), built once for every module that
    trains on them; the synthetic world is ``stores["human"].parent / "synth"``. Tests only
    read them: the session fails at its end if a file under them was written, added or
    removed."""
    root = tmp_path_factory.mktemp("tiny_pipeline")
    stores = build_tiny_stores(root)
    before = _snapshot(root)
    yield stores
    assert _snapshot(root) == before, f"a test wrote into the shared stores under {root}"
