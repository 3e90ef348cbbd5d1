"""Spike-preserving downsampling: first/last kept, spikes and NaN gaps survive, x-range windows."""

from __future__ import annotations

import weakref

import numpy as np
import pytest

from stabgraph_core.downsample import (
    _CHOSEN,
    CACHE_ENTRIES,
    clear_cache,
    downsample,
    downsample_cached,
)
from stabgraph_core.errors import InvalidArgumentError


@pytest.fixture
def noisy_with_one_spike() -> tuple[np.ndarray, np.ndarray]:
    """100k steps of N(1, 0.01) noise with a one-step spike of 50 at step 61_234."""
    rng = np.random.default_rng(0)
    steps = np.arange(100_000, dtype=np.int64)
    values = 1.0 + 0.01 * rng.standard_normal(steps.size)
    values[61_234] = 50.0
    return steps, values


def test_short_series_are_kept_whole():
    steps = np.arange(10)
    assert np.array_equal(downsample(steps, steps * 2.0, 2000), np.arange(10))
    assert np.array_equal(downsample(steps, steps * 2.0, None), np.arange(10))


def test_keeps_first_last_and_the_spike(noisy_with_one_spike):
    steps, values = noisy_with_one_spike
    idx = downsample(steps, values, 2000)
    assert idx[0] == 0 and idx[-1] == steps.size - 1
    assert 61_234 in idx
    assert np.all(np.diff(idx) > 0)
    assert idx.size <= 2000


def test_is_deterministic(noisy_with_one_spike):
    steps, values = noisy_with_one_spike
    assert np.array_equal(downsample(steps, values, 500), downsample(steps, values, 500))


def test_every_nan_run_keeps_its_first_index():
    steps = np.arange(50_000)
    values = np.sin(steps / 100.0)
    values[[1000, 1001, 1002]] = np.nan  # one run of three
    values[30_000] = np.inf
    idx = downsample(steps, values, 1000)
    assert {1000, 30_000} <= set(idx.tolist())
    assert 1001 not in idx  # one index per run is enough to break the line


def test_x_range_spends_the_points_inside_it(noisy_with_one_spike):
    steps, values = noisy_with_one_spike
    whole = downsample(steps, values, 2003, x_range=(60_000, 62_000))
    # the window (2001 points) plus one neighbour on each side
    assert np.array_equal(whole, np.arange(59_999, 62_002))
    narrow = downsample(steps, values, 300, x_range=(62_000, 60_000))
    assert narrow[0] == 59_999 and narrow[-1] == 62_001
    assert 61_234 in narrow and narrow.size <= 300


def test_x_range_outside_the_data_gives_the_edge_point():
    steps = np.arange(100)
    idx = downsample(steps, steps * 1.0, 10, x_range=(500, 600))
    assert idx.tolist() == [99]


def test_bad_arguments():
    with pytest.raises(InvalidArgumentError, match="at least 3"):
        downsample(np.arange(10), np.ones(10), 2)
    with pytest.raises(InvalidArgumentError, match="10 steps but 9 values"):
        downsample(np.arange(10), np.ones(9), 100)


def _read_only(values: np.ndarray) -> np.ndarray:
    out = values.copy()
    out.flags.writeable = False
    return out


def test_cached_choice_is_the_same_and_remembered_for_read_only_series(noisy_with_one_spike):
    clear_cache()
    steps, values = (_read_only(a) for a in noisy_with_one_spike)
    first = downsample_cached(steps, values, 500, (10_000.0, 90_000.0))
    assert np.array_equal(first, downsample(steps, values, 500, (10_000.0, 90_000.0)))
    assert not first.flags.writeable  # shared with later callers
    assert downsample_cached(steps, values, 500, (10_000.0, 90_000.0)) is first
    assert downsample_cached(steps, values, 400, (10_000.0, 90_000.0)) is not first
    # the same contents in another array object are not taken for the cached one
    assert downsample_cached(steps, values.copy(), 500, (10_000.0, 90_000.0)) is not first
    clear_cache()
    assert downsample_cached(steps, values, 500, (10_000.0, 90_000.0)) is not first


def test_writable_series_are_downsampled_afresh(noisy_with_one_spike):
    clear_cache()
    steps, values = (a.copy() for a in noisy_with_one_spike)
    before = downsample_cached(steps, values, 500)
    values[10_000] = 99.0  # a writable series may change: the new spike must be chosen
    after = downsample_cached(steps, values, 500)
    assert 10_000 not in before and 10_000 in after


def test_cache_is_bounded_and_holds_no_array_alive():
    clear_cache()
    steps = _read_only(np.arange(1000))
    alive = [_read_only(np.sin(np.arange(1000) * (i + 1))) for i in range(CACHE_ENTRIES + 10)]
    for values in alive:
        downsample_cached(steps, values, 100)
    assert len(_CHOSEN._entries) == CACHE_ENTRIES
    ref = weakref.ref(alive[-1])
    del alive, values
    assert ref() is None  # the cache keeps no array alive
    # an entry whose array is gone is never matched, even by a new array at the same id
    fresh = _read_only(np.zeros(1000))
    assert np.array_equal(downsample_cached(steps, fresh, 100), downsample(steps, fresh, 100))
    clear_cache()
