"""Memory: the second chart, peak memory by sequence length for the runs shown.

It follows the source (and each live snapshot of it), the ticked models and lengths, and the
detection settings (which decide which runs are marked as diverged). The section is hidden
when no shown run logs memory or ran out of it; the chart is the core's memory figure
(``stabgraph_core.figure.memory_figure_dict``) sized by the page.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from dash import Input, Output, callback, no_update

from stabgraph_core import StabgraphError
from stabgraph_core.figure import memory_figure_dict

from .. import data, ids, inputs, state

CACHE_FIGURES = 16
#: Roles of the traces that draw a run (the others are legend keys).
DRAWN_ROLES = ("memory", "diverged", "oom")


def _plain(value: Any) -> Any:
    """NumPy arrays (nested too) as lists: a small figure, sent as plain JSON."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@lru_cache(maxsize=CACHE_FIGURES)
def _chart(
    loaded: data.Loaded,
    models: tuple[str, ...] | None,
    lengths: tuple[int | None, ...] | None,
) -> dict[str, Any]:
    order = list(loaded.runs.models)
    if models is not None:
        order = [m for m in order if m in models]
    figure = memory_figure_dict(loaded.runs, loaded.detections, models=order, lengths=lengths)
    layout = figure["layout"]
    for key in ("width", "height", "title"):  # the page sizes the chart; its heading names it
        layout.pop(key, None)
    layout.update(autosize=True, uirevision=loaded.choice.label)
    layout["margin"] = {**layout.get("margin", {}), "t": 16, "r": 12}
    return _plain(figure)


def memory_chart(
    loaded: data.Loaded, models: list[str] | None, lengths: list[int | str] | None
) -> dict[str, Any]:
    """The memory figure for the ticked models and lengths (checklist values; None: all).

    Cached per loaded source and selection; treat the result as read-only.
    """
    core_lengths = (
        None
        if lengths is None
        else tuple(sorted({None if n == state.NO_LENGTH else int(n) for n in lengths}, key=str))
    )
    return _chart(loaded, None if models is None else tuple(sorted(set(models))), core_lengths)


def draws_a_run(figure: dict[str, Any]) -> bool:
    """Whether the figure draws any run (a peak, a diverged mark or an out-of-memory mark)."""
    return any(t.get("meta", {}).get("role") in DRAWN_ROLES for t in figure.get("data", []))


@callback(
    Output(ids.MEMORY_GRAPH, "figure"),
    Output(ids.MEMORY_CARD, "hidden"),
    Input(ids.SOURCE_STORE, "data"),
    Input(ids.MODELS, "value"),
    Input(ids.LENGTHS, "value"),
    Input(ids.DETECT_STORE, "data"),
)
def draw_memory(
    source: dict | None,
    models: list | None,
    lengths: list | None,
    detector: dict | None = None,
) -> tuple[Any, bool]:
    """The memory chart for the shown runs, and whether its section stays hidden."""
    if source is None:
        return no_update, True
    try:
        models, lengths = inputs.models(models), inputs.lengths(lengths)
        data.parse_choice(source)
        data.detector_config(detector)
    except StabgraphError as err:  # a forged request: say what is wrong, in one line
        inputs.tell(err)
        return no_update, True
    try:
        loaded = data.load_source(source, detector)
    except StabgraphError:
        return no_update, True  # the source panel already shows why
    figure = memory_chart(loaded, models, lengths)
    return figure, not draws_a_run(figure)


def clear_cache() -> None:
    """Forget every built memory chart (tests)."""
    _chart.cache_clear()
