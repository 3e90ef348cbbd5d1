"""What the server sends with every response, and what it refuses before any callback runs.

* **Headers on every response**: a Content-Security-Policy that allows only this server's
  own scripts (plus the hash of Dash's one inline script), styles, images and requests and
  forbids framing; ``X-Content-Type-Options: nosniff``; ``X-Frame-Options: DENY`` (for
  browsers that predate ``frame-ancestors``); ``Referrer-Policy: no-referrer``. Styles may
  be inline (Plotly and AG Grid set them from JavaScript), scripts may not.
* **Unknown bundles are a quiet 404**: Dash answers a ``/_dash-component-suites/...`` path
  it does not serve by raising, which Flask turned into a 500 and a logged traceback.
* **Callback bodies of the wrong shape are a 400**: ``/_dash-update-component`` must name
  one of the page's callbacks and list exactly its inputs and state, each an
  ``{id, property, value}``; Dash indexes into whatever it is sent. The values themselves
  are each callback's to check (``inputs.py``).
* **Request bodies are bounded** by ``MAX_BODY_BYTES`` (413 beyond it).
"""

from __future__ import annotations

from typing import Any

import flask
from dash import Dash
from dash.exceptions import DependencyException

MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_CHANGED = 64  # changedPropIds of one callback call

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def content_security_policy(script_hashes: list[str]) -> str:
    """The policy for every response; ``script_hashes`` are the app's inline scripts'."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def register_security(app: Dash) -> None:
    """Install the headers, the 404 for unknown bundles and the callback-body check.

    Call once every callback is registered: the policy hashes the inline scripts then known.

    Args:
        app: the Dash app (its Flask server gets the hooks).
    """
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    headers = {**HEADERS, "Content-Security-Policy": content_security_policy(app.csp_hashes())}
    callback_path = app.config.routes_pathname_prefix + "_dash-update-component"

    @server.after_request
    def _add_headers(response: flask.Response) -> flask.Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    @server.errorhandler(DependencyException)
    def _unknown_bundle(_error: DependencyException) -> tuple[str, int, dict[str, str]]:
        return "not found\n", 404, {"Content-Type": "text/plain; charset=utf-8"}

    @server.before_request
    def _check_callback_body() -> Any:
        if flask.request.path != callback_path or flask.request.method != "POST":
            return None
        problem = callback_body_problem(flask.request.get_json(silent=True), app.callback_map)
        if problem is None:
            return None
        return flask.jsonify(message=f"bad callback request: {problem}"), 400


def callback_body_problem(body: Any, callbacks: dict[str, dict[str, Any]]) -> str | None:
    """What is wrong with a ``/_dash-update-component`` body, in a few words; None if nothing.

    Args:
        body: the parsed JSON body (None when it was not JSON).
        callbacks: the app's ``callback_map`` (output string -> its inputs, state, outputs).
    """
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    output = body.get("output")
    if not isinstance(output, str) or output not in callbacks:
        return "no such callback"
    if "callback" not in callbacks[output]:
        return "that callback runs in the browser"  # a clientside callback: nothing to run
    spec = callbacks[output]
    for key in ("inputs", "state"):
        expected, given = spec.get(key) or [], body.get(key, [])
        if not isinstance(given, list) or len(given) != len(expected):
            return f"its {key} are not the callback's"
        for dep, want in zip(given, expected, strict=True):
            if isinstance(want["id"], dict):
                continue  # a pattern-matching input (none here) is a list; left to Dash
            if not isinstance(dep, dict) or (dep.get("id"), dep.get("property")) != (
                want["id"],
                want["property"],
            ):
                return f"its {key} are not the callback's"
    outputs = body.get("outputs")
    count = len(spec["output"]) if isinstance(spec["output"], list) else None
    wanted = outputs if count is not None else [outputs]
    if (
        (count is not None and not isinstance(outputs, list))
        or len(wanted) != (count if count is not None else 1)
        or not all(_is_dependency(o) for o in wanted)
    ):
        return "its outputs are not the callback's"
    changed = body.get("changedPropIds", [])
    ids = {f"{d['id']}.{d['property']}" for d in spec.get("inputs") or []}
    if (
        not isinstance(changed, list)
        or len(changed) > MAX_CHANGED
        or not all(isinstance(c, str) and c in ids for c in changed)
    ):
        return "it names inputs the callback does not have"
    return None


def _is_dependency(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("id"), str | dict)
        and isinstance(value.get("property"), str)
    )
