"""Time ``stabgraph_core.detect.detect`` on synthetic runs of growing size.

Prints wall-clock and CPU time (best of several repeats) per run size, for a healthy
run and for one that spikes, logs a few NaNs and then blows up. The target is
<= 50 ms for 1,000,000 points. CPU time is shown because on a shared machine the wall
clock also counts time spent waiting for a core.

    .venv/bin/python benchmarks/bench_detect.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from stabgraph_core.detect import detect


def healthy_run(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A decaying loss with Gaussian noise."""
    steps = np.arange(n)
    return steps, 4.0 * np.exp(-steps / (n / 5)) + 0.5 + 0.05 * rng.standard_normal(n)


def troubled_run(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The healthy run with 5 one-point spikes, 3 lone NaNs, then a blow-up at 60%."""
    steps, loss = healthy_run(n, rng)
    loss[np.linspace(0.15 * n, 0.55 * n, 5).astype(int)] *= 3.0
    loss[np.linspace(0.1 * n, 0.5 * n, 3).astype(int)] = np.nan
    onset = int(0.6 * n)
    loss[onset:] *= np.exp((steps[onset:] - onset) / (n / 20))
    return steps, loss


def best_of(repeat: int, steps: np.ndarray, loss: np.ndarray) -> tuple[float, float]:
    """Best wall-clock and best CPU milliseconds over ``repeat`` calls."""
    detect(steps, loss)  # warm up
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        detect(steps, loss)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall) * 1e3, min(cpu) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="calls per case (default 7)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'points':>10}  {'case':<9}{'wall ms':>9}{'cpu ms':>9}  result")
    for n in (1_000, 10_000, 100_000, 1_000_000):
        for name, make in (("healthy", healthy_run), ("troubled", troubled_run)):
            steps, loss = make(n, rng)
            wall, cpu = best_of(args.repeat, steps, loss)
            found = detect(steps, loss)
            verdict = (
                f"diverged @ {found.divergence_step}" if found.diverged else "no divergence"
            ) + f", {len(found.spikes)} spikes"
            print(f"{n:>10,}  {name:<9}{wall:>9.1f}{cpu:>9.1f}  {verdict}")


if __name__ == "__main__":
    main()
