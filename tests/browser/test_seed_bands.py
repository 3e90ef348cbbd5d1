"""Seed bands in the browser on a sweep folder: bands and means drawn, the diverged seed its
own line with its marker, seed lines on demand, the control kept in the URL."""

from __future__ import annotations

from dashboard_page import GRAPH_JS, traces, wait_for_chart

SWEEP = "/?source=folder:sweep"


def _visible(page, role: str) -> list[dict]:
    return [t for t in traces(page) if t["meta"].get("role") == role and t["visible"] is not False]


def test_sweep_draws_bands_means_and_the_diverged_seed(page, server_url) -> None:
    page.goto(server_url + SWEEP)
    wait_for_chart(page, min_traces=8)
    page.wait_for_function(
        f"() => {GRAPH_JS}.data.filter(t => t.meta && t.meta.role === 'band').length === 4"
    )
    assert len(_visible(page, "seed_mean")) == 4
    (after,) = _visible(page, "diverged")
    assert (after["meta"]["model"], after["meta"]["seq_len"], after["meta"]["seed"]) == (
        "mamba",
        32768,
        2,
    )
    assert len(_visible(page, "onset")) == 1
    assert _visible(page, "seed") == []  # built, hidden until the Mark box is ticked
    # drawn, not just sent: four filled band paths in the plot
    fills = page.locator("#graph .scatterlayer .trace .js-fill").count()
    assert fills >= 4
    assert page.get_by_text("Seed mean ± 1 std").count() >= 1  # the legend says what it is
    assert page.console_errors == []


def test_seed_lines_box_and_minmax_are_kept_in_the_url(page, server_url) -> None:
    page.goto(server_url + SWEEP)
    wait_for_chart(page, min_traces=8)
    page.wait_for_selector(".runs-table .ag-row")
    page.locator("#show input[value='seeds']").check()
    page.wait_for_function(
        f"() => {GRAPH_JS}.data.filter(t => t.meta && t.meta.role === 'seed'"
        " && t.visible !== false).length === 12"
    )
    page.locator("#bands input[value='minmax']").check()
    page.wait_for_function("() => location.search.includes('bands=minmax')")
    page.wait_for_function(f"() => {GRAPH_JS}.data.some(t => t.name === 'Seed mean, min–max')")
    assert "seeds" in page.url
    page.reload()
    wait_for_chart(page, min_traces=8)
    assert page.locator("#bands input[value='minmax']").is_checked()
    page.locator("#bands input[value='off']").check()
    page.wait_for_function(f"() => !{GRAPH_JS}.data.some(t => t.meta && t.meta.role === 'band')")
    assert len(_visible(page, "loss")) == 12
    assert page.console_errors == []
