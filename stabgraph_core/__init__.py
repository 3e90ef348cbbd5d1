"""stabgraph core: runs, loaders, simulation, detection, summary, figures and export.

Imports no Dash: the app in ``app/`` is a thin layer over these functions.

The names below are imported when first used, not with the package: ``stabgraph`` then
launches Chromium (for its figure) before NumPy and Plotly are loaded, and Chromium
starts while they load (see ``__main__``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import (
        ExportError,
        InvalidArgumentError,
        LoadError,
        NotFoundError,
        StabgraphError,
    )
    from .model import Run, RunSet, length_label, model_display_name
    from .simulation import simulate
    from .summary import summarize, to_json, write_summary

__version__ = "0.1.0"

_HOMES: dict[str, str] = {
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
