"""The detector's machinery: levels, noise, excursions, onsets, non-finite stretches, reasons.

:mod:`stabgraph_core.detect` is the public face (configuration, result types, the rules in
words); this module does the work. Everything here is vectorised NumPy, done in cache-sized
chunks; Python loops run over chunks, excursions and non-finite stretches, never over points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

if TYPE_CHECKING:
    from ._types import DetectorConfig

_MAD_TO_SIGMA = 1.4826  # MAD of a normal sample x 1.4826 = its standard deviation
_NOISE_SAMPLES = 64  # differences per noise block actually used (a subsample past this)
_MIN_PREFIX = 8  # earlier differences needed before a first-block noise width is trusted
_MAX_NOISE_BLOCKS = 2048  # longer runs get wider noise blocks, not more of them
_SCORE_MIN = 10  # points needed before the spike score judges one
_CHUNK = 1 << 15  # points per chunk where work is done chunk by chunk
_KINK_POINTS = 256  # longest stretch fitted directly when dating an onset
_LAZY_WINDOWS = 256  # windows searched for returns before a run gets full return masks
_CLIP_SCALE = 1e6  # values this many scales above the median are clipped before averaging


class _Positions:
    """Maps indices among the finite values to indices in the full series.

    Kept as the positions of the non-finite values, which are usually few.
    """

    def __init__(self, nonfinite_at: np.ndarray, n: int) -> None:
        self._gaps = nonfinite_at  # sorted full-series indices of NaN/Inf
        self._before = nonfinite_at - np.arange(nonfinite_at.size)  # finite values before each
        self._n = n

    def __getitem__(self, i: int) -> int:
        if i < 0:
            i += self._n - self._gaps.size
        return int(i + np.searchsorted(self._before, i, side="right"))

    def finite_index(self, full: int) -> int:
        """How many finite values come before full-series index ``full``."""
        return int(full - np.searchsorted(self._gaps, full))


@dataclass(frozen=True)
class _Excursion:
    """One excursion in finite-point indices: [start, end) with its departing point."""

    start: int
    first_departure: int
    peak: int
    end: int  # first point back, or n when it never came back


# --- finite analysis ---------------------------------------------------------------------


class _FiniteAnalysis:
    """Levels, baseline, noise and excursions of the finite values (see module docstring).

    The points are worked through once, in cache-sized chunks, carrying the running
    minimum and the last point that set it from one chunk to the next; only the
    baseline, where it was set and the departure mask are kept for the whole run.
    Returns are then looked for only after each departure (:meth:`next_back`), and
    levels and 3-point medians are recomputed for the few stretches that need them.
    """

    def __init__(self, x: np.ndarray, config: DetectorConfig) -> None:
        n = x.size
        self.x = x
        self.config = config
        w = min(config.smooth_window, max(1, n // 10))
        w -= 1 - w % 2  # odd, so the centred window is centred
        self.smooth_window = w
        self._bounds = _clip_bounds(x)
        self.window = window = max(config.noise_window, -(-n // _MAX_NOISE_BLOCKS))
        noise = _block_noise(x, window)
        wide = noise.copy()
        np.maximum(wide[1:], noise[:-1], out=wide[1:])  # a block's or the previous one's
        self._noise, self._wide = noise, wide
        # Only calm points set the baseline: a loss swinging far wider than the quietest
        # noise seen so far is not a level to compare against (it is the blow-up itself).
        quiet_block = noise <= config.return_noise * np.minimum.accumulate(noise)
        self._prefix = _prefix_noise(x, min(config.noise_window, window))

        self.baseline = np.empty(n)
        self._chunk_low = np.empty(-(-n // _CHUNK))  # lowest 3-point median per chunk
        self._judged = np.empty(n, dtype=np.int64)  # where each point's baseline was set
        departs = np.empty(n, dtype=bool)
        running, last_set = np.inf, 0  # carried from chunk to chunk
        ramp = np.arange(min(n, _CHUNK), dtype=np.int64)
        for a in range(0, n, _CHUNK):
            b = min(n, a + _CHUNK)
            median3, trailing, _ = self._smoothed(a, b, level=False)
            self._chunk_low[a // _CHUNK] = median3.min()
            blocks = slice(min(a // window, noise.size - 1), min((b - 1) // window + 1, noise.size))
            if quiet_block[blocks].all():
                low = trailing.copy()
            else:
                calm_level = _spread(noise, a, b, window) <= (0.01 * config.return_noise) * np.abs(
                    trailing
                )
                calm_level |= _spread(quiet_block, a, b, window)
                low = np.where(calm_level, trailing, np.inf)
            low[0] = min(low[0], running)
            np.minimum.accumulate(low, out=low)
            baseline = self.baseline[a:b]
            baseline[0] = running
            baseline[1:] = low[:-1]
            # where each point's baseline was set: the last point that set a new minimum
            upto = ramp[: b - a] + a
            upto *= trailing == low  # 0 (no later than any earlier setter) where not set
            upto[0] = max(int(upto[0]), last_set)
            np.maximum.accumulate(upto, out=upto)
            judged = self._judged[a:b]
            judged[0] = last_set
            judged[1:] = upto[:-1]
            running, last_set = float(low[-1]), int(upto[-1])
            enter = self._sigma(judged)[0] * config.sigmas
            scale = np.abs(baseline)
            if a == 0:
                scale[0] = 0.0
            scale *= config.ratio - 1
            np.maximum(enter, scale, out=enter)
            enter += baseline
            np.greater(x[a:b], enter, out=departs[a:b])
        self.lowest = (running, last_set)  # the final running minimum and where it was set
        self._departs = departs
        self._windows_left = _LAZY_WINDOWS
        self._back: np.ndarray | None = None  # full return masks, once windows run out
        self._normal: np.ndarray | None = None
        self._full_from = n
        self.excursions = _excursions(self, config.merge_gap)

    def next_back(self, start: int) -> int:
        """The first point at or after ``start`` back at its baseline, or n if none.

        Looked for in growing windows, and only in windows where some point is under a
        bound on the return level: inside a blow-up nothing is, so a long excursion
        costs one comparison per point. After ``_LAZY_WINDOWS`` windows (a run with
        many excursions) the rest of the run gets full masks instead.
        """
        n = self.x.size
        c, size = start, 64
        while c < n:
            if c >= self._full_from:
                return _next_true(cast(np.ndarray, self._back), c)
            d = min(n, c + size)
            if self._may_return(c, d):
                if self._windows_left <= 0:
                    self._fill_masks(c)
                    continue
                self._windows_left -= 1
                hits = np.flatnonzero(self._returns(c, d, self._departs[c:d])[0])
                if hits.size:
                    return c + int(hits[0])
            c, size = d, min(4 * size, _CHUNK)
        return n

    def last_normal(self, stop: int) -> int:
        """The last point before ``stop`` within the return band at all, or -1."""
        size = 64
        while stop > 0:
            lo = max(0, stop - size)
            if lo >= self._full_from:
                normal = cast(np.ndarray, self._normal)[lo:stop]
            else:
                normal = self._returns(lo, stop, self._departs[lo:stop])[1]
            hits = np.flatnonzero(normal)
            if hits.size:
                return lo + int(hits[-1])
            stop, size = lo, min(8 * size, _CHUNK)
        return -1

    def _fill_masks(self, c: int) -> None:
        """Return masks for every point from ``c`` on, chunk by chunk."""
        n = self.x.size
        self._back = np.zeros(n, dtype=bool)
        self._normal = np.zeros(n, dtype=bool)
        for a in range(c, n, _CHUNK):
            b = min(n, a + _CHUNK)
            self._back[a:b], self._normal[a:b] = self._returns(a, b, self._departs[a:b])
        self._full_from = c

    def _may_return(self, c: int, d: int) -> bool:
        """False when no point in [c, d) can be back: all are above a bound on the return
        level (the baseline only falls, and the noise width is at most its blocks' widest)."""
        judged = self._judged
        if c == 0 or judged[c] < self._prefix.size or not np.isfinite(self.baseline[c]):
            return True
        base = float(self.baseline[c])
        scale = max(abs(base), abs(float(self.baseline[d - 1])))
        last = self._wide.size - 1
        blocks = self._wide[
            min(judged[c] // self.window, last) : min(judged[d - 1] // self.window, last) + 1
        ]
        config = self.config
        bound = base + max(
            config.return_sigmas * float(blocks.max()), (config.return_ratio - 1) * scale
        )
        return bool((self.x[c:d] <= bound).any())

    def _sigma(self, judged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Noise width (with the first points' own earlier noise) and block width."""
        width = self._wide[np.minimum(judged // self.window, self._wide.size - 1)]
        return self._with_prefix(judged, width), width

    def _returns(self, a: int, b: int, departs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the points in [a, b): back at the baseline (ends an excursion), and within
        the return band at all (where an excursion's rise starts)."""
        config = self.config
        baseline = self.baseline[a:b]
        sigma, width = self._sigma(self._judged[a:b])
        scale = np.abs(baseline)
        if a == 0:
            scale[0] = 0.0
        settle = np.maximum(config.return_sigmas * sigma, (config.return_ratio - 1) * scale)
        settle += baseline
        if a == 0:
            settle[0] = np.inf  # nothing precedes the first point, so it is never "away"
        normal = self.x[a:b] <= settle
        local = _spread(self._noise, a, b, self.window)
        back = local <= config.return_noise * np.maximum(width, 0.01 * scale)
        back &= normal
        back &= self.median3(a, b) <= settle
        back &= ~departs
        return back, normal

    def _smoothed(
        self, a: int, b: int, level: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """3-point medians, trailing and (unless ``level`` is False) centred means for the
        points in [a, b)."""
        n, w = self.x.size, self.smooth_window
        half = w // 2
        s0, s1 = max(0, a - w - 1), min(n, b + half + 2)
        median3 = _median3(self.x[s0:s1])
        y = median3 if self._bounds is None else np.clip(median3, *self._bounds)
        sums = np.empty(y.size + 1)
        sums[0] = 0.0
        np.cumsum(y, out=sums[1:])
        centred = None
        if a >= w and b + half <= n:  # every window is whole: shifted slices
            trailing = sums[a + 1 - s0 : b + 1 - s0] - sums[a + 1 - w - s0 : b + 1 - w - s0]
            trailing /= w
            if level:
                ahead, behind = sums[a + half + 1 - s0 :], sums[a - half - s0 :]
                centred = ahead[: b - a] - behind[: b - a]
                centred /= w
        else:  # windows cut short by the start or the end of the run
            i = np.arange(a, b)
            lo = np.maximum(i - (w - 1), 0) - s0
            hi = i + 1 - s0
            trailing = (sums[hi] - sums[lo]) / (hi - lo)
            if level:
                lo = np.maximum(i - half, 0) - s0
                hi = np.minimum(i + half + 1, n) - s0
                centred = (sums[hi] - sums[lo]) / (hi - lo)
        return median3[a - s0 : b - s0], trailing, centred

    def _with_prefix(self, judged: np.ndarray, width: np.ndarray) -> np.ndarray:
        """The noise widths, with the first points' own earlier noise where it is known."""
        prefix = self._prefix
        if prefix.size == 0 or judged[0] >= prefix.size:
            return width
        sigma = width.copy()
        inside = judged < prefix.size
        chosen = prefix[judged[inside]]
        sigma[inside] = np.where(np.isfinite(chosen), chosen, width[inside])
        return sigma

    def level(self, a: int, b: int) -> np.ndarray:
        """The smoothed level of the points in [a, b)."""
        return cast(np.ndarray, self._smoothed(a, b)[2])

    def median3(self, a: int, b: int) -> np.ndarray:
        """The 3-point medians of the points in [a, b)."""
        lo = max(0, a - 1)
        return _median3(self.x[lo : min(self.x.size, b + 1)])[a - lo : b - lo]

    def settle_at(self, p: int) -> float:
        """The level below which point ``p`` counts as back at its baseline."""
        if p == 0:
            return np.inf
        sigma = float(self._sigma(self._judged[p : p + 1])[0][0])
        base = float(self.baseline[p])
        return base + max(
            self.config.return_sigmas * sigma, (self.config.return_ratio - 1) * abs(base)
        )

    def settled_between(self, spike: _Excursion, until: int) -> bool:
        """Whether the level got halfway back from the return band to the baseline after
        ``spike`` and before ``until``: if not, the next excursion continues its rise."""
        if until <= spike.end:
            return False
        mid = (self.baseline[spike.end] + self.settle_at(spike.end)) / 2
        return bool(self.level(spike.end, until).min() <= mid)

    def onset(self, lo: int, hi: int) -> int:
        """Where a departure that first crossed the threshold at ``hi`` began.

        The last point of minimum level in [lo, hi] only bounds the search: a 9-point
        mean starts rising half a window before a jump. Within that bound, the kink of
        the best continuous two-piece line through the 3-point medians up to ``hi`` is
        the last point on the line the loss was following (for a jump, the point before
        it, so the jump's first point is the onset). A small rise just before a jump
        belongs to it: the onset moves back over the points already standing clear
        (``return_sigmas`` noise widths) above the lowest loss so far.
        """
        segment = self.level(lo, hi + 1)
        rough = lo + int(segment.size - 1 - np.argmin(segment[::-1]))
        span = max(hi - rough, 2 * self.smooth_window, 8)
        a = max(lo, rough - span)
        y = self.median3(a, hi + 1)
        kink = _kink(y, a, a + int(y.size - 1 - np.argmin(y[::-1])))
        start = hi if kink >= hi - 1 else kink
        sigma = float(self._sigma(self._judged[hi : hi + 1])[0][0])
        band = self.running_low(start) + self.config.return_sigmas * sigma
        settled = np.flatnonzero(y[: start - a] <= band)
        return a + int(settled[-1]) + 1 if settled.size else start

    def running_low(self, stop: int) -> float:
        """The lowest loss before point ``stop``, as the reasons report it.

        The lowest 3-point median of the points before ``stop``, the last of them kept
        as it is (a median would mix in the jump that follows): one wild low point does
        not set it, and unlike the smoothed baseline it does not lag a falling loss.
        """
        if stop <= 0:
            return float(self.x[0])
        k = (stop - 1) // _CHUNK  # whole chunks whose medians use no point from stop on
        low = float(self._chunk_low[:k].min()) if k else np.inf
        lo = max(0, k * _CHUNK - 1)
        return min(low, float(_median3(self.x[lo:stop])[k * _CHUNK - lo :].min()))


def _spread(per_block: np.ndarray, a: int, b: int, window: int) -> np.ndarray:
    """Per-block values for the points in [a, b) (the last block takes any leftover)."""
    last = per_block.size - 1
    first_block, last_block = min(a // window, last), min((b - 1) // window, last)
    counts = np.full(last_block - first_block + 1, window)
    counts[0] = min((first_block + 1) * window, b) - a if first_block < last else b - a
    if last_block > first_block:
        counts[-1] = b - last_block * window
    return np.repeat(per_block[first_block : last_block + 1], counts)


def _prefix_noise(x: np.ndarray, points: int) -> np.ndarray:
    """Noise width judged from the differences before each of the first ``points`` points.

    NaN where fewer than ``_MIN_PREFIX`` earlier differences exist (the block's width is
    used there). Index s holds the width from the differences among points 0..s-1.
    """
    m = min(points, x.size) - 1
    if m < _MIN_PREFIX:
        return np.zeros(0)
    d = np.diff(x[: m + 1])
    # row r holds d[:r + 1], the differences among the first r + 2 points
    rows = np.where(np.tri(m, m, 0, dtype=bool), d[None, :], np.nan)
    centre = _row_medians(rows)
    spread = _row_medians(np.abs(rows - centre[:, None]))
    by_point = np.full(m + 1, np.nan)
    by_point[_MIN_PREFIX + 1 :] = spread[_MIN_PREFIX - 1 : -1] * (_MAD_TO_SIGMA / math.sqrt(2))
    return by_point


def _kink(y: np.ndarray, offset: int, fallback: int) -> int:
    """Index (plus ``offset``) of the kink of the least-squares continuous hinge through y.

    The fit is y ~ a + b*t + c*max(0, t - k) for every candidate k up to the last but one
    point (a jump at the last point has its kink just before it), solved at once; with
    fewer than 6 points, or a kink that does not turn upwards, ``fallback`` is kept.
    """
    m = y.size
    if m < 6:
        return fallback
    if m > _KINK_POINTS:  # coarse on every s-th point, then refine around the coarse kink
        s = -(-m // _KINK_POINTS)
        coarse = _kink(y[::s], 0, -1)
        if coarse < 0:
            return fallback
        lo, hi = max(0, coarse * s - 2 * s), min(m, coarse * s + 2 * s + 1)
        return _kink(y[lo:hi], offset + lo, offset + coarse * s)
    t = np.arange(m, dtype=np.float64)
    y = y - y.mean()
    spread = float(np.abs(y).max())
    if not np.isfinite(spread) or spread == 0:
        return fallback
    y = y / spread  # unit scale: squares of absurd losses would overflow
    kinks = np.arange(1, m - 1)
    hinge = np.maximum(t[None, :] - kinks[:, None], 0.0)  # (candidates, points)
    ones = np.ones(m)
    cols = np.stack(
        [np.broadcast_to(ones, hinge.shape), np.broadcast_to(t, hinge.shape), hinge], axis=1
    )  # (candidates, 3, points)
    gram = cols @ cols.transpose(0, 2, 1)
    rhs = cols @ y
    try:
        coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return fallback
    fitted = np.einsum("kc,kcp->kp", coef, cols)
    sse = ((fitted - y) ** 2).sum(axis=1)
    sse[coef[:, 2] <= 0] = np.inf  # the loss must turn upwards at the kink
    if not np.isfinite(sse).any():
        return fallback
    return offset + int(kinks[np.argmin(sse)])


def _median3(x: np.ndarray) -> np.ndarray:
    """3-point running median (the ends kept as they are)."""
    out = np.empty_like(x)
    out[0], out[-1] = x[0], x[-1]
    if x.size >= 3:
        a, b, c = x[:-2], x[1:-1], x[2:]
        middle = out[1:-1]
        np.minimum(a, b, out=middle)
        high = np.maximum(a, b)
        np.minimum(high, c, out=high)
        np.maximum(middle, high, out=middle)
    return out


def _clip_bounds(y: np.ndarray) -> tuple[float, float] | None:
    """Bounds that keep running sums precise after a blow-up, or None when none are needed.

    Values more than ``_CLIP_SCALE`` times the typical magnitude from the median are
    absurd for averaging; clipping them changes no decision (they are far past any
    threshold) and keeps the sums of the ordinary values exact.
    """
    sample = y[:: max(1, y.size // 8192)]
    centre = float(_row_medians(sample[None, :])[0])
    spread = float(_row_medians(np.abs(sample - centre)[None, :])[0])
    scale = max(abs(centre), spread, 1e-12) * _CLIP_SCALE
    if float(y.max()) <= centre + scale and float(y.min()) >= centre - scale:
        return None
    return centre - scale, centre + scale


def _clip_for_sums(y: np.ndarray) -> np.ndarray:
    """``y`` clipped to :func:`_clip_bounds` (``y`` itself when nothing needs clipping)."""
    bounds = _clip_bounds(y)
    return y if bounds is None else np.clip(y, *bounds)


def _block_noise(x: np.ndarray, window: int) -> np.ndarray:
    """Robust noise width (MAD of first differences / sqrt 2) per block of ``window`` points.

    Each block uses at most ``_NOISE_SAMPLES`` evenly spaced differences.
    """
    m = x.size - 1  # differences
    if m <= 0:
        return np.zeros(1)
    full = m // window
    parts = []
    if full:
        offsets = np.arange(0, window, max(1, window // _NOISE_SAMPLES))
        at = np.arange(full)[:, None] * window + offsets[None, :]
        parts.append(_mad(x[at + 1] - x[at]))
    if m - full * window >= 2 or not full:
        parts.append(_mad(np.diff(x[full * window :])[None, :]))
    else:
        parts.append(parts[-1][-1:])  # a stub of one difference reuses the last block
    return np.concatenate(parts) * (_MAD_TO_SIGMA / math.sqrt(2))


def _row_medians(rows: np.ndarray) -> np.ndarray:
    """Median of each row, ignoring NaN (which sorts last); NaN for an all-NaN row.

    Written out because ``np.median``/``np.nanmedian`` import ``numpy.ma`` on first use,
    which costs more than a whole detection.
    """
    ordered = np.sort(rows, axis=1)
    count = (~np.isnan(ordered)).sum(axis=1)
    low = np.maximum((count - 1) // 2, 0)[:, None]
    high = np.maximum(count // 2, 0)[:, None]
    pair = np.take_along_axis(ordered, low, 1)[:, 0] + np.take_along_axis(ordered, high, 1)[:, 0]
    return np.where(count > 0, pair / 2, np.nan)


def _mad(rows: np.ndarray) -> np.ndarray:
    """Median absolute deviation per row.

    Wide rows use lower medians (one partition each, no averaging, much faster); narrow
    ones, where the two middle values can be far apart, the usual median.
    """
    if rows.shape[1] < 16:
        centre = _row_medians(rows)[:, None]
        return _row_medians(np.abs(rows - centre))
    k = (rows.shape[1] - 1) // 2
    centre = np.partition(rows, k, axis=1)[:, k : k + 1]
    return np.partition(np.abs(rows - centre), k, axis=1)[:, k]


def _excursions(analysis: _FiniteAnalysis, merge_gap: int) -> list[_Excursion]:
    """Stretches from a departing point up to (not including) the next lasting return.

    One step per excursion, each a scan for the next departing or returning point.
    """
    x, departs = analysis.x, analysis._departs
    n = x.size
    spans: list[list[int]] = []  # [start, first departure, end]
    first = _next_true(departs, 0)
    while first < n:
        end = analysis.next_back(first)
        if spans and first - spans[-1][2] < merge_gap:
            spans[-1][2] = end  # back only briefly: the same excursion
        else:
            spans.append([analysis.last_normal(first) + 1, first, end])
        first = _next_true(departs, end)
    return [
        _Excursion(start, first, start + int(np.argmax(x[start:end])), end)
        for start, first, end in spans
    ]


def _next_true(mask: np.ndarray, start: int) -> int:
    """Index of the first True at or after ``start``, or ``mask.size`` when there is none."""
    rest = mask[start:]
    at = int(np.argmax(rest)) if rest.size else 0
    return start + at if rest.size and rest[at] else mask.size


def _spike_score(x: np.ndarray, window: int, sigmas: float) -> float:
    """OLMo 2's spike score: share of points > ``sigmas`` std from the previous ``window``'s mean.

    Points with fewer than 10 predecessors are not scored; with fewer than ``window``
    the window is all the points before. Worked through in cache-sized chunks.
    """
    n = x.size
    if n <= _SCORE_MIN:
        return 0.0
    y = _clip_for_sums(x)
    outliers = 0
    for start in range(_SCORE_MIN, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        outliers += _count_outliers(y, start, stop, window, sigmas)
    return outliers / n


def _count_outliers(y: np.ndarray, start: int, stop: int, window: int, sigmas: float) -> int:
    """Points in [start, stop) beyond ``sigmas`` std of the mean of the ``window`` before."""
    first = max(0, start - window)
    part = y[first:stop]
    # Running sums of the values (real part) and of their squares (imaginary part): the
    # two additions are independent, so one complex cumsum costs little more than one.
    both = np.empty(part.size + 1, dtype=np.complex128)
    pairs = both.view(np.float64).reshape(-1, 2)
    pairs[0] = 0.0
    pairs[1:, 0] = part
    np.square(part, out=pairs[1:, 1])
    np.cumsum(both, out=both)
    sums, squares = pairs[:, 0], pairs[:, 1]
    if start >= window:  # every window is full: plain shifted slices
        size = stop - start
        mean = sums[window : window + size] - sums[:size]
        var = squares[window : window + size] - squares[:size]
        mean /= window
        var /= window
    else:
        i = np.arange(start, stop)
        lo = np.maximum(i - window, 0) - first
        hi = i - first
        count = hi - lo
        mean = (sums[hi] - sums[lo]) / count
        var = (squares[hi] - squares[lo]) / count
    var -= mean * mean
    np.maximum(var, 0.0, out=var)
    var *= sigmas * sigmas
    mean -= y[start:stop]
    mean *= mean
    return int(np.count_nonzero(mean > var))


# --- non-finite values ---------------------------------------------------------------------


class _NonFinite:
    """Stretches of NaN/Inf in the full series, each either recovered (a spike) or not."""

    def __init__(self, n: int, bad: np.ndarray, config: DetectorConfig) -> None:
        breaks = np.flatnonzero(np.diff(bad) != 1)
        self.starts = bad[np.concatenate(([0], breaks + 1))]
        self.ends = bad[np.concatenate((breaks, [bad.size - 1]))] + 1
        length = self.ends - self.starts
        next_start = np.append(self.starts[1:], n)
        calm = next_start - self.ends
        self.recovered = (
            (length <= config.nonfinite_window)
            & (self.ends < n)
            & (calm >= np.minimum(config.settle_window, n - self.ends))
        )


# --- putting it together -----------------------------------------------------------------


def analyse(steps: np.ndarray, loss: np.ndarray, config: DetectorConfig) -> dict[str, Any]:
    """The fields of a ``Detection`` for a checked, non-empty curve with a finite value.

    Spikes come back as ``(start, peak, end)`` step triples.
    """
    finite = np.isfinite(loss)
    bad = np.flatnonzero(~finite)
    where = _Positions(bad, loss.size)
    x = loss[finite] if bad.size else loss
    with np.errstate(over="ignore", invalid="ignore"):  # absurd losses overflow squares
        analysis = _FiniteAnalysis(x, config)
        nonfinite = _NonFinite(loss.size, bad, config) if bad.size else None
        return _assemble(steps, loss, where, analysis, nonfinite, config)


def _assemble(
    steps: np.ndarray,
    loss: np.ndarray,
    where: _Positions,
    analysis: _FiniteAnalysis,
    nonfinite: _NonFinite | None,
    config: DetectorConfig,
) -> dict[str, Any]:
    x = analysis.x
    n_finite = x.size
    blowup: _Excursion | None = None
    recovering: _Excursion | None = None
    onset_at = None
    returned: list[_Excursion] = []
    for exc in analysis.excursions:
        if exc.end >= n_finite and _still_recovering(where, loss.size, analysis, exc, config):
            recovering = exc
            break
        if exc.end >= n_finite or exc.end - exc.start > config.return_window:
            blowup = exc
            first = exc.first_departure
            while returned and not analysis.settled_between(returned[-1], first):
                first = returned.pop().first_departure  # part of the same rise
            onset_at = analysis.onset(returned[-1].end if returned else 0, first)
            break
        returned.append(exc)
    # an open excursion's end is one past the last point (there is no first point back)
    spikes = [
        (
            int(where[e.start]),
            int(where[e.peak]),
            int(where[e.end]) if e.end < n_finite else len(loss),
        )
        for e in (*returned, *([recovering] if recovering is not None else []))
    ]

    div_index = None
    reason = ""
    if blowup is not None and onset_at is not None:
        div_index = int(where[onset_at])
        reason = _blowup_reason(steps, where, analysis, blowup, onset_at)

    first_nonfinite = None
    nonfinite_note = ""
    if nonfinite is not None and nonfinite.starts.size:
        first_nonfinite = int(steps[nonfinite.starts[0]])
        bad = np.flatnonzero(~nonfinite.recovered)
        if bad.size:
            k = int(bad[0])
            at = int(nonfinite.starts[k])
            if div_index is None or at < div_index:
                div_index = at
                reason = _nonfinite_reason(steps, loss, nonfinite, k, config)
        for k in np.flatnonzero(nonfinite.recovered).tolist():
            s, e = int(nonfinite.starts[k]), int(nonfinite.ends[k])
            if div_index is None or s < div_index:
                spikes.append((s, s, e))
        first_at = int(nonfinite.starts[0])
        if div_index is not None and first_at > div_index:
            nonfinite_note = (
                f"; first {nonfinite_word(loss[first_at])} at step {int(steps[first_at])}"
            )
        if div_index is None and nonfinite.recovered.any():
            k = int(np.flatnonzero(nonfinite.recovered)[0])
            s, e = int(nonfinite.starts[k]), int(nonfinite.ends[k])
            nonfinite_note = (
                f"; {nonfinite_word(loss[s])} at step {int(steps[s])} was a spike: the loss was "
                f"finite again at step {int(steps[e])} and stayed finite"
            )

    spikes = [s for s in _merge(spikes) if div_index is None or s[2] <= div_index]
    n = loss.size
    stop = n if div_index is None else div_index
    stable = _stable_regions(steps, spikes, stop, n)
    upto = n_finite if div_index is None else where.finite_index(div_index)
    score = _spike_score(x[:upto], config.spike_score_window, config.spike_score_sigmas)
    if div_index is None:
        reason = _healthy_reason(steps, where, analysis, spikes, loss, config)
    last = n - 1
    return {
        "diverged": div_index is not None,
        "divergence_step": int(steps[div_index]) if div_index is not None else None,
        "reason": reason + nonfinite_note,
        "first_nonfinite_step": first_nonfinite,
        "spikes": [(int(steps[a]), int(steps[p]), int(steps[min(b, last)])) for a, p, b in spikes],
        "stable_regions": stable,
        "spike_score": score,
    }


def _still_recovering(
    where: _Positions, n: int, analysis: _FiniteAnalysis, exc: _Excursion, config: DetectorConfig
) -> bool:
    """Whether an excursion still open when the log ends is a spike on its way back.

    It must be short (fewer than ``min_sustained_points`` logged points from its start to
    the end of the log), the log must end on a finite value, and that last value must
    already be ``recovering_fraction`` of the excursion's height below its peak.
    """
    start = int(where[exc.start])
    if n - start >= config.min_sustained_points or int(where[-1]) != n - 1:
        return False
    x = analysis.x
    height = float(x[exc.peak]) - analysis.running_low(exc.start)
    fallen = float(x[exc.peak]) - float(x[-1])
    return bool(height > 0 and fallen >= config.recovering_fraction * height)


def _merge(spikes: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Overlapping spikes (a NaN inside an excursion) become one; a NaN peak wins."""
    merged: list[tuple[int, int, int]] = []
    for start, peak, end in sorted(spikes):
        if merged and start <= merged[-1][2]:
            s0, p0, e0 = merged[-1]
            merged[-1] = (s0, peak if peak == start and p0 != s0 else p0, max(e0, end))
        else:
            merged.append((start, peak, end))
    return merged


def _stable_regions(
    steps: np.ndarray, spikes: list[tuple[int, int, int]], stop: int, n: int
) -> tuple[tuple[int, int], ...]:
    """The points before ``stop`` outside the (sorted, disjoint) spikes, as step intervals."""
    regions = []
    at = 0
    for start, _, end in spikes:
        if min(start, stop) > at:
            regions.append((int(steps[at]), int(steps[min(start, stop) - 1])))
        at = max(at, end)
    if stop > at:
        regions.append((int(steps[at]), int(steps[stop - 1])))
    return tuple(regions)


# --- reasons -------------------------------------------------------------------------------


def _blowup_reason(
    steps: np.ndarray,
    where: _Positions,
    analysis: _FiniteAnalysis,
    exc: _Excursion,
    onset_at: int,
) -> str:
    x = analysis.x
    base = analysis.running_low(onset_at)
    peak = int(onset_at + np.argmax(x[onset_at : exc.end]))
    tail = (
        "never came back"
        if exc.end >= x.size
        else f"took until step {int(steps[where[exc.end]])} to come back"
    )
    return (
        f"loss {_num(x[peak])} at step {int(steps[where[peak]])} is "
        f"{_how_far(float(x[peak]), base)} its running minimum {_num(base)} and {tail}; "
        f"the rise began at step {int(steps[where[onset_at]])}"
    )


def _nonfinite_reason(
    steps: np.ndarray, loss: np.ndarray, nf: _NonFinite, k: int, config: DetectorConfig
) -> str:
    s, e = int(nf.starts[k]), int(nf.ends[k])
    word, at = nonfinite_word(loss[s]), int(steps[s])
    if e >= loss.size:
        return f"loss is {word} at step {at} and never became finite again"
    if e - s > config.nonfinite_window:
        return (
            f"loss is {word} for {e - s} logged points from step {at} (more than "
            f"{config.nonfinite_window}), finite again only at step {int(steps[e])}"
        )
    later = int(nf.starts[k + 1])
    return (
        f"loss is {word} at step {at}; it was finite again at step {int(steps[e])} but "
        f"{nonfinite_word(loss[later])} again at step {int(steps[later])}, within "
        f"{config.settle_window} logged points"
    )


def _healthy_reason(
    steps: np.ndarray,
    where: _Positions,
    analysis: _FiniteAnalysis,
    spikes: list[tuple[int, int, int]],
    loss: np.ndarray,
    config: DetectorConfig,
) -> str:
    x = analysis.x
    n = loss.size
    last = int(where[-1])
    base, base_at = analysis.lowest
    if not spikes:
        return (
            f"no divergence or spike: the loss never rose {config.ratio:g}x and "
            f"{config.sigmas:g} noise widths above its running minimum (lowest smoothed "
            f"loss {_num(base)} at step {int(steps[where[base_at]])}); final loss "
            f"{_num(x[-1])} at step {int(steps[last])}"
        )
    count = f"{len(spikes)} spike{'s' if len(spikes) > 1 else ''}"
    if spikes[-1][2] >= n:  # the last one was still open when the log ended
        closed = spikes[:-1]
        head = f"no divergence: {count}"
        if closed:
            head += f", {len(closed)} recovered" + _largest(steps, where, analysis, closed, loss)
            head += "; the last"
        return f"{head}, {_recovering(steps, where, analysis, spikes[-1], config)}"
    return f"no divergence: {count} recovered" + _largest(steps, where, analysis, spikes, loss)


def _largest(
    steps: np.ndarray,
    where: _Positions,
    analysis: _FiniteAnalysis,
    spikes: list[tuple[int, int, int]],
    loss: np.ndarray,
) -> str:
    """``, the largest 9 at step 201 (2.9x its running minimum 3.07), back by step 206``."""
    finite_peaks = [(s, p, e) for s, p, e in spikes if np.isfinite(loss[p])]
    if not finite_peaks:
        return ""
    s, p, e = max(finite_peaks, key=lambda t: loss[t[1]])
    spike_base = analysis.running_low(where.finite_index(s))
    return (
        f", the largest {_num(loss[p])} at step {int(steps[p])} "
        f"({_how_far(float(loss[p]), spike_base)} its running minimum {_num(spike_base)}), "
        f"back by step {int(steps[e])}"
    )


def _recovering(
    steps: np.ndarray,
    where: _Positions,
    analysis: _FiniteAnalysis,
    spike: tuple[int, int, int],
    config: DetectorConfig,
) -> str:
    """``still recovering when the log ends: 8.716 at step 29060 (...), down to ...``."""
    start, peak, end = spike
    x = analysis.x
    j = where.finite_index(peak)
    top, final = float(x[j]), float(x[-1])
    spike_base = analysis.running_low(where.finite_index(start))
    back = (top - final) / (top - spike_base) if top > spike_base else 0.0
    return (
        f"still recovering when the log ends: {_num(top)} at step {int(steps[peak])} "
        f"({_how_far(top, spike_base)} its running minimum {_num(spike_base)}), down to "
        f"{_num(final)} by step {int(steps[end - 1])} ({back:.0%} of the way back) after "
        f"{end - start} logged points, fewer than {config.min_sustained_points}; not yet "
        "back at its baseline"
    )


def _how_far(value: float, base: float) -> str:
    if base > 0 and value / base < 1e6:
        return f"{value / base:.1f}x"
    if base > 0:
        return f"{value / base:.2g}x"
    return f"{_num(value - base)} above"


def _num(value: float) -> str:
    value = float(value)
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:.2f}"


def nonfinite_word(value: float) -> str:
    if np.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"
