"""Export: the Download button renders the current view in the background, with progress.

It runs as a Dash background callback, so it goes to whichever manager ``app/background.py``
set up (a local subprocess, or a Celery worker behind Redis) and the page stays live.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dash import Input, Output, State, callback, dcc

from stabgraph_core import StabgraphError

from .. import data, downloads, ids, inputs, view

STEPS = 3  # load, render, send
POLL_MS = 100  # how often the page asks whether the file is ready


def _status(text: str, error: bool = False) -> tuple[str, str]:
    return text, "export-status error" if error else "export-status"


@callback(
    Output(ids.DOWNLOAD, "data"),
    Output(ids.EXPORT_STATUS, "children"),
    Output(ids.EXPORT_STATUS, "className"),
    Input(ids.EXPORT_BUTTON, "n_clicks"),
    State(ids.EXPORT_FORMAT, "value"),
    State(ids.EXPORT_DPI, "value"),
    State(ids.SOURCE_STORE, "data"),
    State(ids.MODELS, "value"),
    State(ids.LENGTHS, "value"),
    State(ids.SHOW, "value"),
    State(ids.SMOOTHING, "value"),
    State(ids.LOG_Y, "value"),
    State(ids.X_AXIS, "value"),
    State(ids.GRAPH, "relayoutData"),
    State(ids.DETECT_STORE, "data"),
    State(ids.GRAD_NORM, "value"),
    State(ids.BANDS, "value"),
    background=True,
    # the page asks for the finished file this often: at Dash's default (1 s) most of a
    # download's wait was polling, not rendering (a warm PDF takes 0.15-0.4 s)
    interval=POLL_MS,
    running=[
        (Output(ids.EXPORT_BUTTON, "disabled"), True, False),
        (Output(ids.EXPORT_BUTTON, "children"), "Preparing…", "Download"),
        (Output(ids.EXPORT_PROGRESS, "hidden"), False, True),
    ],
    progress=[Output(ids.EXPORT_PROGRESS, "value"), Output(ids.EXPORT_PROGRESS, "max")],
    prevent_initial_call=True,
)
def export_view(
    set_progress: Callable[[tuple[int, int]], None],
    n_clicks: int | None,
    fmt: str,
    dpi: int | None,
    source: dict | None,
    models: list | None,
    lengths: list | None,
    show: list | None,
    smoothing: float | None,
    scale: str | None,
    x_axis: str | None,
    relayout: dict | None,
    detector: dict | None = None,
    grad_norm: str | None = None,
    bands: str | None = None,
) -> tuple[Any, str, str]:
    """Send the current view as ``fmt``; a failure is shown under the button, not raised."""
    set_progress((0, STEPS))
    try:
        inputs.n_clicks(n_clicks)
        fmt, dots = inputs.export_format(fmt), inputs.dpi(dpi)
        x_range = inputs.x_range(relayout)
        choice = downloads.ViewChoice(
            models=inputs.models(models),
            lengths=inputs.lengths(lengths),
            show=inputs.show(show),
            smoothing=inputs.smoothing(smoothing),
            log_y=inputs.scale(scale) == "log",
            x_axis=inputs.x_axis(x_axis),
            x_range=None if x_range in (None, view.RESET) else x_range,
            grad_norm=inputs.grad_norm(grad_norm),
            bands=inputs.bands(bands),
        )
        if source is None:
            raise StabgraphError("nothing is loaded to download")
        loaded = data.load_source(source, detector)
        set_progress((1, STEPS))
        content = downloads.render(loaded, choice, fmt, dots)
        set_progress((2, STEPS))
    except StabgraphError as err:
        return None, *_status(f"Download failed: {err}", error=True)
    name = downloads.filename(fmt, downloads.shown(loaded, choice))
    set_progress((STEPS, STEPS))
    size = f"{len(content) / 1024:,.0f} kB" if len(content) >= 1024 else f"{len(content)} B"
    return dcc.send_bytes(content, name, type=downloads.MIME[fmt]), *_status(
        f"Saved {name} ({size})"
    )
