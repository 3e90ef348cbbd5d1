"""Seed bands: the figure for 10 seed groups x 5 seeds x 100,000 steps (50 runs, 5M points).

Detections are passed in (as the app and the CLI do: detection is done once per source),
so the times are the figure's own. Printed, median of ``--repeat``:

- the app's figure (``max_points=2000``) built the first time: smoothing-free curves, the
  band statistics of every group (union grid, mean, std, min, max over the seeds), the
  chosen points of each band edge and mean;
- the same figure again for read-only runs (the app's: statistics and points remembered),
  as after a change of markers;
- the export figure (every point, no downsampling);
- for comparison, the same runs with bands off (every seed its own line).

Target: the figure with bands builds in <= 200 ms.

    python benchmarks/bench_bands.py [--steps 100000] [--groups 10] [--seeds 5] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_MS = 200.0


def make_runs(groups: int, seeds: int, steps: int) -> list:
    """``groups`` (model, length) groups of ``seeds`` read-only runs each; in every group
    one seed diverges at 70% of training."""
    import numpy as np

    from stabgraph_core import Run

    models = ("resnetbk", "mamba")
    lengths = [8192 * 2**i for i in range(-(-groups // len(models)))]
    k = np.arange(steps)
    runs = []
    for g in range(groups):
        model, n = models[g % 2], lengths[g // 2]
        for seed in range(seeds):
            rng = np.random.default_rng([g, seed])
            loss = 4.0 * np.exp(-3 * k / steps) + 0.5 + rng.normal(0, 0.03, steps)
            if seed == seeds - 1:
                onset = int(0.7 * steps)
                loss[onset:] *= np.exp(np.linspace(0, 4, steps - onset))
            for array in (k, loss):
                array.flags.writeable = False
            runs.append(Run(model, n, k, loss, seed=seed))
    return runs


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from stabgraph_core.detect import detect_run
    from stabgraph_core.figure import FigureOptions, clear_cache, figure_dict

    runs = make_runs(args.groups, args.seeds, args.steps)
    found = {r.run_id: detect_run(r) for r in runs}
    points = sum(r.steps.size for r in runs)
    print(f"{len(runs)} runs ({args.groups} groups x {args.seeds} seeds), {points:,} points")

    app = FigureOptions(max_points=2000)

    def first() -> None:
        clear_cache()
        figure_dict(runs, app, found)

    rows = [
        ("app figure, bands (max_points 2000), first build", timed(first, args.repeat)),
        (
            "app figure, bands, again (statistics and points remembered)",
            timed(lambda: figure_dict(runs, app, found), args.repeat),
        ),
        (
            "export figure, bands (every point)",
            timed(lambda: figure_dict(runs, FigureOptions(), found), args.repeat),
        ),
        (
            "app figure, bands off (50 lines), first build",
            timed(
                lambda: (
                    clear_cache(),
                    figure_dict(runs, FigureOptions(max_points=2000, bands="off"), found),
                ),
                args.repeat,
            ),
        ),
    ]
    fig = figure_dict(runs, app, found)
    sent = sum(len(t.get("x", ())) for t in fig["data"])
    print(f"target: figure with bands <= {TARGET_MS:.0f} ms (median of {args.repeat})")
    for label, seconds in rows:
        print(f"{label:<62} {seconds * 1000:8.1f} ms")
    print(f"app figure: {len(fig['data'])} traces, {sent:,} points")
    worst = max(rows[0][1], rows[2][1]) * 1000
    verdict = "meets" if worst <= TARGET_MS else "misses"
    print(f"slowest build with bands: {worst:.1f} ms ({verdict} the target)")


if __name__ == "__main__":
    main()
