"""The one Plotly figure of loss curves, used by the CLI exports and the Dash app alike.

What is drawn (see ``model.py`` for what a run and a step are):

- a loss curve per run: colour by model, dash style by sequence length; after the run's
  divergence onset the curve goes on in the divergence colour, and the onset gets an X
  marker with the run's length as a label (placed at the nearest finite value when the
  onset step itself is NaN);
- with smoothing, TensorBoard's debiased EMA as the curve and the raw loss faintly behind;
- shaded stable regions (steps where every run of each model that never diverged is
  stable), spike peaks, NaN/Inf steps as a rug near the top edge (one segment per
  stretch of consecutive NaN/Inf steps, at most ``RUG_MAX_STRETCHES`` per run; counts in
  the legend and hover), and an "off the chart" marker where a curve leaves a capped y-axis;
- one grouped legend: model status, sequence length, non-finite loss.

Every trace carries ``meta = {"run_id", "model", "seq_len", "seed", "role"}`` so a caller
can find traces by run and role and toggle them (``dash.Patch``) without rebuilding.
Roles: ``raw``, ``loss``, ``diverged``, ``onset``, ``spikes``, ``nonfinite``,
``offchart`` (at most one each per run, only when there is something to draw) and
``key`` (legend-only entries, ``run_id`` None). The stable band is not a trace but
``layout.shapes`` (drawn under the grid lines in an opaque tint, so EPS stays vector);
``layout.meta`` holds ``stable_models`` and ``y_top`` (the y cap, None when uncapped).
Everything drawn is opaque: PostScript has no transparency, and cairo would otherwise
rasterise those parts of an EPS.

Cost: with ``max_points`` set, every step of every run is touched only by the smoothing,
the downsampler and a few whole-array reductions; everything else (the y cap, the rug,
onsets, hover data) works on the chosen points, a sample or the non-finite indices, so
10 runs x 1M steps build in about a tenth of a second. For read-only runs (the app's) the
smoothed curves, chosen points and full-series scans are remembered per process in
bounded LRU caches keyed by the arrays' identity, so redrawing with another option that
does not move the points takes about ten milliseconds; writable runs are computed afresh
every time, and either way the figure is the same.

The figure is sized for print: 12 x 7 in at 96 CSS px per inch (1152 x 672 px), so a PDF
or SVG comes out 12 x 7 in and a PNG at ``dpi`` uses ``scale = dpi / 96``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import downsample as _downsample
from . import smoothing as _smoothing
from .detect import Detection, detect_run
from .downsample import MIN_POINTS, IdentityLRU, downsample_cached
from .errors import InvalidArgumentError
from .model import Run, length_label, model_display_name
from .smoothing import MAX_WEIGHT, smooth_cached

if TYPE_CHECKING:
    import plotly.graph_objects as go

PX_PER_INCH = 96
WIDTH_IN, HEIGHT_IN = 12, 7
WIDTH_PX, HEIGHT_PX = WIDTH_IN * PX_PER_INCH, HEIGHT_IN * PX_PER_INCH

MODEL_COLORS: Mapping[str, str] = {"resnetbk": "#2E86AB", "mamba": "#A23B72"}
DIVERGENCE_COLOR = "#F18F01"
STABLE_COLOR = "#06A77D"
# for other models: distinct from the four above and from each other
OTHER_COLORS: tuple[str, ...] = (
    "#5E4B8B",
    "#C0392B",
    "#3D5A6C",
    "#8C6D46",
    "#1F3A93",
    "#7F8C8D",
    "#B5487A",
    "#2C3E50",
)
DASHES: tuple[str, ...] = ("solid", "dash", "dashdot", "dot", "longdashdot", "longdash")
FONT_FAMILY = "Times New Roman, Liberation Serif, Times, DejaVu Serif, serif"
DEFAULT_Y_CAP: Literal["auto"] = "auto"

_ROLE_KEY = "key"
_PLOT_PX = 800  # about the width of the plot area, legend excluded
_LABEL_CHAR_PX = 6.5  # about the width of one label character at 13 px
LABEL_CHARS = 32  # longer run names are cut in the legend and labels (hover has them whole)
_RUG_TOP = 0.975  # y2 (paper-like 0..1) position of the first NaN/Inf rug row
_RUG_STEP = 0.022
# stretches of NaN/Inf per run drawn at most; closer ones are merged (about 1.5 px each)
RUG_MAX_STRETCHES = 500
# steps per run the automatic y cap is fitted to (an even sample of longer runs)
CAP_SAMPLE = 10_000
# full-series scans remembered per read-only series (small index arrays): NaN/Inf steps per
# run, and where a curve leaves a capped axis
_NONFINITE = IdentityLRU(256)
_ABOVE = IdentityLRU(256)


@dataclass(frozen=True)
class FigureOptions:
    """What to draw and how. Checked when built, so a bad value fails at the caller.

    Args:
        models: models to show (None = all), in the order they should be drawn.
        lengths: sequence lengths to show (None = all).
        smoothing: TensorBoard smoothing weight in [0, 0.999]; above 0 the raw loss is
            drawn faintly behind the smoothed curve.
        log_y: logarithmic loss axis (no cap: everything finite and positive is shown).
        x_axis: ``steps`` or ``tokens`` (needs a ``tokens`` series on every shown run).
        show_divergence: divergence colour after the onset, and onset markers.
        show_spikes: markers at spike peaks.
        show_stable: shaded stable regions.
        show_raw: the faint raw curve when smoothing.
        title: figure title (``<br>`` breaks lines); None = the default two-line title.
        max_points: points per curve after downsampling (None = every point). The app
            passes about 2000; exports keep everything.
        x_range: visible x-range; downsampling then spends its points inside it.
        y_cap: ``"auto"`` caps a linear axis so exploded losses cannot flatten the other
            curves (with an off-the-chart marker); a number sets the top; None = let the
            axis fit everything.

    Raises:
        InvalidArgumentError: any value out of range, or a bare string for a collection.
    """

    models: tuple[str, ...] | None = None
    lengths: tuple[int, ...] | None = None
    smoothing: float = 0.0
    log_y: bool = False
    x_axis: Literal["steps", "tokens"] = "steps"
    show_divergence: bool = True
    show_spikes: bool = True
    show_stable: bool = True
    show_raw: bool = True
    title: str | None = None
    max_points: int | None = None
    x_range: tuple[float, float] | None = None
    y_cap: float | Literal["auto"] | None = DEFAULT_Y_CAP

    def __post_init__(self) -> None:
        for name in ("models", "lengths"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise InvalidArgumentError(f"{name} must be a collection, not {value!r}")
            if value is not None:
                object.__setattr__(self, name, tuple(value))
        if self.lengths is not None:
            object.__setattr__(self, "lengths", tuple(int(n) for n in self.lengths))
        smoothing = float(self.smoothing)
        if not 0.0 <= smoothing <= MAX_WEIGHT:
            raise InvalidArgumentError(
                f"smoothing must be between 0 and {MAX_WEIGHT}, got {self.smoothing}"
            )
        object.__setattr__(self, "smoothing", smoothing)
        if self.x_axis not in ("steps", "tokens"):
            raise InvalidArgumentError(f"x axis must be 'steps' or 'tokens', got {self.x_axis!r}")
        if self.max_points is not None and int(self.max_points) < MIN_POINTS:
            raise InvalidArgumentError(
                f"max points must be at least {MIN_POINTS}, got {self.max_points}"
            )
        if self.x_range is not None:
            lo, hi = (float(v) for v in self.x_range)
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi:
                raise InvalidArgumentError(f"x range must be two different numbers: {self.x_range}")
            object.__setattr__(self, "x_range", (min(lo, hi), max(lo, hi)))
        cap = self.y_cap
        if cap is not None and cap != "auto":
            if isinstance(cap, str) or not math.isfinite(float(cap)) or float(cap) <= 0:
                raise InvalidArgumentError(
                    f"y cap must be 'auto', None or a positive number: {cap!r}"
                )
            object.__setattr__(self, "y_cap", float(cap))


def default_title(runs: Sequence[Run]) -> str:
    """The reference's two-line title, for the models and lengths actually shown.

    With many models, or long run names, the first line counts them instead of listing.
    """
    models = list(dict.fromkeys(model_display_name(r.model) for r in runs))
    lengths = sorted({r.seq_len for r in runs if r.seq_len is not None})
    listed = " vs ".join(models)
    if not models:
        first = "Long-Context Stability: no runs"
    elif len(models) <= 3 and len(listed) <= 60:
        first = f"Long-Context Stability: {listed}"
    else:
        first = f"Training Stability: {len(models)} models"
    if not lengths:
        return first
    if len(lengths) == 1:
        return f"{first}<br>Sequence Length: {length_label(lengths[0])} tokens"
    span = f"{length_label(lengths[0])} to {length_label(lengths[-1])}"
    return f"{first}<br>Sequence Lengths: {span} tokens"


def short(text: str, limit: int = LABEL_CHARS) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis: legends and labels stay narrow."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def model_colors(models: Iterable[str]) -> dict[str, str]:
    """Colour per model: the reference's two, then a fixed palette in first-seen order."""
    colors: dict[str, str] = {}
    spare = iter(OTHER_COLORS)
    for m in dict.fromkeys(models):
        fixed = MODEL_COLORS.get(m.lower().replace("-", "").replace("_", ""))
        colors[m] = fixed or next(spare, None) or _hashed_color(m)
    return colors


def length_dashes(lengths: Iterable[int | None]) -> dict[int | None, str]:
    """Dash style per length, ascending, never repeated (custom patterns past six)."""
    given = set(lengths)
    ordered = sorted(n for n in given if n is not None) + ([None] if None in given else [])
    return {
        n: DASHES[i] if i < len(DASHES) else f"{2 + i}px,3px,1px,3px" for i, n in enumerate(ordered)
    }


def build_figure(
    runs: Iterable[Run],
    options: FigureOptions = FigureOptions(),  # noqa: B008 - frozen, so sharing is safe
    detections: Mapping[str, Detection] | None = None,
) -> go.Figure:
    """The loss-curve figure for ``runs`` (see the module docstring for what it shows).

    Args:
        runs: runs to draw (a RunSet or any iterable); filtered by ``options``.
        options: what to draw; the default is the publication figure.
        detections: detection per ``Run.run_id``; missing ones are computed with
            ``detect_run`` (pass them when you already have them: detection is the
            most expensive step).

    Returns:
        A ``plotly.graph_objects.Figure`` of ``go.Scatter`` traces (vector in PDF/SVG).

    Raises:
        InvalidArgumentError: ``x_axis="tokens"`` but a shown run has no tokens series.
    """
    import plotly.graph_objects as go

    # Every property is known-good (a test validates a built figure property by property),
    # so construction skips Plotly's validation: 10x faster for the same figure.
    fig = go.Figure(figure_dict(runs, options, detections), _validate=False)
    fig._validate = True  # edits made by callers afterwards are checked as usual
    return fig


def figure_dict(
    runs: Iterable[Run],
    options: FigureOptions = FigureOptions(),  # noqa: B008 - frozen, so sharing is safe
    detections: Mapping[str, Detection] | None = None,
) -> dict[str, Any]:
    """What :func:`build_figure` draws, as a plain ``{"data", "layout"}`` dict.

    The traces hold NumPy arrays as built. A server that sends the figure as JSON can use
    this directly and skip constructing (and copying back out of) a ``go.Figure``, which
    costs more than building the traces themselves.

    Args:
        runs: runs to draw (a RunSet or any iterable); filtered by ``options``.
        options: what to draw; the default is the publication figure.
        detections: detection per ``Run.run_id``; missing ones are computed with
            ``detect_run`` (pass them when you already have them: detection is the
            most expensive step).

    Returns:
        ``{"data": [trace dicts with "type": "scatter"], "layout": {...}}``.

    Raises:
        InvalidArgumentError: ``x_axis="tokens"`` but a shown run has no tokens series.
    """
    shown = _select(runs, options)
    found = {r.run_id: (detections or {}).get(r.run_id) or detect_run(r) for r in shown}
    colors = model_colors(r.model for r in shown)
    dashes = length_dashes(r.seq_len for r in shown)
    curves = [_Curve(r, found[r.run_id], options) for r in shown]
    y_top = _y_top(curves, options)

    traces: list[dict[str, Any]] = []
    shapes, stable_models = stable_band(shown, found, curves) if options.show_stable else ([], [])
    for curve in curves:
        traces += curve.traces(colors[curve.run.model], dashes[curve.run.seq_len], options)
    rug_row = 0
    rug_limit = min(options.max_points or RUG_MAX_STRETCHES, RUG_MAX_STRETCHES)
    for curve in curves:
        row = _RUG_TOP - _RUG_STEP * rug_row
        nonfinite = curve.nonfinite_trace(colors[curve.run.model], row, rug_limit)
        if nonfinite is not None:
            traces.append(nonfinite)
            rug_row += 1
    if y_top is not None:
        traces += [t for c in curves if (t := c.offchart_trace(y_top)) is not None]
    layout = _layout(shown, options, y_top, curves)
    layout["shapes"] = shapes
    layout["meta"] = {"stable_models": stable_models, "y_top": y_top}
    traces += _onset_traces(curves, layout["yaxis"]["range"], options.log_y)
    traces += _key_traces(colors, dashes, traces)
    _rank_legend(traces, shapes)

    for trace in traces:
        trace["type"] = "scatter"
    return {"data": traces, "layout": layout}


def clear_cache() -> None:
    """Forget every remembered smoothing, choice of points and scan (benchmarks and tests).

    Only read-only series (the app's runs) are remembered, so the figure never depends on
    what is cached: clearing changes how long the next build takes, not what it draws.
    """
    _downsample.clear_cache()
    _smoothing.clear_cache()
    _NONFINITE.clear()
    _ABOVE.clear()


def _select(runs: Iterable[Run], options: FigureOptions) -> list[Run]:
    chosen = [
        r
        for r in runs
        if (options.models is None or r.model in options.models)
        and (options.lengths is None or r.seq_len in options.lengths)
    ]
    if options.models is not None:
        order = {m: i for i, m in enumerate(options.models)}
        chosen.sort(key=lambda r: order[r.model])
    if options.x_axis == "tokens":
        missing = [r.display_name for r in chosen if "tokens" not in r.extra]
        if missing:
            raise InvalidArgumentError(
                f"x axis 'tokens' needs a tokens series, which {missing[0]} does not have"
            )
    return chosen


def _meta(run: Run | None, role: str, model: str | None = None) -> dict[str, Any]:
    return {
        "run_id": run.run_id if run else None,
        "model": run.model if run else model,
        "seq_len": run.seq_len if run else None,
        "seed": run.seed if run else None,
        "role": role,
    }


class _Curve:
    """One run prepared for drawing: x, raw and smoothed loss, the chosen points, onset."""

    def __init__(self, run: Run, detection: Detection, options: FigureOptions) -> None:
        self.run = run
        self.detection = detection
        self.x = _x_values(run, options.x_axis)
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
        seed = f" · seed {self.run.seed}" if self.run.seed is not None else ""
        return (
            f"<b>{self.name}</b>{seed}<br>step %{{customdata[0]:,}}"
            "<br>loss %{customdata[1]:.4g}<br>smoothed %{customdata[2]:.4g}<extra></extra>"
        )

    def traces(self, color: str, dash: str, options: FigureOptions) -> list[dict[str, Any]]:
        """raw (faint), loss (model colour) and diverged (divergence colour) line traces."""
        k = self.keep
        out: list[dict[str, Any]] = []
        common = {"mode": "lines", "showlegend": False, "legendgroup": self.run.run_id}
        if options.smoothing and options.show_raw:
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
        out.append(
            {
                **common,
                "x": x[: split + 1],
                "y": shown[: split + 1],
                "customdata": custom[: split + 1],
                "name": self.name,
                "line": {"color": color, "width": width, "dash": dash},
                "hovertemplate": self._hover(),
                "meta": _meta(self.run, "loss"),
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
    """The next 1, 2, 2.5 or 5 x 10^k at or above ``value``."""
    if value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
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


def stable_band(
    runs: Sequence[Run], found: Mapping[str, Detection], curves: Sequence[_Curve]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Shapes shading the steps where every shown run of every never-diverging model is stable.

    Models with a diverged run are left out (their onsets tell that story); several
    stable models share one band. The band is a layout shape under the grid lines, in an
    opaque tint: it shades without hiding the grid, and EPS (which has no transparency)
    stays vector. Returns the shapes and the models they stand for.
    """
    models = [
        m
        for m in dict.fromkeys(r.model for r in runs)
        if not any(found[r.run_id].diverged for r in runs if r.model == m)
    ]
    members = [r for r in runs if r.model in models]
    regions = _intersect([found[r.run_id].stable_regions for r in members])
    if not regions:
        return [], []
    ref = next(c for c in curves if c.run.run_id == members[0].run_id)
    scope = "all lengths" if len({r.seq_len for r in members}) > 1 else "every run"
    who = short(" and ".join(model_display_name(m) for m in models))
    name = f"{who} stable region ({scope})"
    shapes = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": _step_to_x(ref, start),
            "x1": _step_to_x(ref, end),
            "y0": 0,
            "y1": 1,
            "fillcolor": _tint(STABLE_COLOR, 0.12),
            "line": {"width": 0},
            "layer": "below",
            "name": name,
            "legendgroup": "status",
            "legendgrouptitle": {"text": "Model status"},
            "showlegend": i == 0,
        }
        for i, (start, end) in enumerate(regions)
    ]
    return shapes, models


def _intersect(region_sets: Sequence[Sequence[tuple[int, int]]]) -> list[tuple[int, int]]:
    """Intervals (inclusive) covered by every set."""
    if not region_sets:
        return []
    current = [tuple(r) for r in region_sets[0]]
    for regions in region_sets[1:]:
        nxt = []
        for a0, a1 in current:
            for b0, b1 in regions:
                lo, hi = max(a0, b0), min(a1, b1)
                if lo <= hi:
                    nxt.append((lo, hi))
        current = nxt
    return sorted(current)


def _step_to_x(curve: _Curve, step: int) -> float:
    i = min(int(np.searchsorted(curve.run.steps, step)), curve.run.steps.size - 1)
    return float(curve.x[i])


def _onset_traces(
    curves: Sequence[_Curve], y_range: list[float] | None, log_y: bool
) -> list[dict[str, Any]]:
    """An X per onset, with its label at the end of a short leader line.

    Onsets close together in x form a cluster whose labels stack in a column below it
    (above it when there is no room below), so neighbouring labels never overlap.
    """
    points = [(c, p) for c in curves if (p := c.onset_point()) is not None]
    points = [(c, (x, y)) for c, (x, y) in points if math.isfinite(y) and (y > 0 or not log_y)]
    if not points:
        return []
    points.sort(key=lambda cp: cp[1][0])
    to_axis = (lambda v: math.log10(v)) if log_y else (lambda v: v)
    from_axis = (lambda v: 10.0**v) if log_y else (lambda v: v)
    xs = np.array([x for _, (x, _) in points])
    ys = np.array([to_axis(y) for _, (_, y) in points])
    if y_range is not None:
        lo, hi = y_range
        ys = np.clip(ys, lo, hi)
    else:
        lo, hi = float(ys.min()) - 1, float(ys.max()) + 1
    extents = [c.extent for c in curves if c.extent is not None]
    x_span = (max(e[1] for e in extents) - min(e[0] for e in extents)) or 1.0
    y_span = (hi - lo) or 1.0
    clusters: list[list[int]] = [[0]]
    for i in range(1, len(points)):
        if xs[i] - xs[clusters[-1][-1]] < 0.06 * x_span:
            clusters[-1].append(i)
        else:
            clusters.append([i])
    models = {c.run.model for c, _ in points}
    labels = []
    for curve, _ in points:
        step = int(curve.run.steps[curve.onset_index])  # type: ignore[index]
        who = (
            short(curve.name, 24)
            if len(models) > 1 or curve.run.seq_len is None
            else f"N={length_label(curve.run.seq_len)}"
        )
        labels.append(f"{who}, step {step:,}")
    x_min = min(e[0] for e in extents)
    data_per_char = _LABEL_CHAR_PX / _PLOT_PX * x_span
    out = []
    for members in clusters:
        rows = len(members)
        # up and to the left first: curves fall from there and diverged ones rise to the right
        up = float(ys[members].max()) + (0.2 + 0.06 * (rows - 1)) * y_span <= hi - 0.12 * y_span
        widest = max(len(labels[i]) for i in members) * data_per_char
        left = float(xs[members].min()) - 0.025 * x_span - widest >= x_min
        for row, i in enumerate(members):
            curve, (x, _) = points[i]
            if left:
                label_x = float(xs[members].min()) - 0.025 * x_span
            else:
                label_x = float(xs[members].max()) + 0.025 * x_span
            if up:
                label_y = float(ys[members].max()) + (0.2 + 0.06 * row) * y_span
            else:
                label_y = float(ys[members].min()) - (0.08 + 0.06 * row) * y_span
            step = int(curve.run.steps[curve.onset_index])  # type: ignore[index]
            hover = (
                f"<b>{curve.name}</b> diverges at step {step:,}"
                f"<br>{_escape(curve.detection.reason)}<extra></extra>"
            )
            out.append(
                {
                    "mode": "lines+markers+text",
                    "x": [x, label_x],
                    "y": [from_axis(float(ys[i])), from_axis(label_y)],
                    "text": ["", labels[i]],
                    "textposition": "middle left" if left else "middle right",
                    "textfont": {"color": "#9A5200", "size": 13},
                    "cliponaxis": False,
                    "name": f"{curve.name} divergence onset",
                    "showlegend": False,
                    "legendgroup": curve.run.run_id,
                    "line": {"color": "#707070", "width": 0.8},
                    "marker": {
                        "symbol": ["x", "circle"],
                        "size": [15, 0],
                        "opacity": 1,  # lines+markers would fade markers to 0.7
                        "color": DIVERGENCE_COLOR,
                        "line": {"color": "black", "width": 1},
                    },
                    "hovertemplate": hover,
                    "meta": _meta(curve.run, "onset"),
                }
            )
    return out


def _escape(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _key_traces(
    colors: Mapping[str, str],
    dashes: Mapping[int | None, str],
    drawn: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Legend-only entries: model colours, divergence, markers, and dash per length."""
    roles = {t["meta"]["role"] for t in drawn}
    key = {"x": [None], "y": [None], "hoverinfo": "skip", "showlegend": True}
    status = {"legendgroup": "status", "legendgrouptitle": {"text": "Model status"}}
    out: list[dict[str, Any]] = []
    for model, color in colors.items():
        out.append(
            {
                **key,
                **status,
                "mode": "lines",
                "name": short(model_display_name(model)),
                "line": {"color": color, "width": 3},
                "meta": _meta(None, _ROLE_KEY, model),
            }
        )
    extras = [
        (
            "diverged",
            "After divergence onset",
            {"mode": "lines", "line": {"color": DIVERGENCE_COLOR, "width": 3}},
        ),
        (
            "onset",
            "Divergence onset",
            {
                "mode": "markers",
                "marker": {
                    "symbol": "x",
                    "size": 11,
                    "color": DIVERGENCE_COLOR,
                    "line": {"color": "black", "width": 1},
                },
            },
        ),
        (
            "spikes",
            "Loss spike (recovered)",
            {
                "mode": "markers",
                "marker": {
                    "symbol": "circle-open",
                    "size": 10,
                    "color": "#444444",
                    "line": {"width": 2},
                },
            },
        ),
        (
            "offchart",
            "Off the chart (hover for max)",
            {
                "mode": "markers",
                "marker": {
                    "symbol": "triangle-up",
                    "size": 11,
                    "color": DIVERGENCE_COLOR,
                    "line": {"color": "black", "width": 1},
                },
            },
        ),
    ]
    for role, name, style in extras:
        if role in roles:
            out.append({**key, **status, **style, "name": name, "meta": _meta(None, _ROLE_KEY)})
    lengths = [n for n in dashes]
    for n in lengths:
        out.append(
            {
                **key,
                "mode": "lines",
                "name": f"N={length_label(n)}" if n is not None else "length unknown",
                "legendgroup": "length",
                "legendgrouptitle": {"text": "Sequence length"},
                "line": {"color": "#555555", "width": 2, "dash": dashes[n]},
                "meta": {**_meta(None, _ROLE_KEY), "seq_len": n},
            }
        )
    return out


_GROUP_RANK = {"status": 1000, "length": 2000, "nonfinite": 3000}


def _rank_legend(traces: list[dict[str, Any]], shapes: list[dict[str, Any]]) -> None:
    """Legend order: model status (models, stable band, markers), lengths, non-finite."""
    counters = dict(_GROUP_RANK)
    for trace in traces:
        group = trace.get("legendgroup")
        if trace.get("showlegend") and group in counters:
            counters[group] += 2
            trace["legendrank"] = counters[group]
    models = sum(1 for t in traces if t["meta"]["role"] == _ROLE_KEY and t["meta"]["model"])
    for shape in shapes:
        shape["legendrank"] = _GROUP_RANK["status"] + 2 * models + 1  # right after the models


def _tint(hex_color: str, strength: float) -> str:
    """``hex_color`` blended with white: opaque, so EPS (no transparency) stays vector."""
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    mix = [round(255 - strength * (255 - c)) for c in (r, g, b)]
    return "#{:02X}{:02X}{:02X}".format(*mix)


def _hashed_color(name: str) -> str:
    import zlib

    hue = zlib.crc32(name.encode()) % 360
    return f"hsl({hue},55%,40%)"


def _x_extent(curves: Sequence[_Curve]) -> list[float] | None:
    """The data's x-extent: no padding, so the curves meet the frame as in the reference."""
    lows = [c.extent[0] for c in curves if c.extent is not None]
    highs = [c.extent[1] for c in curves if c.extent is not None]
    if not lows or min(lows) == max(highs):
        return None
    return [min(lows), max(highs)]


def _layout(
    runs: Sequence[Run], options: FigureOptions, y_top: float | None, curves: Sequence[_Curve]
) -> dict[str, Any]:
    axis = {
        "showline": True,
        "linecolor": "black",
        "linewidth": 1,
        "mirror": True,
        "ticks": "outside",
        "tickcolor": "black",
        "showgrid": True,
        "gridcolor": "#D4D4D4",
        "griddash": "dash",
        "zeroline": False,
        "title": {"font": {"size": 18, "weight": "bold"}, "standoff": 8},
        "tickfont": {"size": 13},
    }
    y_range = _y_range(curves, y_top, options.log_y)
    title = options.title if options.title is not None else default_title(runs)
    return {
        "width": WIDTH_PX,
        "height": HEIGHT_PX,
        "font": {"family": FONT_FAMILY, "size": 13, "color": "black"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "title": {
            "text": title,
            "x": 0.5,
            "xanchor": "center",
            "y": 0.965,
            "yanchor": "top",
            "font": {"size": 20, "weight": "bold"},
        },
        "margin": {"l": 78, "r": 20, "t": 92 if "<br>" in title else 64, "b": 64},
        "xaxis": {
            **axis,
            "title": {
                **axis["title"],
                "text": "Tokens Seen" if options.x_axis == "tokens" else "Training Step",
            },
            "range": list(options.x_range) if options.x_range else _x_extent(curves),
            "hoverformat": ",",
        },
        "yaxis": {
            **axis,
            "title": {**axis["title"], "text": "Loss (log scale)" if options.log_y else "Loss"},
            "type": "log" if options.log_y else "linear",
            "range": y_range,
            "exponentformat": "power" if options.log_y else "B",
        },
        "yaxis2": {
            "overlaying": "y",
            "range": [0, 1],
            "visible": False,
            "fixedrange": True,
        },
        "legend": {
            "x": 1.01,
            "xanchor": "left",
            "y": 1.0,
            "yanchor": "top",
            "bordercolor": "black",
            "borderwidth": 1,
            "bgcolor": "white",
            "font": {"size": 13},
            "grouptitlefont": {"size": 14, "weight": "bold"},
            "tracegroupgap": 10,
            "groupclick": "toggleitem",
            "traceorder": "grouped",
        },
        "hovermode": "closest",
        "showlegend": True,
        "template": {"layout": {}},  # no default template: the figure sets all it needs
    }


__all__ = [
    "DIVERGENCE_COLOR",
    "FONT_FAMILY",
    "HEIGHT_PX",
    "MODEL_COLORS",
    "PX_PER_INCH",
    "RUG_MAX_STRETCHES",
    "STABLE_COLOR",
    "WIDTH_PX",
    "FigureOptions",
    "build_figure",
    "clear_cache",
    "default_title",
    "figure_dict",
    "length_dashes",
    "model_colors",
]
