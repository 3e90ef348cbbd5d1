"""Every folder of real training logs (``../shared/data/real``) in the dashboard: each run the
loader gives is drawn as a curve, listed in the table and toggled by its length ("no length"
for the many logs that name none). Skipped, with the reason, where the logs are absent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_session import AppDidNotStart, start_app, stop_app
from dashboard_page import GRAPH_JS, traces, wait_for_chart

from stabgraph_core.loaders import load_results

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("STABGRAPH_SHARED", ROOT.parent / "shared"))
REAL = SHARED / "data" / "real"
FOLDERS = sorted(p.name for p in REAL.iterdir() if p.is_dir()) if REAL.is_dir() else []
CURVE_ROLES = ("loss", "diverged")

pytestmark = pytest.mark.skipif(not FOLDERS, reason=f"real logs not found at {REAL}")


@pytest.fixture(scope="module")
def real_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m app`` with the real-log folders as its results root (read in place)."""
    base = tmp_path_factory.mktemp("real")
    env = os.environ | {"STABGRAPH_RESULTS_ROOT": str(REAL), "STABGRAPH_CACHE_DIR": str(base)}
    env.pop("STABGRAPH_REDIS_URL", None)
    with (base / "server.log").open("w") as log:
        try:
            proc, url = start_app(env, output=log)
        except AppDidNotStart:
            pytest.fail(f"app did not start: {(base / 'server.log').read_text()[-2000:]}")
        yield url
        stop_app(proc)


def _drawn_runs(page) -> set[str]:
    """run_ids that have a visible curve on the chart."""
    return {
        t["meta"]["run_id"]
        for t in traces(page)
        if t["meta"].get("role") in CURVE_ROLES and t["visible"] is not False
    }


def _wait_for_folder(page, runs: int) -> None:
    page.wait_for_function(
        "n => { const s = document.querySelector('#source-status');"
        " return !!s && s.innerText.startsWith(n === 1 ? '1 run ' : n + ' runs'); }",
        arg=runs,
    )
    wait_for_chart(page)


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_run_of_a_real_log_folder_is_drawn_and_listed(page, real_server_url, folder):
    loaded = load_results(REAL / folder)
    expected = {r.run_id for r in loaded.runs}
    assert expected, f"{folder}: the loader gives no run ({loaded.errors})"
    page.goto(f"{real_server_url}/?source=folder:{folder}")
    _wait_for_folder(page, len(expected))
    page.wait_for_function(
        f"n => new Set({GRAPH_JS}.data.filter(t => t.meta && t.visible !== false"
        " && ['loss', 'diverged'].includes(t.meta.role)).map(t => t.meta.run_id)).size === n",
        arg=len(expected),
    )
    assert _drawn_runs(page) == expected
    rows = page.locator(".runs-table .ag-center-cols-container .ag-row")
    rows.nth(len(expected) - 1).wait_for()
    assert rows.count() == len(expected)
    assert "This source has no runs to draw" not in page.locator("#graph").inner_text()
    assert page.console_errors == []


def test_no_length_entry_toggles_the_runs_without_a_length(page, real_server_url):
    folder = "nanogpt-console"
    expected = {r.run_id for r in load_results(REAL / folder).runs}
    page.goto(f"{real_server_url}/?source=folder:{folder}")
    _wait_for_folder(page, len(expected))
    box = page.locator("#lengths input[value='none']")
    assert page.locator("#lengths label").inner_text().strip() == "no length"
    box.uncheck()
    page.wait_for_function(
        f"() => {GRAPH_JS}.data.filter(t => t.meta && t.meta.role === 'loss')"
        ".every(t => t.visible === false)"
    )
    assert _drawn_runs(page) == set()
    page.wait_for_function("() => location.search.includes('lengths=')")
    box.check()
    page.wait_for_function(
        f"() => {GRAPH_JS}.data.filter(t => t.meta && t.meta.role === 'loss')"
        ".every(t => t.visible !== false)"
    )
    assert _drawn_runs(page) == expected
    assert page.console_errors == []
