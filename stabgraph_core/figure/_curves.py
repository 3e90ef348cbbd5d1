"""Per-run drawing: ``_Curve`` (x, loss, chosen points, onset, its traces) and the y cap."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..detect import Detection
from ..downsample import MIN_POINTS, downsample_cached
from ..errors import InvalidArgumentError
from ..model import Run
from ..smoothing import smooth_cached
from ._scans import _ABOVE, _count_between, _first_and_peak_above, _nonfinite_indices
from ._style import CAP_SAMPLE, DIVERGENCE_COLOR, _meta, _tint, short

if TYPE_CHECKING:
    from ._options import FigureOptions


#: A grouped seed's own line: a tint of the model colour, thinner than the mean's.
SEED_TINT = 0.55
SEED_WIDTH = 1.0


class _Curve:
    """One run prepared for drawing: x, raw and smoothed loss, the chosen points, onset."""

    def __init__(self, run: Run, detection: Detection, options: FigureOptions) -> None:
        self.run = run
        self.detection = detection
        self.x = _x_values(run, options.x_axis)
        self.smoothed = bool(options.smoothing)
        self.raw = run.loss
        # both remembered for read-only series (the app's), so an option that does not move
        # the chosen points (log y, markers, the smoothing weight for the raw curve) is cheap
        self.shown = smooth_cached(run.loss, options.smoothing) if options.smoothing else run.loss
        self.keep = downsample_cached(self.x, self.raw, options.max_points, options.x_range)
        # Drawn over the raw curve, the smoothed one gets its own points (chosen on its own
        # values) and half the budget: it is smooth by construction, and its hover carries
        # the raw loss too, so this keeps a smoothed view's payload near an unsmoothed one's.
        self.keep_shown = self.keep
        if options.smoothing and options.show_raw and options.max_points is not None:
            half = max(MIN_POINTS, options.max_points // 2)
            self.keep_shown = downsample_cached(self.x, self.shown, half, options.x_range)
        self.extent = _extent(self.x, sorted_x=options.x_axis == "steps")
        self.onset_index: int | None = None
        onset = _onset_step(run, detection)
        if options.show_divergence and onset is not None and run.steps.size:
            at = int(np.searchsorted(run.steps, onset))
            self.onset_index = at if at < run.steps.size else None
        self.name = run.display_name

    def pre_onset(self) -> np.ndarray:
        """Finite values before the divergence onset (what the y cap is fitted to).

        An even sample of at most ``CAP_SAMPLE`` steps (every step of a short run): the
        cap is a rounded-up multiple of the typical top, which ten thousand points pin
        down as well as a million do, and it does not depend on the zoom or the point
        budget, so every view of a source shares one cap.
        """
        end = self.onset_index if self.onset_index is not None else self.shown.size
        stride = max(1, -(-end // CAP_SAMPLE))
        values = self.raw[:end:stride]
        if self.shown is not self.raw:
            values = np.concatenate((values, self.shown[:end:stride]))
        return values[np.isfinite(values)]

    def _hover(self) -> str:
        """Step and loss; the smoothed loss too, only when smoothing is on (it would be the
        loss again otherwise)."""
        seed = f" · seed {self.run.seed}" if self.run.seed is not None else ""
        smoothed = "<br>smoothed %{customdata[2]:.4g}" if self.smoothed else ""
        return (
            f"<b>{self.name}</b>{seed}<br>step %{{customdata[0]:,}}"
            f"<br>loss %{{customdata[1]:.4g}}{smoothed}<extra></extra>"
        )

    def traces(
        self, color: str, dash: str, options: FigureOptions, *, grouped: bool = False
    ) -> list[dict[str, Any]]:
        """raw (faint), loss (model colour) and diverged (divergence colour) line traces.

        A seed drawn in a seed band (``grouped``) has no raw curve, and its line before the
        onset is a thin tint of the model colour (role ``seed``), drawn only with
        ``options.show_seeds``; after its onset it is drawn as any diverged run is.
        """
        k = self.keep
        out: list[dict[str, Any]] = []
        common = {"mode": "lines", "showlegend": False, "legendgroup": self.run.run_id}
        if options.smoothing and options.show_raw and not grouped:
            out.append(
                {
                    **common,
                    "x": self.x[k],
                    "y": _plottable(self.raw[k]),
                    "name": f"{self.name} (raw)",
                    "line": {"color": _tint(color, 0.3), "width": 1, "dash": dash},
                    "hoverinfo": "skip",
                    "meta": _meta(self.run, "raw"),
                }
            )
        k = self.keep_shown
        split = k.size if self.onset_index is None else int(np.searchsorted(k, self.onset_index))
        if self.onset_index is not None and (split == k.size or k[split] != self.onset_index):
            # the onset was dropped by downsampling: put it back so both parts meet there
            k = np.insert(k, split, self.onset_index)
        x, shown = self.x[k], _plottable(self.shown[k])
        custom = np.column_stack((self.run.steps[k], self.raw[k], self.shown[k]))
        width = 2.0
        if not grouped or options.show_seeds:
            line = {"color": color, "width": width, "dash": dash}
            if grouped:
                line = {"color": _tint(color, SEED_TINT), "width": SEED_WIDTH, "dash": dash}
            out.append(
                {
                    **common,
                    "x": x[: split + 1],
                    "y": shown[: split + 1],
                    "customdata": custom[: split + 1],
                    "name": self.name,
                    "line": line,
                    "hovertemplate": self._hover(),
                    "meta": _meta(self.run, "seed" if grouped else "loss"),
                }
            )
        if self.onset_index is not None:
            out.append(
                {
                    **common,
                    "x": x[split:],
                    "y": shown[split:],
                    "customdata": custom[split:],
                    "name": f"{self.name} (after divergence)",
                    "line": {"color": DIVERGENCE_COLOR, "width": width, "dash": dash},
                    "hovertemplate": self._hover(),
                    "meta": _meta(self.run, "diverged"),
                }
            )
        if options.show_spikes and self.detection.spikes:
            peaks = np.searchsorted(self.run.steps, [s.peak for s in self.detection.spikes])
            peaks = peaks[peaks < self.run.steps.size]
            out.append(
                {
                    "mode": "markers",
                    "x": self.x[peaks],
                    "y": _plottable(self.shown[peaks]),
                    "customdata": np.column_stack(
                        (self.run.steps[peaks], self.raw[peaks], self.shown[peaks])
                    ),
                    "name": f"{self.name} spikes",
                    "showlegend": False,
                    "legendgroup": self.run.run_id,
                    "marker": {
                        "symbol": "circle-open",
                        "size": 10,
                        "color": color,
                        "line": {"width": 2},
                    },
                    "hovertemplate": self._hover().replace("<b>", "<b>Spike · "),
                    "meta": _meta(self.run, "spikes"),
                }
            )
        return out

    def nonfinite_trace(self, color: str, row: float, limit: int) -> dict[str, Any] | None:
        """A rug near the top edge over the NaN/Inf steps, with counts in its name and hover.

        Each stretch of consecutive non-finite steps is one segment (a tick at each end), so
        a run that overflows for most of a million steps costs a few points, not a million.
        Past ``limit`` stretches, the closest ones are merged (their hover gives the span
        and the counts inside it), which a screen could not tell apart anyway.
        """
        bad = _nonfinite_indices(self.raw)
        if bad.size == 0:
            return None
        nan = bad[np.isnan(self.raw[bad])]
        counts = ", ".join(
            f"{n} {label}" for n, label in ((nan.size, "NaN"), (bad.size - nan.size, "Inf")) if n
        )
        breaks = np.flatnonzero(np.diff(bad) != 1)
        starts = bad[np.concatenate(([0], breaks + 1))]
        ends = bad[np.concatenate((breaks, [-1]))]  # inclusive
        if starts.size > limit:
            # keep the widest gaps between stretches, merge across the rest
            gaps = starts[1:] - ends[:-1]
            keep = np.sort(np.argpartition(gaps, -(limit - 1))[-(limit - 1) :])
            starts = np.concatenate((starts[:1], starts[keep + 1]))
            ends = np.concatenate((ends[keep], ends[-1:]))
        nan_in, bad_in = (_count_between(found, starts, ends) for found in (nan, bad))
        gap = np.full(starts.size, np.nan)
        x = np.column_stack((self.x[starts], self.x[ends], gap)).ravel()
        steps = self.run.steps
        custom = np.column_stack((steps[starts], steps[ends], nan_in, bad_in - nan_in))
        custom = custom.astype(np.float64)
        custom = np.repeat(custom, 3, axis=0)
        custom[2::3] = np.nan
        after = self.onset_index is not None and starts[0] >= self.onset_index
        mark_color = DIVERGENCE_COLOR if after else color
        return {
            "mode": "lines+markers",
            "x": x,
            "y": np.where(np.isnan(x), np.nan, row),
            "yaxis": "y2",
            "customdata": custom,
            "name": f"{short(self.name, 26)}: {counts}",
            "legendgroup": "nonfinite",
            "legendgrouptitle": {"text": "Non-finite loss (top edge)"},
            "showlegend": True,
            "line": {"color": mark_color, "width": 1.5},
            "marker": {
                "symbol": "line-ns-open",
                "size": 7,
                "color": mark_color,
                "line": {"width": 1.5},
            },
            "connectgaps": False,
            "hovertemplate": (
                f"<b>{self.name}</b><br>steps %{{customdata[0]:,}} to %{{customdata[1]:,}}:"
                " %{customdata[2]:,} NaN, %{customdata[3]:,} Inf"
                f"<br>{counts} in this run<extra></extra>"
            ),
            "meta": _meta(self.run, "nonfinite"),
        }

    def offchart_trace(self, y_top: float) -> dict[str, Any] | None:
        """A marker on the top edge where the curve first leaves a capped axis.

        One reduction tells the runs that stay below (most of them); only the others are
        scanned step by step, so the marker sits at the exact step in every view.
        """
        found = _ABOVE.get((self.shown,), (y_top,))
        if found is None:
            found = _first_and_peak_above(self.shown, y_top)
            if _ABOVE.cacheable(self.shown):
                _ABOVE.put((self.shown,), (y_top,), found)
        if found.size == 0:
            return None
        first, peak = int(found[0]), int(found[1])
        return {
            "mode": "markers",
            "x": self.x[[first]],
            "y": [1.0],
            "yaxis": "y2",
            "cliponaxis": False,
            "name": f"{self.name} off the chart",
            "showlegend": False,
            "legendgroup": self.run.run_id,
            "marker": {
                "symbol": "triangle-up",
                "size": 11,
                "color": DIVERGENCE_COLOR if self.onset_index is not None else "#555555",
                "line": {"color": "black", "width": 1},
            },
            "hovertemplate": (
                f"<b>{self.name}</b> leaves the chart at step {int(self.run.steps[first]):,}"
                f"<br>max {self.shown[peak]:.3g} at step {int(self.run.steps[peak]):,}"
                "<br>(use log y to see it all)<extra></extra>"
            ),
            "meta": _meta(self.run, "offchart"),
        }

    def onset_point(self) -> tuple[float, float] | None:
        """(x, y) of the onset marker: the onset step, at the nearest finite value."""
        if self.onset_index is None:
            return None
        at, n = self.onset_index, self.shown.size
        radius = 0
        while True:  # widen the search until it finds a finite value: no full-series scan
            lo, hi = max(at - radius, 0), min(at + radius + 1, n)
            finite = np.flatnonzero(np.isfinite(self.shown[lo:hi])) + lo
            if finite.size:
                nearest = finite[np.argmin(np.abs(finite - at))]
                return float(self.x[at]), float(self.shown[nearest])
            if lo == 0 and hi == n:
                return float(self.x[at]), math.nan
            radius = max(4 * radius, 64)


def _onset_step(run: Run, detection: Detection) -> int | None:
    """The onset the figure marks: declared by the source where it says so, else detected.

    The same rule fills the summary's ``diverged``/``divergence_step``, so the figure and the
    summary name the same step.
    """
    if run.diverged is not None:
        if not run.diverged:
            return None
        if run.divergence_step is not None:
            return run.divergence_step
    return detection.divergence_step if detection.diverged else None


def _x_values(run: Run, x_axis: str) -> np.ndarray:
    if x_axis == "steps":
        return run.steps
    tokens = run.extra["tokens"]
    known = np.isfinite(tokens)
    if known.all():
        return tokens
    if not known.any():
        raise InvalidArgumentError(f"x axis 'tokens': {run.display_name} has no tokens values")
    # steps that did not log tokens get them on the line through their logged neighbours
    steps, at, seen = run.steps.astype(np.float64), run.steps[known], tokens[known]
    out = np.interp(steps, at, seen)
    if seen.size >= 2:
        head, tail = steps < at[0], steps > at[-1]
        out[head] = seen[0] + (steps[head] - at[0]) * (seen[1] - seen[0]) / (at[1] - at[0])
        out[tail] = seen[-1] + (steps[tail] - at[-1]) * (seen[-1] - seen[-2]) / (at[-1] - at[-2])
    return out


def _extent(x: np.ndarray, *, sorted_x: bool) -> tuple[float, float] | None:
    """(lowest, highest) x: the ends for sorted steps, a NaN-aware scan for tokens."""
    if x.size == 0:
        return None
    if sorted_x:
        return float(x[0]), float(x[-1])
    return float(np.nanmin(x)), float(np.nanmax(x))


def _plottable(values: np.ndarray) -> np.ndarray:
    """Inf as NaN: Plotly draws a gap for both, and JSON has no Infinity."""
    out = np.asarray(values, dtype=np.float64)
    return np.where(np.isinf(out), np.nan, out) if np.isinf(out).any() else out


def _nice_ceil(value: float) -> float:
    """The next 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 x 10^k at or above ``value``: a cap at most a
    third above twice the typical top (51 gives 60, not 100)."""
    if value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for m in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if m * 10**exp >= value * (1 - 1e-12):
            return m * 10**exp
    return 10.0 ** (exp + 1)


def _y_top(curves: Sequence[_Curve], options: FigureOptions) -> float | None:
    """Top of a capped linear y-axis, or None when the axis should fit everything.

    Auto: twice the highest loss before any divergence, rounded up to a nice number
    (the reference's 0-10 for the simulated runs). Isolated outliers above 3x the 99th
    percentile do not count, so one exploded point in a healthy run cannot flatten it.
    """
    if options.log_y or options.y_cap is None:
        return None
    if options.y_cap != "auto":
        return float(options.y_cap)
    values = np.concatenate([c.pre_onset() for c in curves] or [np.empty(0)])
    if values.size == 0:
        return None
    top = float(values.max())
    robust = float(np.percentile(values, 99))
    if robust > 0 and top > 3 * robust:
        top = robust
    return _nice_ceil(2 * top) if top > 0 else None


def _y_range(curves: Sequence[_Curve], y_top: float | None, log_y: bool) -> list[float] | None:
    shown = [c.shown[c.keep_shown] for c in curves]
    values = np.concatenate(shown) if shown else np.empty(0)
    values = values[np.isfinite(values)]
    if log_y:
        positive = values[values > 0]
        if positive.size == 0:
            return None
        lo, hi = math.log10(positive.min()), math.log10(positive.max())
        pad = max(0.05 * (hi - lo), 0.05)
        return [lo - pad, hi + pad + 0.2 * (hi - lo + 2 * pad)]  # room for the top rug
    if y_top is None:
        return None
    # a loss exploding downwards (-1e304) must not flatten the chart either
    values = values[values >= -y_top]
    bottom = min(0.0, float(values.min()) * 1.05) if values.size else 0.0
    return [bottom, y_top]
