"""Dashboard speed with 10 runs x 1,000,000 steps, measured through Dash's own HTTP endpoint.

Requests go to ``/_dash-update-component`` through Flask's test client, exactly as the page
sends them, so the times include Dash's argument handling and JSON encoding. Printed:

- the figure callback: cold (first request for the source: simulate + detect + build),
  after an option change (runs cached, figure built again: the smoothed curves and chosen
  points are remembered per run, so log y or markers cost only the figure itself), at a
  smoothing weight not seen before (the smoothed curves and their points computed again),
  and repeated (figure cached);
- a length toggle (a Patch of ``visible``) and a zoom (re-aggregating the visible range);
- response sizes;
- first load of the page to a drawn chart in headless Chromium (cold and warm server).

Targets: figure callback <= 50 ms and <= 500 kB; length toggle <= 20 ms and <= 50 kB.
Loading and detecting 10M points is done once per source per process (``app/data.py``).

    python benchmarks/bench_app.py [--steps 1000000] [--repeat 20] [--no-browser]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "scripts"))  # scripts/ is a plain folder: import app_session
os.environ.setdefault("STABGRAPH_CACHE_DIR", str(Path(tempfile.gettempdir()) / "stabgraph-bench"))

LENGTHS = [8192, 32768, 131072, 524288, 1048576]  # x 2 models = 10 runs
SHOW = ["divergence", "spikes", "stable", "raw"]
FOLDER = "bench-10x1M"


def write_results(root: Path, steps: int) -> Path:
    """10 runs x ``steps`` as reference JSON files under ``root/FOLDER`` (made once).

    Noisy decay for every run, a few recovered spikes, and for Mamba at 128k and above a
    divergence at 60% of training that climbs to ~50 with 20 NaNs (no overflow to Inf).
    """
    import numpy as np
    import orjson

    folder = root / FOLDER
    if (folder / "done").exists():
        return root
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    k = np.arange(steps)
    for model in ("resnetbk", "mamba"):
        for n in LENGTHS:
            loss = 4.0 * np.exp(-3e-6 * k * (1e6 / steps)) + 0.5 + 0.05 * np.log2(n / 8192) / 7
            loss = loss + rng.normal(0, 0.05, steps)
            for at in rng.integers(steps // 10, steps - 100, 3):
                loss[at : at + 50] += 2.0
            diverged = model == "mamba" and n >= 131072
            if diverged:
                onset = int(0.6 * steps)
                loss[onset:] += np.linspace(0, 50, steps - onset)
                loss[rng.choice(np.arange(onset, steps), 20, replace=False)] = np.nan
            payload = {
                "seq_len": n,
                "steps": k,
                "loss": loss,
                "diverged": diverged,
                "divergence_step": int(0.6 * steps) if diverged else None,
            }
            (folder / f"{model}_seq{n}.json").write_bytes(
                orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
            )
    (folder / "done").write_text("")
    return root


def _dep(deps: list[dict], first_input: str, output_part: str) -> dict:
    for d in deps:
        ids_ = [f"{i['id']}.{i['property']}" for i in d["inputs"]]
        if ids_ and ids_[0] == first_input and output_part in d["output"]:
            return d
    raise SystemExit(f"no callback with input {first_input} and output {output_part}")


def _payload(dep: dict, values: dict[str, Any], changed: str) -> dict:
    """The JSON the Dash renderer posts for ``dep`` with these input and state values."""
    outputs = [
        {"id": part.split(".")[0], "property": part.split(".", 1)[1].split("@")[0]}
        for part in dep["output"].strip(".").split("...")
    ]
    key = "{id}.{property}"
    return {
        "output": dep["output"],
        "outputs": outputs if dep["output"].startswith("..") else outputs[0],
        "inputs": [{**i, "value": values.get(key.format(**i))} for i in dep["inputs"]],
        "state": [{**s, "value": values.get(key.format(**s))} for s in dep["state"]],
        "changedPropIds": [changed],
    }


def _post(client, payload: dict) -> tuple[float, int, dict]:
    start = time.perf_counter()
    response = client.post("/_dash-update-component", json=payload)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise SystemExit(f"HTTP {response.status_code}: {response.get_data(as_text=True)[:500]}")
    body = response.get_data()
    return elapsed, len(body), json.loads(body)


def _timed(
    client, payload: dict, repeat: int, rebuild: bool = False, afresh: bool = False
) -> tuple[float, int, dict]:
    """Median time, last size and body of ``repeat`` requests.

    ``rebuild``: no figure cache; ``afresh``: no remembered smoothed curves either.
    """
    from app import charts
    from stabgraph_core import smoothing

    times, size, body = [], 0, {}
    for _ in range(repeat):
        if rebuild or afresh:
            charts.clear_cache()
        if afresh:
            smoothing.clear_cache()
        t, size, body = _post(client, payload)
        times.append(t)
    return statistics.median(times), size, body


def bench_http(source: dict[str, Any], repeat: int) -> None:
    from app import app, data

    client = app.server.test_client()
    client.get("/")
    deps = client.get("/_dash-dependencies").get_json()
    fig_dep = _dep(deps, "source-store.data", "graph.figure")
    toggle_dep = _dep(deps, "models.value", "graph.figure")
    zoom_dep = _dep(deps, "graph.relayoutData", "graph.figure")
    values: dict[str, Any] = {
        "source-store.data": source,
        "smoothing.value": 0,
        "log-y.value": "linear",
        "x-axis.value": "steps",
        "models.value": None,
        "lengths.value": None,
        "show.value": SHOW,
    }

    t_cold, size, body = _post(client, _payload(fig_dep, values, "source-store.data"))
    trace_map = body["response"]["trace-map"]["data"]
    runs = data.load_source(source).runs
    points = sum(r.steps.size for r in runs)
    print(f"source: {len(runs)} runs, {points:,} points, {len(trace_map)} traces")
    _row("figure callback, cold source (load + detect + build)", t_cold, size)
    t, size, _ = _timed(client, _payload(fig_dep, values, "log-y.value"), repeat)
    _row("figure callback, default view (figure cached)", t, size)
    for smoothing in (0, 0.6):
        values["smoothing.value"] = smoothing
        t, size, _ = _timed(
            client, _payload(fig_dep, values, "smoothing.value"), repeat, rebuild=True
        )
        _row(f"figure callback, built from cached runs, smoothing {smoothing}", t, size)
    t, size, _ = _timed(client, _payload(fig_dep, values, "smoothing.value"), repeat, afresh=True)
    _row("figure callback, smoothing weight not seen before (0.6)", t, size)
    values["smoothing.value"] = 0

    values |= {"lengths.value": [8192, 131072, 524288, 1048576], "trace-map.data": trace_map}
    t, size, _ = _timed(client, _payload(toggle_dep, values, "lengths.value"), repeat)
    _row("length toggle (Patch of visible)", t, size)

    zooms = []
    width = points // len(runs) // 10
    for i in range(repeat):
        lo = width + 7_919 * i
        values["graph.relayoutData"] = {"xaxis.range[0]": lo, "xaxis.range[1]": lo + width}
        t, size, _ = _post(client, _payload(zoom_dep, values, "graph.relayoutData"))
        zooms.append(t)
    _row("zoom to 10% of the steps (re-aggregate, Patch x/y)", statistics.median(zooms), size)
    print(f"targets: figure <= 50 ms, <= 500 kB; toggle <= 20 ms, <= 50 kB (median of {repeat})")


def _row(label: str, seconds: float, size: int) -> None:
    print(f"{label:<58} {seconds * 1000:9.1f} ms {size / 1024:9.1f} kB")


def bench_browser(steps: int, folder_path: str) -> None:
    from app_session import launch_chromium, start_app, stop_app
    from playwright.sync_api import sync_playwright

    proc, url = start_app(timeout_s=30, request_timeout_s=1)
    try:
        drawn = (
            "() => { const g = document.querySelector('#graph .js-plotly-plot');"
            " return !!(g && g.data && g.data.length > 10"
            " && g.querySelector('.scatterlayer .trace')); }"
        )
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            for label, path in (
                ("default view (10 runs x 1,000 steps), cold server", "/"),
                ("default view, warm", "/"),
                (f"10 runs x {steps:,} steps, cold source", folder_path),
                (f"10 runs x {steps:,} steps, warm", folder_path),
            ):
                page = browser.new_page(viewport={"width": 1366, "height": 768})
                start = time.perf_counter()
                page.goto(url + path)
                page.wait_for_function(drawn, timeout=120_000)
                elapsed = time.perf_counter() - start
                page.close()
                print(f"first load to drawn chart, {label}: {elapsed:6.2f} s")
            browser.close()
    finally:
        stop_app(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description="Dashboard speed (see the module docstring).")
    parser.add_argument("--steps", type=int, default=1_000_000, help="steps per run")
    parser.add_argument("--repeat", type=int, default=20, help="requests per median")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium timing")
    parser.add_argument(
        "--simulated",
        action="store_true",
        help="simulate the runs instead (Mamba overflows to Inf for most of a long run)",
    )
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "stabgraph-bench-data"
    )
    args = parser.parse_args()
    if args.simulated:
        source = {"kind": "simulated", "seed": 42, "steps": args.steps, "lengths": LENGTHS}
        path = f"/?steps={args.steps}"
    else:
        start = time.perf_counter()
        write_results(args.data / f"{args.steps}", args.steps)
        print(f"results folder ready in {time.perf_counter() - start:.1f} s")
        os.environ["STABGRAPH_RESULTS_ROOT"] = str(args.data / f"{args.steps}")
        source = {"kind": "folder", "folder": FOLDER}
        path = f"/?source=folder:{FOLDER}"
    bench_http(source, args.repeat)
    if not args.no_browser:
        bench_browser(args.steps, path)


if __name__ == "__main__":
    main()
