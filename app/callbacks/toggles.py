"""Toggles: ticking a model, a length or a Mark box shows or hides traces by index (a Patch)."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, no_update

from stabgraph_core import StabgraphError

from .. import charts, data, ids, inputs, view


@callback(
    Output(ids.GRAPH, "figure", allow_duplicate=True),
    Input(ids.MODELS, "value"),
    Input(ids.LENGTHS, "value"),
    Input(ids.SHOW, "value"),
    Input(ids.TRACE_MAP, "data"),
    State(ids.SOURCE_STORE, "data"),
    State(ids.DETECT_STORE, "data"),
    State(ids.X_AXIS, "value"),
    State(ids.GRAD_NORM, "value"),
    prevent_initial_call=True,
)
def toggle_traces(
    models: list | None,
    lengths: list | None,
    show: list | None,
    trace_map: list[dict] | None,
    source: dict | None = None,
    detector: dict | None = None,
    x_axis: str | None = None,
    grad_norm: str | None = None,
) -> Any:
    """Set ``visible`` of every trace from the ticks, and the stable band for the ticked
    runs; the figure itself is not resent.

    The trace map is an input too, so a freshly drawn figure gets the current ticks even
    when a tick changed while it was being built.
    """
    try:
        trace_map = inputs.trace_map(trace_map)
        ticked = inputs.models(models), inputs.lengths(lengths), inputs.show(show)
        axis, panel = inputs.x_axis(x_axis), inputs.grad_norm(grad_norm)
    except StabgraphError as err:
        inputs.tell(err)
        return no_update
    if not trace_map:
        return no_update
    patch = view.visibility_patch(trace_map, *ticked)
    if source is None:
        return patch
    try:
        loaded = data.load_source(source, detector)
    except StabgraphError:
        return patch  # the source panel says why
    frame = charts.has_panel(trace_map, panel)
    patch["layout"]["shapes"] = charts.stable_shapes(loaded, *ticked, axis, panel=frame)
    return patch
