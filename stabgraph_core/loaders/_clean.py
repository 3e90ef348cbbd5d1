"""Turning parsed columns into runs: number checks, sorting, duplicates, appended runs.

The rules (see ``stabgraph_core.model`` for what a run is):

* non-finite losses are kept exactly as logged;
* steps are sorted, and a step logged twice keeps its last value (a resumed run), with a note;
* a step that jumps back to or before the first step of the current run starts a new run
  (several runs appended to one file); each becomes ``segment 1``, ``segment 2``, ... with a note.
  A jump back to a step inside the current run is a resume, handled by the duplicate rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LoadError
from ..model import Run
from ._jsonio import INF_SENTINEL

_NUMBER_TYPES = frozenset({int, float})
_LOSS_TYPES = frozenset({int, float, type(None)})
_SAMPLE_STRIDE = 997  # type-check every 997th entry: catches a column of the wrong type in O(n/997)


def _first_bad(values: Sequence[Any], allowed: frozenset[type]) -> int | None:
    return next((i for i, value in enumerate(values) if type(value) not in allowed), None)


def _raise_bad(values: Any, what: str, path: Path, allowed: frozenset[type], base: int) -> None:
    """Raise naming the first entry of the wrong type, if there is one."""
    if not isinstance(values, list):
        raise LoadError(path, f"{what} must be a list of numbers, not {type(values).__name__}")
    bad = _first_bad(values, allowed)
    if bad is not None:
        raise LoadError(path, f"{what}[{bad + base}] is not a number: {values[bad]!r:.40}")


def _to_float(values: Any, what: str, path: Path, allowed: frozenset[type], base: int):
    """Fast conversion of a parsed JSON list; exact errors only on the failure path.

    ``np.fromiter`` converts a million floats in ~30 ms but would also accept booleans and
    numeric strings, so a strided sample of entries is type-checked first.
    """
    if not isinstance(values, list) or not set(map(type, values[::_SAMPLE_STRIDE])) <= allowed:
        _raise_bad(values, what, path, allowed, base)
    try:
        return np.fromiter(values, dtype=np.float64, count=len(values))
    except (TypeError, ValueError, OverflowError):
        _raise_bad(values, what, path, allowed, base)
        raise LoadError(path, f"{what} holds a value that is not a number") from None


def float_array(values: Any, what: str, path: Path, *, record_base: int = 0) -> np.ndarray:
    """A float64 array from a list of numbers (``None`` -> NaN, the Infinity sentinel -> inf).

    Raises:
        LoadError: an entry is not a number (a string, a list, an object); names its index.
    """
    if isinstance(values, np.ndarray):
        arr = values.astype(np.float64, copy=False)
    else:
        arr = _to_float(values, what, path, _LOSS_TYPES, record_base)
    big = np.abs(arr) == INF_SENTINEL
    if big.any():
        arr = arr.copy()
        arr[big] = np.copysign(np.inf, arr[big])
    return arr


def step_array(values: Any, path: Path, *, what: str = "steps", record_base: int = 0) -> np.ndarray:
    """An int64 step array from whole numbers (``3`` or ``3.0``).

    Raises:
        LoadError: a step is missing, fractional, non-finite or not a number.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        return values.astype(np.int64, copy=False)
    if isinstance(values, np.ndarray):
        arr = values.astype(np.float64)
    else:
        arr = _to_float(values, what, path, _NUMBER_TYPES, record_base)
    bad_mask = ~np.isfinite(arr) | (arr != np.round(arr)) | (np.abs(arr) >= 2.0**63)
    if bad_mask.any():
        bad = int(np.flatnonzero(bad_mask)[0])
        raw = values[bad] if isinstance(values, list) else arr[bad]
        reason = "is missing" if raw is None else f"is not a whole step number: {raw!r:.40}"
        raise LoadError(path, f"{what}[{bad + record_base}] {reason}")
    return arr.astype(np.int64)


def _split_points(steps: np.ndarray) -> list[int]:
    """Indices where a new appended run starts (a jump back to or before the current start)."""
    backwards = np.flatnonzero(steps[1:] < steps[:-1]) + 1
    starts = [0]
    for index in backwards.tolist():  # one iteration per backwards jump, not per point
        if steps[index] <= steps[starts[-1]]:
            starts.append(index)
    return starts


def build_runs(
    steps: np.ndarray,
    loss: np.ndarray,
    *,
    extra: Mapping[str, np.ndarray] | None = None,
    notes: Sequence[str] = (),
    **fields: Any,
) -> list[Run]:
    """One run per appended segment, each sorted with duplicate steps resolved.

    Args:
        steps: int64 steps in file order.
        loss: float64 losses in file order, same length.
        extra: other series in file order, same length.
        notes: notes every resulting run carries.
        **fields: other ``Run`` fields (model, seq_len, seed, label, metadata, ...).

    Returns:
        One run, or one per segment with ``label`` ``segment k``.
    """
    extra = dict(extra or {})
    fields.setdefault("model", "")
    fields.setdefault("seq_len", None)
    starts = _split_points(steps)
    bounds = [*starts, steps.size]
    runs = []
    for number, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True), start=1):
        seg_steps, seg_loss = steps[lo:hi], loss[lo:hi]
        seg_extra = {k: v[lo:hi] for k, v in extra.items()}
        seg_notes = list(notes)
        if seg_steps.size > 1 and not np.all(seg_steps[1:] > seg_steps[:-1]):
            order = np.argsort(seg_steps, kind="stable")
            sorted_steps = seg_steps[order]
            keep_last = np.append(sorted_steps[1:] != sorted_steps[:-1], True)
            replaced = int(seg_steps.size - keep_last.sum())
            order = order[keep_last]
            seg_steps, seg_loss = seg_steps[order], seg_loss[order]
            seg_extra = {k: v[order] for k, v in seg_extra.items()}
            if replaced:
                seg_notes.append(
                    f"{replaced} duplicate step{'s' if replaced > 1 else ''} replaced by the "
                    "value logged later (last write wins)"
                )
            else:
                seg_notes.append("steps were out of order and have been sorted")
        run_fields = dict(fields)
        if len(starts) > 1:
            label = f"segment {number}"
            run_fields["label"] = f"{fields['label']} {label}" if fields.get("label") else label
            seg_notes.append(
                f"steps go back to {int(steps[lo])} at record {lo + 1}: "
                f"split into {len(starts)} runs"
                if number > 1
                else f"the file holds {len(starts)} runs appended one after another"
            )
        runs.append(
            Run(
                steps=seg_steps,
                loss=seg_loss,
                extra=seg_extra,
                notes=tuple(seg_notes),
                **run_fields,
            )
        )
    return runs
