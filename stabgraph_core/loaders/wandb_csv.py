"""W&B chart CSV export: ``"Step"`` then ``"<run> - <metric>"`` columns, several runs per file.

``__MIN``/``__MAX`` columns (W&B's smoothing envelope) are ignored; an empty cell means the run
logged nothing at that step. The loss metric is the ``tag`` option, else the first metric
whose name ends in ``loss`` (``train/loss`` preferred). Other metrics of the same run become
extra series. The run name is the model, unless it carries ``seq``/``seed`` tokens
(``mamba_seq8192_seed1``), which are then read as the run's identity.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import LoadError
from ..model import Run
from . import _csv
from ._clean import build_runs, step_array
from ._identity import identify_file, name_identity

SEPARATOR = " - "
PREFERRED_METRICS = ("train/loss", "train_loss", "loss", "train/lm_loss", "lm loss")


def matches_header(cells: list[str]) -> bool:
    """Whether a CSV header is a W&B chart export's."""
    return (
        bool(cells)
        and cells[0] in ("Step", "step", "_step")
        and any(SEPARATOR in c for c in cells[1:])
    )


def _pick_metric(metrics: list[str], tag: str | None, path: Path) -> str:
    if tag is not None:
        if tag not in metrics:
            raise LoadError(path, f"no metric {tag!r} (metrics: {', '.join(metrics)})")
        return tag
    for name in PREFERRED_METRICS:
        if name in metrics:
            return name
    losses = [m for m in metrics if m.lower().endswith("loss")]
    return (losses or metrics)[0]


def from_csv(text: str, path: Path, *, tag: str | None = None) -> list[Run]:
    """One run per W&B run in the export.

    Raises:
        LoadError: no ``<run> - <metric>`` columns, malformed rows or non-numeric cells.
    """
    table, notes = _csv.frame(text, path)
    step_column = table.columns[0]
    columns: dict[str, dict[str, str]] = {}
    for column in table.columns[1:]:
        if column.endswith(("__MIN", "__MAX")) or SEPARATOR not in column:
            continue
        run_name, metric = column.rsplit(SEPARATOR, 1)
        columns.setdefault(run_name, {})[metric] = column
    if not columns:
        raise LoadError(path, "no '<run> - <metric>' columns in the W&B export")
    metrics = list(dict.fromkeys(m for per_run in columns.values() for m in per_run))
    metric = _pick_metric(metrics, tag, path)
    raw_steps = _csv.numbers(table[step_column], path)
    runs = []
    for run_name, per_run in columns.items():
        if metric not in per_run:
            continue
        cell = table[per_run[metric]]
        rows = _csv.present(cell) & ~np.isnan(raw_steps)
        if not rows.any():
            continue
        steps = step_array(raw_steps[rows], path, what=step_column)
        extra = {
            name: _csv.numbers(table[col], path)[rows]
            for name, col in per_run.items()
            if name != metric
        }
        who = name_identity(run_name)
        runs += build_runs(
            steps,
            _csv.numbers(cell, path)[rows],
            path=path,
            notes=notes,
            extra=extra,
            model=who.model or run_name,
            seq_len=who.seq_len,
            seed=who.seed,
            metadata={"wandb_run": run_name, "metric": metric},
        )
    if not runs:
        raise LoadError(
            path, f"no loss values in the file (metric {metric!r} is empty in every run)"
        )
    return runs


def read(path: Path, *, tag: str | None = None) -> list[Run]:
    """Read a W&B chart CSV export.

    Raises:
        LoadError: see ``from_csv``.
    """
    path = Path(path)
    return identify_file(from_csv(_csv.read_text(path), path, tag=tag), path)
