"""What the chart's callbacks send: which traces to show, highlight or refill, as Patches.

The figure builder tags every trace with ``meta`` (run_id, model, seq_len, role). The figure
callback keeps a compact *trace map* of those tags in a store, so a toggle can hide the
32k traces by index without the server seeing, rebuilding or resending the figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from dash import Patch

from stabgraph_core import Run, RunSet

from . import ids, state

# Which Mark checkbox governs a trace role; roles not listed are governed by runs only.
ROLE_SHOW = {
    "onset": ids.SHOW_DIVERGENCE,
    "spikes": ids.SHOW_SPIKES,
    "grad_spikes": ids.SHOW_SPIKES,
    "stable": ids.SHOW_STABLE,
    "raw": ids.SHOW_RAW,
    "seed": ids.SHOW_SEEDS,
}
# Roles whose points come from the raw data at every zoom level (left alone on zoom).
FIXED_ROLES = frozenset(
    {"onset", "spikes", "grad_spikes", "stable", "nonfinite", "offchart", "key"}
)
HIGHLIGHT_WIDTH = 3.5
FADED_OPACITY = 0.18


def shown_runs(runs: RunSet, models: list | None, lengths: list | None) -> list[Run]:
    """Runs whose model and length are ticked (None: all).

    ``lengths`` holds the checklist's values: a run that names no length is shown when
    :data:`state.NO_LENGTH` is ticked.
    """
    return [
        r
        for r in runs
        if (models is None or r.model in models)
        and (lengths is None or state.length_value(r.seq_len) in lengths)
    ]


def count_nan(run: Run) -> int:
    """NaN steps in a run's raw loss."""
    return int(np.isnan(run.loss).sum())


def count_inf(run: Run) -> int:
    """Inf steps in a run's raw loss."""
    return int(np.isinf(run.loss).sum())


def trace_map(figure: dict[str, Any]) -> list[dict[str, Any]]:
    """The tags of each trace of a figure dict, in order, with the opacity and width to restore."""
    entries = []
    for trace in figure["data"]:
        meta = trace.get("meta") if isinstance(trace.get("meta"), dict) else {}
        entries.append(
            {
                "run_id": meta.get("run_id"),
                "model": meta.get("model"),
                "seq_len": meta.get("seq_len"),
                "role": meta.get("role"),
                "opacity": trace.get("opacity", 1.0),
                "width": (trace.get("line") or {}).get("width"),
                "legend": trace.get("visible") == "legendonly",
            }
        )
    return entries


def trace_visible(
    entry: dict[str, Any], models: Iterable, lengths: Iterable, show: Iterable
) -> bool:
    """Whether a trace belongs on the chart for these ticks.

    A trace of an unticked model or length (the checklist's values, :data:`state.NO_LENGTH`
    for a run without one) is hidden; a marker trace also needs its Mark checkbox. Traces
    of no run (legend entries) follow their model, length or role.
    """
    model, seq_len, role = entry.get("model"), entry.get("seq_len"), entry.get("role")
    if model is not None and model not in models:
        return False
    if entry.get("run_id") is not None:
        if state.length_value(seq_len) not in lengths:
            return False
    elif seq_len is not None and seq_len not in lengths:
        return False
    return role not in ROLE_SHOW or ROLE_SHOW[role] in show


def visibility(
    trace_map_: list[dict[str, Any]], models: list | None, lengths: list | None, show: list | None
) -> list[bool]:
    """``visible`` for every trace (None for models or lengths means all of them)."""
    all_models = {e["model"] for e in trace_map_} if models is None else set(models)
    all_lengths = (
        {state.length_value(e["seq_len"]) for e in trace_map_} if lengths is None else set(lengths)
    )
    shown = set(show or ())
    return [trace_visible(e, all_models, all_lengths, shown) for e in trace_map_]


def visibility_patch(
    trace_map_: list[dict[str, Any]], models: list | None, lengths: list | None, show: list | None
) -> Patch:
    """A Patch that sets only ``visible`` of each trace; legend-hidden traces stay so."""
    patch = Patch()
    for i, (entry, on) in enumerate(
        zip(trace_map_, visibility(trace_map_, models, lengths, show), strict=True)
    ):
        patch["data"][i]["visible"] = (
            ("legendonly" if entry.get("legend") else True) if on else False
        )
    return patch


def apply_visibility(figure: dict[str, Any], flags: list[bool]) -> None:
    """Set ``visible`` on a figure dict's traces, the same way the Patch would."""
    for trace, on in zip(figure["data"], flags, strict=True):
        if not on:
            trace["visible"] = False


def highlight_patch(trace_map_: list[dict[str, Any]], run_id: str | None) -> Patch:
    """Thicken ``run_id``'s traces and fade the others; None restores every trace."""
    patch = Patch()
    for i, entry in enumerate(trace_map_):
        if entry.get("run_id") is None:
            continue
        mine = run_id is None or entry["run_id"] == run_id
        patch["data"][i]["opacity"] = entry["opacity"] if mine else FADED_OPACITY
        if entry.get("width") is not None and entry.get("role") not in ROLE_SHOW:
            width = HIGHLIGHT_WIDTH if run_id is not None and mine else entry["width"]
            patch["data"][i]["line"]["width"] = width
    return patch


RESET = ids.ZOOM_RESET  # the x range a double-click asks for (autorange)
_ARRAYS = ("x", "y", "customdata", "text", "hovertext")


def refill_patch(figure: dict[str, Any], trace_map_: list[dict[str, Any]]) -> Patch | None:
    """A Patch that swaps in the point arrays of ``figure`` trace by trace.

    Returns None when ``figure`` does not have the same traces as the chart on the page
    (its trace map differs), so the caller can leave the chart alone.
    """
    fresh = trace_map(figure)
    same = len(fresh) == len(trace_map_) and all(
        (a["run_id"], a["role"]) == (b["run_id"], b["role"])
        for a, b in zip(fresh, trace_map_, strict=True)
    )
    if not same:
        return None
    patch = Patch()
    for i, trace in enumerate(figure["data"]):
        if trace.get("meta", {}).get("role") in FIXED_ROLES:
            continue  # markers come from the raw data and do not depend on the zoom
        for key in _ARRAYS:
            if key in trace:
                patch["data"][i][key] = trace[key]
    return patch
