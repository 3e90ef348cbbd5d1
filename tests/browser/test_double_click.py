"""Double-click on the chart goes back to the view as first drawn: the capped loss axis and
the whole run, not Plotly's autorange (which fits exploded losses and flattens the rest)."""

from __future__ import annotations

from dashboard_page import GRAPH_JS, wait_for_chart

RANGES_JS = (
    f"() => {{ const l = {GRAPH_JS}._fullLayout;"
    " return [l.xaxis.range.slice(), l.yaxis.range.slice()]; }"
)


def test_double_click_returns_to_the_initial_view(page, server_url) -> None:
    page.goto(server_url)
    wait_for_chart(page, min_traces=10)
    page.wait_for_selector(".runs-table .ag-row")
    page.wait_for_timeout(500)
    (x0, y0) = page.evaluate(RANGES_JS)
    assert y0[1] <= 20  # capped: the demo's exploded losses reach 1e5
    page.evaluate(
        f"() => Plotly.relayout({GRAPH_JS}, {{'xaxis.range': [400, 450], 'yaxis.range': [1, 2]}})"
    )
    page.wait_for_function(f"() => {GRAPH_JS}._fullLayout.xaxis.range[1] <= 451")
    box = page.locator("#graph .nsewdrag").first.bounding_box()
    page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function(f"() => {GRAPH_JS}._fullLayout.xaxis.range[1] > 451")
    page.wait_for_timeout(800)  # the zoom callback re-aggregates the whole range
    (x1, y1) = page.evaluate(RANGES_JS)
    assert x1 == x0 and y1 == y0
    # and the curves hold the whole run again, not the zoomed window's points
    first_x = page.evaluate(
        f"() => {{ const g = {GRAPH_JS}; const i = g.data.findIndex("
        "t => t.meta && t.meta.role === 'loss'); return g._fullData[i].x[0]; }"
    )
    assert first_x < 400
    assert page.console_errors == []
