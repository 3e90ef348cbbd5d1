"""The gradient-norm panel: a log-scale panel under the loss, sharing its x axis.

Drawn when :attr:`FigureOptions.grad_norm` asks for it (``auto``: when a shown run logs a
gradient norm, see :mod:`stabgraph_core.series`). Each run that logs one gets a line in its
loss curve's colour and dash (role ``grad_norm``) and open circles at the peaks of its
gradient-norm spikes (role ``grad_spikes``, from its :class:`Detection`). Only logged,
finite, positive values are drawn: a step that did not log a norm is no point, and a log
axis has no place for zero. The line is downsampled like the loss (the same MinMaxLTTB
with the same point budget and x-range), its choice of points remembered per read-only
series.

The layout: the loss keeps the top of the plot (its y axis, the NaN rug and the
off-the-chart markers above it, the legend and the onset labels), the panel takes the
bottom quarter on ``yaxis3``, and the one x axis is drawn under the panel (two line
shapes close the loss panel's frame), so a zoom or pan on either moves both and the
relayout still names ``xaxis.range``. The stable band is shaded in the loss panel only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..downsample import IdentityLRU, downsample
from ..series import grad_norm
from ._style import _meta

if TYPE_CHECKING:
    from ._curves import _Curve
    from ._options import FigureOptions

#: Paper fractions of the plot height: the loss panel on top, the gradient norm below.
LOSS_DOMAIN = (0.33, 1.0)
GRAD_DOMAIN = (0.0, 0.25)
GRAD_AXIS = "y3"  # yaxis2 is the loss panel's invisible overlay (rug, off-chart markers)
GRAD_TITLE = "Gradient norm"
NO_GRAD_NOTE = "no gradient norm logged"
ROLE_LINE = "grad_norm"
ROLE_SPIKES = "grad_spikes"

# chosen points per read-only (x, norm) pair, budget and x-range: indices into the run
_CHOSEN = IdentityLRU(512)


def clear_cache() -> None:
    """Forget every remembered choice of gradient-norm points."""
    _CHOSEN.clear()


def add_panel(
    traces: list[dict[str, Any]],
    layout: dict[str, Any],
    curves: Sequence[_Curve],
    colors: Mapping[tuple[str, int | None], str],
    dashes: Mapping[int | None, str],
    options: FigureOptions,
) -> None:
    """Append the panel's traces to ``traces`` and make room for it in ``layout``.

    ``auto``: only when a shown run logs a gradient norm; ``on``: always; ``off``: never.
    """
    if options.grad_norm == "off" or not curves:
        return
    drawn = panel_traces(curves, colors, dashes, options)
    if not drawn and options.grad_norm == "auto":
        return
    apply_layout(layout, drawn=bool(drawn))
    traces += drawn or [_placeholder()]
    if any(t["meta"]["role"] == ROLE_SPIKES for t in drawn):
        traces.append(_key())


def panel_traces(
    curves: Sequence[_Curve],
    colors: Mapping[tuple[str, int | None], str],
    dashes: Mapping[int | None, str],
    options: FigureOptions,
) -> list[dict[str, Any]]:
    """Line and spike traces of every run that logs a gradient norm (the panel's data)."""
    out: list[dict[str, Any]] = []
    for curve in curves:
        norm = grad_norm(curve.run)
        if norm is None or norm.shape != curve.run.steps.shape:
            continue
        color, dash = colors[curve.run.model, curve.run.seq_len], dashes[curve.run.seq_len]
        out.append(_line(curve, norm, color, dash, options))
        if options.show_spikes and curve.detection.grad_norm_spikes:
            spikes = _spikes(curve, norm, color, options)
            if spikes is not None:
                out.append(spikes)
    return out


def frame_shapes() -> list[dict[str, Any]]:
    """The loss panel's top and bottom edges (its x axis is the panel's, under both)."""
    return [
        {
            "type": "line",
            "xref": "x domain",
            "yref": "y domain",
            "x0": 0,
            "x1": 1,
            "y0": edge,
            "y1": edge,
            "line": {"color": "black", "width": 1},
            "layer": "above",
            "name": "loss panel frame",
        }
        for edge in (0, 1)
    ]


def apply_layout(layout: dict[str, Any], drawn: bool) -> None:
    """Make room for the panel: the loss on top, ``yaxis3`` below, one x axis under both.

    ``drawn`` False (``on`` with no run logging a norm) puts a note in the empty panel.
    """
    loss_axis = layout["yaxis"]
    loss_axis["domain"] = list(LOSS_DOMAIN)
    x_axis = layout["xaxis"]
    x_axis["anchor"] = GRAD_AXIS
    x_axis["mirror"] = True  # frames the panel; the loss panel's top and bottom: below
    # (mirror="all" would frame both, but Plotly draws a NaN path on a first render with it)
    layout.setdefault("shapes", []).extend(frame_shapes())
    title = {**loss_axis["title"], "text": GRAD_TITLE, "font": {"size": 15, "weight": "bold"}}
    layout["yaxis3"] = {
        **{k: v for k, v in loss_axis.items() if k not in ("range", "title", "type", "domain")},
        "title": title,
        "type": "log",
        "domain": list(GRAD_DOMAIN),
        "anchor": "x",
        "exponentformat": "power",
        "tickfont": {"size": 12},
    }
    for shape in layout.get("shapes", []):
        if shape.get("yref") == "paper":  # the stable band: shade the loss panel only
            shape["yref"] = "y domain"
    if not drawn:
        layout.setdefault("annotations", []).append(
            {
                "text": NO_GRAD_NOTE,
                "xref": "x domain",
                "yref": f"{GRAD_AXIS} domain",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": 14, "color": "#555555"},
            }
        )
        layout["yaxis3"]["showticklabels"] = False


def _valid(curve: _Curve, norm: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Indices in ``[lo, hi)`` of the logged, finite, positive values (on a finite x)."""
    part = norm[lo:hi]
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(part) & (part > 0)
    if curve.x is not curve.run.steps:
        ok &= np.isfinite(curve.x[lo:hi])
    return np.flatnonzero(ok) + lo


def _chosen(curve: _Curve, norm: np.ndarray, options: FigureOptions) -> np.ndarray:
    """The points of the line: valid ones, downsampled like the loss, remembered."""
    x = curve.x
    extra = (
        options.max_points,
        None if options.x_range is None else tuple(float(v) for v in options.x_range),
    )
    cacheable = _CHOSEN.cacheable(x, norm)
    found = _CHOSEN.get((x, norm), extra) if cacheable else None
    if found is not None:
        return found
    lo, hi = 0, norm.size
    if options.x_range is not None and x is curve.run.steps:  # sorted: look inside the view
        # whole-number ends: a float would make searchsorted cast every step to float
        first, last = math.ceil(options.x_range[0]), math.floor(options.x_range[1])
        lo = max(0, int(np.searchsorted(x, first)) - 2)
        hi = min(norm.size, int(np.searchsorted(x, last, side="right")) + 2)
    at = _valid(curve, norm, lo, hi)
    if at.size == norm.size:
        found = downsample(x, norm, options.max_points, options.x_range)
    elif at.size:
        found = at[downsample(x[at], norm[at], options.max_points, options.x_range)]
    else:
        found = at
    if cacheable:
        _CHOSEN.put((x, norm), extra, found)
    return found


def _hover(curve: _Curve, options: FigureOptions, what: str) -> str:
    seed = f" · seed {curve.run.seed}" if curve.run.seed is not None else ""
    step = "%{x:,}" if options.x_axis == "steps" else "%{customdata:,}"
    return f"<b>{what}{curve.name}</b>{seed}<br>step {step}<br>grad norm %{{y:.4g}}<extra></extra>"


def _line(
    curve: _Curve, norm: np.ndarray, color: str, dash: str, options: FigureOptions
) -> dict[str, Any]:
    k = _chosen(curve, norm, options)
    trace: dict[str, Any] = {
        "mode": "lines",
        "x": curve.x[k],
        "y": norm[k],
        "yaxis": GRAD_AXIS,
        "name": f"{curve.name} gradient norm",
        "showlegend": False,
        "legendgroup": curve.run.run_id,
        "line": {"color": color, "width": 1.5, "dash": dash},
        "hovertemplate": _hover(curve, options, ""),
        "meta": _meta(curve.run, ROLE_LINE),
    }
    if options.x_axis != "steps":
        trace["customdata"] = curve.run.steps[k]
    return trace


def _spikes(
    curve: _Curve, norm: np.ndarray, color: str, options: FigureOptions
) -> dict[str, Any] | None:
    steps = curve.run.steps
    at = np.searchsorted(steps, [s.peak for s in curve.detection.grad_norm_spikes])
    at = at[at < steps.size]
    with np.errstate(invalid="ignore"):
        at = at[np.isfinite(norm[at]) & (norm[at] > 0) & np.isfinite(curve.x[at])]
    if at.size == 0:
        return None
    trace: dict[str, Any] = {
        "mode": "markers",
        "x": curve.x[at],
        "y": norm[at],
        "yaxis": GRAD_AXIS,
        "name": f"{curve.name} gradient-norm spikes",
        "showlegend": False,
        "legendgroup": curve.run.run_id,
        "marker": {"symbol": "circle-open", "size": 10, "color": color, "line": {"width": 2}},
        "hovertemplate": _hover(curve, options, "Gradient-norm spike · "),
        "meta": _meta(curve.run, ROLE_SPIKES),
    }
    if options.x_axis != "steps":
        trace["customdata"] = steps[at]
    return trace


def _placeholder() -> dict[str, Any]:
    """An empty trace on the panel's axis: Plotly draws no subplot that holds no trace."""
    return {
        "x": [None],
        "y": [None],
        "yaxis": GRAD_AXIS,
        "mode": "lines",
        "name": NO_GRAD_NOTE,
        "showlegend": False,
        "hoverinfo": "skip",
        "meta": _meta(None, "key"),
    }


def _key() -> dict[str, Any]:
    """The legend's entry for the spike circles of the panel."""
    return {
        "x": [None],
        "y": [None],
        "yaxis": GRAD_AXIS,
        "hoverinfo": "skip",
        "showlegend": True,
        "mode": "markers",
        "name": "Gradient-norm spike",
        "legendgroup": "status",
        "legendgrouptitle": {"text": "Model status"},
        "marker": {"symbol": "circle-open", "size": 10, "color": "#444444", "line": {"width": 2}},
        "meta": _meta(None, "key"),
    }
