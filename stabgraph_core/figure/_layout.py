"""Legend, onset labels and page layout of the figure: everything drawn around the curves."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..model import NO_LENGTH_LABEL, length_label, model_display_name
from ._curves import _Curve, _y_range
from ._style import (
    _LABEL_CHAR_PX,
    _PLOT_PX,
    _ROLE_KEY,
    DIVERGENCE_COLOR,
    _meta,
    _shade,
    axis_style,
    length_position,
    page_layout,
    short,
)

if TYPE_CHECKING:
    from ._options import FigureOptions


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
            + (f" seed {curve.run.seed}" if curve.run.seed is not None else "")
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
        if left:
            label_x = float(xs[members].min()) - 0.025 * x_span
        else:
            label_x = float(xs[members].max()) + 0.025 * x_span
        if up:
            rows_y = [float(ys[members].max()) + (0.2 + 0.06 * r) * y_span for r in range(rows)]
        else:
            rows_y = [float(ys[members].min()) - (0.08 + 0.06 * r) * y_span for r in range(rows)]
        ends = [(label_x / x_span, y / y_span * _ASPECT) for y in rows_y]
        starts = {i: (xs[i] / x_span, ys[i] / y_span * _ASPECT) for i in members}
        for row, i in enumerate(_uncrossed(members, starts, ends)):
            curve, (x, _) = points[i]
            label_y = rows_y[row]
            step = int(curve.run.steps[curve.onset_index])  # type: ignore[index]
            hover = (
                f"<b>{curve.name}</b> diverges at step {step:,}{_whose_step(curve)}"
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


#: Height / width of the plot area: leaders are compared for crossing as drawn.
_ASPECT = 0.55
#: Clusters up to this size get the row order whose leaders cross least (tried in full).
_UNCROSS_MAX = 6


def _uncrossed(
    members: list[int],
    starts: Mapping[int, tuple[float, float]],
    ends: Sequence[tuple[float, float]],
) -> list[int]:
    """``members`` in the label-row order whose leaders (point to row) cross least; ties
    keep the x order. Larger clusters are ordered by height, which rarely crosses."""
    if len(members) > _UNCROSS_MAX:
        top_first = ends[0][1] > ends[-1][1]
        return sorted(members, key=lambda i: starts[i][1], reverse=not top_first)
    best, fewest = members, _crossings(members, starts, ends)
    if fewest:
        for order in itertools.permutations(members):
            count = _crossings(list(order), starts, ends)
            if count < fewest:
                best, fewest = list(order), count
                if not count:
                    break
    return best


def _crossings(
    order: list[int],
    starts: Mapping[int, tuple[float, float]],
    ends: Sequence[tuple[float, float]],
) -> int:
    segments = [(starts[i], ends[row]) for row, i in enumerate(order)]
    return sum(
        _cross(*segments[a], *segments[b])
        for a in range(len(segments))
        for b in range(a + 1, len(segments))
    )


def _cross(p1: tuple, p2: tuple, q1: tuple, q2: tuple) -> bool:
    """Whether segments p1-p2 and q1-q2 properly intersect."""

    def side(a: tuple, b: tuple, c: tuple) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = side(q1, q2, p1), side(q1, q2, p2)
    d3, d4 = side(p1, p2, q1), side(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


def _escape(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _whose_step(curve: _Curve) -> str:
    """Whether the marked step is the log's own or stabgraph's, and the other where both
    exist and differ (the table's *Declared* and *Detected* columns)."""
    found = curve.detection
    if curve.run.diverged:
        if found.diverged and found.divergence_step != curve.run.divergence_step:
            return f" (as its log declares; detected at step {found.divergence_step:,})"
        return " (as its log declares)"
    return " (detected)"


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
                "name": f"N={length_label(n)}" if n is not None else NO_LENGTH_LABEL,
                "legendgroup": "length",
                "legendgrouptitle": {"text": "Sequence length"},
                "line": {
                    "color": _shade("#555555", length_position(n, lengths)),
                    "width": 2,
                    "dash": dashes[n],
                },
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


def _x_extent(curves: Sequence[_Curve]) -> list[float] | None:
    """The data's x-extent: no padding, so the curves meet the frame as in the reference."""
    lows = [c.extent[0] for c in curves if c.extent is not None]
    highs = [c.extent[1] for c in curves if c.extent is not None]
    if not lows or min(lows) == max(highs):
        return None
    return [min(lows), max(highs)]


def _layout(
    title: str, options: FigureOptions, y_top: float | None, curves: Sequence[_Curve]
) -> dict[str, Any]:
    """Page, axes and legend; ``title`` is the one shown (the caller resolves the default)."""
    axis = axis_style()
    y_range = _y_range(curves, y_top, options.log_y)
    return {
        **page_layout(title),
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
    }
