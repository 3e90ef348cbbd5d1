"""The open page follows its folder: appends, new run files and new folders appear without a
reload, served as users serve it (``stabgraph serve`` on gunicorn, two workers), and every
part of the page (status, checklists, chart, table) comes from the same snapshot.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from dashboard_page import GRAPH_JS, wait_for_chart

ROOT = Path(__file__).resolve().parents[2]
STABGRAPH = Path(sys.executable).parent / "stabgraph"
POLL_S = 0.5
WITHIN_S = 2.0 + 8.0  # the 2 s, plus slack for a loaded shared machine


def _lines(start: int, stop: int, loss) -> str:
    return "".join(json.dumps({"step": k, "loss": loss(k)}) + "\n" for k in range(start, stop))


@pytest.fixture
def live_root(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    (root / "exp").mkdir(parents=True)
    (root / "exp" / "mamba_seq8192.jsonl").write_text(_lines(0, 200, lambda k: 4.0 - 0.005 * k))
    return root


@pytest.fixture
def live_url(live_root: Path, tmp_path: Path) -> Iterator[str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STABGRAPH_")}
    env |= {"STABGRAPH_POLL_S": str(POLL_S), "STABGRAPH_CACHE_DIR": str(tmp_path / "cache")}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [str(STABGRAPH), "serve", str(live_root), "--port", str(port), "--workers", "2"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail((tmp_path / "serve.log").read_text()[-3000:])
        try:
            if requests.get(url + "/healthz", timeout=2).ok:
                break
        except requests.RequestException:
            time.sleep(0.2)
    yield url
    os.killpg(proc.pid, 15)
    proc.wait(30)
    log.close()


def _page_state(page) -> dict:
    return page.evaluate(
        f"""() => {{
        const g = {GRAPH_JS};
        const curves = g._fullData.filter(
            t => t.meta && ['loss', 'diverged'].includes(t.meta.role));
        const last = {{}};
        for (const t of curves) {{
            const xs = Array.from(t.x || []);
            if (xs.length) last[t.meta.run_id] = Math.max(last[t.meta.run_id] || 0, ...xs);
        }}
        return {{
            status: document.querySelector('#source-status').innerText,
            models: Array.from(document.querySelectorAll('#models label')).map(l => l.innerText),
            rows: document.querySelectorAll('.runs-table .ag-center-cols-container .ag-row').length,
            runs: Array.from(new Set(curves.map(t => t.meta.run_id))).sort(),
            last: last,
            live: document.querySelector('#live-status').innerText,
        }};
    }}"""
    )


def _wait(page, check, what: str) -> tuple[dict, float]:
    start = time.monotonic()
    while time.monotonic() - start < WITHIN_S:
        state = _page_state(page)
        if check(state):
            return state, time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"{what} not on the page within {WITHIN_S} s: {_page_state(page)}")


def _source_labels(page) -> list[str]:
    page.locator("#source").click()
    page.get_by_role("option").first.wait_for()
    labels = [text.strip() for text in page.get_by_role("option").all_inner_texts()]
    page.keyboard.press("Escape")
    return labels


def test_the_page_follows_appends_new_runs_and_new_folders(page, live_url, live_root):
    page.goto(live_url)
    page.wait_for_function(
        "() => { const s = document.querySelector('#source-status');"
        " return !!s && s.innerText.startsWith('1 run '); }"
    )
    wait_for_chart(page)
    state, _ = _wait(page, lambda s: s["rows"] == 1 and s["live"], "the table and live status")
    assert state["runs"] == ["mamba_seq8192"]
    assert state["live"].startswith("Live")

    # 1. a growing run: the new points are drawn, and the status says so too
    with (live_root / "exp" / "mamba_seq8192.jsonl").open("a") as out:
        out.write(_lines(200, 260, lambda k: 4.0 - 0.005 * k))
    state, took_append = _wait(page, lambda s: s["last"].get("mamba_seq8192", 0) >= 259,
                               "the appended steps")  # fmt: skip
    assert "260 steps" in state["status"]

    # 2. a new run file: drawn, in the checklists, the table and the status, all at once
    (live_root / "exp" / "resnetbk_seq8192.jsonl").write_text(_lines(0, 100, lambda k: 3.0))
    state, took_new = _wait(page, lambda s: len(s["runs"]) == 2, "the new run")
    assert state["runs"] == ["mamba_seq8192", "resnetbk_seq8192"]
    assert state["status"].startswith("2 runs")
    page.wait_for_function(
        "() => document.querySelectorAll('.runs-table .ag-center-cols-container .ag-row')"
        ".length === 2"
    )
    assert any("ResNet" in m or "resnet" in m.lower() for m in _page_state(page)["models"])

    # 3. a new folder joins the Source list, no reload
    (live_root / "later").mkdir()
    (live_root / "later" / "gpt_seq4096.jsonl").write_text(_lines(0, 10, lambda k: 2.0))
    deadline = time.monotonic() + WITHIN_S
    while "later" not in _source_labels(page):
        assert time.monotonic() < deadline, "the new folder is not offered"
        time.sleep(0.3)
    # that run also belongs to "All runs in runs/", which the page shows
    state, _ = _wait(page, lambda s: len(s["runs"]) == 3, "the new folder's run")

    # 4. a run that turns diverged gets a notice naming it, kept until dismissed
    with (live_root / "exp" / "resnetbk_seq8192.jsonl").open("a") as out:
        out.write(_lines(100, 160, lambda k: 3.0 * 1.08 ** (k - 100)))
    notice = page.locator("#live-notices")
    notice.wait_for(state="visible", timeout=WITHIN_S * 1000)
    text = notice.inner_text()
    assert re.search(r"ResNet-BK 8k diverged at step 1\d\d", text) or "diverged at step" in text
    time.sleep(3 * POLL_S)
    assert notice.is_visible()  # still there after more polls
    page.click("#live-dismiss")
    notice.wait_for(state="hidden")

    # the pause switch stops following
    page.click("#live-pause label")
    page.wait_for_function("() => document.querySelector('#live-status').innerText === 'Paused'")
    before = _page_state(page)["runs"]
    (live_root / "exp" / "paused_seq8192.jsonl").write_text(_lines(0, 10, lambda k: 1.0))
    time.sleep(6 * POLL_S)
    assert _page_state(page)["runs"] == before
    assert page.console_errors == []
    print(f"write -> drawn: append {took_append:.2f} s, new run {took_new:.2f} s")
