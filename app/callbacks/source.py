"""Source: load the chosen runs, list their models and lengths, show what failed to load."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, html

from stabgraph_core import StabgraphError, length_label, model_display_name

from .. import data, ids, state


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
    parts = [
        _count(len(runs), "run"),
        _count(len(runs.models), "model"),
        _count(len(runs.lengths), "length"),
    ]
    if runs:
        parts.append(steps)
    if loaded.errors:
        parts.append(f"{len(loaded.errors)} not loaded")
    return " · ".join(parts)


@callback(
    output={
        "store": Output(ids.SOURCE_STORE, "data"),
        "sim_hidden": Output(ids.SIM_PANEL, "hidden"),
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
    },
    prevent_initial_call="initial_duplicate",
)
def load_source(
    value: str | None,
    seed: Any,
    steps: Any,
    sim_lengths: list | None,
    models: list | None,
    lengths: list | None,
) -> dict[str, Any]:
    """Load the source (cached per process) and offer its models and lengths."""
    choice = state.source_from_value(value, seed, steps, sim_lengths)
    sim_hidden = choice["kind"] != "simulated"
    try:
        loaded = data.load_source(choice)
    except StabgraphError as err:
        return {
            "store": None,
            "sim_hidden": sim_hidden,
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
        "sim_hidden": sim_hidden,
        "status": status_line(loaded),
        "errors": [html.Li(line, className="load-error") for line in loaded.errors],
        "model_options": [{"label": model_display_name(m), "value": m} for m in runs.models],
        "models": keep_selection(models, runs.models),
        "length_options": [{"label": length_label(n), "value": n} for n in runs.lengths],
        "lengths": keep_selection(lengths, runs.lengths),
    }
