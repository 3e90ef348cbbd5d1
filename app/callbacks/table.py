"""Table: per-run loss statistics and detection; a clicked row highlights its run."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, no_update

from stabgraph_core import StabgraphError
from stabgraph_core.summary import run_stats

from .. import data, ids, inputs, view


def _number(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.4g}")


def _step(diverged: bool | None, step: int | None) -> str:
    if diverged is None:
        return "not stated"
    if not diverged:
        return "no"
    return f"step {step:,}" if step is not None else "yes"


def table_rows(loaded: data.Loaded, models: list | None, lengths: list | None) -> list[dict]:
    """One row per shown run: final/min/mean loss, NaN/Inf counts, divergence, spikes."""
    rows = []
    states = data.run_states(loaded)
    for run in view.shown_runs(loaded.runs, models, lengths):
        stats = run_stats(run) or {}
        found = loaded.detections.get(run.run_id)
        rows.append(
            {
                "run_id": run.run_id,
                "run": run.display_name,
                "final": _number(stats.get("final_loss")),
                "min": _number(stats.get("min_loss")),
                "mean": _number(stats.get("mean_loss")),
                "nan": int(stats.get("num_nan", int(view.count_nan(run)))),
                "inf": int(stats.get("num_inf", int(view.count_inf(run)))),
                "declared": _step(run.diverged, run.divergence_step),
                "detected": _step(found.diverged, found.divergence_step) if found else "—",
                "spikes": len(found.spikes) if found else None,
                "state": states.get(run.run_id, ""),
                "source": run.source,
                "notes": "; ".join(run.notes),
            }
        )
    return rows


@callback(
    Output(ids.TABLE, "rowData"),
    Input(ids.SOURCE_STORE, "data"),
    Input(ids.MODELS, "value"),
    Input(ids.LENGTHS, "value"),
    Input(ids.DETECT_STORE, "data"),
    Input(ids.LIVE_RUNS, "children"),
)
def fill_table(
    source: dict | None,
    models: list | None,
    lengths: list | None,
    detector: dict | None = None,
    _states: Any = None,
) -> list[dict]:
    """The table for the selected runs (statistics from the raw data, not the chart's);
    filled again when a run turns from running to finished."""
    try:
        models, lengths = inputs.models(models), inputs.lengths(lengths)
    except StabgraphError as err:
        inputs.tell(err)
        return []
    if source is None:
        return []
    try:
        loaded = data.load_source(source, detector)
    except StabgraphError:
        return []  # the source panel already shows why
    return table_rows(loaded, models, lengths)


@callback(
    Output(ids.GRAPH, "figure", allow_duplicate=True),
    Input(ids.TABLE, "selectedRows"),
    State(ids.TRACE_MAP, "data"),
    prevent_initial_call=True,
)
def highlight_run(selected: list[dict] | None, trace_map: list[dict] | None) -> Any:
    """Thicken the clicked run's lines and fade the others; no selection restores them."""
    try:
        run_id, trace_map = inputs.selected_run(selected), inputs.trace_map(trace_map)
    except StabgraphError as err:
        inputs.tell(err)
        return no_update
    if not trace_map:
        return no_update
    return view.highlight_patch(trace_map, run_id)
