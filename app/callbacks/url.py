"""URL state: the query string sets the controls on load, and follows them afterwards.

One callback owns both directions (Dash allows a callback whose output is also its input),
which is what keeps them from echoing each other: a URL change writes the controls and
leaves the URL alone, a control change writes the URL and leaves the controls alone.
"""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, ctx, no_update

from stabgraph_core.errors import InvalidArgumentError

from .. import detection, ids, inputs, state


def view_from_search(search: str | None) -> dict[str, Any]:
    """Control values for a query string: the ones it names, defaults for the rest."""
    restored = state.decode(search)
    return {name: restored.get(name, state.DEFAULTS[name]) for name in state.CONTROLS}


def link_for(href: str | None, search: str) -> str:
    """The address to copy: the page's address with this query string."""
    base = (href or "").split("?", 1)[0].split("#", 1)[0]
    return base + search


@callback(
    output={
        "search": Output(ids.URL, "search"),
        "view": {name: Output(cid, "value") for name, cid in state.CONTROLS.items()},
        "link": Output(ids.COPY_LINK, "content"),
    },
    inputs={
        "search": Input(ids.URL, "search"),
        "view": {name: Input(cid, "value") for name, cid in state.CONTROLS.items()},
        "href": State(ids.URL, "href"),
        "model_options": State(ids.MODELS, "options"),
        "length_options": State(ids.LENGTHS, "options"),
        "applied": State(ids.DETECT_STORE, "data"),
    },
)
def sync_url(
    search: str | None,
    view: dict[str, Any],
    href: str | None,
    model_options: list[dict] | None,
    length_options: list[dict] | None,
    applied: dict | None = None,
) -> dict[str, Any]:
    """Apply the URL to the controls on load and on back/forward; else encode the controls."""
    unchanged = {name: no_update for name in state.CONTROLS}
    try:
        search, href = inputs.search(search), inputs.href(href)
        if ctx.triggered_id in (None, ids.URL):
            return {"search": no_update, "view": view_from_search(search),
                    "link": link_for(href, search)}  # fmt: skip
        view = inputs.view(view)
        all_models = inputs.model_options(model_options)
        all_lengths = inputs.length_options(length_options)
        applied = inputs.detector_store(applied)
    except InvalidArgumentError as err:
        inputs.tell(err)
        return {"search": no_update, "view": unchanged, "link": no_update}
    view = detection.valid_view(view, applied)  # an invalid setting keeps the applied one
    new_search = state.encode(view, all_models, all_lengths)
    return {
        "search": new_search if new_search != search else no_update,
        "view": unchanged,
        "link": link_for(href, new_search),
    }
