"""Reading the dashboard's chart from a Playwright page (shared by the browser tests)."""

from __future__ import annotations

# JavaScript: the Plotly graph div (null before the chart mounts).
GRAPH_JS = "document.querySelector('#graph .js-plotly-plot')"


def wait_for_chart(page, min_traces: int = 1) -> None:
    """Block until Plotly has drawn at least ``min_traces`` traces."""
    page.wait_for_function(
        f"n => {{ const g = {GRAPH_JS}; return !!(g && g.data && g.data.length >= n"
        " && g.querySelector('.scatterlayer .trace')); }",
        arg=min_traces,
    )


def traces(page) -> list[dict]:
    """meta, visible, name and (when sent as a plain list) x of every trace on the chart."""
    return page.evaluate(
        f"() => {GRAPH_JS}.data.map(t => ({{meta: t.meta || {{}}, visible: t.visible,"
        " name: t.name, x: t.x && !t.x.bdata ? Array.from(t.x) : null}))"
    )
