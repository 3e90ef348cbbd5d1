"""ResNet-BK training logs, in the three shapes its scripts write.

* ``{"loss": [...], ...}``: the list index is the step (from 0); other lists of the same
  length (``perplexity``) become extra series;
* a list of step records ``[{step, loss, grad_norm, memory_allocated_gb, ...}, ...]``;
* ``{"steps": [{step, loss, ...}, ...], "last_update": ...}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LoadError
from ..model import Run
from ._clean import build_runs, float_array, loss_values, read_json_runs
from ._identity import identify_file
from ._records import runs_from_records

STEP_KEYS = ("step", "global_step", "iter")
LOSS_KEYS = ("loss", "train_loss", "lm_loss")


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict)


def matches(data: Any) -> bool:
    """Whether parsed JSON has one of the three shapes."""
    if _is_records(data):
        return True
    if not isinstance(data, dict):
        return False
    return _is_records(data.get("steps")) or (
        isinstance(data.get("loss"), list) and "steps" not in data
    )


def _records(records: list, path: Path, metadata: dict) -> list[Run]:
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise LoadError(path, f"record {index} is not an object")
    return runs_from_records(
        records, path, step_keys=STEP_KEYS, loss_keys=LOSS_KEYS, metadata=metadata
    )


def from_json(data: Any, path: Path) -> list[Run]:
    """The run in any of the three shapes.

    Raises:
        LoadError: none of the shapes, an empty log, or mistyped values.
    """
    if isinstance(data, list):
        if not data:
            raise LoadError(path, "no steps: the list of step records is empty")
        return _records(data, path, {})
    if not isinstance(data, dict):
        raise LoadError(path, "expected a JSON object or a list of step records")
    if "steps" in data:
        if not isinstance(data["steps"], list) or not data["steps"]:
            raise LoadError(path, "no steps: 'steps' is empty or not a list")
        meta = {k: v for k, v in data.items() if k != "steps" and not isinstance(v, list | dict)}
        return _records(data["steps"], path, meta)
    loss, missing = loss_values(data.get("loss"), "loss", path)
    if loss.size == 0:
        raise LoadError(path, "no steps: 'loss' is empty")
    extra = {
        k: float_array(v, k, path)
        for k, v in data.items()
        if k != "loss" and isinstance(v, list) and len(v) == loss.size
    }
    steps = np.arange(loss.size, dtype=np.int64)
    return build_runs(steps, loss, path=path, missing=missing, what="'loss'", extra=extra)


def read(path: Path) -> list[Run]:
    """Read one ResNet-BK training log.

    Raises:
        LoadError: see ``from_json``.
    """
    path = Path(path)
    return identify_file(read_json_runs(path, lambda data: from_json(data, path)), path)
