"""Builds the loss-curve figure: :func:`figure_dict` and the stable band (see the package)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import downsample as _downsample
from .. import smoothing as _smoothing
from ..detect import Detection, detect_run
from ..errors import InvalidArgumentError
from ..model import Run, length_label, model_display_name
from ..seeds import grouped_run_ids, seed_groups
from . import _bands, _gradnorm, _scans
from ._curves import _Curve, _onset_step, _x_values, _y_top
from ._layout import _key_traces, _layout, _onset_traces, _rank_legend, _x_extent
from ._options import FigureOptions
from ._style import (
    _RUG_STEP,
    _RUG_TOP,
    DASHES,
    MODEL_COLORS,
    OTHER_COLORS,
    RUG_MAX_STRETCHES,
    STABLE_COLOR,
    _hashed_color,
    _shade,
    _tint,
    length_position,
    short,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go


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
        # names of files from different projects are not models: count the runs, and
        # the models only when some model has several runs
        first = f"Training Stability: {len(runs)} runs"
        if len(models) < len(runs):
            first += f" of {len(models)} models"
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


def length_shades(
    colors: Mapping[str, str], dashes: Mapping[int | None, str], runs: Iterable[Run]
) -> dict[tuple[str, int | None], str]:
    """Colour per (model, length): the model's hue, darkest for its shortest length and
    lightest for its longest, so lengths part at a glance as well as by dash."""
    lengths = list(dashes)
    return {
        (r.model, r.seq_len): _shade(colors[r.model], length_position(r.seq_len, lengths))
        for r in runs
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
    shades = length_shades(colors, dashes, shown)
    curves = [_Curve(r, found[r.run_id], options) for r in shown]
    y_top = _y_top(curves, options)

    traces: list[dict[str, Any]] = []
    shapes, stable_models = stable_band(shown, found, curves) if options.show_stable else ([], [])
    groups = seed_groups(shown) if options.bands != "off" else []
    grouped = grouped_run_ids(groups)
    under, over = _bands.band_traces(
        groups, {c.run.run_id: c for c in curves}, shades, dashes, options
    )
    traces += under
    for curve in curves:
        color, dash = shades[curve.run.model, curve.run.seq_len], dashes[curve.run.seq_len]
        traces += curve.traces(color, dash, options, grouped=curve.run.run_id in grouped)
    traces += over
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
    whole_x = layout["xaxis"]["range"] if options.x_range is None else _x_extent(curves)
    home = {"xaxis": whole_x, "yaxis": layout["yaxis"]["range"]}
    layout["meta"] = {"stable_models": stable_models, "y_top": y_top, "home": home}
    traces += _onset_traces(curves, layout["yaxis"]["range"], options.log_y)
    traces += _key_traces(colors, dashes, traces)
    if groups:
        traces.append(_bands.legend_key(options.bands))
    _gradnorm.add_panel(traces, layout, curves, shades, dashes, options)
    _rank_legend(traces, shapes)
    if options.fit_legend:
        _fit_legend(layout, traces, shapes)

    for trace in traces:
        trace["type"] = "scatter"
    return {"data": traces, "layout": layout}


#: Legend rows (entries and group titles) that fit the page's height at the usual 13 px.
LEGEND_ROWS = 22


def _fit_legend(layout: dict[str, Any], traces: list[dict[str, Any]], shapes: list) -> None:
    """Smaller legend text when there are more entries than the page is tall (a folder of
    twenty real runs), so the legend is never cut off at the bottom of a PDF."""
    entries = sum(1 for t in traces if t.get("showlegend")) + sum(
        1 for sh in shapes if sh.get("showlegend")
    )
    groups = len({t.get("legendgroup") for t in traces if t.get("showlegend")})
    rows = entries + 1.5 * groups
    if rows <= LEGEND_ROWS:
        return
    scale = LEGEND_ROWS / rows
    legend = layout["legend"]
    legend["font"] = {**legend["font"], "size": max(7, round(13 * scale))}
    legend["grouptitlefont"] = {**legend["grouptitlefont"], "size": max(8, round(14 * scale))}
    legend["tracegroupgap"] = max(2, round(10 * scale))


def clear_cache() -> None:
    """Forget every remembered smoothing, choice of points and scan (benchmarks and tests).

    Only read-only series (the app's runs) are remembered, so the figure never depends on
    what is cached: clearing changes how long the next build takes, not what it draws.
    """
    _downsample.clear_cache()
    _smoothing.clear_cache()
    _scans.clear_cache()
    _gradnorm.clear_cache()
    _bands.clear_cache()


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
    runs: Sequence[Run],
    found: Mapping[str, Detection],
    curves: Sequence[_Curve] | None = None,
    x_axis: str = "steps",
) -> tuple[list[dict[str, Any]], list[str]]:
    """Shapes shading the steps where every run in ``runs`` is stable (legend: *All runs
    stable*), and the models of those runs; ``([], [])`` where no step is.

    It says where the figure's runs are all stable together: up to the first divergence
    among them (and between spikes, where none is recovering), or everywhere when none
    diverges. A caller drawing a subset of its runs (the app, after unticking a model)
    passes that subset, so the shading always speaks of what is shown. The band is a layout
    shape under the grid lines, in the loss panel (``y domain``), in an opaque tint: it
    shades without hiding the grid, and EPS (which has no transparency) stays vector.

    Args:
        runs: the runs shown.
        found: detection per ``run_id``.
        curves: the runs' prepared curves when the caller has them (their x values);
            otherwise the x of ``runs[0]`` on ``x_axis`` maps steps to x.
        x_axis: ``steps`` or ``tokens`` (only used without ``curves``).
    """
    if not runs:
        return [], []
    regions = _intersect([_stable_before_onset(r, found[r.run_id]) for r in runs])
    if not regions:
        return [], []
    ref = runs[0]
    if curves is not None:
        x = next(c for c in curves if c.run.run_id == ref.run_id).x
    else:
        x = _x_values(ref, x_axis)
    name = "All runs stable" if len(runs) > 1 else f"{short(ref.display_name)} stable"
    shapes = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "y domain",
            "x0": _step_x(ref, x, start),
            "x1": _step_x(ref, x, end),
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
    return shapes, list(dict.fromkeys(r.model for r in runs))


def _stable_before_onset(run: Run, found: Detection) -> list[tuple[int, int]]:
    """The run's stable regions, ending before the onset the figure marks (a declared
    onset can come a step or two before the detected one)."""
    onset = _onset_step(run, found)
    regions = [tuple(r) for r in found.stable_regions]
    if onset is None:
        return regions
    return [(a, min(b, onset - 1)) for a, b in regions if a <= onset - 1]


def _step_x(run: Run, x: Any, step: int) -> float:
    i = min(int(np.searchsorted(run.steps, step)), run.steps.size - 1)
    return float(x[i])


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
