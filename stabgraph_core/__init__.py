"""stabgraph core: runs, loaders, simulation, detection, summary, figures and export.

Imports no Dash: the app in ``app/`` is a thin layer over these functions. In a notebook::

    import stabgraph_core as sg

    result = sg.load_results("runs/")        # every run in the folder, and one error per bad file
    runs = result.runs                       # a RunSet: models, lengths, select(...)
    found = {r.run_id: sg.detect_run(r) for r in runs}
    fig = sg.build_figure(runs, detections=found)
    fig.show()                               # the same figure the dashboard draws
    sg.export_figure(fig, "stability.pdf")   # and the one the exports write
    summary = sg.summarize(runs, detections=found)

The names below are imported when first used, not with the package: ``stabgraph`` then
launches Chromium (for its figure) before NumPy and Plotly are loaded, and Chromium
starts while they load (see ``__main__``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .detect import Detection, DetectorConfig, detect_run
    from .errors import (
        ExportError,
        InvalidArgumentError,
        LoadError,
        NotFoundError,
        StabgraphError,
    )
    from .export import export_figure, export_figures, figure_bytes
    from .figure import FigureOptions, build_figure
    from .loaders import LoadResult, load_results
    from .model import Run, RunSet, length_label, model_display_name
    from .simulation import simulate
    from .summary import summarize, to_json, write_summary

__version__ = "0.2.0"

_HOMES: dict[str, str] = {
    "Detection": ".detect",
    "DetectorConfig": ".detect",
    "detect_run": ".detect",
    "export_figure": ".export",
    "export_figures": ".export",
    "figure_bytes": ".export",
    "FigureOptions": ".figure",
    "build_figure": ".figure",
    "LoadResult": ".loaders",
    "load_results": ".loaders",
    "ExportError": ".errors",
    "InvalidArgumentError": ".errors",
    "LoadError": ".errors",
    "NotFoundError": ".errors",
    "StabgraphError": ".errors",
    "Run": ".model",
    "RunSet": ".model",
    "length_label": ".model",
    "model_display_name": ".model",
    "simulate": ".simulation",
    "summarize": ".summary",
    "to_json": ".summary",
    "write_summary": ".summary",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name], __name__), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


__all__ = [
    "Detection",
    "DetectorConfig",
    "ExportError",
    "FigureOptions",
    "InvalidArgumentError",
    "LoadError",
    "LoadResult",
    "NotFoundError",
    "Run",
    "RunSet",
    "StabgraphError",
    "__version__",
    "build_figure",
    "detect_run",
    "export_figure",
    "export_figures",
    "figure_bytes",
    "length_label",
    "load_results",
    "model_display_name",
    "simulate",
    "summarize",
    "to_json",
    "write_summary",
]
