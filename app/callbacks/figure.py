"""Figure: draw the chart when the source or an option that changes the curves changes.

Model, length and Mark ticks do not redraw: ``toggles.py`` patches ``visible`` instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from dash import Input, Output, Patch, State, callback, ctx

from stabgraph_core import StabgraphError

from .. import charts, data, ids, inputs, view


def empty_figure(message: str) -> dict[str, Any]:
    """A blank chart that says why it is blank."""
    return {
        "data": [],
        "layout": {
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "plot_bgcolor": "#fff",
            "annotations": [
                {
                    "text": message,
                    "showarrow": False,
                    "font": {"size": 15, "color": "#616e7c"},
                    "xref": "paper",
                    "yref": "paper",
                }
            ],
        },
    }


KEEP_ZOOM = (ids.SMOOTHING, ids.LOG_Y, ids.DETECT_STORE, ids.GRAD_NORM, ids.BANDS)


def _same(a: Any, b: Any) -> bool:
    """Equality of figure parts that may hold NumPy arrays."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f" == b.dtype.kind))
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def figure_patch(before: dict[str, Any], after: dict[str, Any]) -> Patch | None:
    """A ``Patch`` turning the drawn figure ``before`` into ``after``: only the properties
    of the traces and of the layout that changed. None when the traces are not the same
    ones (a run appeared or went): the figure is then sent whole.
    """
    old, new = before["data"], after["data"]
    if len(old) != len(new) or any(
        not _same(a.get("meta"), b.get("meta")) or a.get("type") != b.get("type")
        for a, b in zip(old, new, strict=True)
    ):
        return None
    patch = Patch()
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        for key in a.keys() | b.keys():
            if key not in b:
                del patch["data"][i][key]
            elif key not in a or not _same(a[key], b[key]):
                patch["data"][i][key] = b[key]
    layout_a, layout_b = before["layout"], after["layout"]
    for key in layout_a.keys() | layout_b.keys():
        if key not in layout_b:
            del patch["layout"][key]
        elif key not in layout_a or not _same(layout_a[key], layout_b[key]):
            patch["layout"][key] = layout_b[key]
    return patch


def _drawn(value: Any) -> tuple[str | None, str | None]:
    """(label, snapshot) of what the chart last drew, as the page sent it (untrusted)."""
    if not isinstance(value, dict):
        return None, None
    label, snapshot = value.get("label"), value.get("snapshot")
    return (label if isinstance(label, str) else None), (
        snapshot if isinstance(snapshot, str) else None
    )


@callback(
    Output(ids.GRAPH, "figure"),
    Output(ids.TRACE_MAP, "data"),
    Output(ids.DRAWN_SOURCE, "data"),
    Input(ids.SOURCE_STORE, "data"),
    Input(ids.SMOOTHING, "value"),
    Input(ids.LOG_Y, "value"),
    Input(ids.X_AXIS, "value"),
    State(ids.MODELS, "value"),
    State(ids.LENGTHS, "value"),
    State(ids.SHOW, "value"),
    State(ids.GRAPH, "relayoutData"),
    Input(ids.DETECT_STORE, "data"),
    State(ids.DRAWN_SOURCE, "data"),
    Input(ids.GRAD_NORM, "value"),
    Input(ids.BANDS, "value"),
)
def draw_chart(
    source: dict | None,
    smoothing: float | None,
    scale: str | None,
    x_axis: str | None,
    models: list | None,
    lengths: list | None,
    show: list | None,
    relayout: dict | None = None,
    detector: dict | None = None,
    drawn: Any = None,
    grad_norm: str | None = None,
    bands: str | None = None,
) -> tuple[Any, list[dict], dict[str, Any] | None]:
    """The whole figure for every run of the source, with the unticked ones hidden.

    A new smoothing, scale or detector setting keeps the detail of a zoomed-in view (the
    zoom itself is kept by ``uirevision``); so does a new snapshot of the same folder (a
    live update), which is sent as a ``Patch`` of the traces and layout parts that changed,
    so a highlighted run stays highlighted. A new source or x axis starts from the whole run.
    """
    if source is None:
        return empty_figure("No runs loaded: see the messages on the left."), [], None
    drawn_label, drawn_snapshot = _drawn(drawn)
    try:
        loaded = data.load_source(source, detector)
        x_range = inputs.x_range(relayout)
        live = drawn_label == loaded.choice.label and ctx.triggered_id == ids.SOURCE_STORE
        keep_zoom = relayout is not None and (ctx.triggered_id in KEEP_ZOOM or live)
        options = (
            inputs.smoothing(smoothing),
            inputs.scale(scale) == "log",
            inputs.x_axis(x_axis),
            None if not keep_zoom or x_range == view.RESET else x_range,
            inputs.grad_norm(grad_norm),
            inputs.bands(bands),
        )
        figure = charts.chart(loaded, *options)
        ticked = inputs.models(models), inputs.lengths(lengths), inputs.show(show)
        before = None
        if live and drawn_snapshot is not None and drawn_snapshot != loaded.snapshot:
            earlier = data.load_source({**source, "snapshot": drawn_snapshot}, detector)
            if earlier.snapshot == drawn_snapshot:  # still cached: the figure the page holds
                before = charts.chart(earlier, *options)
    except StabgraphError as err:
        return empty_figure(str(err)), [], None
    now_drawn = {"label": loaded.choice.label, "snapshot": loaded.snapshot}
    if not figure["data"]:
        return empty_figure("This source has no runs to draw."), [], now_drawn
    trace_map = view.trace_map(figure)
    shown = view.visibility(trace_map, *ticked)
    view.apply_visibility(figure, shown)
    figure = charts.with_stable_shapes(loaded, figure, *ticked, options[2])
    if before is not None and before["data"]:
        view.apply_visibility(before, view.visibility(view.trace_map(before), *ticked))
        before = charts.with_stable_shapes(earlier, before, *ticked, options[2])
        patch = figure_patch(before, figure)
        if patch is not None:
            return patch, trace_map, now_drawn
    return figure, trace_map, now_drawn
