"""Turning parsed columns into runs: number checks, sorting, duplicates, appended runs.

The rules (see ``stabgraph_core.model`` for what a run is):

* non-finite losses are kept exactly as logged, and only they are NaN/Inf: a step whose
  loss is missing (an empty cell, ``null``, a record without the field) is no point at
  all, never a NaN, and the run notes how many there were;
* a file with no loss value at all is an error (``no loss values in ...``), never a run;
* a sequence length is a positive whole number; anything else is an error naming the file;
* steps are sorted, and a step logged twice keeps its last value (a resumed run), with a note;
* a step that jumps back to or before the first step of the current run starts a new run
  (several runs appended to one file); each becomes ``segment 1``, ``segment 2``, ... with a note.
  A jump back to a step inside the current run is a resume, handled by the duplicate rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LoadError
from ..model import Run
from ._jsonio import INF_SENTINEL, NAN_SENTINEL, loads, read_bytes, salvage

#: The note of a run whose file ends in a record still being written (see ``split_tail``).
PENDING_NOTE = "the last {what} is not written yet ({why}): loaded up to the one before"

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
    """A float64 array from a list of numbers, for a series other than the loss.

    ``None`` (not logged at that step) becomes NaN, as ``model.py`` defines extra series;
    the loss goes through :func:`loss_values`, which keeps missing apart from NaN. The
    parser's sentinels for ``Infinity`` and ``NaN`` literals become inf and NaN.

    Raises:
        LoadError: an entry is not a number (a string, a list, an object); names its index.
    """
    if isinstance(values, np.ndarray):
        return values.astype(np.float64, copy=False)
    return _literals(_to_float(values, what, path, _LOSS_TYPES, record_base))


def _literals(arr: np.ndarray) -> np.ndarray:
    """The JSON parser's sentinels for ``Infinity`` and ``NaN`` as inf and NaN (in place)."""
    magnitude = np.abs(arr)
    if (magnitude >= NAN_SENTINEL).any():
        inf = magnitude == INF_SENTINEL
        arr[inf] = np.copysign(np.inf, arr[inf])
        arr[magnitude == NAN_SENTINEL] = np.nan
    return arr


def loss_values(
    values: Any, what: str, path: Path, *, record_base: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Loss values and which of them are missing (``None``), from a parsed JSON list.

    A NaN or Inf in the result is one the file wrote (``NaN``, ``Infinity``, ``1e400``);
    a ``null`` is flagged missing, for :func:`build_runs` to leave out. (The parser hands
    ``NaN`` literals over as a sentinel, so before that is undone a NaN can only be ``None``.)

    Raises:
        LoadError: an entry is not a number; names its index.
    """
    raw = _to_float(values, what, path, _LOSS_TYPES, record_base)
    missing = np.isnan(raw)
    return _literals(raw), missing


def seq_len_value(value: Any, path: Path, what: str = "seq_len") -> int | None:
    """A sequence length as the file states it: a positive whole number, or None.

    Raises:
        LoadError: zero, negative, fractional, non-finite or not a number.
    """
    if value is None:
        return None
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or value <= 0:
        raise LoadError(path, f"{what} must be a positive whole number, got {value!r:.40}")
    return int(value)


def seq_len_array(values: np.ndarray, path: Path, what: str = "seq_len") -> np.ndarray:
    """:func:`seq_len_value` for every entry of a float array (NaN = not stated).

    Raises:
        LoadError: an entry that is zero, negative or fractional, naming the first.
    """
    stated = values[~np.isnan(values)]
    bad = (stated <= 0) | (stated != np.round(stated)) | ~np.isfinite(stated)
    if bad.any():
        seq_len_value(float(stated[bad][0]), path, what)
    return values


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


def split_tail(text: str) -> tuple[str, str]:
    """The text up to its last line break, and what follows it (``""`` when it ends in one).

    Trainers append whole lines; until the line break is written, the last line may be cut
    anywhere. Readers of line formats decide from the tail whether it is complete.
    """
    cut = text.rfind("\n") + 1
    return text[:cut], text[cut:]


def pending_note(what: str = "line", why: str = "no line break at its end") -> str:
    """The note for a last record that is not written yet."""
    return PENDING_NOTE.format(what=what, why=why)


def with_note(runs: list[Run], note: str | None) -> list[Run]:
    """The runs with ``note`` added to each (unchanged when ``note`` is None)."""
    if note is None:
        return runs
    return [run.with_(notes=(*run.notes, note)) for run in runs]


#: The note of a run read from a JSON document that ends mid-way (see ``read_json_runs``).
CUT_DOCUMENT_NOTE = pending_note("record", "the file ends mid-document")


def read_json_runs(path: Path, parse: Callable[[Any], list[Run]]) -> list[Run]:
    """``parse`` of a JSON file's document; a document cut short is read as far as it is whole.

    A file that ends mid-document (being rewritten) gives the runs of its whole records,
    with :data:`CUT_DOCUMENT_NOTE`, when what is whole reads as runs; otherwise (a single
    record, parallel lists cut apart) it stays the "truncated JSON" error.

    Raises:
        LoadError: unreadable, invalid or truncated JSON, or whatever ``parse`` raises.
    """
    data = read_bytes(path)
    try:
        document = loads(data, path)
    except LoadError as err:
        if not err.reason.startswith("truncated JSON"):
            raise
        whole = salvage(data)
        if whole is None:
            raise
        try:
            return with_note(parse(whole), CUT_DOCUMENT_NOTE)
        except LoadError:
            raise err from None
    return parse(document)


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
    path: Path,
    missing: np.ndarray | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
    notes: Sequence[str] = (),
    what: str = "the file",
    point: str = "step",
    **fields: Any,
) -> list[Run]:
    """One run per appended segment, each sorted with duplicate steps resolved.

    Args:
        steps: int64 steps in file order.
        loss: float64 losses in file order, same length.
        path: the file, for errors.
        missing: which entries have no loss value (left out, and counted in a note).
        extra: other series in file order, same length.
        notes: notes every resulting run carries.
        what: where the loss values were looked for, for the "no loss values in" error.
        point: what one entry is called in the note (``step``, ``row``, ``line``).
        **fields: other ``Run`` fields (model, seq_len, seed, label, metadata, ...).

    Returns:
        One run, or one per segment with ``label`` ``segment k``.

    Raises:
        LoadError: no entry has a loss value.
    """
    extra = dict(extra or {})
    notes = list(notes)
    if missing is not None and missing.any():
        keep = ~missing
        dropped = int(missing.sum())
        steps, loss = steps[keep], loss[keep]
        extra = {k: v[keep] for k, v in extra.items()}
        if steps.size:
            plural = "s" if dropped > 1 else ""
            notes.append(f"{dropped} {point}{plural} without a loss value: no point drawn")
    if steps.size == 0:
        raise LoadError(path, f"no loss values in {what}")
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
