"""Export speed: warm export per format, the CLI end to end with a breakdown, peak memory.

Run: ``.venv/bin/python benchmarks/bench_export.py [--repeat 5]``. Prints the machine's
speed right now (see ``machine_reference``), then three tables:

1. warm export of the default figure (simulated 2 models x 5 lengths x 1000 steps) per
   format, Chromium already running: best and median of ``--repeat`` runs;
2. ``stabgraph --simulate --format pdf --save_summary`` in fresh processes: wall time;
3. one fresh process timed step by step as the command runs (Chromium's launch, then the
   imports, load + summary, detection + figure while its page loads, the PDF and PNG
   written in one call) and its memory: Python's peak RSS and Chromium's processes' PSS.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter: the CLI's own steps, timed one by one.
_BREAKDOWN = r"""
import json, os, resource, sys, time
t0 = time.perf_counter()
marks = {}
from stabgraph_core import export  # no NumPy or Plotly yet: the command launches first
marks["import export"] = time.perf_counter() - t0
t = time.perf_counter()
export.start_renderer()  # returns once Chromium is launched; its page loads meanwhile
marks["launch Chromium"] = time.perf_counter() - t
t = time.perf_counter()
from stabgraph_core.cli import build_parser, format_table
from stabgraph_core.simulation import simulate
from stabgraph_core.summary import summarize, write_summary
marks["imports (NumPy, the CLI)"] = time.perf_counter() - t
ready = {}
import threading
def wait():
    export.start_renderer(wait=True)  # returns once the first page has loaded
    ready["t"] = time.perf_counter() - t0
waiter = threading.Thread(target=wait)
waiter.start()
out = sys.argv[1]
t = time.perf_counter()
runs = simulate()
summary = summarize(runs)
text = format_table(summary, "mamba", "resnetbk")
marks["simulate + summary"] = time.perf_counter() - t
t = time.perf_counter()
from stabgraph_core.figure import build_figure
fig = build_figure(runs)
marks["import plotly + detect + build figure"] = time.perf_counter() - t
t = time.perf_counter()
waiter.join()
marks["wait for Chromium"] = time.perf_counter() - t
t = time.perf_counter()
write_summary(summary, out + ".json")
marks["write json"] = time.perf_counter() - t
t = time.perf_counter()
export.export_figures(fig, out, ["pdf", "png"], dpi=300)  # as the CLI: one batch
marks["write pdf + png 300 dpi (first renders)"] = time.perf_counter() - t
def chromium_pss_mb():
    # Chromium's processes (browser, renderer, helpers) with shared pages counted once
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    tree = {export._state["renderer"].browser.subprocess.pid}
    while True:
        more = {p for p, parent in parents.items() if parent in tree} - tree
        if not more:
            break
        tree |= more
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                total += next(int(l.split()[1]) for l in rollup if l.startswith("Pss:"))
        except (OSError, StopIteration):
            pass
    return total / 1024
chromium_mb = chromium_pss_mb()
t = time.perf_counter()
export.stop_renderer(quick=True)  # what the CLI's exit does
marks["stop Chromium (killed at exit)"] = time.perf_counter() - t
marks["total"] = time.perf_counter() - t0
marks["Chromium ready (since start)"] = ready["t"]
rss = {
    "rss_python_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "pss_chromium_mb": chromium_mb,
}
print(json.dumps({"marks": marks, **rss}))
"""


def warm_exports(repeat: int, out: Path) -> None:
    from stabgraph_core import export, simulate
    from stabgraph_core.figure import build_figure

    t = time.perf_counter()
    export.start_renderer(wait=True)
    fig = build_figure(simulate())
    export.export_figure(fig, out / "warmup.svg")
    print(f"Chromium start + first export: {time.perf_counter() - t:.2f} s")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)\n")
    print(f"{'format':<16}{'best (s)':>10}{'median (s)':>12}{'size':>12}")
    for fmt, dpi in (
        ("pdf", 300),
        ("svg", 300),
        ("png", 300),
        ("png", 600),
        ("eps", 300),
        ("html", 300),
    ):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            path = export.export_figure(fig, out / f"fig_{dpi}.{fmt}", fmt, dpi=dpi)
            times.append(time.perf_counter() - start)
        label = f"{fmt} {dpi} dpi" if fmt == "png" else fmt
        size = path.stat().st_size
        print(
            f"{label:<16}{min(times):>10.3f}{statistics.median(times):>12.3f}{size / 1e3:>10.0f} kB"
        )
    export.stop_renderer()


def _busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy since boot (Linux ``/proc/stat``)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def cli_wall(repeat: int, out: Path) -> None:
    argv = [sys.executable, "-m", "stabgraph_core", "--simulate", "--format", "pdf",
            "--save_summary", "--output", str(out / "cli" / "stability_graph")]  # fmt: skip
    times, cpu = [], []
    for _ in range(repeat):
        busy = _busy_cpu_seconds()
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
        cpu.append(_busy_cpu_seconds() - busy)
    print(f"\nstabgraph --simulate --format pdf --save_summary (fresh process, {repeat} runs)")
    print(f"  wall: best {min(times):.2f} s, median {statistics.median(times):.2f} s")
    # Chromium's renderer is its grandchild, which getrusage(RUSAGE_CHILDREN) never sees:
    # the machine's busy time counts it (and anything else running, so read it when idle)
    print(
        f"  CPU busy on the machine meanwhile (Python + Chromium, all cores): "
        f"best {min(cpu):.2f} s, median {statistics.median(cpu):.2f} s; "
        f"load average now {os.getloadavg()[0]:.1f}"
    )


def breakdown(out: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _BREAKDOWN, str(out / "breakdown")],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    data = json.loads(result.stdout.strip().splitlines()[-1])
    print("\nBreakdown of one fresh process (Chromium launched first, its page loading meanwhile)")
    for name, seconds in data["marks"].items():
        print(f"  {name:<42}{seconds:>7.3f} s")
    print(f"  memory: Python peak RSS {data['rss_python_mb']:.0f} MB; Chromium, all its "
          f"processes after the export, {data['pss_chromium_mb']:.0f} MB (PSS)")  # fmt: skip


def machine_reference() -> float:
    """Best of three runs of a fixed pure-Python loop, in seconds.

    Shared machines drift (here by a third within an hour), so each run prints this next
    to its figures: compare figures by their ratio to it, not across runs as they are.
    """
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        sum(range(10_000_000))
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(
        f"machine reference (a fixed Python loop; larger = slower now): {machine_reference():.3f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        warm_exports(args.repeat, out)
        cli_wall(args.repeat, out)
        breakdown(out)


if __name__ == "__main__":
    main()
