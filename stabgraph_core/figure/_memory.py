"""The memory comparison figure: peak memory against sequence length, one line per model.

What is drawn (``memory_figure_dict``):

- per model, a line with markers through its sequence lengths at the run's peak memory in
  GiB (``series.peak_memory_gb``: the largest memory the run logged, or its results file's
  own figure); where several runs (seeds, labels) share a length, their largest peak, and
  the hover says of how many runs;
- an open circle with an X, in the divergence colour, at the peak of each run that
  diverged (declared by its source or found by the detector);
- an "OOM" marker in a row at the top of the plot, at each length where a run of the model
  ran out of memory (``series.ran_out_of_memory``: only when the source says so); such a
  run is no point of the line (its last logged memory is not what the length needs), and
  the hover gives its last logged peak when it has one;
- legend entries for the models and for both marks; "No run logs memory" when no shown
  run logs memory or ran out of it (the frame stays, without ticks).

Runs with no memory logged and no out-of-memory statement are left out, and so are runs
that name no sequence length (a note says how many). The x axis is logarithmic with a
tick at each length drawn (8k ... 1M): a factor of two is the same distance everywhere,
so it reads as a log-2 axis. Colours and fonts are the loss figure's (a model has the same
colour in both); everything is opaque, so EPS stays vector. Every trace carries
``meta = {"role", "model"}``; roles: ``memory``, ``diverged``, ``oom``, ``key``
(legend-only entries, ``model`` None). The page is 12 x 7 in, as the loss figure.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..detect import Detection, detect_run
from ..model import Run, length_label, model_display_name
from ..series import peak_memory_gb, ran_out_of_memory
from ._build import model_colors
from ._style import DIVERGENCE_COLOR, axis_style, page_layout, short

if TYPE_CHECKING:
    import plotly.graph_objects as go

#: The y axis's title.
MEMORY_AXIS_TITLE = "Peak memory (GB)"
#: The x axis's title.
LENGTH_AXIS_TITLE = "Sequence length (tokens)"
#: What the figure says when no shown run logs memory.
NO_MEMORY_TEXT = "No run logs memory"
#: ... and when the only runs that log memory name no sequence length.
NO_LENGTH_TEXT = "No run that logs memory names a sequence length"
#: The out-of-memory marks' colour in the legend (each mark has its model's colour).
OOM_KEY_COLOR = "#555555"

_OOM_TOP = 0.955  # paper-like y (yaxis2, 0..1) of the first model's OOM row
_OOM_STEP = 0.055  # ... and how far below it each further model's row is
_HEADROOM = 1.08  # the y axis ends this far above the largest peak (no OOM rows)
_X_PAD = 0.15  # log10 units each side of the lengths drawn: about half a factor of two


@dataclass(frozen=True)
class _Entry:
    """One shown run as the figure sees it."""

    run: Run
    peak: float | None
    oom: bool
    diverged: bool


def build_memory_figure(
    runs: Iterable[Run],
    detections: Mapping[str, Detection] | None = None,
    *,
    title: str | None = None,
    models: Sequence[str] | None = None,
    lengths: Collection[int | None] | None = None,
) -> go.Figure:
    """The memory figure as a ``plotly.graph_objects.Figure`` (see :func:`memory_figure_dict`)."""
    import plotly.graph_objects as go

    return go.Figure(
        memory_figure_dict(runs, detections, title=title, models=models, lengths=lengths)
    )


def memory_figure_dict(
    runs: Iterable[Run],
    detections: Mapping[str, Detection] | None = None,
    *,
    title: str | None = None,
    models: Sequence[str] | None = None,
    lengths: Collection[int | None] | None = None,
) -> dict[str, Any]:
    """Peak memory against sequence length per model, as a plain ``{"data", "layout"}`` dict.

    Args:
        runs: the runs (a RunSet or any iterable). Model colours are given over all of
            them, in first-seen order, as the loss figure gives them, so a model keeps its
            colour when ``models`` leaves others out.
        detections: detection per ``Run.run_id``; a run shown without one that its source
            does not declare diverged is run through ``detect_run``.
        title: the figure title (``<br>`` breaks a line); None for the default.
        models: models to show, in legend order (None: every model, first-seen order).
        lengths: sequence lengths to show (None: every length).

    Returns:
        ``{"data": [trace dicts with "type": "scatter"], "layout": {...}}`` with NumPy
        arrays for the points.
    """
    runs = list(runs)
    colors = model_colors(r.model for r in runs)
    order = list(dict.fromkeys(r.model for r in runs)) if models is None else list(models)
    shown = [r for r in runs if r.model in order and (lengths is None or r.seq_len in lengths)]
    entries: list[_Entry] = []
    no_length = 0
    for run in shown:
        peak, oom = peak_memory_gb(run), ran_out_of_memory(run)
        if peak is None and not oom:
            continue
        if run.seq_len is None:
            no_length += 1
            continue
        entries.append(_Entry(run, peak, oom, _diverged(run, detections)))
    by_model = {m: [e for e in entries if e.run.model == m] for m in order}
    by_model = {m: e for m, e in by_model.items() if e}
    oom_models = [m for m, e in by_model.items() if any(x.oom for x in e)]
    peaks = [e.peak for e in entries if e.peak is not None and not e.oom]
    y_top = _y_top(peaks, len(oom_models))

    traces: list[dict[str, Any]] = []
    for model, group in by_model.items():
        line = _line_trace(model, group, colors[model])
        if line is not None:
            traces.append(line)
    for model, group in by_model.items():
        mark = _diverged_trace(model, group)
        if mark is not None:
            traces.append(mark)
    for row, model in enumerate(oom_models):
        traces.append(_oom_trace(model, by_model[model], colors[model], row))
    traces += _key_traces(traces)
    for trace in traces:
        trace["type"] = "scatter"

    drawn_lengths = sorted({e.run.seq_len for e in entries if e.run.seq_len is not None})
    shown_title = (
        title if title is not None else default_memory_title(list(by_model), drawn_lengths)
    )
    layout = _layout(shown_title, drawn_lengths, y_top)
    notes = []
    if not entries:
        empty = NO_LENGTH_TEXT if no_length else NO_MEMORY_TEXT
        notes.append(_annotation(empty, x=0.5, y=0.5, size=16, centred=True))
        for name in ("xaxis", "yaxis"):
            layout[name] |= {"showticklabels": False, "showgrid": False, "ticks": ""}
    elif no_length:
        runs_word = "run" if no_length == 1 else "runs"
        notes.append(
            _annotation(
                f"not shown: {no_length} {runs_word} with memory but no sequence length",
                x=1.0,
                y=0.0,
                size=11,
            )
        )
    layout["annotations"] = notes
    layout["meta"] = {"y_top": y_top, "oom_models": oom_models}
    return {"data": traces, "layout": layout}


def default_memory_title(models: Sequence[str], lengths: Sequence[int]) -> str:
    """``Peak Memory by Sequence Length`` over the models and the span of lengths drawn."""
    first = "Peak Memory by Sequence Length"
    names = [model_display_name(m) for m in models]
    listed = " vs ".join(names)
    who = listed if len(names) <= 3 and len(listed) <= 60 else f"{len(names)} models"
    if not names:
        return first
    if not lengths:
        return f"{first}<br>{who}"
    span = (
        f"{length_label(lengths[0])} tokens"
        if len(lengths) == 1
        else f"{length_label(lengths[0])} to {length_label(lengths[-1])} tokens"
    )
    return f"{first}<br>{who}, {span}"


def _diverged(run: Run, detections: Mapping[str, Detection] | None) -> bool:
    """Declared by the source, or found by the detector (computed only when needed)."""
    if run.diverged:
        return True
    found = (detections or {}).get(run.run_id)
    if found is None:
        found = detect_run(run)
    return bool(found.diverged)


def _y_top(peaks: Sequence[float], oom_rows: int) -> float:
    """Where the y axis ends: above the largest peak, with room for the OOM rows."""
    if not peaks:
        return 1.0
    # the lowest OOM row, less a gap, is where the data may reach
    free = _OOM_TOP - _OOM_STEP * (oom_rows - 1) - 0.08 if oom_rows else 1 / _HEADROOM
    return max(peaks) / free if max(peaks) > 0 else 1.0


def _gb(value: float) -> str:
    return f"{value:,.2f} GB"


def _line_trace(model: str, group: Sequence[_Entry], color: str) -> dict[str, Any] | None:
    """The model's line: at each length the largest peak of its runs that did not run out."""
    points: dict[int, list[_Entry]] = {}
    for e in group:
        if e.peak is not None and not e.oom and e.run.seq_len is not None:
            points.setdefault(e.run.seq_len, []).append(e)
    if not points:
        return None
    xs = sorted(points)
    ys = [max(e.peak for e in points[n] if e.peak is not None) for n in xs]
    name = model_display_name(model)
    hover = []
    for n, y in zip(xs, ys, strict=True):
        members = points[n]
        text = f"<b>{name}</b> {length_label(n)}: peak {_gb(y)}"
        if len(members) > 1:
            low = min(e.peak for e in members if e.peak is not None)
            text += f"<br>largest of {len(members)} runs (smallest {_gb(low)})"
        else:
            text += f"<br>{members[0].run.display_name}"
        hover.append(text)
    return {
        "mode": "lines+markers",
        "x": np.array(xs, dtype=np.float64),
        "y": np.array(ys, dtype=np.float64),
        "name": short(name),
        "legendgroup": "models",
        "legendgrouptitle": {"text": "Model"},
        "showlegend": True,
        "line": {"color": color, "width": 2.5},
        "marker": {"symbol": "circle", "size": 9, "color": color, "opacity": 1},
        "hovertext": hover,
        "hovertemplate": "%{hovertext}<extra></extra>",
        "meta": {"role": "memory", "model": model},
    }


def _diverged_trace(model: str, group: Sequence[_Entry]) -> dict[str, Any] | None:
    """An open circle with an X at the peak of each of the model's diverged runs."""
    marked = [e for e in group if e.diverged and not e.oom and e.peak is not None]
    if not marked:
        return None
    marked.sort(key=lambda e: (e.run.seq_len or 0, e.peak or 0.0))
    return {
        "mode": "markers",
        "x": np.array([e.run.seq_len for e in marked], dtype=np.float64),
        "y": np.array([e.peak for e in marked], dtype=np.float64),
        "name": f"{short(model_display_name(model))} diverged",
        "showlegend": False,
        "legendgroup": "marks",
        "marker": {
            "symbol": "circle-x-open",
            "size": 17,
            "color": DIVERGENCE_COLOR,
            "line": {"width": 2.5, "color": DIVERGENCE_COLOR},
            "opacity": 1,
        },
        "hovertext": [
            f"<b>{e.run.display_name}</b> diverged"
            + (f" at step {e.run.divergence_step:,}" if e.run.divergence_step is not None else "")
            + f"<br>peak {_gb(e.peak or 0.0)}"
            for e in marked
        ],
        "hovertemplate": "%{hovertext}<extra></extra>",
        "meta": {"role": "diverged", "model": model},
    }


def _oom_trace(model: str, group: Sequence[_Entry], color: str, row: int) -> dict[str, Any]:
    """An "OOM" mark at each length where a run of the model ran out of memory, in the
    model's row at the top of the plot (``yaxis2`` runs 0..1 over the plot area)."""
    at: dict[int, list[_Entry]] = {}
    for e in group:
        if e.oom and e.run.seq_len is not None:
            at.setdefault(e.run.seq_len, []).append(e)
    xs = sorted(at)
    name = model_display_name(model)
    hover = []
    for n in xs:
        members = at[n]
        of = sum(1 for e in group if e.run.seq_len == n)
        text = f"<b>{name}</b> {length_label(n)}: ran out of memory"
        if of > 1:
            text += f" ({len(members)} of {of} runs)"
        last = [e.peak for e in members if e.peak is not None]
        if last:
            text += f"<br>largest memory logged before: {_gb(max(last))}"
        if any(e.diverged for e in members):
            text += "<br>diverged too"
        hover.append(text)
    y = _OOM_TOP - _OOM_STEP * row
    return {
        "mode": "markers+text",
        "x": np.array(xs, dtype=np.float64),
        "y": np.full(len(xs), y),
        "yaxis": "y2",
        "text": ["OOM"] * len(xs),
        "textposition": "middle right",
        "textfont": {"color": color, "size": 13},
        "cliponaxis": False,
        "name": f"{short(name)} out of memory",
        "showlegend": False,
        "legendgroup": "marks",
        "marker": {
            "symbol": "square",
            "size": 11,
            "color": color,
            "line": {"color": "black", "width": 1},
            "opacity": 1,
        },
        "hovertext": hover,
        "hovertemplate": "%{hovertext}<extra></extra>",
        "meta": {"role": "oom", "model": model},
    }


def _key_traces(drawn: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Legend-only entries for the marks that are drawn."""
    roles = {t["meta"]["role"] for t in drawn}
    key = {
        "x": [None],
        "y": [None],
        "mode": "markers",
        "hoverinfo": "skip",
        "showlegend": True,
        "legendgroup": "marks",
        "legendgrouptitle": {"text": "Marked runs"},
        "meta": {"role": "key", "model": None},
    }
    out = []
    if "diverged" in roles:
        out.append(
            {
                **key,
                "name": "Diverged (declared or detected)",
                "marker": {
                    "symbol": "circle-x-open",
                    "size": 13,
                    "color": DIVERGENCE_COLOR,
                    "line": {"width": 2, "color": DIVERGENCE_COLOR},
                },
            }
        )
    if "oom" in roles:
        out.append(
            {
                **key,
                "name": "Ran out of memory (OOM)",
                "marker": {
                    "symbol": "square",
                    "size": 11,
                    "color": OOM_KEY_COLOR,
                    "line": {"color": "black", "width": 1},
                },
            }
        )
    return out


def _annotation(
    text: str, *, x: float, y: float, size: int, centred: bool = False
) -> dict[str, Any]:
    """A note on the plot: centred in it, or right-aligned under its bottom-right corner
    (level with the x axis title, which is centred)."""
    return {
        "text": text,
        "showarrow": False,
        "xref": "paper",
        "yref": "paper",
        "x": x,
        "y": y,
        "xanchor": "center" if centred else "right",
        "yanchor": "middle" if centred else "top",
        "yshift": 0 if centred else -40,
        "font": {"size": size, "color": "#616E7C" if centred else "#444444"},
    }


def _layout(title: str, lengths: Sequence[int], y_top: float) -> dict[str, Any]:
    """Page, axes and legend in the loss figure's style."""
    axis = axis_style()
    xaxis: dict[str, Any] = {
        **axis,
        "title": {**axis["title"], "text": LENGTH_AXIS_TITLE},
        "type": "log",
    }
    if lengths:
        low, high = math.log10(lengths[0]), math.log10(lengths[-1])
        xaxis |= {
            "tickmode": "array",
            "tickvals": [float(n) for n in lengths],
            "ticktext": [length_label(n) for n in lengths],
            "range": [low - _X_PAD, high + _X_PAD],
            "minor": {"showgrid": False, "ticks": ""},
        }
    else:
        xaxis |= {"range": [math.log10(8192), math.log10(1 << 20)], "showticklabels": False}
    return {
        **page_layout(title),
        "xaxis": xaxis,
        "yaxis": {
            **axis,
            "title": {**axis["title"], "text": MEMORY_AXIS_TITLE},
            "type": "linear",
            "range": [0.0, y_top],
            "rangemode": "tozero",
            "hoverformat": ".2f",
        },
        "yaxis2": {"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True},
    }


__all__ = [
    "LENGTH_AXIS_TITLE",
    "MEMORY_AXIS_TITLE",
    "NO_LENGTH_TEXT",
    "NO_MEMORY_TEXT",
    "build_memory_figure",
    "default_memory_title",
    "memory_figure_dict",
]
