"""The page draws with plotly.js's basic bundle (served versioned and long-cached), never
fetching the full 4.8 MB bundle that dcc.Graph would load by itself."""

from __future__ import annotations

import urllib.request

from dashboard_page import wait_for_chart


def test_the_chart_uses_the_basic_bundle_and_not_the_full_one(page, server_url) -> None:
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url))
    page.goto(server_url)
    wait_for_chart(page, min_traces=10)
    assert any("/_stabgraph/plotly-basic.v" in u for u in fetched)
    assert not any("plotly.min.js" in u and "basic" not in u for u in fetched)
    from plotly.offline import get_plotlyjs_version

    assert page.evaluate("() => window.Plotly.version") == get_plotlyjs_version()
    bundle = next(u for u in fetched if "/_stabgraph/plotly-basic.v" in u)
    with urllib.request.urlopen(bundle) as answer:
        assert "immutable" in answer.headers["Cache-Control"]
        assert answer.headers["Content-Type"].startswith("text/javascript")
    assert page.console_errors == []
