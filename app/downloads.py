"""What the Download button produces: the current view as a figure file, summary JSON or CSV.

Figures go through the same builder as the chart and the CLI, with every point kept inside
the current x-range, so the file shows what the page shows. JSON is the CLI's summary with
each run's detection; CSV holds the raw points of the runs currently ticked.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from stabgraph_core import summarize, to_json
from stabgraph_core.errors import InvalidArgumentError

from . import charts, data, view
from .inputs import FORMATS

MIME = {
    "pdf": "application/pdf",
    "svg": "image/svg+xml",
    "eps": "application/postscript",
    "png": "image/png",
    "html": "text/html",
    "json": "application/json",
    "csv": "text/csv",
}
BASENAME = "stabgraph"


@dataclass(frozen=True)
class ViewChoice:
    """The parts of the page's view a download depends on."""

    models: list | None = None
    lengths: list | None = None
    show: list | None = None
    smoothing: float = 0.0
    log_y: bool = False
    x_axis: str = "steps"
    x_range: tuple[float, float] | None = None
    grad_norm: str = "auto"
    bands: str = "std"


def filename(fmt: str) -> str:
    """``stabgraph.pdf`` and so on."""
    return f"{BASENAME}.{fmt}"


def render(loaded: data.Loaded, choice: ViewChoice, fmt: str, dpi: int = 300) -> bytes:
    """The bytes of the download in ``fmt``.

    Raises:
        InvalidArgumentError: unknown format, or nothing is ticked.
        ExportError: the figure could not be written (no Chromium, ...).
    """
    if fmt not in FORMATS:
        raise InvalidArgumentError(f"unknown download format {fmt!r}")
    runs = view.shown_runs(loaded.runs, choice.models, choice.lengths)
    if not runs:
        raise InvalidArgumentError("no runs are ticked: tick a model and a length first")
    if fmt == "json":
        return summary_json(loaded, runs)
    if fmt == "csv":
        return points_csv(runs)
    from stabgraph_core.export import figure_bytes
    from stabgraph_core.figure import build_figure

    options = charts.options_for(
        loaded,
        smoothing=choice.smoothing,
        log_y=choice.log_y,
        x_axis=choice.x_axis,
        models=[m for m in loaded.runs.models if m in {r.model for r in runs}],
        lengths=list(dict.fromkeys(r.seq_len for r in runs)),
        show=choice.show,
        x_range=choice.x_range,
        max_points=None,
        grad_norm=choice.grad_norm,
        bands=choice.bands,
    )
    figure = build_figure(loaded.runs, options, detections=loaded.detections)
    return figure_bytes(figure, fmt, dpi)


def summary_json(loaded: data.Loaded, runs: list) -> bytes:
    """The CLI's summary JSON for these runs, with each run's detection added."""
    return to_json(summarize(runs, detections=loaded.detections))


def points_csv(runs: list) -> bytes:
    """``model,seq_len,seed,label,step,loss`` rows, every raw point of every run."""
    import pandas as pd

    frames = [
        pd.DataFrame(
            {
                "model": run.model,
                "seq_len": pd.array([run.seq_len] * run.steps.size, dtype="Int64"),
                "seed": pd.array([run.seed] * run.steps.size, dtype="Int64"),
                "label": run.label or "",
                "step": run.steps,
                "loss": np.asarray(run.loss),
            }
        )
        for run in runs
    ]
    buffer = io.StringIO()
    pd.concat(frames, ignore_index=True).to_csv(
        buffer, index=False, float_format="%.9g", na_rep="nan"
    )
    return buffer.getvalue().encode()
