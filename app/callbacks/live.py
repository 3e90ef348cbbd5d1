"""Live: the open page follows its folder as training writes to it.

Every ``STABGRAPH_POLL_S`` seconds (1 by default) the page asks whether its folder changed:
one walk with ``stat`` only, answered by whichever worker gets the request. When the
folder's key differs from the snapshot the page shows, the new key goes to ``LIVE_CHANGE``
and the source callback loads the new snapshot, from which the status, the checklists, the
chart and the table are all redrawn together. New sub-folders join the Source list on the
same poll. Polling stops while the page shows simulated runs or the reader pauses it.
"""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, ctx, no_update

from stabgraph_core import StabgraphError

from .. import data, ids, inputs, layout


@callback(
    Output(ids.LIVE_TICK, "disabled"),
    Output(ids.LIVE_STATUS, "children", allow_duplicate=True),
    Input(ids.SOURCE_STORE, "data"),
    Input(ids.LIVE_PAUSE, "value"),
    prevent_initial_call=True,
)
def switch(store: dict | None, paused: list | None) -> tuple[bool, Any]:
    """Poll only a folder, and only while the reader has not paused."""
    try:
        is_paused = "paused" in inputs.items(paused or [], "Pause", 1)
    except StabgraphError:
        is_paused = True
    folder = isinstance(store, dict) and store.get("kind") == "folder"
    if not folder:
        return True, no_update
    if ctx.triggered_id != ids.LIVE_PAUSE:
        return is_paused, no_update  # a new snapshot: the load said when it was read
    return is_paused, "Paused" if is_paused else "Live"


def runs_line(loaded: data.Loaded) -> str:
    """``2 running · 1 finished``: which runs' logs are still being written to."""
    states = list(data.run_states(loaded).values())
    parts = [f"{states.count(s)} {s}" for s in ("running", "finished") if s in states]
    return " · ".join(parts)


@callback(
    Output(ids.LIVE_CHANGE, "data"),
    Output(ids.SOURCE, "options"),
    Output(ids.LIVE_RUNS, "children"),
    Input(ids.LIVE_TICK, "n_intervals"),
    State(ids.SOURCE_STORE, "data"),
    State(ids.SOURCE, "options"),
    State(ids.LIVE_CHANGE, "data"),
    State(ids.LIVE_RUNS, "children"),
    prevent_initial_call=True,
)
def poll(
    _tick: int | None,
    store: dict | None,
    offered: list | None,
    pending: Any = None,
    runs_shown: Any = None,
) -> tuple[Any, Any, Any]:
    """The folder's new snapshot key when it changed, the Source list when it did, and
    how many runs are running or finished when that changed."""
    options = layout.source_options()
    new_options = options if options != offered else no_update
    if not isinstance(store, dict) or store.get("kind") != "folder":
        return no_update, new_options, no_update
    try:
        now = data.current_snapshot(store)
        shown = inputs.source_store(store).get("snapshot")
        line = runs_line(data.load_source(store))
    except StabgraphError:
        return no_update, new_options, no_update  # the folder went away: the load says so
    # ``pending``: a change already sent, still loading (a large folder): not sent again
    change = now if now not in (shown, pending) else no_update
    return change, new_options, (line if line != runs_shown else no_update)


@callback(
    Output(ids.LIVE_NOTICE_LIST, "children"),
    Output(ids.LIVE_NOTICES, "hidden"),
    Input(ids.LIVE_DISMISS, "n_clicks"),
    prevent_initial_call=True,
)
def dismiss(_clicks: int | None) -> tuple[list, bool]:
    """Clear the divergence notices (they stay until the reader does this)."""
    return [], True
