"""Live runs: what following a growing folder costs, and how soon a write is drawn.

Printed:

- one poll over 100 idle runs (100 JSONL files): the page's check, a ``stat`` walk and the
  snapshot key (target <= 5 ms);
- reading a JSONL log of 10,000, 100,000 and 1,000,000 lines again after 1,000 lines
  were appended (target <= 20 ms, independent of the file's length), and the same for a
  1,000,000-record event file side by side with TensorBoard's ``EventAccumulator.Reload()``
  picking up the same 1,000 new records (it too reads only the new ones);
- write -> drawn: 20 appends to a run's log while the page is open in headless Chromium,
  served by ``stabgraph serve --workers 2`` at the default poll interval; the time from each
  write to the chart holding the new last step (p50, p95, max; target <= 2 s).

- with ``--memory-minutes 10``: a page left open that long on a log growing by 100 lines a
  second; the server's and Chromium's memory (PSS) and the page's JS heap once a minute.

    python benchmarks/bench_live.py [--appends 20] [--no-browser] [--memory-minutes 10]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "scripts"))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _jsonl(path: Path, start: int, stop: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as out:
        out.writelines(
            f'{{"step": {k}, "loss": {4.0 * 0.999**k + 1.0:.6f}}}\n' for k in range(start, stop)
        )


def bench_poll(base: Path, repeat: int = 200) -> None:
    root = base / "poll"
    for i in range(100):
        _jsonl(root / "exp" / f"run{i:03d}_seq8192.jsonl", 0, 1000)
    os.environ["STABGRAPH_RESULTS_ROOT"] = str(root)
    os.environ["STABGRAPH_CACHE_DIR"] = str(base / "cache")
    from app import data

    store = {"kind": "folder", "folder": "exp"}
    data.current_snapshot(store)  # warm imports and the dentry cache
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        data.current_snapshot(store)
        times.append(time.perf_counter() - t0)
    times.sort()
    print(
        f"poll over 100 idle runs: median {_ms(statistics.median(times))}, "
        f"p95 {_ms(times[int(0.95 * len(times))])} (target <= 5 ms)"
    )


def _events(writer, start: int, stop: int) -> None:
    from tensorboard.compat.proto import event_pb2, summary_pb2

    for k in range(start, stop):
        value = summary_pb2.Summary.Value(tag="loss", simple_value=1.0 + 1.0 / (k + 1))
        writer.add_event(event_pb2.Event(step=k, summary=summary_pb2.Summary(value=[value])))
    writer.flush()


def _appends(log: Path, length: int, write, rounds: int = 5) -> tuple[float, float]:
    """(whole read of a ``length``-line log, median read after each 1,000-line append)."""
    from stabgraph_core.loaders import _incremental, clear_cache, load_results

    clear_cache()
    write(0, length)
    t0 = time.perf_counter()
    load_results(log.parent)
    whole = time.perf_counter() - t0
    times = []
    for r in range(rounds):
        write(length + 1000 * r, length + 1000 * (r + 1))
        t0 = time.perf_counter()
        result = load_results(log.parent)
        times.append(time.perf_counter() - t0)
    assert result.runs[0].steps.size == length + 1000 * rounds
    assert _incremental.stats == {"whole": 1, "appended": rounds}, _incremental.stats
    return whole, statistics.median(times)


def bench_append(base: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    for length in (10_000, 100_000, 1_000_000):
        log = base / f"append{length}" / "big_seq8192.jsonl"
        whole, grown = _appends(log, length, lambda a, b, log=log: _jsonl(log, a, b))
        print(
            f"JSONL, {length:,} lines: whole read {_ms(whole)}; read after 1,000 lines "
            f"appended {_ms(grown)} (median of 5)"
        )
    folder = base / "tb"
    writer = EventFileWriter(str(folder), max_queue_size=10_000, flush_secs=3600)
    _events(writer, 0, 1_000_000)
    (event_file,) = folder.glob("events.out.tfevents.*")
    mine = base / "tb-ours" / event_file.name
    mine.parent.mkdir()
    mine.write_bytes(event_file.read_bytes())
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    acc.Reload()
    ours, theirs = [], []
    from stabgraph_core.loaders import load_results

    load_results(mine.parent)
    for r in range(5):  # side by side: the same 1,000 records for both readers
        size = event_file.stat().st_size
        _events(writer, 1_000_000 + 1000 * r, 1_000_000 + 1000 * (r + 1))
        with event_file.open("rb") as src, mine.open("ab") as out:
            src.seek(size)
            out.write(src.read())
        t0 = time.perf_counter()
        acc.Reload()
        theirs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        result = load_results(mine.parent)
        ours.append(time.perf_counter() - t0)
    writer.close()
    assert len(acc.Scalars("loss")) == result.runs[0].steps.size == 1_005_000
    a, b = statistics.median(ours), statistics.median(theirs)
    print(
        f"event file of 1,000,000 records, 1,000 appended (median of 5): stabgraph "
        f"{_ms(a)}, TensorBoard Reload() {_ms(b)}; ratio {a / b:.2f}x (target <= 20 ms)"
    )


LAST_STEP_JS = """() => {
    const g = document.querySelector('#graph .js-plotly-plot');
    if (!g || !g._fullData) return -1;
    let m = -1;
    for (const t of g._fullData) {
        if (!t.meta || t.meta.role !== 'loss' || !t.x) continue;
        for (let i = 0; i < t.x.length; i++) if (t.x[i] > m) m = t.x[i];
    }
    return m;
}"""


@contextmanager
def _served(root: Path, cache: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    """``stabgraph serve ROOT --workers 2`` on a free port, stopped afterwards."""
    import requests

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STABGRAPH_")}
    env["STABGRAPH_CACHE_DIR"] = str(cache)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "stabgraph"), "serve", str(root), "--port",
         str(port), "--workers", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        yield server, port
    finally:
        os.killpg(server.pid, 15)
        server.wait(30)


def bench_drawn(base: Path, appends: int) -> None:
    from app_session import launch_chromium
    from playwright.sync_api import sync_playwright

    root = base / "drawn"
    log = root / "exp" / "mamba_seq8192.jsonl"
    _jsonl(log, 0, 1000)
    with _served(root, base / "drawn-cache") as (_server, port), sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_function(f"() => ({LAST_STEP_JS})() >= 999", timeout=60_000)
        latencies = []
        step = 1000
        pace = random.Random(0)
        for _ in range(appends):
            time.sleep(pace.uniform(0.1, 1.4))  # writes land anywhere in the poll cycle
            t0 = time.perf_counter()
            _jsonl(log, step, step + 50)
            step += 50
            page.wait_for_function(f"() => ({LAST_STEP_JS})() >= {step - 1}", timeout=30_000)
            latencies.append(time.perf_counter() - t0)
        browser.close()
    latencies.sort()
    print(
        f"write -> drawn over {appends} appends (stabgraph serve, 2 workers, default poll): "
        f"p50 {statistics.median(latencies):.2f} s, "
        f"p95 {latencies[max(0, int(0.95 * len(latencies)) - 1)]:.2f} s, "
        f"max {latencies[-1]:.2f} s (target <= 2 s)"
    )


def _tree_rss_mb(pid: int) -> float:
    import psutil

    try:
        parent = psutil.Process(pid)
        return _pss_mb([parent, *parent.children(recursive=True)])
    except psutil.NoSuchProcess:
        return 0.0


def _pss_mb(procs) -> float:
    import psutil

    total = 0
    for proc in procs:
        try:
            total += proc.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total / 2**20


def bench_memory(base: Path, minutes: float) -> None:
    """A page left open on a log that grows by 100 lines a second: memory over time."""
    from app_session import launch_chromium
    from playwright.sync_api import sync_playwright

    root = base / "memory"
    log = root / "exp" / "mamba_seq8192.jsonl"
    _jsonl(log, 0, 1000)
    samples: list[tuple[float, int, float, float, float]] = []
    with _served(root, base / "memory-cache") as (server, port), sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_function(f"() => ({LAST_STEP_JS})() >= 999", timeout=60_000)
        step, t_start, next_sample = 1000, time.monotonic(), 0.0
        while (elapsed := time.monotonic() - t_start) < minutes * 60:
            _jsonl(log, step, step + 100)
            step += 100
            if elapsed >= next_sample:
                page.wait_for_function(f"() => ({LAST_STEP_JS})() >= {step - 101}", timeout=30_000)
                heap = page.evaluate("() => performance.memory.usedJSHeapSize") / 2**20
                import psutil

                chromium = _pss_mb(
                    p for p in psutil.Process().children(recursive=True) if "chrom" in p.name()
                )
                samples.append((elapsed, step, _tree_rss_mb(server.pid), heap, chromium))
                next_sample += 60
            time.sleep(1.0)
        browser.close()
    print(f"page left open {minutes:g} min on a log growing by 100 lines/s (PSS, MB):")
    for elapsed, points, server_mb, heap, chromium in samples:
        print(
            f"  {elapsed / 60:4.1f} min  {points:7,} points  server {server_mb:6.1f}  "
            f"page JS heap {heap:5.1f}  Chromium {chromium:6.1f}"
        )
    first, last = samples[0], samples[-1]
    data_mb = (last[1] - first[1]) * 8 * 3 / 2**20  # steps, loss, one copy of the detector's
    print(
        f"  growth: server {last[2] - first[2]:+.1f} MB, page heap {last[3] - first[3]:+.1f} MB, "
        f"Chromium {last[4] - first[4]:+.1f} MB, for {last[1] - first[1]:,} new points "
        f"(~{data_mb:.1f} MB of arrays per copy kept)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--appends", type=int, default=20)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument(
        "--memory-minutes", type=float, default=0, help="also leave a page open this long"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stabgraph-live-") as tmp:
        base = Path(tmp)
        bench_poll(base)
        bench_append(base)
        if not args.no_browser:
            bench_drawn(base, args.appends)
            if args.memory_minutes:
                bench_memory(base, args.memory_minutes)


if __name__ == "__main__":
    main()
