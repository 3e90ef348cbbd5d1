"""Loader fixtures: a clean cache around every test, and writers for event files."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from stabgraph_core.loaders import clear_cache


@pytest.fixture(autouse=True)
def reset_loader_cache() -> Iterator[None]:
    """The file cache is process-wide; each test starts and ends with it empty."""
    clear_cache()
    yield
    clear_cache()


def _write_events(folder: Path, scalars: dict[str, Sequence[tuple[int, float]]]) -> Path:
    """A TensorBoard event file in ``folder`` with the given ``tag -> [(step, value)]``."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    folder.mkdir(parents=True, exist_ok=True)
    writer = EventFileWriter(str(folder))
    for tag, points in scalars.items():
        for step, value in points:
            summary = summary_pb2.Summary(
                value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)]
            )
            writer.add_event(event_pb2.Event(step=step, wall_time=1000.0 + step, summary=summary))
    writer.close()
    (path,) = folder.glob("events.out.tfevents.*")
    return path


@pytest.fixture
def write_events():
    """The event-file writer above, as a fixture (test modules here are not a package)."""
    return _write_events
