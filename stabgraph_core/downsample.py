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
import threading
import weakref
from collections import OrderedDict, deque

import numpy as np

from .errors import InvalidArgumentError

DEFAULT_MAX_POINTS = 2000
MIN_POINTS = 3
_MINMAX_RATIO = 4
# chosen-index sets remembered per process (a few kB each): every run of a few sources
# at a few zoom levels and point budgets
CACHE_ENTRIES = 512


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


class IdentityLRU:
    """A bounded LRU of results computed from read-only arrays, keyed by the arrays' identity.

    Each entry holds weak references to the arrays it was computed from and is used only
    while they are the very same objects (an id reused by a new array does not match), and
    only arrays nobody can write to are cached, so a remembered result always matches the
    arrays' contents. The cache never keeps an array alive, and an entry goes as soon as
    one of its arrays is freed (a live run makes new arrays every poll: results for the old
    ones must not pile up until the LRU pushes them out). Per process, keyed by identity:
    no state that could differ between callers with the same input. A lock keeps it
    consistent under a threaded server.
    """

    def __init__(self, max_entries: int, max_bytes: int | None = None) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, tuple[tuple[weakref.ref, ...], np.ndarray]] = (
            OrderedDict()
        )
        self._bytes = 0
        self._lock = threading.Lock()
        # keys whose arrays were freed; appended by weakref callbacks (which may run in any
        # thread, even one holding the lock), dropped under the lock by the next get or put
        self._dead: deque[tuple] = deque()

    @staticmethod
    def cacheable(*arrays: np.ndarray) -> bool:
        """Whether results from ``arrays`` may be remembered: ndarrays nobody can write to."""
        return all(isinstance(a, np.ndarray) and not a.flags.writeable for a in arrays)

    def get(self, arrays: tuple[np.ndarray, ...], extra: tuple) -> np.ndarray | None:
        key = (*(id(a) for a in arrays), *extra)
        with self._lock:
            self._drop_dead()
            entry = self._entries.get(key)
            if entry is None or any(r() is not a for r, a in zip(entry[0], arrays, strict=True)):
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, arrays: tuple[np.ndarray, ...], extra: tuple, result: np.ndarray) -> None:
        result.flags.writeable = False  # shared by every later caller
        key = (*(id(a) for a in arrays), *extra)
        dead = self._dead
        refs = tuple(weakref.ref(a, lambda _ref, key=key: dead.append(key)) for a in arrays)
        with self._lock:
            self._drop_dead()
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1].nbytes
            self._entries[key] = (refs, result)
            self._bytes += result.nbytes
            while len(self._entries) > self.max_entries or (
                self.max_bytes is not None
                and self._bytes > self.max_bytes
                and len(self._entries) > 1
            ):
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped.nbytes

    def __len__(self) -> int:
        with self._lock:
            self._drop_dead()
            return len(self._entries)

    def _drop_dead(self) -> None:
        while self._dead:
            key = self._dead.popleft()
            entry = self._entries.get(key)
            # the key may already hold a newer entry for new arrays that reuse the ids
            if entry is not None and any(r() is None for r in entry[0]):
                del self._entries[key]
                self._bytes -= entry[1].nbytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._dead.clear()
            self._bytes = 0


_CHOSEN = IdentityLRU(CACHE_ENTRIES)


def downsample_cached(
    steps: np.ndarray,
    values: np.ndarray,
    n_out: int | None,
    x_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """:func:`downsample`, remembered per (steps, values, n_out, x_range) for read-only arrays.

    Changing an option that does not move the chosen points (log y, smoothing, markers)
    then costs a lookup instead of a pass over every step. Arrays that can still be
    written to are downsampled afresh every time. The returned indices are read-only.
    """
    if not _CHOSEN.cacheable(steps, values):
        return downsample(steps, values, n_out, x_range)
    extra = (n_out, None if x_range is None else tuple(float(v) for v in x_range))
    found = _CHOSEN.get((steps, values), extra)
    if found is None:
        found = downsample(steps, values, n_out, x_range)
        _CHOSEN.put((steps, values), extra, found)
    return found


def clear_cache() -> None:
    """Forget every remembered choice of points (benchmarks and tests)."""
    _CHOSEN.clear()


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


__all__ = ["DEFAULT_MAX_POINTS", "MIN_POINTS", "clear_cache", "downsample", "downsample_cached"]
