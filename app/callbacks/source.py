"""Source: load the chosen runs, list their models and lengths, show what failed to load.

Loading runs as a Dash background callback (``app/background.py`` picks the manager), so a
large folder is parsed off the request thread while the page shows "Loading <folder>…".
The job sends back only the choice and a few labels; the runs stay on the server, in the
shared on-disk run cache and the per-process cache of ``app/data.py``, where the chart and
table callbacks find them.
"""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, html, no_update

from stabgraph_core import StabgraphError, model_display_name
from stabgraph_core.errors import InvalidArgumentError

from .. import data, ids, inputs, state

# How often the page asks whether a load has finished: short, because most loads take
# well under a second and the chart waits for the answer.
POLL_MS = 200


def keep_selection(selected: list | None, available: list) -> list:
    """What stays ticked after a source change: the overlap, or everything if none overlaps.

    None (the default view) means everything; an explicit empty list stays empty.
    """
    if selected is None:
        return list(available)
    kept = [v for v in available if v in selected]
    return kept if kept or not selected else list(available)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def status_line(loaded: data.Loaded) -> str:
    """``10 runs · 2 models · 5 lengths · 1,000 steps each`` for the status under the picker."""
    runs = loaded.runs
    points = [r.steps.size for r in runs]
    steps = f"{max(points):,} steps" if points and min(points) == max(points) else "varied steps"
    unnamed = sum(1 for r in runs if r.seq_len is None)
    parts = [
        _count(len(runs), "run"),
        _count(len(runs.models), "model"),
        _count(len(runs.lengths), "length") if runs.lengths or not unnamed else "no lengths named",
    ]
    if runs:
        parts.append(steps)
    if loaded.errors:
        parts.append(f"{len(loaded.errors)} not loaded")
    return " · ".join(parts)


@callback(
    Output(ids.SOURCE_LOADING_LABEL, "children"),
    Output(ids.SIM_PANEL, "hidden"),
    Input(ids.SOURCE, "value"),
    Input(ids.SIM_SEED, "value"),
    Input(ids.SIM_STEPS, "value"),
    Input(ids.SIM_LENGTHS, "value"),
)
def describe_choice(
    value: str | None, seed: Any, steps: Any, sim_lengths: list | None
) -> tuple[str, bool]:
    """What the loading indicator says, and whether the simulation fields show.

    Answered at once, so ``Loading diverged…`` names the folder and the fields follow the
    choice without waiting for the background load.
    """
    try:
        raw = state.source_from_value(inputs.source_value(value), seed, steps, sim_lengths)
    except InvalidArgumentError:
        return "Loading…", no_update  # the load itself says what is wrong
    try:
        label = f"Loading {data.parse_choice(raw).label}…"
    except InvalidArgumentError:
        label = "Loading…"
    return label, raw["kind"] != data.SIMULATED


@callback(
    output={
        "store": Output(ids.SOURCE_STORE, "data"),
        "status": Output(ids.SOURCE_STATUS, "children"),
        "errors": Output(ids.LOAD_ERRORS, "children"),
        "model_options": Output(ids.MODELS, "options"),
        "models": Output(ids.MODELS, "value", allow_duplicate=True),
        "length_options": Output(ids.LENGTHS, "options"),
        "lengths": Output(ids.LENGTHS, "value", allow_duplicate=True),
    },
    inputs={
        "value": Input(ids.SOURCE, "value"),
        "seed": Input(ids.SIM_SEED, "value"),
        "steps": Input(ids.SIM_STEPS, "value"),
        "sim_lengths": Input(ids.SIM_LENGTHS, "value"),
        "models": State(ids.MODELS, "value"),
        "lengths": State(ids.LENGTHS, "value"),
        "detector": State(ids.DETECT_STORE, "data"),
    },
    prevent_initial_call="initial_duplicate",
    background=True,
    interval=POLL_MS,
    running=[
        (Output(ids.SOURCE_LOADING, "hidden"), False, True),
        (Output(ids.SOURCE_STATUS, "hidden"), True, False),
    ],
)
def load_source(
    value: str | None,
    seed: Any,
    steps: Any,
    sim_lengths: list | None,
    models: list | None,
    lengths: list | None,
    detector: dict | None = None,
) -> dict[str, Any]:
    """Load the source in the background (warming the caches) and offer its models and lengths."""
    try:
        choice = state.source_from_value(inputs.source_value(value), seed, steps, sim_lengths)
        loaded = data.load_source(choice, detector)
        models, lengths = inputs.models(models), inputs.lengths(lengths)
    except StabgraphError as err:
        return {
            "store": None,
            "status": "Nothing loaded",
            "errors": [html.Li(str(err), className="load-error")],
            "model_options": [],
            "models": [],
            "length_options": [],
            "lengths": [],
        }
    runs = loaded.runs
    return {
        "store": loaded.choice.to_dict(),
        "status": status_line(loaded),
        "errors": [html.Li(line, className="load-error") for line in loaded.errors],
        "model_options": [{"label": model_display_name(m), "value": m} for m in runs.models],
        "models": keep_selection(models, runs.models),
        "length_options": state.length_options(runs.length_choices),
        "lengths": keep_selection(lengths, [state.length_value(n) for n in runs.length_choices]),
    }
