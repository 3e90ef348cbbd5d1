"""``GET /healthz``: a cheap liveness answer for Docker, load balancers and humans.

It touches no run data and starts nothing: it reports the version, whether the results root
can be listed, and whether this worker can export (Chromium is installed and, under gunicorn,
this worker's export browser started).
"""

from __future__ import annotations

import os

import flask

import stabgraph_core
from stabgraph_core import export
from stabgraph_core.errors import ExportError

from .config import Settings, load_settings

# Set by gunicorn's worker hook: None until this process tried to start its export browser.
_renderer_started: bool | None = None


def note_renderer(*, started: bool) -> None:
    """Record whether this worker's export browser started (called from gunicorn.conf.py)."""
    global _renderer_started
    _renderer_started = started


def exporter_ready() -> bool:
    """True when this process can export a figure.

    Chromium must be installed and, if this worker started its export browser up front
    (gunicorn's hook does), that start must have succeeded.
    """
    if _renderer_started is False:
        return False
    try:
        export.browser_path()
    except ExportError:
        return False
    return True


def results_root_readable(settings: Settings | None = None) -> bool:
    """True when the results root is a folder this process may list.

    Args:
        settings: whose results root to check; by default the environment's as it is now
            (``python -m app --results_root`` sets it after the package was imported).
    """
    root = (settings or load_settings()).results_root
    return root.is_dir() and os.access(root, os.R_OK | os.X_OK)


def register_health(server: flask.Flask) -> None:
    """Add ``GET /healthz`` to ``server``.

    Always answers 200 while the process serves requests (liveness); the fields say what
    works, so a readiness check can look at ``exporter_ready`` if it cares. The results
    root is the one the page lists folders from, read when asked, as the page reads it.

    Args:
        server: the Flask server under the Dash app (``app.server``).
    """

    @server.get("/healthz")
    def healthz() -> flask.Response:
        return flask.jsonify(
            status="ok",
            version=stabgraph_core.__version__,
            results_root_readable=results_root_readable(),
            exporter_ready=exporter_ready(),
        )
