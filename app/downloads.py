"""What the Download button produces: the current view as a figure file, summary JSON or CSV.

Figures go through the same builder as the chart and the CLI, with every point kept inside
the current x-range, so the file shows what the page shows. JSON is the CLI's summary with
each run's detection; CSV holds the raw points of the runs currently ticked.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import numpy as np

from stabgraph_core import summarize, to_json
from stabgraph_core.errors import InvalidArgumentError
from stabgraph_core.model import length_label

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
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


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


#: What a data download holds, in its name (figures are named by what they show alone).
_KIND = {"json": "_summary", "csv": "_points"}
#: Models named in a file name at most; more are counted (``_5-models``).
NAMED_MODELS = 3


def filename(fmt: str, runs: list | None = None) -> str:
    """The download's name, saying what is in it: ``stabgraph_mamba-resnetbk_8k-1M.pdf``.

    Models in the view's order (counted past :data:`NAMED_MODELS`), then the shortest to
    the longest length shown (one length alone; none when no run names one), then what a
    data file holds (``_summary.json``, ``_points.csv``). Only letters, digits, ``.``,
    ``-`` and ``_`` are kept, so the name is safe on every file system.
    """
    parts = [BASENAME]
    runs = list(runs or [])
    models = list(dict.fromkeys(r.model for r in runs))
    if models:
        parts.append("-".join(models) if len(models) <= NAMED_MODELS else f"{len(models)}-models")
    lengths = sorted({r.seq_len for r in runs if r.seq_len is not None})
    if lengths:
        span = [length_label(lengths[0]), length_label(lengths[-1])]
        parts.append(span[0] if len(lengths) == 1 else "-".join(span))
    stem = "_".join(_UNSAFE.sub("-", part).strip("-") for part in parts)[:120]
    return f"{stem}{_KIND.get(fmt, '')}.{fmt}"


def shown(loaded: data.Loaded, choice: ViewChoice) -> list:
    """The runs a download of this view holds."""
    return view.shown_runs(loaded.runs, choice.models, choice.lengths)


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
    """``model,seq_len,seed,label,step,loss`` rows, every raw point of every run.

    A length or seed the run does not have is an empty field; a NaN or Inf loss is written
    as ``nan`` / ``inf``, because the log holds it.
    """
    import pandas as pd

    frames = []
    for run in runs:
        n = run.steps.size
        columns = {
            "model": run.model,
            "seq_len": _constant("" if run.seq_len is None else str(run.seq_len), n),
            "seed": _constant("" if run.seed is None else str(run.seed), n),
            "label": run.label or "",
            "step": run.steps,
            "loss": np.asarray(run.loss),
        }
        frames.append(pd.DataFrame(columns))
    buffer = io.StringIO()
    pd.concat(frames, ignore_index=True).to_csv(
        buffer, index=False, float_format="%.9g", na_rep="nan"
    )
    return buffer.getvalue().encode()


def _constant(text: str, n: int) -> object:
    """A column of ``n`` copies of ``text`` (a categorical: one string, not ``n``)."""
    import pandas as pd

    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[text])
