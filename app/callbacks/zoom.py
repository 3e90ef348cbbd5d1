"""Zoom: re-aggregate the visible x-range from the raw data so zooming in shows real detail."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, clientside_callback, no_update

from stabgraph_core import StabgraphError

from .. import charts, data, ids, inputs, view


@callback(
    Output(ids.GRAPH, "figure", allow_duplicate=True),
    Input(ids.GRAPH, "relayoutData"),
    State(ids.SOURCE_STORE, "data"),
    State(ids.SMOOTHING, "value"),
    State(ids.LOG_Y, "value"),
    State(ids.X_AXIS, "value"),
    State(ids.TRACE_MAP, "data"),
    State(ids.DETECT_STORE, "data"),
    State(ids.GRAD_NORM, "value"),
    State(ids.BANDS, "value"),
    prevent_initial_call=True,
)
def refine_on_zoom(
    relayout: dict | None,
    source: dict | None,
    smoothing: float | None,
    scale: str | None,
    x_axis: str | None,
    trace_map: list[dict] | None,
    detector: dict | None = None,
    grad_norm: str | None = None,
    bands: str | None = None,
) -> Any:
    """Patch every curve's points with ~2,000 points from inside the new x-range.

    Autorange (double-click) puts the whole-range points back. Markers are left alone.
    """
    try:
        x_range, trace_map = inputs.x_range(relayout), inputs.trace_map(trace_map)
        options = inputs.smoothing(smoothing), inputs.scale(scale) == "log", inputs.x_axis(x_axis)
        panel, band = inputs.grad_norm(grad_norm), inputs.bands(bands)
    except StabgraphError as err:
        inputs.tell(err)
        return no_update
    if x_range is None or source is None or not trace_map:
        return no_update
    try:
        loaded = data.load_source(source, detector)
        zoomed = None if x_range == view.RESET else x_range
        figure = charts.chart(loaded, *options, zoomed, grad_norm=panel, bands=band)
    except StabgraphError as err:
        inputs.tell(err)
        return no_update
    patch = view.refill_patch(figure, trace_map)
    return no_update if patch is None else patch


# A double-click (or the modebar's reset) asks Plotly to autorange, which fits exploded
# losses and flattens every healthy curve; the page goes back to the view the chart was
# first drawn with instead (``layout.meta.home``, set by the figure builder). The relayout
# this makes reaches ``refine_on_zoom`` as an ordinary zoom to the whole run.
clientside_callback(
    """
    function (relayout) {
        const none = window.dash_clientside.no_update;
        if (!relayout || !(relayout["xaxis.autorange"] || relayout["yaxis.autorange"])) {
            return none;
        }
        const gd = document.querySelector("#graph .js-plotly-plot");
        const home = gd && gd.layout && gd.layout.meta && gd.layout.meta.home;
        if (!home) {
            return none;
        }
        const update = {};
        for (const axis of ["xaxis", "yaxis"]) {
            const range = home[axis];
            if (Array.isArray(range) && range.length === 2) {
                update[axis + ".range"] = range.slice();
            }
        }
        if (Object.keys(update).length) {
            window.Plotly.relayout(gd, update);
        }
        return none;
    }
    """,
    Output(ids.GRAPH, "className"),
    Input(ids.GRAPH, "relayoutData"),
    prevent_initial_call=True,
)
