"""Debiased exponential moving average, the smoothing TensorBoard's scalar charts apply.

TensorBoard keeps a running ``last = last * w + (1 - w) * value`` over the finite values
only, divides by ``1 - w ** n`` (``n`` = finite values seen so far) so the curve does not
start near zero, leaves NaN/Inf points as they are, and returns a constant series
unchanged. Reproducing it exactly means a curve here looks like the same curve there.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import InvalidArgumentError

MAX_WEIGHT = 0.999
# Each block of the vectorised recurrence multiplies by w**-k for k up to the block length;
# blocks are scaled to |x| <= 1 and w**-k stays below e**_EXP_LIMIT, so nothing overflows.
_EXP_LIMIT = 600.0


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """The debiased EMA of ``values`` with smoothing ``weight`` (0 = raw, 0.999 = heaviest).

    Non-finite values are passed through and skipped by the average, as TensorBoard does,
    so a NaN in the log stays visible and does not poison everything after it.

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
    out = y.copy()
    if y.size == 0 or weight == 0.0 or np.all(y == y[0]):
        return out
    finite = np.isfinite(y)
    x = y[finite]
    if x.size == 0:
        return out
    ema = _ema(x, weight)
    count = np.arange(1, x.size + 1, dtype=np.float64)
    out[finite] = ema / -np.expm1(count * math.log(weight))
    return out


def _ema(x: np.ndarray, w: float) -> np.ndarray:
    """``last_k = w * last_{k-1} + (1 - w) * x_k`` with ``last_{-1} = 0``, in blocks.

    Within a block the recurrence is a closed form: ``last_k = w**(k+1) * carry +
    (1 - w) * w**k * cumsum(x_j * w**-j)``; blocks are short enough that ``w**-j`` stays
    finite, so only one Python iteration per block is needed.
    """
    n = x.size
    block = max(1, min(n, int(_EXP_LIMIT / -math.log(w))))
    powers = w ** np.arange(block, dtype=np.float64)  # w**0 .. w**(block-1)
    inverse = 1.0 / powers
    out = np.empty(n, dtype=np.float64)
    carry = 0.0
    for start in range(0, n, block):
        chunk = x[start : start + block]
        k = chunk.size
        scale = float(np.max(np.abs(chunk))) or 1.0
        acc = np.cumsum((chunk / scale) * inverse[:k])
        part = (1.0 - w) * scale * (powers[:k] * acc) + carry * w * powers[:k]
        out[start : start + k] = part
        carry = part[-1]
    return out


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


__all__ = ["MAX_WEIGHT", "smooth", "smooth_reference"]
