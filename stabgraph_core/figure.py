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

from . import _figure_scans
from . import downsample as _downsample
from . import smoothing as _smoothing
from ._figure_curves import _Curve, _step_to_x, _y_top
from ._figure_layout import _key_traces, _layout, _onset_traces, _rank_legend
from ._figure_style import (
    _RUG_STEP,
    _RUG_TOP,
    DASHES,
    DEFAULT_Y_CAP,
    DIVERGENCE_COLOR,
    FONT_FAMILY,
    HEIGHT_PX,
    MODEL_COLORS,
    OTHER_COLORS,
    PX_PER_INCH,
    RUG_MAX_STRETCHES,
    STABLE_COLOR,
    WIDTH_PX,
    _hashed_color,
    _tint,
    short,
)

# public here too, though only the other figure modules use them
from ._figure_style import CAP_SAMPLE as CAP_SAMPLE
from ._figure_style import HEIGHT_IN as HEIGHT_IN
from ._figure_style import LABEL_CHARS as LABEL_CHARS
from ._figure_style import WIDTH_IN as WIDTH_IN
from .detect import Detection, detect_run
from .downsample import MIN_POINTS
from .errors import InvalidArgumentError
from .model import Run, length_label, model_display_name
from .smoothing import MAX_WEIGHT

if TYPE_CHECKING:
    import plotly.graph_objects as go


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

    Takes the same arguments and raises the same errors as :func:`figure_dict`; returns a
    ``plotly.graph_objects.Figure`` of ``go.Scatter`` traces (vector in PDF/SVG).
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
    title = options.title if options.title is not None else default_title(shown)
    layout = _layout(title, options, y_top, curves)
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
    _figure_scans.clear_cache()


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
