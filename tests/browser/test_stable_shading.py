"""The stable-region shading in the browser speaks of the runs shown: it ends at the first
divergence among them, covers everything when only stable runs are ticked, and goes with
its Mark box."""

from __future__ import annotations

from dashboard_page import GRAPH_JS, wait_for_chart

BANDS_JS = (
    f"() => ({GRAPH_JS}.layout.shapes || []).filter(s => s.type === 'rect'"
    " && s.legendgroup === 'status').map(s => [s.x0, s.x1, s.name])"
)


def test_shading_follows_the_ticked_models_and_its_mark_box(page, server_url) -> None:
    page.goto(server_url)
    wait_for_chart(page, min_traces=10)
    page.wait_for_selector(".runs-table .ag-row")
    ((x0, x1, name),) = page.evaluate(BANDS_JS)
    assert x0 == 0 and x1 < 300 and name == "All runs stable"  # Mamba's long lengths diverge
    page.locator("#models input[value='mamba']").uncheck()
    page.wait_for_function(f"() => ({BANDS_JS})().length === 1 && ({BANDS_JS})()[0][1] > 900")
    assert page.locator(".legendtext", has_text="All runs stable").count() == 1
    page.locator("#show input[value='stable']").uncheck()
    page.wait_for_function(f"() => ({BANDS_JS})().length === 0")
    assert page.locator(".legendtext", has_text="All runs stable").count() == 0
    assert page.console_errors == []
