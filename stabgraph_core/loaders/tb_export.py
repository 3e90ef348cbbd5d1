"""TensorBoard UI downloads: CSV ``Wall time,Step,Value`` or JSON ``[[wall, step, value], ...]``.

A row without its value (an empty cell, a short row, ``null``) is no point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LoadError
from ..model import Run
from . import _csv
from ._clean import build_runs, float_array, loss_values, read_json_runs, step_array
from ._identity import identify_file

CSV_HEADER = ["Wall time", "Step", "Value"]


def matches_header(cells: list[str]) -> bool:
    """Whether a CSV header is TensorBoard's export header."""
    return [c.strip() for c in cells] == CSV_HEADER


def matches(data: Any) -> bool:
    """Whether parsed JSON looks like a TensorBoard export (a list of 3-number rows)."""
    return (
        isinstance(data, list)
        and bool(data)
        and isinstance(data[0], list)
        and len(data[0]) == 3
        and all(isinstance(v, int | float) for v in data[0])
    )


def from_json(data: Any, path: Path) -> list[Run]:
    """The run in a JSON export.

    Raises:
        LoadError: a row is not ``[wall_time, step, value]``, naming the row.
    """
    if not isinstance(data, list) or not data:
        raise LoadError(path, "expected a non-empty list of [wall_time, step, value] rows")
    for index, row in enumerate(data):
        if not isinstance(row, list) or len(row) != 3:
            raise LoadError(path, f"row {index} is not [wall_time, step, value]: {row!r:.40}")
    wall, steps, values = (list(column) for column in zip(*data, strict=True))
    loss, missing = loss_values(values, "value", path)
    return build_runs(
        step_array(steps, path, what="step"),
        loss,
        path=path,
        missing=missing,
        point="row",
        extra={"wall_time": float_array(wall, "wall_time", path)},
    )


def from_csv(text: str, path: Path) -> list[Run]:
    """The run in a CSV export.

    Raises:
        LoadError: malformed rows or non-numeric cells, with the line number.
    """
    table, notes = _csv.frame(text, path)
    table.columns = [c.strip() for c in table.columns]
    if table.empty:
        raise LoadError(path, "no loss values in the file (no rows after the header)")
    steps = _csv.numbers(table["Step"], path)
    if np.isnan(steps).any():
        raise LoadError(path, "empty Step cell", int(np.flatnonzero(np.isnan(steps))[0]) + 2)
    return build_runs(
        step_array(steps, path, what="Step"),
        _csv.numbers(table["Value"], path),
        path=path,
        missing=~_csv.present(table["Value"]),
        notes=notes,
        what="the 'Value' column",
        point="row",
        extra={"wall_time": _csv.numbers(table["Wall time"], path)},
    )


def read(path: Path) -> list[Run]:
    """Read a TensorBoard CSV or JSON export.

    Raises:
        LoadError: unreadable, or not in the shape above.
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        runs = read_json_runs(path, lambda data: from_json(data, path))
    else:
        runs = from_csv(_csv.read_text(path), path)
    return identify_file(runs, path)
