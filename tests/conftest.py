"""Shared fixtures: where the read-only real logs live, and skipping when they are absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sweep_data import write_sweep

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STABGRAPH_SHARED", ROOT.parent / "shared"))
REAL = SHARED / "data" / "real"
TEST_DATA = ROOT / "tests" / "data"


@pytest.fixture
def real_data() -> Path:
    """``../shared/data/real`` (read in place, never copied); skips when it is absent."""
    if not REAL.is_dir():
        pytest.skip(f"real logs not found at {REAL} (set STABGRAPH_SHARED)")
    return REAL


@pytest.fixture
def reference_dir() -> Path:
    """The folder holding the reference script's summary (a copy kept in ``tests/data``,
    whose README names its source)."""
    return TEST_DATA


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    """A fresh sweep folder (see :func:`write_sweep`) under ``tmp_path``."""
    return write_sweep(tmp_path)
