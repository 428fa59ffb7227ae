"""Open an HTML file in headless Chromium: the DOM after load, and a screenshot."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = next(
    (found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (.ci/run installs it)"
)
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000"]


def chromium() -> str:
    """The Chromium executable (the callers are tests marked ``needs_chromium``)."""
    assert CHROMIUM is not None, "headless Chromium not installed"
    return CHROMIUM


def loaded_dom(page: Path) -> str:
    """The page's DOM once loaded and its scripts ran."""
    done = subprocess.run(
        [chromium(), *FLAGS, "--dump-dom", page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def figures_loaded(page: Path) -> tuple[int, int]:
    """(loaded, total) figures of a crossreg report, as its script counts them."""
    found = re.search(r'data-figures="(\d+)/(\d+)"', loaded_dom(page))
    assert found, "the report's script did not run"
    return int(found[1]), int(found[2])


def screenshot(page: Path, image: Path, size: str = "1400,2400") -> bytes:
    """A PNG screenshot of the page at `size` (width,height)."""
    subprocess.run(
        [
            chromium(),
            *FLAGS,
            f"--screenshot={image}",
            f"--window-size={size}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    return image.read_bytes()
