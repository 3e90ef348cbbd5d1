"""The page under its Content-Security-Policy: it loads, draws and downloads with no violation.

Every ``securitypolicyviolation`` event the page fires is recorded from before its first
script runs, so a blocked script, style, image, font, worker or request fails the test even
when the page happens to look fine.
"""

from __future__ import annotations

from pathlib import Path

from dashboard_page import GRAPH_JS, wait_for_chart

RECORD_VIOLATIONS_JS = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', e => window.cspViolations.push(
  `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));
"""


def _violations(page) -> list[str]:
    return page.evaluate("() => window.cspViolations")


def test_the_page_works_under_its_policy_with_no_violation(
    page, server_url: str, tmp_path: Path
) -> None:
    page.add_init_script(RECORD_VIOLATIONS_JS)
    response = page.goto(server_url)
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    wait_for_chart(page, min_traces=10)
    page.wait_for_selector(".runs-table .ag-row")  # AG Grid, with its styles and icons
    # a results folder, a length toggle, a zoom and a row click: every kind of callback
    page.locator("#source").click()
    page.get_by_role("option", name="diverged").click()
    page.wait_for_function(
        "() => document.querySelector('#source-status').innerText.startsWith('2 runs')"
    )
    page.locator("#show input[value='spikes']").uncheck()
    page.locator("#graph .main-svg").first.hover()  # the mode bar shows on hover
    box = page.locator("#graph .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    page.wait_for_function(f"() => !{GRAPH_JS}.layout.xaxis.autorange")
    page.locator(".ag-center-cols-container .ag-row").first.click()
    # a download through dcc.Download, and Plotly's own PNG (canvas, data: and blob: URLs)
    page.locator("#export-format").click()
    page.get_by_role("option", name="Data CSV").click()
    with page.expect_download(timeout=60_000) as csv:
        page.locator("#export-button").click()
    name = csv.value.suggested_filename
    assert name.startswith("stabgraph_") and name.endswith("_points.csv")
    with page.expect_download(timeout=60_000) as png:
        page.locator("#graph .modebar-btn[data-title='Download plot as a PNG']").click()
    target = tmp_path / png.value.suggested_filename
    png.value.save_as(target)
    assert target.read_bytes().startswith(b"\x89PNG")
    assert _violations(page) == []
    assert page.console_errors == []
    # and what the policy is for: a script injected into the page does not run
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = true'; document.body.appendChild(s); }"
    )
    page.wait_for_function("() => window.cspViolations.length > 0")
    assert page.evaluate("() => window.injected") is None
    assert _violations(page)[0].startswith("script-src")


def test_the_page_cannot_be_framed(page, server_url: str) -> None:
    """The Download button and the folder picker cannot be clickjacked from another site."""
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text, timeout=20_000):
        page.set_content(f"<iframe src='{server_url}/'></iframe>", wait_until="domcontentloaded")
    assert not any(frame.url.startswith(server_url) for frame in page.frames)
