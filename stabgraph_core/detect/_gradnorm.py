"""Gradient-norm spikes, and the clause a divergence's reason gains when one came before it.

The rule (parameters in :class:`~stabgraph_core.detect.DetectorConfig`) is in the package
docstring. The work is vectorised NumPy: a cheap lower bound of every point's running
median (a low order statistic of the two blocks its window lies in) leaves a few
candidates, and only those get the exact median and MAD of their window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._types import GradNormSpike

if TYPE_CHECKING:
    from ._types import DetectorConfig

_MAD_TO_SIGMA = 1.4826  # MAD of a normal sample x 1.4826 = its standard deviation
_MIN_PRIOR = 8  # earlier values needed before a point is judged
_BATCH = 16_384  # candidates whose windows are gathered at once
_GAP = 3  # spike points at most this many logged values apart are one spike


def find_spikes(
    steps: np.ndarray, norm: np.ndarray, config: DetectorConfig
) -> tuple[GradNormSpike, ...]:
    """The gradient-norm spikes of one run.

    Args:
        steps: the run's sorted steps.
        norm: its gradient norm on those steps (NaN where a step did not log one).
        config: the detector's parameters (``grad_ratio``, ``grad_sigmas``, ``grad_window``).

    Returns:
        One :class:`GradNormSpike` per stretch of spiking points, in step order.
    """
    norm = np.asarray(norm, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(norm) & (norm > 0)
    at = np.flatnonzero(valid) if not valid.all() else None
    g = norm[at] if at is not None else norm
    n, w = g.size, config.grad_window
    if n <= _MIN_PRIOR:
        return ()
    # The w values before a point lie in its w-block and the one before; the median of the
    # w is at least their ((w - 1) // 2)-th smallest, which is at least that of the 2w.
    blocks = -(-n // w)
    padded = np.full((blocks + 1) * w, np.inf)
    padded[w : w + n] = g  # an empty block before the first
    rows = padded.reshape(blocks + 1, w)
    pairs = np.concatenate((rows[:-1], rows[1:]), axis=1)
    k = (w - 1) // 2
    low = np.partition(pairs, k, axis=1)[:, k]
    bound = np.repeat(low, w)[:n]
    bound *= config.grad_ratio
    candidates = np.flatnonzero(g > bound)
    candidates = candidates[candidates >= _MIN_PRIOR]
    if candidates.size == 0:
        return ()
    flagged, ratios = _judge(g, candidates, config)
    if flagged.size == 0:
        return ()
    breaks = np.flatnonzero(np.diff(flagged) > _GAP)
    first = np.concatenate(([0], breaks + 1))  # each spike's first flagged point
    last = np.concatenate((breaks, [flagged.size - 1]))
    group = np.repeat(np.arange(first.size), np.diff(np.append(first, flagged.size)))
    best = np.maximum.reduceat(ratios, first)
    _, top = np.unique(group[ratios == best[group]], return_index=True)
    peaks = flagged[np.flatnonzero(ratios == best[group])[top]]
    where = (flagged[first], peaks, flagged[last])
    if at is not None:
        where = tuple(at[i] for i in where)
    start, peak, end = (steps[i].tolist() for i in where)
    return tuple(map(GradNormSpike, start, peak, end, best.tolist()))


def _judge(
    g: np.ndarray, candidates: np.ndarray, config: DetectorConfig
) -> tuple[np.ndarray, np.ndarray]:
    """The candidates that spike, and each one's multiple of its running median."""
    w = config.grad_window
    kept, ratios = [], []
    early = candidates[candidates < w]
    for i in early.tolist():  # fewer than a window before them: at most w points
        med, sigma = _median_and_sigma(g[None, :i])
        ok = _spikes(g[i : i + 1], med, sigma, config)
        if ok[0]:
            kept.append(np.array([i]))
            ratios.append(g[i : i + 1] / med)
    late = candidates[candidates >= w]
    offsets = np.arange(-w, 0)
    for a in range(0, late.size, _BATCH):
        chosen = late[a : a + _BATCH]
        med, sigma = _median_and_sigma(g[chosen[:, None] + offsets])
        ok = _spikes(g[chosen], med, sigma, config)
        kept.append(chosen[ok])
        ratios.append(g[chosen[ok]] / med[ok])
    if not kept:
        return np.empty(0, dtype=np.int64), np.empty(0)
    return np.concatenate(kept), np.concatenate(ratios)


def _median_and_sigma(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust noise width (1.4826 x MAD) of each row."""
    med = np.median(windows, axis=1)
    sigma = _MAD_TO_SIGMA * np.median(np.abs(windows - med[:, None]), axis=1)
    return med, sigma


def _spikes(
    values: np.ndarray, med: np.ndarray, sigma: np.ndarray, config: DetectorConfig
) -> np.ndarray:
    return (values > config.grad_ratio * med) & (values - med > config.grad_sigmas * sigma)


def lead_clause(
    steps: np.ndarray, onset: int, spikes: tuple[GradNormSpike, ...], config: DetectorConfig
) -> str:
    """``; the gradient norm spiked at step 290 (12.1x its running median), 10 steps before``.

    The last spike that started within ``grad_lead`` logged points before the divergence
    onset (or at it); empty when none did.
    """
    end = int(np.searchsorted(steps, onset))
    first = int(steps[max(0, end - config.grad_lead)]) if steps.size else onset
    before = [s for s in spikes if first <= s.start <= onset]
    if not before:
        return ""
    spike = before[-1]
    gap = onset - spike.start
    when = "at the onset" if gap == 0 else f"{gap} step{'s' if gap != 1 else ''} before"
    return (
        f"; the gradient norm spiked at step {spike.start} "
        f"({spike.ratio:.1f}x its running median), {when}"
    )
