"""The reference's per-run JSON: ``{model}_seq{N}.json`` holding one run.

``{"seq_len": 8192, "steps": [...], "loss": [...], "diverged": false, "divergence_step": null}``;
``loss`` may hold ``NaN`` or ``Infinity`` (kept as logged) and ``null`` (no value logged at
that step: no point). ``seq_len`` is a positive whole number. Optional ``model``
and ``seed`` fields name the run; other lists as long as ``steps`` become extra series.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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

_KNOWN = {"seq_len", "steps", "loss", "diverged", "divergence_step", "model", "seed"}


def matches(data: Any) -> bool:
    """Whether parsed JSON looks like this format."""
    return (
        isinstance(data, dict)
        and "loss" in data
        and "steps" in data
        and (
            not isinstance(data["steps"], list)
            or not data["steps"]
            or not isinstance(data["steps"][0], dict)
        )
    )


def _optional_int(data: dict, key: str, path: Path) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise LoadError(path, f"{key} must be a whole number, got {value!r:.40}")
    return int(value)


def from_json(data: Any, path: Path) -> list[Run]:
    """Runs from the parsed document (identity fields only as the record states them).

    Raises:
        LoadError: missing or mistyped fields, or ``steps`` and ``loss`` of different lengths.
    """
    if not isinstance(data, dict):
        raise LoadError(path, "expected a JSON object with 'steps' and 'loss'")
    steps = step_array(data.get("steps"), path)
    loss, missing = loss_values(data.get("loss"), "loss", path)
    if steps.size != loss.size:
        raise LoadError(path, f"'steps' has {steps.size} values but 'loss' has {loss.size}")
    if steps.size == 0:
        raise LoadError(path, "no steps ('steps' and 'loss' are empty)")
    extra = {}
    for key, values in data.items():
        if key not in _KNOWN and isinstance(values, list) and len(values) == steps.size:
            extra[key] = float_array(values, key, path)
    diverged = data.get("diverged")
    if diverged is not None and not isinstance(diverged, bool):
        raise LoadError(path, f"diverged must be true, false or null, got {diverged!r:.40}")
    model = data.get("model")
    if model is not None and not isinstance(model, str):
        raise LoadError(path, f"model must be a string, got {model!r:.40}")
    return build_runs(
        steps,
        loss,
        path=path,
        missing=missing,
        what="'loss'",
        extra=extra,
        model=model or "",
        seq_len=seq_len_value(data.get("seq_len"), path),
        seed=_optional_int(data, "seed", path),
        diverged=diverged,
        divergence_step=_optional_int(data, "divergence_step", path),
    )


def read(path: Path) -> list[Run]:
    """Read one reference JSON file.

    Raises:
        LoadError: unreadable, invalid JSON, or the fields above missing or mistyped.
    """
    path = Path(path)
    return identify_file(read_json_runs(path, lambda data: from_json(data, path)), path)
