"""Table: per-run loss statistics and detection; a clicked row highlights its run.

Runs that form a seed group (``stabgraph_core.seeds``) are listed as one *group row* with
the seeds' statistics together; clicking its Run cell opens it, listing a *seed row* per
seed right under it, and clicking again closes it. The grid (AG Grid community) has no row
grouping of its own, so the open groups are kept in the page (``TABLE_EXPANDED``) and the
rows are built here.
"""

from __future__ import annotations

import posixpath
from typing import Any

from dash import Input, Output, State, callback, no_update

from stabgraph_core import StabgraphError
from stabgraph_core.detect import Detection
from stabgraph_core.model import Run
from stabgraph_core.seeds import SeedGroup, final_losses, grouped_run_ids, mean_and_std, seed_groups
from stabgraph_core.summary import run_stats

from .. import data, ids, inputs, view

CLOSED, OPEN = "▸", "▾"  # how a group row's Run cell starts, closed and open
RUN_COLUMN = "run"  # the column whose cell opens and closes a group


def _number(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.4g}")


def _spread(value: float | None) -> float | None:
    """A standard deviation to two significant digits (``0.012``), as it is read."""
    return None if value is None else float(f"{value:.2g}")


def _step(diverged: bool | None, step: int | None) -> str:
    if diverged is None:
        return "not stated"
    if not diverged:
        return "no"
    return f"step {step:,}" if step is not None else "yes"


def _run_row(
    run: Run, found: Detection | None, state: str, stats: dict[str, Any] | None
) -> dict[str, Any]:
    """The row of one run (a single run, or one seed of a group)."""
    stats = stats or {}
    return {
        "run_id": run.run_id,
        "run": run.display_name,
        "kind": "run",
        "final": _number(stats.get("final_loss")),
        "min": _number(stats.get("min_loss")),
        "mean": _number(stats.get("mean_loss")),
        "nan": int(stats.get("num_nan", int(view.count_nan(run)))),
        "inf": int(stats.get("num_inf", int(view.count_inf(run)))),
        "declared": _step(run.diverged, run.divergence_step),
        "detected": _step(found.diverged, found.divergence_step) if found else "—",
        "spikes": len(found.spikes) if found else None,
        "state": state,
        "source": run.source,
        "notes": "; ".join(run.notes),
    }


def group_label(group: SeedGroup, is_open: bool) -> str:
    """A group row's Run cell: ``▸ Mamba 32k · 3 seeds`` (``▾`` when open)."""
    return f"{OPEN if is_open else CLOSED} {group.display_name} · {len(group.runs)} seeds"


def is_group_label(value: str | None) -> bool:
    """Whether a Run cell's text is a group row's (what a click on it toggles)."""
    return value is not None and value.startswith((f"{CLOSED} ", f"{OPEN} "))


def _seeds_diverged(said: list[tuple[bool | None, int | None]]) -> str:
    """``1/3 diverged (step 300)`` with the earliest step, ``no``, or ``not stated``.

    Args:
        said: per seed, whether it diverged (None: not known) and from which step.
    """
    count = len(said)
    known = [(diverged, step) for diverged, step in said if diverged is not None]
    if not known:
        return "not stated"
    steps = [step for diverged, step in known if diverged]
    if not steps:
        return "no" if len(known) == count else f"no ({count - len(known)}/{count} not stated)"
    text = f"{len(steps)}/{count} diverged"
    onsets = [step for step in steps if step is not None]
    return f"{text} (step {min(onsets):,})" if onsets else text


def _common_source(runs: tuple[Run, ...]) -> str:
    """The seeds' one file, their common folder with how many files, or how many files."""
    files = list(dict.fromkeys(run.source for run in runs))
    if len(files) == 1:
        return files[0]
    folders = {posixpath.dirname(f) for f in files}
    folder = posixpath.commonpath(list(folders)) if all(folders) else ""
    return f"{folder}/ ({len(files)} files)" if folder else f"{len(files)} files"


def _group_state(states: list[str]) -> str:
    """``running`` or ``finished`` when every seed is, else ``2/3 running``."""
    if len(set(states)) <= 1:
        return states[0] if states else ""
    return f"{states.count('running')}/{len(states)} running"


def _group_row(
    group: SeedGroup,
    is_open: bool,
    seed_rows: list[dict[str, Any]],
    stats: dict[str, dict[str, Any] | None],
    detections: dict[str, Detection],
) -> dict[str, Any]:
    """The row of a seed group: its seeds' statistics together."""
    mean_final, std_final = mean_and_std(final_losses(group))
    mins = [s["min_loss"] for run in group.runs if (s := stats[run.run_id])]
    means = [s["mean_loss"] for run in group.runs if (s := stats[run.run_id])]
    found = [detections.get(run.run_id) for run in group.runs]
    spikes = [row["spikes"] for row in seed_rows if row["spikes"] is not None]
    return {
        "run_id": group.group_id,
        "run": group_label(group, is_open),
        "kind": "group",
        "seeds": len(group.runs),
        "final": _number(mean_final),
        "final_std": _spread(std_final),
        "min": _number(min(mins)) if mins else None,
        "mean": _number(mean_and_std(means)[0]),
        "nan": sum(row["nan"] for row in seed_rows),
        "inf": sum(row["inf"] for row in seed_rows),
        "declared": _seeds_diverged([(r.diverged, r.divergence_step) for r in group.runs]),
        "detected": (
            _seeds_diverged([(f.diverged, f.divergence_step) if f else (None, None) for f in found])
            if any(found)
            else "—"
        ),
        "spikes": sum(spikes) if spikes else None,
        "state": _group_state([row["state"] for row in seed_rows]),
        "source": _common_source(group.runs),
        "notes": "; ".join(dict.fromkeys(note for run in group.runs for note in run.notes)),
    }


def table_rows(
    loaded: data.Loaded,
    models: list | None,
    lengths: list | None,
    expanded: list[str] | None = None,
) -> list[dict]:
    """The table's rows for the shown runs: final/min/mean loss, NaN/Inf counts, divergence,
    spikes.

    A single run is one row (``kind: "run"``). The runs of a seed group are one group row
    (``kind: "group"``, ``run_id`` the group's id) where the group's first run comes, and,
    when its id is in ``expanded``, a seed row per seed right after it (``kind: "seed"``,
    ``group`` its group's id, ``run`` just ``seed 2``).
    """
    open_groups = set(expanded or ())
    states = data.run_states(loaded)
    shown = view.shown_runs(loaded.runs, models, lengths)
    groups = grouped_run_ids(seed_groups(shown))
    stats = {run.run_id: run_stats(run) for run in shown}

    def row_of(run: Run) -> dict[str, Any]:
        found = loaded.detections.get(run.run_id)
        return _run_row(run, found, states.get(run.run_id, ""), stats[run.run_id])

    rows: list[dict] = []
    listed: set[str] = set()
    for run in shown:
        group = groups.get(run.run_id)
        if group is None:
            rows.append(row_of(run))
            continue
        if group.group_id in listed:
            continue
        listed.add(group.group_id)
        is_open = group.group_id in open_groups
        seed_rows = [
            row_of(seed) | {"kind": "seed", "group": group.group_id, "run": f"seed {seed.seed}"}
            for seed in group.runs
        ]
        rows.append(_group_row(group, is_open, seed_rows, stats, loaded.detections))
        if is_open:
            rows.extend(seed_rows)
    return rows


@callback(
    Output(ids.TABLE, "rowData"),
    Input(ids.SOURCE_STORE, "data"),
    Input(ids.MODELS, "value"),
    Input(ids.LENGTHS, "value"),
    Input(ids.DETECT_STORE, "data"),
    Input(ids.LIVE_RUNS, "children"),
    Input(ids.TABLE_EXPANDED, "data"),
)
def fill_table(
    source: dict | None,
    models: list | None,
    lengths: list | None,
    detector: dict | None = None,
    _states: Any = None,
    expanded: list | None = None,
) -> list[dict]:
    """The table for the selected runs (statistics from the raw data, not the chart's);
    filled again when a run turns from running to finished and when a group is opened or
    closed. A forged list of open groups is said on the page and the groups shown closed."""
    try:
        models, lengths = inputs.models(models), inputs.lengths(lengths)
    except StabgraphError as err:
        inputs.tell(err)
        return []
    try:
        open_groups = inputs.expanded_groups(expanded)
    except StabgraphError as err:
        inputs.tell(err)
        open_groups = []
    if source is None:
        return []
    try:
        loaded = data.load_source(source, detector)
    except StabgraphError:
        return []  # the source panel already shows why
    return table_rows(loaded, models, lengths, open_groups)


@callback(
    Output(ids.TABLE_EXPANDED, "data"),
    Input(ids.TABLE, "cellClicked"),
    State(ids.TABLE_EXPANDED, "data"),
    prevent_initial_call=True,
)
def toggle_group(clicked: dict | None, expanded: list | None) -> Any:
    """Open a closed group, or close an open one, when its row's Run cell is clicked; any
    other click leaves the open groups as they are."""
    try:
        column, row_id, value = inputs.cell_click(clicked)
        open_groups = inputs.expanded_groups(expanded)
    except StabgraphError as err:
        inputs.tell(err)
        return no_update
    if column != RUN_COLUMN or row_id is None or not is_group_label(value):
        return no_update
    if row_id in open_groups:
        return [g for g in open_groups if g != row_id]
    return [*open_groups, row_id][-inputs.MAX_OPEN_GROUPS :]


@callback(
    Output(ids.GRAPH, "figure", allow_duplicate=True),
    Input(ids.TABLE, "selectedRows"),
    State(ids.TRACE_MAP, "data"),
    prevent_initial_call=True,
)
def highlight_run(selected: list[dict] | None, trace_map: list[dict] | None) -> Any:
    """Thicken the clicked run's lines and fade the others; no selection restores them.

    A group row's ``run_id`` is its group's id, which its band and mean line carry; a seed
    row's is the seed's own run.
    """
    try:
        run_id, trace_map = inputs.selected_run(selected), inputs.trace_map(trace_map)
    except StabgraphError as err:
        inputs.tell(err)
        return no_update
    if not trace_map:
        return no_update
    return view.highlight_patch(trace_map, run_id)
