"""Runs from a list of per-step records (dicts), shared by the JSON-record formats."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LoadError
from ..model import Run
from ._clean import build_runs, float_array, loss_values, seq_len_value, step_array

#: Fields that count tokens seen, exposed as the ``tokens`` series.
TOKEN_FIELDS = ("num_input_tokens_seen", "consumed_tokens", "tokens_seen", "total_tokens")
#: Fields that state the run's sequence length (its identity, not a series).
SEQ_LEN_FIELDS = ("seq_len", "seq_length", "sequence_length")
#: Fields that state the run's training seed (its identity, not a series).
SEED_FIELDS = ("seed", "random_seed")


def first_key(records: list[dict], candidates: Sequence[str]) -> str | None:
    """The first candidate key that any record has."""
    present = {k for record in records for k in record}
    return next((k for k in candidates if k in present), None)


def runs_from_records(
    records: list[dict],
    path: Path,
    *,
    step_keys: Sequence[str],
    loss_keys: Sequence[str],
    what: str = "record",
    numbers: Sequence[int] | None = None,
    **fields: Any,
) -> list[Run]:
    """Steps from the first present of ``step_keys``, loss from ``loss_keys``; numeric fields
    of the records become extra series. Records without the loss key, or with ``null`` for
    it, are not points. A ``seq_len`` field states the run's length and a ``seed`` field its
    seed (one run per length and seed when the records name several); neither is a series.

    Args:
        records: the records, in file order.
        path: the file, for errors.
        step_keys: candidate step field names, in order of preference.
        loss_keys: candidate loss field names, in order of preference.
        what: how errors name a record (``record``, ``line``).
        numbers: the record's line number in the file when ``what`` is ``line``.
        **fields: other ``Run`` fields.

    Raises:
        LoadError: no loss values, no step field, a record with a mistyped step or loss, a
            sequence length that is not a positive whole number, or a seed that is not a
            whole number.
    """
    step_key = first_key(records, step_keys)
    loss_key = first_key(records, loss_keys)
    if loss_key is None:
        raise LoadError(
            path, f"no loss values in the file (no {what} has {', '.join(map(repr, loss_keys))})"
        )
    if step_key is None:
        raise LoadError(path, f"no step field (looked for {', '.join(step_keys)})")
    kept = [i for i, record in enumerate(records) if loss_key in record]
    points = [records[i] for i in kept]
    for i, record in zip(kept, points, strict=True):
        if step_key not in record:
            where = numbers[i] if numbers is not None else None
            suffix = "" if where is not None else f" {i}"
            raise LoadError(path, f"{what}{suffix} has '{loss_key}' but no '{step_key}'", where)
    try:
        steps = step_array([r[step_key] for r in points], path, what=step_key)
        loss, missing = loss_values([r[loss_key] for r in points], loss_key, path)
    except LoadError as err:
        raise _locate(err, kept, numbers, path) from None
    seq_key = first_key(points, SEQ_LEN_FIELDS)
    lengths: list[int | None] = [None] * len(points)
    if seq_key is not None:
        lengths = [
            _seq_len(r.get(seq_key), i, kept, numbers, path, what) for i, r in enumerate(points)
        ]
    seed_key = first_key(points, SEED_FIELDS)
    seeds: list[int | None] = [None] * len(points)
    if seed_key is not None:
        seeds = [
            _seed(r.get(seed_key), seed_key, i, kept, numbers, path, what)
            for i, r in enumerate(points)
        ]
    extra: dict[str, np.ndarray] = {}
    skip = (step_key, loss_key, seq_key, seed_key)
    keys = dict.fromkeys(k for r in points for k in r if k not in skip)
    for key in keys:
        values = [r.get(key) for r in points]
        types = set(map(type, values))
        if types <= {int, float, type(None)} and types - {type(None)}:
            extra[key] = float_array(values, key, path)
    for name in TOKEN_FIELDS:  # the figure's tokens x axis reads a series called "tokens"
        if name in extra and "tokens" not in extra:
            extra["tokens"] = extra[name]
    notes = []
    skipped = len(records) - len(points)
    if skipped:
        notes.append(f"{skipped} {what}{'s' if skipped > 1 else ''} without '{loss_key}' skipped")
    fields.setdefault("metadata", {})
    fields["metadata"] = {**fields["metadata"], "loss_field": loss_key, "step_field": step_key}
    runs = []
    who = list(zip(lengths, seeds, strict=True))
    for seq_len, seed in dict.fromkeys(who):
        mask = np.fromiter((w == (seq_len, seed) for w in who), dtype=bool, count=len(who))
        fields["seq_len"] = seq_len  # records that state no length: the file's own run
        fields["seed"] = seed  # likewise no seed: the manifest or the file name may say
        runs += build_runs(
            steps[mask],
            loss[mask],
            path=path,
            missing=missing[mask],
            extra={k: v[mask] for k, v in extra.items()},
            notes=notes,
            what=f"'{loss_key}'",
            point=what,
            **fields,
        )
    return runs


def _seq_len(
    value: Any, index: int, kept: list[int], numbers: Sequence[int] | None, path: Path, what: str
) -> int | None:
    """A record's stated length, checked; errors name the record's line or index."""
    try:
        return seq_len_value(value, path)
    except LoadError as err:
        if numbers is not None:
            raise LoadError(path, err.reason, numbers[kept[index]]) from None
        raise LoadError(path, f"{what} {kept[index]}: {err.reason}") from None


def _seed(
    value: Any,
    key: str,
    index: int,
    kept: list[int],
    numbers: Sequence[int] | None,
    path: Path,
    what: str,
) -> int | None:
    """A record's stated seed: a whole number (``3`` or ``3.0``), or None when absent.

    Raises:
        LoadError: a seed that is not a whole number, naming the record's line or index.
    """
    if value is None:
        return None
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if whole and not isinstance(value, bool):
        return int(value)
    reason = f"{key} must be a whole number, got {value!r:.40}"
    if numbers is not None:
        raise LoadError(path, reason, numbers[kept[index]])
    raise LoadError(path, f"{what} {kept[index]}: {reason}")


def _locate(
    err: LoadError, kept: list[int], numbers: Sequence[int] | None, path: Path
) -> LoadError:
    """Turn ``loss[5]`` (index among points) into the record's line or index in the file."""
    reason = err.reason
    start, end = reason.find("["), reason.find("]")
    if start == -1 or end == -1 or not reason[start + 1 : end].isdigit():
        return err
    index = kept[int(reason[start + 1 : end])]
    field_name = reason[:start]
    rest = reason[end + 1 :].lstrip()
    if numbers is not None:
        return LoadError(path, f"'{field_name}' {rest}", numbers[index])
    return LoadError(path, f"record {index}: '{field_name}' {rest}")
