"""Source: load the chosen runs, list their models and lengths, show what failed to load.

Loading runs as a Dash background callback (``app/background.py`` picks the manager), so a
large folder is parsed off the request thread while the page shows "Loading <folder>…".
The job sends back only the choice and a few labels; the runs stay on the server, in the
shared on-disk run cache and the per-process cache of ``app/data.py``, where the chart and
table callbacks find them.
"""

from __future__ import annotations

import time
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


def follow_selection(selected: list | None, offered_before: list, available: list) -> list:
    """What is ticked after the same source changed on disk (a live update).

    What was ticked stays ticked, what was unticked stays unticked, and what is new (a new
    run's model or length) is ticked, so a run that appears is drawn.
    """
    if selected is None:
        return list(available)
    return [v for v in available if v in selected or v not in offered_before]


def _values(options: Any) -> list:
    """The values of a checklist's options as the page sent them (anything not a list: none)."""
    if not isinstance(options, list):
        return []
    return [o.get("value") for o in options if isinstance(o, dict)]


def _kept_notices(children: Any) -> list:
    """The notices already on the page, rebuilt from their text (the page's copy is untrusted)."""
    if not isinstance(children, list):
        return []
    kept = []
    for child in children:
        if isinstance(child, html.Li):
            text = child.children
        else:
            props = child.get("props") if isinstance(child, dict) else None
            text = props.get("children") if isinstance(props, dict) else None
        if isinstance(text, str):
            kept.append(html.Li(text[:500], className="live-notice"))
    return kept


def _same_source(before: dict | None, now: data.Loaded) -> bool:
    """True when ``before`` (the page's store) is an earlier snapshot of the same folder."""
    if not isinstance(before, dict) or now.snapshot is None:
        return False
    try:
        return data.parse_choice(before) == now.choice and before.get("snapshot") is not None
    except StabgraphError:
        return False


def news(before: data.Loaded, now: data.Loaded) -> list[str]:
    """One line per run that diverged, or got its first NaN/Inf, between two snapshots."""
    lines = []
    for run in now.runs:
        found = now.detections.get(run.run_id)
        if found is None:
            continue
        earlier = before.detections.get(run.run_id)
        name = run.display_name
        if found.diverged and not (earlier and earlier.diverged):
            lines.append(f"{name} diverged at step {found.divergence_step:,}: {found.reason}")
        elif found.first_nonfinite_step is not None and not (
            earlier and earlier.first_nonfinite_step is not None
        ):
            lines.append(f"{name}: first NaN/Inf loss at step {found.first_nonfinite_step:,}")
    return lines


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
        "live": Output(ids.LIVE_PANEL, "hidden"),
        "updated": Output(ids.LIVE_STATUS, "children"),
        "notices": Output(ids.LIVE_NOTICE_LIST, "children", allow_duplicate=True),
        "notices_hidden": Output(ids.LIVE_NOTICES, "hidden", allow_duplicate=True),
    },
    inputs={
        "value": Input(ids.SOURCE, "value"),
        "seed": Input(ids.SIM_SEED, "value"),
        "steps": Input(ids.SIM_STEPS, "value"),
        "sim_lengths": Input(ids.SIM_LENGTHS, "value"),
        "changed": Input(ids.LIVE_CHANGE, "data"),
        "models": State(ids.MODELS, "value"),
        "lengths": State(ids.LENGTHS, "value"),
        "detector": State(ids.DETECT_STORE, "data"),
        "before": State(ids.SOURCE_STORE, "data"),
        "model_options": State(ids.MODELS, "options"),
        "length_options": State(ids.LENGTHS, "options"),
        "notices": State(ids.LIVE_NOTICE_LIST, "children"),
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
    changed: str | None = None,
    models: list | None = None,
    lengths: list | None = None,
    detector: dict | None = None,
    before: dict | None = None,
    model_options: list | None = None,
    length_options: list | None = None,
    notices: list | None = None,
) -> dict[str, Any]:
    """Load the source in the background (warming the caches) and offer its models and lengths.

    Also run when the live poll finds the folder changed (``changed``): the page then
    moves to the new snapshot as a whole, keeping what the reader ticked and unticked, and
    a run that diverged since the last snapshot gets a notice that stays until dismissed.
    """
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
            "live": True,
            "updated": "",
            "notices": no_update,
            "notices_hidden": no_update,
        }
    runs = loaded.runs
    length_values = [state.length_value(n) for n in runs.length_choices]
    out = {
        "store": loaded.store(),
        "status": status_line(loaded),
        "errors": [html.Li(line, className="load-error") for line in loaded.errors],
        "model_options": [{"label": model_display_name(m), "value": m} for m in runs.models],
        "models": keep_selection(models, runs.models),
        "length_options": state.length_options(runs.length_choices),
        "lengths": keep_selection(lengths, length_values),
        "live": loaded.snapshot is None,
        "updated": f"Live · read {time.strftime('%H:%M:%S')}" if loaded.snapshot else "",
        # another source: the notices were about the one before
        "notices": [],
        "notices_hidden": True,
    }
    if _same_source(before, loaded):
        out["notices"] = out["notices_hidden"] = no_update
        out["models"] = follow_selection(models, _values(model_options), runs.models)
        out["lengths"] = follow_selection(lengths, _values(length_options), length_values)
        try:
            earlier = data.load_source(before, detector)
        except StabgraphError:
            earlier = None
        lines = news(earlier, loaded) if earlier is not None else []
        if lines:
            kept = _kept_notices(notices)
            stamp = time.strftime("%H:%M:%S")
            kept += [html.Li(f"{stamp} {line}", className="live-notice") for line in lines]
            out["notices"], out["notices_hidden"] = kept[-20:], False
    return out
