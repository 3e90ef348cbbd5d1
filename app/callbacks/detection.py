"""Detection settings: check the inputs and keep the last valid settings in a store.

The chart, the table and the downloads read the store, so an out-of-range value shows a
one-line message beside the inputs and changes nothing else.
"""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, no_update

from stabgraph_core.errors import InvalidArgumentError

from .. import detection, ids, inputs


@callback(
    output={
        "applied": Output(ids.DETECT_STORE, "data"),
        "message": Output(ids.DETECT_MESSAGE, "children"),
        "changed": Output(ids.DETECT_CHANGED, "children"),
    },
    inputs={
        "values": {s.key: Input(s.component, "value") for s in detection.SETTINGS},
        "applied": State(ids.DETECT_STORE, "data"),
    },
)
def apply_settings(values: dict[str, Any], applied: dict | None) -> dict[str, Any]:
    """Store the settings that differ from the defaults; an invalid value only says why.

    The store is left alone when nothing changed, so the chart is not redrawn for nothing.
    """
    try:
        changes = detection.changes(inputs.settings(values))
        applied = inputs.detector_store(applied)
    except InvalidArgumentError as err:
        return {"applied": no_update, "message": detection.message(err), "changed": no_update}
    return {
        "applied": no_update if changes == applied else changes,
        "message": "",
        "changed": detection.changed_label(changes),
    }


@callback(
    output={s.key: Output(s.component, "value", allow_duplicate=True) for s in detection.SETTINGS},
    inputs={"n_clicks": Input(ids.DETECT_RESET, "n_clicks")},
    prevent_initial_call=True,
)
def reset_settings(n_clicks: int | None) -> dict[str, Any]:
    """Put every input back to the detector's default (the URL and the store follow)."""
    try:
        inputs.n_clicks(n_clicks)
    except InvalidArgumentError as err:
        inputs.tell(err, ids.DETECT_MESSAGE)
        return {s.key: no_update for s in detection.SETTINGS}
    return detection.values_for(None)
