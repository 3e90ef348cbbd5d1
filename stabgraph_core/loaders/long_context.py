"""The output of ``train_long_context.py``: one run per sequence length in ``metrics_history``.

Files: ``long_context_results.json`` or ``long_context_{model}_results.json``.

``metrics_history`` is a list of per-step records ``{step, seq_len, loss, gradient_norm,
learning_rate, memory_allocated_gb, ...}`` whose ``step`` counts globally (1-based) across all
lengths. Each length becomes its own run whose steps count from its first record (step 1),
so that lengths trained one after another line up; the global step is kept as the
``global_step`` series. A record without a loss (or with ``null``) is no point; a history
with no loss at all is an error, never a run. ``results_by_length``,
``gradient_statistics`` and ``args`` are kept as metadata.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LoadError
from ..model import Run
from ._clean import (
    build_runs,
    float_array,
    loss_values,
    read_json_runs,
    seq_len_value,
    step_array,
)
from ._identity import identify_file

#: Record fields renamed to the series names used everywhere else.
SERIES_NAMES = {"gradient_norm": "grad_norm", "grad_norm": "grad_norm"}
_SKIP = {"step", "seq_len", "loss"}
_FILE_NAME = re.compile(r"^long_context_(?P<model>.+)_results$")


def matches(data: Any) -> bool:
    """Whether parsed JSON looks like this format."""
    return isinstance(data, dict) and "metrics_history" in data


def _column(records: list[dict], key: str) -> list[Any]:
    return [record.get(key) for record in records]


def _model(data: dict, path: Path) -> str:
    """The record's ``model``, else the ``{model}`` of ``long_context_{model}_results.json``."""
    if isinstance(data.get("model"), str):
        return data["model"]
    named = _FILE_NAME.match(Path(path).stem)
    return named["model"] if named else ""


def from_json(data: Any, path: Path) -> list[Run]:
    """One run per ``seq_len`` in ``metrics_history``.

    Raises:
        LoadError: the history is empty or holds no loss ("no loss values in"), or a record
            is malformed.
    """
    history = data.get("metrics_history")
    if not isinstance(history, list):
        raise LoadError(path, "'metrics_history' must be a list of per-step records")
    if not history:
        raise LoadError(
            path, "no loss values in 'metrics_history': it is empty (the run logged nothing)"
        )
    for index, record in enumerate(history):
        if not isinstance(record, dict):
            raise LoadError(path, f"metrics_history[{index}] is not an object")
        for key in ("step", "seq_len"):
            if key not in record:
                raise LoadError(path, f"metrics_history[{index}] has no '{key}'")
        seq_len_value(record["seq_len"], path, f"metrics_history[{index}] seq_len")
    steps = step_array(_column(history, "step"), path, what="metrics_history step")
    lengths = step_array(_column(history, "seq_len"), path, what="metrics_history seq_len")
    loss, missing = loss_values(_column(history, "loss"), "metrics_history loss", path)
    if missing.all():
        raise LoadError(path, "no loss values in 'metrics_history' (no record has a 'loss')")
    keys = dict.fromkeys(k for record in history for k in record if k not in _SKIP)
    extra: dict[str, np.ndarray] = {}
    for key in keys:
        values = _column(history, key)
        if all(
            v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
        ):
            extra[SERIES_NAMES.get(key, key)] = float_array(values, key, path)
    by_length = (
        data.get("results_by_length") if isinstance(data.get("results_by_length"), dict) else {}
    )
    shared = {k: data[k] for k in ("args", "gradient_statistics") if k in data}
    runs: list[Run] = []
    empty = []
    for seq_len in np.unique(lengths).tolist():
        mask = lengths == seq_len
        if missing[mask].all():
            empty.append(int(seq_len))
            continue
        global_steps = steps[mask]
        local = global_steps - global_steps.min() + 1
        series = {k: v[mask] for k, v in extra.items()}
        series["global_step"] = global_steps.astype(np.float64)
        metadata = dict(shared)
        if str(seq_len) in by_length:
            metadata["results_by_length"] = by_length[str(seq_len)]
        runs += build_runs(
            local,
            loss[mask],
            path=path,
            missing=missing[mask],
            extra=series,
            notes=(
                "steps counted from this length's first record; global step kept as "
                "series 'global_step'",
            ),
            model=_model(data, path),
            seq_len=int(seq_len),
            metadata=metadata,
        )
    if empty:
        note = f"no loss values at seq_len {', '.join(map(str, empty))}: not a run"
        runs = [run.with_(notes=(*run.notes, note)) for run in runs]
    return runs


def read(path: Path) -> list[Run]:
    """Read one ``train_long_context.py`` results file.

    Raises:
        LoadError: unreadable, invalid JSON, empty or malformed ``metrics_history``.
    """
    path = Path(path)
    return identify_file(read_json_runs(path, lambda data: from_json(data, path)), path)
