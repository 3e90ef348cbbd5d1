"""TensorBoard's debiased EMA: the vectorised version against the one-at-a-time loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stabgraph_core.errors import InvalidArgumentError
from stabgraph_core.smoothing import clear_cache, smooth, smooth_cached, smooth_reference


@pytest.mark.parametrize("weight", [0.0, 0.01, 0.3, 0.6, 0.9, 0.99, 0.999])
def test_matches_the_loop_on_noisy_series_with_nan_and_inf(weight):
    rng = np.random.default_rng(7)
    y = rng.normal(3.0, 1.0, 5000) * np.exp(rng.uniform(0, 4, 5000))
    y[rng.choice(5000, 60, replace=False)] = np.nan
    y[[10, 11, 4000]] = [np.inf, -np.inf, np.inf]
    got, want = smooth(y, weight), smooth_reference(y, weight)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(np.isinf(got), np.isinf(want))
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-11, atol=1e-12)


def test_first_values_follow_the_debiased_formula():
    w = 0.6
    out = smooth(np.array([2.0, 5.0, 1.0]), w)
    assert out[0] == pytest.approx(2.0)  # debiasing: the first value is itself
    second = (w * (1 - w) * 2.0 + (1 - w) * 5.0) / (1 - w**2)
    assert out[1] == pytest.approx(second)


def test_nan_passes_through_and_is_skipped_by_the_average():
    w = 0.5
    out = smooth(np.array([1.0, np.nan, 3.0]), w)
    assert math.isnan(out[1])
    assert out[2] == pytest.approx(smooth(np.array([1.0, 3.0]), w)[1])


def test_constant_and_unsmoothed_series_come_back_unchanged():
    flat = np.full(10, 4.25)
    assert np.array_equal(smooth(flat, 0.9), flat)
    y = np.array([3.0, 1.0, np.nan, 2.0])
    out = smooth(y, 0.0)
    assert np.array_equal(out, y, equal_nan=True)
    assert out is not y


def test_huge_values_do_not_overflow():
    y = np.array([1.0, 1e300, 2.0, 1e-300] * 500)
    out = smooth(y, 0.999)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, smooth_reference(y, 0.999), rtol=1e-10)


def test_all_nan_and_empty_series():
    assert smooth(np.array([]), 0.5).size == 0
    assert np.isnan(smooth(np.array([np.nan, np.nan]), 0.5)).all()


@pytest.mark.parametrize("weight", [-0.1, 1.0, 1.5, float("nan")])
def test_weight_out_of_range_is_rejected(weight):
    with pytest.raises(InvalidArgumentError, match="smoothing"):
        smooth(np.ones(3), weight)


def test_cached_smoothing_is_the_same_read_only_and_keyed_by_weight():
    clear_cache()
    values = np.random.default_rng(3).normal(2.0, 0.5, 50_000)
    values[100] = np.nan
    values.flags.writeable = False
    first = smooth_cached(values, 0.6)
    assert np.array_equal(first, smooth(values, 0.6), equal_nan=True)
    assert not first.flags.writeable
    assert smooth_cached(values, 0.6) is first
    other = smooth_cached(values, 0.9)
    assert other is not first and np.array_equal(other, smooth(values, 0.9), equal_nan=True)
    clear_cache()


def test_writable_series_are_smoothed_afresh():
    clear_cache()
    values = np.linspace(1.0, 2.0, 1000)
    before = smooth_cached(values, 0.5)
    values[-1] = 100.0
    after = smooth_cached(values, 0.5)
    assert after[-1] > before[-1] + 40  # the change is seen, not a remembered curve
