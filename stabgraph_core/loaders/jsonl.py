"""JSON Lines logs: one record per line (LLaMA-Factory ``trainer_log.jsonl`` and the like).

Step from ``step``, ``current_steps``, ``iter`` or ``global_step``; loss from ``loss``,
``train_loss`` or ``lm_loss`` (or the ``tag`` option). Records without the loss field (a final
summary line) are not points, and the run notes how many there were. Blank lines are skipped;
any other bad line makes the file unreadable, reported with its line number.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from ..errors import LoadError
from ..model import Run
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
    text = decode_text(read_bytes(path), path)
    records, numbers = [], []
    for number, line in enumerate(text.split("\n"), start=1):
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
    return runs_from_records(
        records,
        path,
        step_keys=STEP_KEYS,
        loss_keys=(tag,) if tag else LOSS_KEYS,
        what="line",
        numbers=numbers,
    )


def read(path: Path, *, tag: str | None = None) -> list[Run]:
    """Read one JSONL log.

    Raises:
        LoadError: see ``parse``.
    """
    path = Path(path)
    return identify_file(parse(path, tag=tag), path)
