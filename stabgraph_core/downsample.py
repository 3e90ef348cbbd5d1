"""Spike-preserving downsampling of one series for drawing (MinMaxLTTB, NaN-aware).

The contract, the same for every caller:

- points are chosen by step alone, so runs drawn together stay aligned;
- the first and last point of the (visible) window are always kept;
- the output is deterministic: the same input gives the same indices;
- local minima and maxima survive (MinMaxLTTB pre-selects each bin's extremes before
  LTTB), so a one-step loss spike is never averaged away;
- every run of NaN/Inf values keeps its first index, so the gap it leaves in a line
  (and its marker) is still there after downsampling.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import InvalidArgumentError

DEFAULT_MAX_POINTS = 2000
MIN_POINTS = 3
_MINMAX_RATIO = 4


def downsample(
    steps: np.ndarray,
    values: np.ndarray,
    n_out: int | None,
    x_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Indices of at most about ``n_out`` points of ``values`` worth drawing.

    Args:
        steps: sorted x values (steps or tokens), one per value.
        values: the series (NaN/Inf allowed).
        n_out: target number of points (None = keep every point in the window).
        x_range: (low, high) visible x-range; points outside it are dropped except one
            neighbour on each side so the line runs to the plot's edge. None = all.

    Returns:
        Sorted, unique int64 indices into ``steps``/``values``. A few more than
        ``n_out`` can come back when the window has many separate NaN/Inf gaps.

    Raises:
        InvalidArgumentError: lengths differ, or ``n_out`` is below 3.
    """
    x = np.asarray(steps)
    y = np.asarray(values, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise InvalidArgumentError(f"{x.size} steps but {y.size} values")
    if n_out is not None and n_out < MIN_POINTS:
        raise InvalidArgumentError(f"max points must be at least {MIN_POINTS}, got {n_out}")
    lo, hi = _window(x, x_range)
    if n_out is None or hi - lo <= n_out:
        return np.arange(lo, hi, dtype=np.int64)
    xw, yw = x[lo:hi], y[lo:hi]
    with np.errstate(invalid="ignore", over="ignore"):
        total = float(np.add.reduce(yw))
    if math.isfinite(total):  # no NaN/Inf (most runs): no gather needed
        chosen = _minmax_lttb(xw, yw, max(MIN_POINTS, n_out - 2))
        keep = np.concatenate((chosen, [0, hi - lo - 1]))
        return np.unique(keep).astype(np.int64) + lo
    finite = np.isfinite(yw)
    finite_idx = np.flatnonzero(finite)
    # the first index of every run of non-finite values keeps the gap in the line
    gap_starts = np.flatnonzero(~finite & np.concatenate(([True], finite[:-1])))
    budget = max(MIN_POINTS, n_out - gap_starts.size - 2)
    if finite_idx.size <= budget:
        chosen = finite_idx
    else:
        chosen = finite_idx[_minmax_lttb(xw[finite_idx], yw[finite_idx], budget)]
    keep = np.concatenate((chosen, gap_starts, [0, hi - lo - 1]))
    return np.unique(keep).astype(np.int64) + lo


def _window(x: np.ndarray, x_range: tuple[float, float] | None) -> tuple[int, int]:
    """[lo, hi) of the points inside ``x_range`` plus one neighbour on each side."""
    if x_range is None or x.size == 0:
        return 0, x.size
    low, high = sorted(x_range)
    lo = max(int(np.searchsorted(x, low, side="left")) - 1, 0)
    hi = min(int(np.searchsorted(x, high, side="right")) + 1, x.size)
    return lo, max(hi, lo)


def _minmax_lttb(x: np.ndarray, y: np.ndarray, n_out: int) -> np.ndarray:
    """MinMaxLTTB indices via tsdownsample (imported here: it is only needed for big series)."""
    from tsdownsample import MinMaxLTTBDownsampler

    x_arr = np.ascontiguousarray(x)
    if x_arr.dtype.kind not in "iuf":
        x_arr = x_arr.astype(np.float64)
    return MinMaxLTTBDownsampler().downsample(
        x_arr, np.ascontiguousarray(y), n_out=n_out, minmax_ratio=_MINMAX_RATIO
    )


__all__ = ["DEFAULT_MAX_POINTS", "MIN_POINTS", "downsample"]
