"""The memory chart in the browser: under the loss chart on the simulated default, one line
per model through the lengths, following the length ticks; hidden for a folder without
memory."""

from __future__ import annotations

from dashboard_page import wait_for_chart

MEMORY_JS = "document.querySelector('#memory-graph .js-plotly-plot')"
LENGTHS = [8192, 32768, 131072, 524288, 1048576]


def _memory_lines(page) -> dict[str, list[float]]:
    """model -> the x values of its memory line, as Plotly drew them."""
    return page.evaluate(
        f"() => Object.fromEntries({MEMORY_JS}._fullData"
        ".filter(t => t.meta && t.meta.role === 'memory')"
        ".map(t => [t.meta.model, Array.from(t.x)]))"
    )


def _wait_for_memory(page, lines: int) -> None:
    page.wait_for_function(
        f"n => {{ const g = {MEMORY_JS}; return !!(g && g._fullData && g._fullData.filter("
        "t => t.meta && t.meta.role === 'memory').length === n"
        " && g.querySelector('.scatterlayer .trace')); }",
        arg=lines,
    )


def test_simulated_default_shows_peak_memory_per_model_under_the_chart(page, server_url) -> None:
    page.goto(server_url)
    wait_for_chart(page, min_traces=10)
    _wait_for_memory(page, 2)
    card = page.locator("#memory-card")
    assert card.is_visible()
    assert card.locator("h2").text_content() == "Peak memory by sequence length"
    chart_box = page.locator("#graph").bounding_box()
    memory_box = page.locator("#memory-graph").bounding_box()
    assert memory_box["y"] >= chart_box["y"] + chart_box["height"]  # under the loss chart
    assert memory_box["height"] > 250
    assert _memory_lines(page) == {"resnetbk": LENGTHS, "mamba": LENGTHS}
    ticks = page.locator("#memory-graph .xtick text").all_text_contents()
    assert ticks == ["8k", "32k", "128k", "512k", "1M"]
    assert page.locator("#memory-graph .ytitle").text_content() == "Peak memory (GB)"
    page.locator("#lengths input[value='32768']").uncheck()
    page.wait_for_function(
        f"() => {MEMORY_JS}._fullData.filter(t => t.meta && t.meta.role === 'memory')"
        ".every(t => t.x.length === 4)"
    )
    rest = [n for n in LENGTHS if n != 32768]
    assert _memory_lines(page) == {"resnetbk": rest, "mamba": rest}
    assert page.console_errors == []


def test_a_folder_without_memory_hides_the_memory_chart(page, server_url) -> None:
    page.goto(f"{server_url}/?source=folder:diverged")
    wait_for_chart(page, min_traces=2)
    page.wait_for_selector(".runs-table .ag-row")
    page.wait_for_function("() => document.getElementById('memory-card').hidden === true")
    assert not page.locator("#memory-card").is_visible()
    page.goto(f"{server_url}/?source=folder:sweep")
    wait_for_chart(page, min_traces=4)
    _wait_for_memory(page, 2)
    assert page.locator("#memory-card").is_visible()
    assert page.console_errors == []
