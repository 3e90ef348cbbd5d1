"""The stabgraph Dash app: ``app`` for ``python -m app``, ``server`` for ``gunicorn app:server``.

Installed, this package is ``stabgraph_app`` (``stabgraph serve`` runs it on gunicorn); the
checkout keeps it in ``app/``. Its modules import one another relatively, so both names work.

Settings come from the environment (``app/config.py``); callbacks live one feature per module
in ``app/callbacks/`` and register themselves with ``dash.callback`` when imported below.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from dash import Dash
from plotly.offline import get_plotlyjs_version

from stabgraph_core.export import plotly_bundle

from .background import make_background_manager
from .config import load_settings

_HERE = Path(__file__).resolve().parent
YEAR_S = 365 * 24 * 3600
#: The basic bundle when it matches the installed plotly (else None: dcc.Graph's own full one)
BUNDLE = plotly_bundle()
PLOTLY_PATH = f"/_stabgraph/plotly-basic.v{get_plotlyjs_version()}.min.js"
# Installed, the stylesheet ships inside the package; in a checkout it is the top-level assets/.
ASSETS = _HERE / "assets" if (_HERE / "assets").is_dir() else _HERE.parent / "assets"

settings = load_settings()
app = Dash(
    __name__,
    assets_folder=str(ASSETS),
    # plotly.js's basic bundle (scatter, which is all the charts draw; the same version as
    # plotly.py's, the one exports use): with window.Plotly defined, dcc.Graph does not
    # fetch and compile the full 4.8 MB bundle, a quarter of this size
    external_scripts=[PLOTLY_PATH] if BUNDLE is not None else [],
    background_callback_manager=make_background_manager(settings),
    title="stabgraph",
    suppress_callback_exceptions=False,
    update_title=None,
)
server = app.server

from .health import register_health  # noqa: E402

register_health(server)


@server.route(PLOTLY_PATH)
def _plotly_bundle() -> object:
    """The vendored basic bundle; versioned path, so browsers may keep it a year."""
    import flask

    if BUNDLE is None:
        flask.abort(404)
    response = flask.send_file(BUNDLE, mimetype="text/javascript", max_age=YEAR_S)
    response.headers["Cache-Control"] = f"public, max-age={YEAR_S}, immutable"
    return response


from . import layout  # noqa: E402

app.layout = layout.serve_layout

# Imported by name, not with ``from .callbacks import ...``: that would bind ``detection``,
# ``figure`` ... in this package's namespace, shadowing the core-facing modules of the same
# name (``app.detection``) depending on import order.
for _feature in (
    "detection",
    "export",
    "figure",
    "live",
    "memory",
    "source",
    "table",
    "toggles",
    "url",
    "zoom",
):
    import_module(f"{__name__}.callbacks.{_feature}")

from .security import register_security  # noqa: E402

# Dash learns which component bundles it may serve, and takes in the callbacks, on the
# first request it gets. Under gunicorn's threads a bundle request can arrive on another
# thread while that first request is still at it, and is refused ("not a registered
# library", a 500 and a blank page). So every process does it here, before it serves.
with server.test_request_context("/"):
    server.preprocess_request()
register_security(app)
