"""stabgraph core: runs, loaders, simulation, detection, summary, figures and export.

Imports no Dash: the app in ``app/`` is a thin layer over these functions.
"""

from .errors import (
    ExportError,
    InvalidArgumentError,
    LoadError,
    NotFoundError,
    StabgraphError,
)
from .model import Run, RunSet, length_label, model_display_name
from .simulate import simulate
from .summary import summarize, to_json, write_summary

__version__ = "0.1.0"

__all__ = [
    "ExportError",
    "InvalidArgumentError",
    "LoadError",
    "NotFoundError",
    "Run",
    "RunSet",
    "StabgraphError",
    "__version__",
    "length_label",
    "model_display_name",
    "simulate",
    "summarize",
    "to_json",
    "write_summary",
]
