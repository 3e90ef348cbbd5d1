"""Figure: draw the chart when the source or an option that changes the curves changes.

Model, length and Mark ticks do not redraw: ``toggles.py`` patches ``visible`` instead.
"""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, ctx

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


KEEP_ZOOM = (ids.SMOOTHING, ids.LOG_Y, ids.DETECT_STORE)


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
    drawn: str | None = None,
) -> tuple[dict[str, Any], list[dict], str | None]:
    """The whole figure for every run of the source, with the unticked ones hidden.

    A new smoothing, scale or detector setting keeps the detail of a zoomed-in view (the
    zoom itself is kept by ``uirevision``); so does a new snapshot of the same folder (a
    live update). A new source or x axis starts from the whole run.
    """
    if source is None:
        return empty_figure("No runs loaded: see the messages on the left."), [], None
    try:
        loaded = data.load_source(source, detector)
        x_range = inputs.x_range(relayout)
        keep_zoom = relayout is not None and (
            ctx.triggered_id in KEEP_ZOOM
            or (ctx.triggered_id == ids.SOURCE_STORE and drawn == loaded.choice.label)
        )
        figure = charts.chart(
            loaded,
            inputs.smoothing(smoothing),
            inputs.scale(scale) == "log",
            inputs.x_axis(x_axis),
            None if not keep_zoom or x_range == view.RESET else x_range,
        )
        ticked = inputs.models(models), inputs.lengths(lengths), inputs.show(show)
    except StabgraphError as err:
        return empty_figure(str(err)), [], None
    if not figure["data"]:
        return empty_figure("This source has no runs to draw."), [], loaded.choice.label
    trace_map = view.trace_map(figure)
    view.apply_visibility(figure, view.visibility(trace_map, *ticked))
    return figure, trace_map, loaded.choice.label
