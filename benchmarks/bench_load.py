"""Time ``load_results`` on 10 runs x 1,000,000 steps in the reference JSON format.

Writes the runs to a temporary folder (float32-precision losses as a training script logs
them; two runs diverge into NaN/Infinity so the tolerant JSON path is timed too), then
prints (best and median of ``--repeat`` rounds): the total load time, the ratio to bare
``orjson.loads`` of the same bytes (measured in the same round), the time of a second
(cached) load, and the peak resident memory.

    python benchmarks/bench_load.py [--runs 10] [--steps 1000000]

Targets on a 2-core machine: load <= 3 s, ratio <= 2x, peak RSS <= 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

from stabgraph_core.loaders import clear_cache, load_results

MODELS = ("resnetbk", "mamba")
LENGTHS = (8192, 32768, 131072, 524288, 1048576)


def write_runs(folder: Path, runs: int, steps: int) -> list[Path]:
    """Reference-format files ``{model}_seq{N}.json``; the last two mamba runs diverge."""
    rng = np.random.default_rng(0)
    paths = []
    step = np.arange(steps)
    for index in range(runs):
        model, seq_len = MODELS[index % 2], LENGTHS[(index // 2) % len(LENGTHS)]
        loss = (4.0 * np.exp(-step / (steps / 5)) + 0.5 + rng.normal(0, 0.05, steps)).astype(
            np.float32
        )
        values = loss.astype(np.float64).tolist()
        diverged = index >= runs - 2
        if diverged:  # NaN from the divergence point on, one Infinity just before it
            at = steps * 3 // 5
            values[at - 1] = float("inf")
            values[at:] = [float("nan")] * (steps - at)
        record = {
            "seq_len": seq_len,
            "steps": step.tolist(),
            "loss": values,
            "diverged": diverged,
            "divergence_step": steps * 3 // 5 if diverged else None,
        }
        path = folder / f"{model}_seq{seq_len}_seed{index // 10}.json"
        # json.dumps writes NaN/Infinity literals, as Python training scripts do
        path.write_text(json.dumps(record) if diverged else orjson.dumps(record).decode())
        paths.append(path)
    return paths


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of timing")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stabgraph-bench-") as tmp:
        folder = Path(tmp)
        paths = write_runs(folder, args.runs, args.steps)
        size_mb = sum(p.stat().st_size for p in paths) / 1e6
        rss_before = peak_rss_mb()
        clear_cache()
        start, cpu = time.perf_counter(), time.process_time()
        result = load_results(folder)
        load_times = [time.perf_counter() - start]
        load_cpu = [time.process_time() - cpu]
        rss_after = peak_rss_mb()  # before the raw bytes below are held for the comparison

        start = time.perf_counter()
        again = load_results(folder)
        cached_s = time.perf_counter() - start

        # Bare orjson on the same bytes (NaN/Infinity made valid, as orjson rejects them),
        # interleaved with loads so that both see the same machine load; the ratio is taken
        # per round and its median reported.
        blobs = [p.read_bytes() for p in paths]
        blobs = [b.replace(b"NaN", b"null").replace(b"Infinity", b"1e308") for b in blobs]
        orjson_times, orjson_cpu, ratios = [], [], []
        for round_ in range(args.repeat):
            start, cpu = time.perf_counter(), time.process_time()
            for blob in blobs:
                orjson.loads(blob)
            orjson_times.append(time.perf_counter() - start)
            orjson_cpu.append(time.process_time() - cpu)
            if round_:
                clear_cache()
                result = None
                start, cpu = time.perf_counter(), time.process_time()
                result = load_results(folder)
                load_times.append(time.perf_counter() - start)
                load_cpu.append(time.process_time() - cpu)
            ratios.append(load_times[round_] / orjson_times[round_])

    points = sum(r.steps.size for r in result.runs)
    assert len(result.runs) == args.runs and not result.errors, result.errors
    assert len(again.runs) == args.runs
    print(f"files: {args.runs} x {args.steps:,} steps, {size_mb:.0f} MB, {points:,} points")
    print(
        f"load_results: best {min(load_times):.2f} s, median {statistics.median(load_times):.2f} s"
        f" of {args.repeat}  (target <= 3 s)"
    )
    print(
        f"bare orjson.loads: best {min(orjson_times):.2f} s, "
        f"median {statistics.median(orjson_times):.2f} s"
    )
    print(
        f"ratio load/orjson: median {statistics.median(ratios):.2f}x, "
        f"best {min(ratios):.2f}x  (target <= 2x)"
    )
    print(
        f"CPU time (less disturbed by other jobs): load {min(load_cpu):.2f} s, "
        f"orjson {min(orjson_cpu):.2f} s, ratio {min(load_cpu) / min(orjson_cpu):.2f}x "
        "(best of each)"
    )
    print(f"second load (cache): {cached_s * 1000:.1f} ms")
    print(f"peak RSS: {rss_after:.0f} MB (before loading {rss_before:.0f} MB)  (target <= 1500 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
