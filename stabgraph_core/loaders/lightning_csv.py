"""PyTorch Lightning ``CSVLogger`` ``metrics.csv``, and any CSV with ``step`` and a loss column.

Lightning writes a sparse wide table: each row fills only the columns logged at that moment.
The loss column is the ``tag`` option, else the first present of ``DEFAULT_COLUMNS``; rows
with an empty loss cell are not points. Other numeric columns become extra series (NaN
where a row left them empty).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import LoadError
from ..model import Run
from . import _csv
from ._clean import build_runs, step_array
from ._identity import identify_file

STEP_COLUMNS = ("step", "Step", "global_step", "iter", "iteration")
DEFAULT_COLUMNS = ("train_loss_step", "train_loss", "loss", "train/loss", "lm_loss")


def matches_header(cells: list[str]) -> bool:
    """Whether a CSV header has a step column and a loss-like column."""
    names = [c.strip() for c in cells]
    return any(c in names for c in STEP_COLUMNS) and any("loss" in c.lower() for c in names)


def from_csv(text: str, path: Path, *, tag: str | None = None) -> list[Run]:
    """The run in the CSV.

    Raises:
        LoadError: no step or loss column, malformed rows or non-numeric cells (with the line).
    """
    table, notes = _csv.frame(text, path)
    table.columns = [c.strip() for c in table.columns]
    step_column = next((c for c in STEP_COLUMNS if c in table.columns), None)
    if step_column is None:
        raise LoadError(path, f"no step column (looked for {', '.join(STEP_COLUMNS)})")
    candidates = (tag,) if tag else DEFAULT_COLUMNS
    loss_column = next((c for c in candidates if c in table.columns), None)
    if loss_column is None and not tag:
        loss_column = next((c for c in table.columns if "loss" in c.lower()), None)
    if loss_column is None:
        raise LoadError(
            path, f"no loss column {' or '.join(candidates)} (columns: {', '.join(table.columns)})"
        )
    rows = _csv.present(table[loss_column])
    if not rows.any():
        raise LoadError(path, f"no loss values in the file (column {loss_column!r} is empty)")
    raw_steps = _csv.numbers(table[step_column], path)
    missing = rows & np.isnan(raw_steps)
    if missing.any():
        raise LoadError(path, f"empty {step_column!r} cell", int(np.flatnonzero(missing)[0]) + 2)
    extra = {}
    for column in table.columns:
        if column in (step_column, loss_column):
            continue
        try:
            extra[column] = _csv.numbers(table[column], path)[rows]
        except LoadError:
            continue  # a text column (a run name, a timestamp) is not a series
    return build_runs(
        step_array(raw_steps[rows], path, what=step_column),
        _csv.numbers(table[loss_column], path)[rows],
        path=path,
        notes=notes,
        extra={k: v for k, v in extra.items() if not np.isnan(v).all()},
        metadata={"loss_column": loss_column},
    )


def read(path: Path, *, tag: str | None = None) -> list[Run]:
    """Read a Lightning ``metrics.csv`` (or a plain ``step,loss`` CSV).

    Raises:
        LoadError: see ``from_csv``.
    """
    path = Path(path)
    return identify_file(from_csv(_csv.read_text(path), path, tag=tag), path)
