"""App test fixtures: every test starts and ends with no source cached in this process."""

from __future__ import annotations

import pytest

from app import data


@pytest.fixture(autouse=True)
def _fresh_cache():
    data.clear_cache()
    yield
    data.clear_cache()
