"""The page as a user meets it: navigation to drawn curves, stabgraph beside TensorBoard, and
click to file for the downloads.

The same 10 runs (2 models x 5 lengths x 1,000 steps) are written once as TensorBoard event
files; stabgraph (``python -m app``, its results root that folder) and TensorBoard
(``tensorboard --logdir``) serve them on loopback. Each load is a fresh browser context (no
cache), alternating stabgraph and TensorBoard, in headless system Chromium:

- stabgraph is drawn when Plotly has drawn 10 loss traces (``.scatterlayer .trace``);
- TensorBoard is drawn when its Time Series dashboard has drawn the loss card's 10 lines
  (``scalar-card line-chart svg path`` with a real path).

Printed: each side's first visit to a freshly started server (cold), the median of loads
2-5 (warm) and the ratio stabgraph / TensorBoard; then, warm, the median click -> file time
of the PDF, SVG and PNG downloads of the default view.

Targets (issue: the page): warm navigation <= 0.5x TensorBoard; downloads <= 0.5 s.

    python benchmarks/bench_page.py [--loads 5] [--downloads 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "scripts"))
sys.path.insert(2, str(ROOT / "benchmarks"))

from app_session import free_port, launch_chromium, start_app, stop_app  # noqa: E402

MODELS = ("resnetbk", "mamba")
LENGTHS = (8192, 32768, 131072, 524288, 1048576)
STEPS = 1000
FOLDER = "runs"

STABGRAPH_DRAWN = (
    "() => { const g = document.querySelector('#graph .js-plotly-plot');"
    " return !!g && g.querySelectorAll('.scatterlayer .trace').length >= 10; }"
)
#: TensorBoard draws its lines in a canvas from a worker, which the page cannot read back:
#: it counts as drawn two animation frames after the loss card's data arrived (an estimate
#: in TensorBoard's favour: its worker may still be drawing then).
TENSORBOARD_DRAWN = "tensorboard"
TWO_FRAMES = (
    "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() =>"
    " done(document.querySelectorAll('scalar-card line-chart canvas').length > 0))))"
)


def write_runs(root: Path) -> Path:
    """10 event files, ``root/FOLDER/<model>_seq<n>/events.out.tfevents.*``."""
    from bench_events import write_events

    folder = root / FOLDER
    for model in MODELS:
        for n in LENGTHS:
            run = folder / f"{model}_seq{n}"
            run.mkdir(parents=True, exist_ok=True)
            write_events(run, STEPS)
    return folder


def start_tensorboard(logdir: Path, log) -> tuple[subprocess.Popen, str]:
    port = free_port()
    exe = shutil.which("tensorboard", path=str(Path(sys.executable).parent)) or "tensorboard"
    proc = subprocess.Popen(
        [exe, "--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/data/runs", timeout=2) as answer:
                if answer.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("tensorboard did not start")


def load_once(browser, url: str, drawn: str) -> float:
    """Seconds from navigation to ``drawn`` in a fresh context."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    arrived: list[bool] = []
    if drawn == TENSORBOARD_DRAWN:
        page.on(
            "requestfinished",
            lambda r: (
                arrived.append(True)
                if "timeseries/timeSeries" in r.url and "loss" in (r.post_data or "")
                else None
            ),
        )
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    if drawn == TENSORBOARD_DRAWN:
        while not arrived:
            page.wait_for_timeout(5)
            if time.perf_counter() - start > 60:
                raise SystemExit("TensorBoard never loaded the loss series")
        while not page.evaluate(TWO_FRAMES):
            pass
    else:
        page.wait_for_function(drawn, timeout=60_000, polling="raf")
    elapsed = time.perf_counter() - start
    context.close()
    return elapsed


def downloads(browser, url: str, repeat: int) -> dict[str, float]:
    """Median click -> file seconds per format (the first click of each format not counted)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(STABGRAPH_DRAWN, timeout=60_000)
    page.wait_for_selector(".runs-table .ag-row")
    out = {}
    for fmt in ("PDF", "SVG", "PNG"):
        page.locator("#export-format").click()
        page.get_by_role("option", name=fmt, exact=True).click()
        times = []
        for _ in range(repeat + 1):
            start = time.perf_counter()
            with page.expect_download(timeout=60_000) as info:
                page.locator("#export-button").click()
            info.value.path()
            times.append(time.perf_counter() - start)
            page.wait_for_function(
                "() => !document.querySelector('#export-button').disabled", timeout=30_000
            )
        out[fmt] = statistics.median(times[1:])
    context.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--downloads", type=int, default=4)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    base = Path(tempfile.mkdtemp(prefix="stabgraph-page-"))
    folder = write_runs(base / "results")
    env = os.environ | {
        "STABGRAPH_RESULTS_ROOT": str(folder.parent),
        "STABGRAPH_CACHE_DIR": str(base / "cache"),
        "STABGRAPH_DEFAULT_SOURCE": f"folder:{FOLDER}",
    }
    env.pop("STABGRAPH_REDIS_URL", None)
    log = (base / "servers.log").open("w")
    app, app_url = start_app(env, output=log)
    board, board_url = start_tensorboard(folder, log)
    sides = {
        "stabgraph": (app_url + "/", STABGRAPH_DRAWN),
        "TensorBoard": (board_url + "/", TENSORBOARD_DRAWN),
    }
    times: dict[str, list[float]] = {name: [] for name in sides}
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            for _ in range(args.loads):
                for name, (url, drawn) in sides.items():
                    times[name].append(load_once(browser, url, drawn))
            fetched = downloads(browser, app_url + "/", args.downloads)
            browser.close()
    finally:
        stop_app(app)
        board.terminate()
        board.wait(10)
        log.close()
    runs = len(MODELS) * len(LENGTHS)
    print(f"{runs} runs x {STEPS:,} steps as event files; {args.loads} loads each, alternating")
    warm = {name: statistics.median(t[1:]) for name, t in times.items()}
    for name, t in times.items():
        print(
            f"{name:<12} cold (first visit) {t[0]:6.2f} s   "
            f"warm (median of loads 2-{args.loads}) {warm[name]:6.2f} s"
        )
    cold_ratio = times["stabgraph"][0] / times["TensorBoard"][0]
    warm_ratio = warm["stabgraph"] / warm["TensorBoard"]
    print(
        f"ratio stabgraph / TensorBoard: cold {cold_ratio:.2f}x, warm {warm_ratio:.2f}x "
        "(target <= 0.5x)"
    )
    for fmt, seconds in fetched.items():
        print(
            f"download {fmt}: click -> file {seconds:.2f} s "
            f"(median of {args.downloads}; target <= 0.5 s)"
        )
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
