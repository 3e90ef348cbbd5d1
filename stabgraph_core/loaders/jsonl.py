"""JSON Lines logs: one record per line (LLaMA-Factory ``trainer_log.jsonl`` and the like).

Step from ``step``, ``current_steps``, ``iter`` or ``global_step``; loss from ``loss``,
``train_loss`` or ``lm_loss`` (or the ``tag`` option). Records without the loss field (a final
summary line) or with ``null`` are not points, and the run notes how many there were. Blank
lines are skipped. A last line without its line break that does not parse is still being
written: everything before it loads and the run says so. Any other bad line makes the file
unreadable, reported with its line number.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from ..errors import LoadError
from ..model import Run
from ._clean import pending_note, split_tail, with_note
from ._identity import identify_file
from ._jsonio import decode_text, loads, read_bytes
from ._records import runs_from_records

STEP_KEYS = ("step", "current_steps", "iter", "global_step")
LOSS_KEYS = ("loss", "train_loss", "lm_loss")


def parse(path: Path, *, tag: str | None = None) -> list[Run]:
    """The run in a JSONL file.

    Raises:
        LoadError: a line that is not a JSON object, or no step/loss field, with the line number.
    """
    return from_text(decode_text(read_bytes(path), path), path, tag=tag)


def from_text(text: str, path: Path, *, tag: str | None = None) -> list[Run]:
    """The run in a JSONL file's text (see ``parse``).

    Raises:
        LoadError: a line that is not a JSON object, or no step/loss field, with the line number.
    """
    body, tail = split_tail(text)
    lines = body.split("\n")[:-1]
    notes = []
    if tail.strip():
        try:
            loads(tail.encode(), path)
            lines.append(tail)  # a last line that is whole, only without its line break
        except LoadError:
            notes.append(pending_note())
    records, numbers = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            record = loads(line.encode(), path, line=number)
        if not isinstance(record, dict):
            raise LoadError(path, f"expected a JSON object, got {type(record).__name__}", number)
        records.append(record)
        numbers.append(number)
    if not records:
        raise LoadError(path, "no loss values in the file (its only line is not written yet)")
    runs = runs_from_records(
        records,
        path,
        step_keys=STEP_KEYS,
        loss_keys=(tag,) if tag else LOSS_KEYS,
        what="line",
        numbers=numbers,
    )
    return with_note(runs, notes[0] if notes else None)


def read(path: Path, *, tag: str | None = None) -> list[Run]:
    """Read one JSONL log.

    Raises:
        LoadError: see ``parse``.
    """
    path = Path(path)
    return identify_file(parse(path, tag=tag), path)
