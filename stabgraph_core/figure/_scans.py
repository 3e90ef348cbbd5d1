"""Full-series scans of a run (NaN/Inf steps, leaving a capped axis), remembered per series."""

from __future__ import annotations

import math

import numpy as np

from ..downsample import IdentityLRU

# full-series scans remembered per read-only series (small index arrays): NaN/Inf steps per
# run, and where a curve leaves a capped axis
_NONFINITE = IdentityLRU(256)
_ABOVE = IdentityLRU(256)


def clear_cache() -> None:
    """Forget every remembered scan."""
    _NONFINITE.clear()
    _ABOVE.clear()


def _first_and_peak_above(shown: np.ndarray, y_top: float) -> np.ndarray:
    """[first index above ``y_top``, index of the highest finite value] or empty if none."""
    if not np.fmax.reduce(shown, initial=-np.inf) > y_top:  # fmax skips NaN
        return np.empty(0, dtype=np.int64)
    above = np.flatnonzero(shown > y_top)  # NaN compares False
    above = above[np.isfinite(shown[above])]
    if above.size == 0:
        return np.empty(0, dtype=np.int64)
    return np.array([above[0], above[np.argmax(shown[above])]], dtype=np.int64)


def _nonfinite_indices(values: np.ndarray) -> np.ndarray:
    """Indices of the NaN/Inf values, remembered for read-only series (see ``IdentityLRU``)."""
    found = _NONFINITE.get((values,), ())
    if found is None:
        found = _scan_nonfinite(values)
        if _NONFINITE.cacheable(values):
            _NONFINITE.put((values,), (), found)
    return found


def _scan_nonfinite(values: np.ndarray) -> np.ndarray:
    """Indices of the NaN/Inf values; one cheap sum answers for the many runs with none."""
    with np.errstate(invalid="ignore", over="ignore"):
        total = float(np.add.reduce(values))
    if values.size == 0 or math.isfinite(total):
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(~np.isfinite(values))


def _count_between(indices: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """How many of the sorted ``indices`` fall in each inclusive span ``starts[i]..ends[i]``."""
    return np.searchsorted(indices, ends, side="right") - np.searchsorted(indices, starts)
