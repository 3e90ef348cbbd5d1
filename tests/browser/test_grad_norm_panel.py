"""The gradient-norm panel in the browser: drawn on the embedded demo, toggled with its run."""

from __future__ import annotations

from dashboard_page import GRAPH_JS, traces, wait_for_chart

LENGTH_32K = 32768


def test_demo_chart_has_the_grad_norm_panel_and_a_length_tick_hides_it(page, server_url) -> None:
    page.goto(server_url)
    wait_for_chart(page, min_traces=10)
    title = page.evaluate(f"() => {GRAPH_JS}.layout.yaxis3.title.text")
    assert title == "Gradient norm"
    assert page.locator(".g-y3title").text_content() == "Gradient norm"  # drawn, not just set
    grad = [t for t in traces(page) if t["meta"].get("role") == "grad_norm"]
    assert len(grad) == 10
    page.locator(f"#lengths input[value='{LENGTH_32K}']").uncheck()
    page.wait_for_function(
        f"() => {GRAPH_JS}.data.filter(t => t.meta && t.meta.seq_len === {LENGTH_32K})"
        ".every(t => t.visible === false)"
    )
    grad = [t for t in traces(page) if t["meta"].get("role") == "grad_norm"]
    hidden = {t["meta"]["seq_len"] for t in grad if t["visible"] is False}
    assert hidden == {LENGTH_32K}
    assert all(t["visible"] is not False for t in grad if t["meta"]["seq_len"] != LENGTH_32K)
    assert page.console_errors == []


def test_zoom_refills_the_panel_and_off_removes_it(page, server_url) -> None:
    page.goto(server_url)
    wait_for_chart(page, min_traces=10)
    page.wait_for_selector(".runs-table .ag-row")  # the page has settled: no redraw to come
    page.wait_for_timeout(500)
    page.evaluate(f"() => Plotly.relayout({GRAPH_JS}, {{'xaxis.range': [400, 450]}})")
    page.wait_for_function(
        f"() => {{ const g = {GRAPH_JS}; const i = g.data.findIndex("
        "t => t.meta && t.meta.role === 'grad_norm');"
        " const x = g._fullData[i].x; return x.length < 100 && x[0] >= 399; }"
    )
    page.locator("#grad-norm input[value='off']").check()
    page.wait_for_function(
        f"() => !{GRAPH_JS}.data.some(t => t.meta && t.meta.role === 'grad_norm')"
    )
    assert "grad_norm=off" in page.url
    assert page.console_errors == []
