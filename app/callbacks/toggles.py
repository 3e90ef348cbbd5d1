"""Toggles: ticking a model, a length or a Mark box shows or hides traces by index (a Patch)."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, callback, no_update

from stabgraph_core import StabgraphError

from .. import ids, inputs, view


@callback(
    Output(ids.GRAPH, "figure", allow_duplicate=True),
    Input(ids.MODELS, "value"),
    Input(ids.LENGTHS, "value"),
    Input(ids.SHOW, "value"),
    Input(ids.TRACE_MAP, "data"),
    prevent_initial_call=True,
)
def toggle_traces(
    models: list | None, lengths: list | None, show: list | None, trace_map: list[dict] | None
) -> Any:
    """Set ``visible`` of every trace from the ticks; the figure itself is not resent.

    The trace map is an input too, so a freshly drawn figure gets the current ticks even
    when a tick changed while it was being built.
    """
    try:
        trace_map = inputs.trace_map(trace_map)
        ticked = inputs.models(models), inputs.lengths(lengths), inputs.show(show)
    except StabgraphError as err:
        inputs.tell(err)
        return no_update
    if not trace_map:
        return no_update
    return view.visibility_patch(trace_map, *ticked)
