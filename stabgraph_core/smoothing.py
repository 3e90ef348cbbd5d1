"""Debiased exponential moving average, the smoothing TensorBoard's scalar charts apply.

TensorBoard keeps a running ``last = last * w + (1 - w) * value`` over the finite values
only, divides by ``1 - w ** n`` (``n`` = finite values seen so far) so the curve does not
start near zero, leaves NaN/Inf points as they are, and returns a constant series
unchanged. Reproducing it exactly means a curve here looks like the same curve there.
"""

from __future__ import annotations

import math

import numpy as np

from .downsample import IdentityLRU
from .errors import InvalidArgumentError

MAX_WEIGHT = 0.999
# Each block of the vectorised recurrence multiplies by w**-k for k up to the block length;
# blocks are scaled to |x| <= 1 and w**-k stays below e**_EXP_LIMIT, so nothing overflows.
_EXP_LIMIT = 600.0
_NO_SCALE_BELOW = 1e40  # 1e40 * e**600 * block length is still far below float64's max
_DEBIAS_LIMIT = 800.0  # w**n < e**-800 is 0 in float64, so 1 - w**n is exactly 1
_SLAB_VALUES = 65_536  # rows of the block grid finished together: stays in the CPU cache
# smoothed series remembered per process: a few weights of a 10 x 1M-step source
CACHE_BYTES = 256 * 2**20
_SMOOTHED = IdentityLRU(max_entries=64, max_bytes=CACHE_BYTES)


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """The debiased EMA of ``values`` with smoothing ``weight`` (0 = raw, 0.999 = heaviest).

    Non-finite values are passed through and skipped by the average, as TensorBoard does,
    so a NaN in the log stays visible and does not poison everything after it. A handful
    of whole-array NumPy passes (no per-point Python), so a million steps take milliseconds.

    Args:
        values: 1-D float series (NaN/Inf allowed).
        weight: smoothing weight in [0, 0.999].

    Returns:
        A new float64 array of the same length.

    Raises:
        InvalidArgumentError: ``weight`` is outside [0, 0.999].
    """
    if not 0.0 <= weight <= MAX_WEIGHT or math.isnan(weight):
        raise InvalidArgumentError(f"smoothing must be between 0 and {MAX_WEIGHT}, got {weight}")
    y = np.asarray(values, dtype=np.float64)
    if y.size == 0 or weight == 0.0 or np.all(y == y[0]):
        return y.copy()
    with np.errstate(invalid="ignore", over="ignore"):  # Inf + -Inf: NaN, as meant
        total = float(np.add.reduce(y))
    every_finite = math.isfinite(total) or bool(np.isfinite(y).all())
    finite = None if every_finite else np.isfinite(y)
    x = y if finite is None else y[finite]
    if x.size == 0:
        return y.copy()
    ema = _ema(x, weight)
    # debias: divide by 1 - w**n; past the first few hundred values w**n underflows to 0
    head = min(x.size, int(_DEBIAS_LIMIT / -math.log(weight)) + 1)
    count = np.arange(1, head + 1, dtype=np.float64)
    ema[:head] /= -np.expm1(count * math.log(weight))
    if finite is None:
        return ema
    out = y.copy()
    out[finite] = ema
    return out


def smooth_cached(values: np.ndarray, weight: float) -> np.ndarray:
    """:func:`smooth`, remembered per (values, weight) when ``values`` is read-only.

    Redrawing with the same smoothing (log y, zoom, markers) then reuses the curve. The
    result is read-only (it is shared); writable input is smoothed afresh every time.
    """
    if not _SMOOTHED.cacheable(values):
        return smooth(values, weight)
    extra = (float(weight),)
    found = _SMOOTHED.get((values,), extra)
    if found is None:
        found = smooth(values, weight)
        _SMOOTHED.put((values,), extra, found)
    return found


def clear_cache() -> None:
    """Forget every remembered smoothed series (benchmarks and tests)."""
    _SMOOTHED.clear()


def _ema(x: np.ndarray, w: float) -> np.ndarray:
    """``last_k = w * last_{k-1} + (1 - w) * x_k`` with ``last_{-1} = 0``, in blocks.

    Within a block the recurrence is a closed form: ``last_k = w**(k+1) * carry +
    (1 - w) * w**k * cumsum(x_j * w**-j)``. Blocks are short enough that ``w**-j`` stays
    finite and are scaled to ``|x| <= 1``, so nothing overflows; blocks are rows of a 2-D
    array, computed a cache-sized slab of rows at a time, and only the carry from block
    to block (one number per block) is a Python loop.
    """
    n = x.size
    block = max(1, min(n, int(_EXP_LIMIT / -math.log(w))))
    rows = -(-n // block)
    grid = np.zeros(rows * block, dtype=np.float64)
    grid[:n] = x
    grid = grid.reshape(rows, block)
    powers = w ** np.arange(block, dtype=np.float64)  # w**0 .. w**(block-1)
    # |x| * w**-j must stay finite: rows are scaled to |x| <= 1 unless every value is modest
    big = max(abs(float(x.max())), abs(float(x.min()))) > _NO_SCALE_BELOW
    scale = np.abs(grid).max(axis=1) if big else np.ones(rows)
    scale[scale == 0] = 1.0
    weights = (1.0 - w) * powers
    # every step below works row by row, so a slab of rows at a time gives the same sums
    # while the slab stays in the CPU cache
    slab = max(1, _SLAB_VALUES // block)
    for start in range(0, rows, slab):
        part = grid[start : start + slab]
        if big:
            part /= scale[start : start + slab, None]
        part /= powers
        np.cumsum(part, axis=1, out=part)
        part *= weights
        if big:
            part *= scale[start : start + slab, None]
    # carry into block b = last value of block b-1 (its own part plus its carry times w**block)
    ends = grid[:, -1].tolist()
    decay = w * float(powers[-1])
    carries = [0.0] * rows
    for b in range(1, rows):
        carries[b] = ends[b - 1] + carries[b - 1] * decay
    carried = np.asarray(carries)
    step_powers = w * powers
    for start in range(0, rows, slab):
        grid[start : start + slab] += np.outer(carried[start : start + slab], step_powers)
    return grid.reshape(-1)[:n]


def smooth_reference(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's loop, one value at a time: the specification ``smooth`` must match."""
    y = np.asarray(values, dtype=np.float64)
    out = y.copy()
    if y.size == 0 or np.all(y == y[0]):
        return out
    last, count = 0.0, 0
    for i, value in enumerate(y):
        if not math.isfinite(value):
            continue
        last = last * weight + (1.0 - weight) * value
        count += 1
        debias = 1.0 - weight**count if weight != 1.0 else 1.0
        out[i] = last / debias
    return out


__all__ = ["MAX_WEIGHT", "clear_cache", "smooth", "smooth_cached", "smooth_reference"]
