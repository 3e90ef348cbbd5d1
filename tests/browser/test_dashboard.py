"""The dashboard in headless Chromium: load, toggle, folder source, download, URL state, errors."""

from __future__ import annotations

from pathlib import Path

from dashboard_page import GRAPH_JS, traces, wait_for_chart

LENGTH_32K = 32768


def _checkbox(page, group_id: str, value: object):
    return page.locator(f"#{group_id} input[value='{value}']")


def test_page_loads_simulated_default_without_console_errors(page, server_url: str) -> None:
    page.goto(server_url)
    wait_for_chart(page, min_traces=10)
    page.wait_for_selector(".runs-table .ag-row")
    shown = traces(page)
    loss = [t for t in shown if t["meta"].get("role") == "loss"]
    assert {(t["meta"]["model"], t["meta"]["seq_len"]) for t in loss} == {
        (m, n) for m in ("resnetbk", "mamba") for n in (8192, 32768, 131072, 524288, 1048576)
    }
    assert page.locator("#lengths input[type=checkbox]").count() == 5
    assert page.locator(".runs-table .ag-center-cols-container .ag-row").count() == 10
    assert "10 runs" in page.locator("#source-status").inner_text()
    assert page.console_errors == []


def test_unticking_32k_hides_its_traces_and_keeps_the_others(page, server_url: str) -> None:
    page.goto(server_url)
    wait_for_chart(page, min_traces=10)
    _checkbox(page, "lengths", LENGTH_32K).uncheck()
    page.wait_for_function(
        f"() => {GRAPH_JS}.data.filter(t => t.meta && t.meta.seq_len === {LENGTH_32K})"
        ".every(t => t.visible === false)"
    )
    shown = traces(page)
    of_32k = [t for t in shown if t["meta"].get("seq_len") == LENGTH_32K]
    assert of_32k and all(t["visible"] is False for t in of_32k)
    others = [t for t in shown if t["meta"].get("role") == "loss" and t not in of_32k]
    assert len(others) == 8 and all(t["visible"] is not False for t in others)
    # the drawn lines: 8 loss curves remain (one per run), none for 32k
    page.wait_for_function(
        "() => !location.search.includes('32768') && location.search.includes('lengths=')"
    )
    assert "lengths=8192,131072,524288,1048576" in page.url


# Records, from the page itself, what the loading indicator said while it was visible.
WATCH_LOADING_JS = """() => {
  window.loadingSeen = [];
  const box = document.querySelector('#source-loading');
  const note = () => { if (!box.hidden) window.loadingSeen.push(box.innerText.trim()); };
  new MutationObserver(note).observe(box, {attributes: true, childList: true, subtree: true,
                                           characterData: true});
}"""


def test_results_folder_with_a_diverged_run_shows_its_onset_marker(page, server_url: str) -> None:
    page.goto(server_url)
    wait_for_chart(page)
    page.wait_for_selector("#source-loading", state="hidden")
    page.evaluate(WATCH_LOADING_JS)
    page.locator("#source").click()
    page.get_by_role("option", name="diverged").click()
    # the folder loads in a background job while the page says so, then the indicator goes
    page.wait_for_function("() => window.loadingSeen.includes('Loading diverged…')")
    page.wait_for_selector("#source-loading", state="hidden")
    page.wait_for_function(
        "() => document.querySelector('#source-status').innerText.startsWith('2 runs')"
    )
    page.wait_for_function(
        f"() => {GRAPH_JS}.data.filter(t => t.meta && t.meta.role === 'loss').length === 2"
    )
    onsets = [t for t in traces(page) if t["meta"].get("role") == "onset"]
    assert len(onsets) == 1
    assert onsets[0]["meta"]["model"] == "mamba"
    assert 280 <= onsets[0]["x"][0] <= 320  # the run explodes from step 300
    # and the X is drawn: a marker path in the onset trace's group
    assert page.locator("#graph .scatterlayer .trace .points path").count() > 0
    detected = page.locator(
        ".ag-center-cols-container .ag-row[row-id='mamba_seq8192'] [col-id='detected']"
    )
    assert detected.inner_text().startswith("step")


def test_pdf_download_arrives_and_is_a_pdf(page, server_url: str, tmp_path: Path) -> None:
    page.goto(server_url)
    wait_for_chart(page)
    with page.expect_download(timeout=60_000) as info:
        page.locator("#export-button").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.name == "stabgraph_resnetbk-mamba_8k-1M.pdf"  # says what it shows
    assert target.read_bytes().startswith(b"%PDF")
    page.wait_for_function(
        "() => document.querySelector('#export-status').innerText.includes('Saved')"
    )


def test_url_with_state_restores_the_view(page, server_url: str) -> None:
    page.goto(server_url + "/?lengths=8192,131072&scale=log&smoothing=0.6&models=mamba")
    wait_for_chart(page)
    page.wait_for_function(f"() => {GRAPH_JS}.layout.yaxis.type === 'log'")
    assert _checkbox(page, "lengths", 8192).is_checked()
    assert not _checkbox(page, "lengths", LENGTH_32K).is_checked()
    assert _checkbox(page, "lengths", 131072).is_checked()
    assert not _checkbox(page, "models", "resnetbk").is_checked()
    assert page.locator("#log-y input[value=log]").is_checked()
    page.wait_for_function(
        f"() => {GRAPH_JS}.data.filter(t => t.meta && t.meta.role === 'loss'"
        " && t.visible !== false).length === 2"
    )
    visible = {
        (t["meta"]["model"], t["meta"]["seq_len"])
        for t in traces(page)
        if t["meta"].get("role") == "loss" and t["visible"] is not False
    }
    assert visible == {("mamba", 8192), ("mamba", 131072)}
    assert any(t["meta"].get("role") == "raw" for t in traces(page))  # smoothing is on
    assert page.console_errors == []


def test_bad_file_in_the_folder_shows_its_error_line(page, server_url: str) -> None:
    page.goto(server_url + "/?source=folder:broken")
    wait_for_chart(page)
    error = page.locator("#load-errors .load-error")
    error.first.wait_for()
    assert error.count() == 1
    text = error.first.inner_text()
    assert "bad.json" in text and "\n" not in text.strip()
    assert "1 not loaded" in page.locator("#source-status").inner_text()
    # the good file in the same folder still loads and draws
    assert any(t["meta"].get("role") == "loss" for t in traces(page))


def test_zooming_in_refills_the_curves_with_real_detail(page, server_url: str) -> None:
    page.goto(server_url + "/?steps=20000&lengths=8192")
    wait_for_chart(page)
    in_range = (
        f"() => {{ const g = {GRAPH_JS}; const t = g._fullData.find(t => t.meta"
        " && t.meta.role === 'loss' && t.meta.model === 'resnetbk');"
        " return Array.from(t.x).filter(x => x >= 10000 && x <= 10500).length; }"
    )
    page.wait_for_function(f"() => ({in_range})() > 0")
    before = page.evaluate(in_range)
    assert before < 100  # ~2,000 points spread over 20,000 steps
    page.evaluate(f"() => Plotly.relayout({GRAPH_JS}, {{'xaxis.range': [10000, 10500]}})")
    page.wait_for_function(f"() => ({in_range})() > 400")
    assert page.evaluate(in_range) == 501  # every step in the window
    assert page.console_errors == []


def test_clicking_a_table_row_highlights_that_run(page, server_url: str) -> None:
    page.goto(server_url)
    wait_for_chart(page, min_traces=10)
    row = page.locator(".ag-center-cols-container .ag-row[row-id='mamba_seq32768']")
    row.click()
    faded = (
        f"() => {GRAPH_JS}.data.filter(t => t.meta && t.meta.run_id && t.opacity < 0.5"
        " && t.meta.role !== 'raw').map(t => t.meta.run_id)"
    )
    page.wait_for_function(f"() => ({faded})().length > 0")
    assert "mamba_seq32768" not in page.evaluate(faded)
    widths = page.evaluate(
        f"() => {GRAPH_JS}.data.filter(t => t.meta && t.meta.run_id === 'mamba_seq32768'"
        " && t.meta.role === 'loss').map(t => t.line.width)"
    )
    assert widths == [3.5]
    row.click(modifiers=["Control"])  # deselect: every run back to its own look
    page.wait_for_function(f"() => ({faded})().length === 0")


def test_changing_a_detection_setting_changes_the_detected_column(page, server_url: str) -> None:
    page.goto(server_url)
    wait_for_chart(page, min_traces=10)
    cell = page.locator(
        ".ag-center-cols-container .ag-row[row-id='mamba_seq131072'] [col-id='detected']"
    )
    before = cell.inner_text()
    assert before.startswith("step ")
    ratio = page.locator("#detect-ratio")
    assert not ratio.is_visible()  # collapsed by default
    page.locator("#detect-panel > summary").click()
    ratio.fill("3")
    ratio.press("Enter")
    page.wait_for_function(
        'before => { const c = document.querySelector(".ag-center-cols-container'
        " .ag-row[row-id='mamba_seq131072'] [col-id='detected']\");"
        " return c && c.innerText.trim() !== before; }",
        arg=before,
    )
    assert cell.inner_text().startswith("step ")
    assert "1 changed" in page.locator("#detect-changed").inner_text()
    page.wait_for_function("() => location.search.includes('detect_ratio=3')")
    ratio.fill("0.5")
    ratio.press("Enter")
    page.wait_for_function("() => document.querySelector('#detect-message').innerText !== ''")
    assert "must be > 1" in page.locator("#detect-message").inner_text()
    assert "detect_ratio=3" in page.url  # the last valid setting stays applied
    assert page.console_errors == []
