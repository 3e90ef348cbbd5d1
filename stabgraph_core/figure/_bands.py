"""Seed bands: a seed group's mean curve and its spread (mean ± 1 std, or min–max).

For every seed group among the shown runs (``seeds.py``: two or more seeds of one model,
length and label) and ``FigureOptions.bands`` other than ``off``, the figure gets

- a filled band (role ``band``) under everything, in an opaque tint of the model colour
  with a thin edge: the sample std around the mean where two or more seeds count, or the
  lowest to highest seed; a step where fewer than two seeds count leaves a gap (the
  band's polygons are split there);
- the group's mean curve (role ``seed_mean``) over the seeds' lines, in the model colour
  and the length's dash, hovering the mean, the spread and how many seeds count.

Both are computed on the curves as drawn (smoothed when smoothing is on). A seed counts
only before its divergence onset, so a diverged seed never pulls the mean up or widens the
band: it goes on as its own line from its onset, in the divergence colour, with its marker
(``_Curve.traces(grouped=True)``). Band and mean carry ``meta.run_id = group.group_id``.

The statistics are remembered per process for read-only runs (the app's), keyed by the
identity of the seeds' curves and their cut-offs, so a redraw that does not move the
curves costs a lookup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..downsample import MIN_POINTS, IdentityLRU, downsample
from ..seeds import SeedGroup, SeedStats, seed_stats
from ._curves import _Curve, _onset_step, _plottable
from ._style import _tint

if TYPE_CHECKING:
    from ._options import FigureOptions

#: Tint of the model colour a band is filled with (opaque: EPS has no transparency).
BAND_TINT = 0.22
#: Tint of a band's edge.
EDGE_TINT = 0.45
_STATS = IdentityLRU(64)

_LEGEND_TEXT = {"std": "Seed mean ± 1 std", "minmax": "Seed mean, min–max"}


def clear_cache() -> None:
    """Forget every remembered group statistics."""
    _STATS.clear()


def group_stats(group: SeedGroup, curves: Mapping[str, _Curve]) -> SeedStats:
    """The group's per-step statistics over its curves as drawn, each seed cut at its onset."""
    members = [curves[run.run_id] for run in group.runs]
    arrays = tuple(a for c in members for a in (c.run.steps, c.shown))
    cutoffs = tuple(_onset_step(c.run, c.detection) for c in members)
    table = _STATS.get(arrays, cutoffs)
    if table is None:
        stats = seed_stats([c.run.steps for c in members], [c.shown for c in members], cutoffs)
        table = stats.table
        if _STATS.cacheable(*arrays):
            _STATS.put(arrays, cutoffs, table)
    return SeedStats(table)


def band_traces(
    groups: Sequence[SeedGroup],
    curves: Mapping[str, _Curve],
    colors: Mapping[tuple[str, int | None], str],
    dashes: Mapping[int | None, str],
    options: FigureOptions,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(band traces to draw first, mean traces to draw over the seeds); the legend entry
    saying what the bands are is :func:`legend_key`."""
    under: list[dict[str, Any]] = []
    over: list[dict[str, Any]] = []
    for group in groups:
        stats = group_stats(group, curves)
        first = curves[group.runs[0].run_id]
        x = _x_of(stats.steps, first)
        color, dash = colors[group.model, group.seq_len], dashes[group.seq_len]
        if options.bands == "std":
            lower, upper = stats.mean - stats.std, stats.mean + stats.std
        else:
            lower, upper = stats.min, stats.max
        spread = stats.count >= 2
        lower, upper = np.where(spread, lower, np.nan), np.where(spread, upper, np.nan)
        edge = _chosen(x, (lower, upper), options)
        bx, by = _polygons(x[edge], _plottable(lower[edge]), _plottable(upper[edge]))
        meta = _group_meta(group)
        under.append(
            {
                "mode": "lines",
                "x": bx,
                "y": by,
                "fill": "toself",
                "fillcolor": _tint(color, BAND_TINT),
                "line": {"color": _tint(color, EDGE_TINT), "width": 0.5},
                "name": f"{group.display_name} seed band",
                "showlegend": False,
                "legendgroup": group.group_id,
                "hoverinfo": "skip",
                "meta": {**meta, "role": "band"},
            }
        )
        k = _chosen(x, (stats.mean,), options)
        table = stats.table
        custom = np.column_stack((table[0, k], table[1, k], table[2, k], table[3, k], table[4, k]))
        custom = np.column_stack((custom, table[5, k]))
        over.append(
            {
                "mode": "lines",
                "x": x[k],
                "y": _plottable(stats.mean[k]),
                "customdata": custom,
                "name": f"{group.display_name} mean of {len(group.runs)} seeds",
                "showlegend": False,
                "legendgroup": group.group_id,
                "line": {"color": color, "width": 2.0, "dash": dash},
                "hovertemplate": (
                    f"<b>{group.display_name}</b> · mean of %{{customdata[5]:.0f}}"
                    f" of {len(group.runs)} seeds<br>step %{{customdata[0]:,}}"
                    "<br>mean %{customdata[1]:.4g} ± %{customdata[2]:.2g} (1 std)"
                    "<br>seeds %{customdata[3]:.4g} to %{customdata[4]:.4g}<extra></extra>"
                ),
                "meta": {**meta, "role": "seed_mean"},
            }
        )
    return under, over


def _x_of(steps: np.ndarray, curve: _Curve) -> np.ndarray:
    """x of the union grid: the steps, or tokens on the line through the first seed's."""
    if curve.x is curve.run.steps:
        return steps
    return np.interp(steps, curve.run.steps, curve.x)


def _chosen(x: np.ndarray, series: Sequence[np.ndarray], options: FigureOptions) -> np.ndarray:
    """Indices to draw: every step for exports; spike-preserving picks for the screen (the
    union of each series' picks, so both edges of a band keep their extremes)."""
    if options.max_points is None:
        return np.arange(x.size)
    budget = max(options.max_points // len(series), MIN_POINTS)
    picks = [downsample(x, s, budget, options.x_range) for s in series]
    return np.unique(np.concatenate(picks)) if len(picks) > 1 else picks[0]


def _polygons(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One closed outline per stretch where both edges are finite, NaN between stretches
    (``fill: toself`` fills each stretch of a trace with gaps as its own shape)."""
    finite = np.isfinite(lower) & np.isfinite(upper)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.view(np.int8), [0]))))
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    gap = np.array([np.nan])
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        seg = slice(start, stop)
        xs += [x[seg], x[seg][::-1], x[start : start + 1], gap]
        ys += [upper[seg], lower[seg][::-1], upper[start : start + 1], gap]
    if not xs:
        return np.empty(0), np.empty(0)
    return np.concatenate(xs[:-1]).astype(np.float64), np.concatenate(ys[:-1])


def _group_meta(group: SeedGroup) -> dict[str, Any]:
    return {"run_id": group.group_id, "model": group.model, "seq_len": group.seq_len, "seed": None}


def legend_key(bands: str) -> dict[str, Any]:
    """A legend-only entry saying what the bands are."""
    return {
        "x": [None],
        "y": [None],
        "mode": "lines",
        "fill": "toself",
        "fillcolor": _tint("#555555", BAND_TINT),
        "line": {"color": "#555555", "width": 2},
        "name": _LEGEND_TEXT[bands],
        "showlegend": True,
        "hoverinfo": "skip",
        "legendgroup": "status",
        "legendgrouptitle": {"text": "Model status"},
        "meta": {"run_id": None, "model": None, "seq_len": None, "seed": None, "role": "key"},
    }
