"""Read a TensorBoard event file: stabgraph's reader beside TensorBoard's own, in one run.

Writes one event file with tensorboard's writer (``--steps`` scalar events of a ``loss``
tag and a ``grad_norm`` tag), then times, alternating, for ``--repeat`` rounds:

- stabgraph: ``read_file`` (every record CRC-checked, the loss tag as arrays);
- TensorBoard: ``EventAccumulator(path, size_guidance={"scalars": 0}).Reload()`` and
  ``Scalars("loss")``, what the TensorBoard server itself does to serve the same scalars
  (it too checks every record's CRC).

Prints the best and median of each and the ratio (TensorBoard / stabgraph).

    python benchmarks/bench_events.py [--steps 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from stabgraph_core.loaders import clear_cache, read_file


def write_events(folder: Path, steps: int) -> Path:
    """One event file: loss = 4 / (1 + k / 1000) + 1, grad_norm = 1, for k < steps."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(folder))
    for k in range(steps):
        values = [
            summary_pb2.Summary.Value(tag="loss", simple_value=4 / (1 + k / 1000) + 1),
            summary_pb2.Summary.Value(tag="grad_norm", simple_value=1.0),
        ]
        summary = summary_pb2.Summary(value=values)
        writer.add_event(event_pb2.Event(step=k, wall_time=1.0e9 + k, summary=summary))
    writer.close()
    (path,) = folder.glob("events.out.tfevents.*")
    return path


def tensorboard_read(path: Path) -> int:
    """The loss scalars as TensorBoard's backend loads them; returns how many."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(path), size_guidance={"scalars": 0})
    accumulator.Reload()
    return len(accumulator.Scalars("loss"))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    ours, theirs = [], []
    with tempfile.TemporaryDirectory(prefix="stabgraph-bench-") as tmp:
        path = write_events(Path(tmp), args.steps)
        size_mb = path.stat().st_size / 1e6
        for _ in range(args.repeat):
            clear_cache()
            start = time.perf_counter()
            (run,) = read_file(path)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            count = tensorboard_read(path)
            theirs.append(time.perf_counter() - start)
            assert run.steps.size == count == args.steps
    print(f"event file: {args.steps:,} steps x 2 tags, {size_mb:.1f} MB")
    print(f"stabgraph read_file: best {min(ours):.3f} s, median {statistics.median(ours):.3f} s")
    print(
        f"TensorBoard EventAccumulator: best {min(theirs):.3f} s, "
        f"median {statistics.median(theirs):.3f} s"
    )
    ratio = statistics.median(t / o for t, o in zip(theirs, ours, strict=True))
    print(f"ratio TensorBoard / stabgraph: median {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
