"""Hugging Face ``trainer_state.json``: ``log_history`` of train and eval entries.

Train entries carry ``loss``, eval entries ``eval_loss``; the loss is ``loss`` unless the
``tag`` option names another key (``eval_loss``). Other numeric fields (``learning_rate``,
``grad_norm``, ``epoch``) become extra series.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import LoadError
from ..model import Run
from ._clean import read_json_runs
from ._identity import identify_file
from ._records import runs_from_records

DEFAULT_LOSS_KEY = "loss"


def matches(data: Any) -> bool:
    """Whether parsed JSON looks like a trainer state."""
    return isinstance(data, dict) and "log_history" in data


def from_json(data: Any, path: Path, *, tag: str | None = None) -> list[Run]:
    """The run in a trainer state.

    Raises:
        LoadError: ``log_history`` missing, empty or malformed, or no such loss key.
    """
    history = data.get("log_history") if isinstance(data, dict) else None
    if not isinstance(history, list):
        raise LoadError(path, "'log_history' must be a list of entries")
    if not history:
        raise LoadError(path, "no steps: 'log_history' is empty")
    for index, entry in enumerate(history):
        if not isinstance(entry, dict):
            raise LoadError(path, f"log_history[{index}] is not an object")
    key = tag or DEFAULT_LOSS_KEY
    metadata = {k: data[k] for k in ("global_step", "max_steps", "num_train_epochs") if k in data}
    return runs_from_records(
        history,
        path,
        step_keys=("step",),
        loss_keys=(key,),
        what="log_history entry",
        metadata=metadata,
    )


def read(path: Path, *, tag: str | None = None) -> list[Run]:
    """Read one ``trainer_state.json``.

    Raises:
        LoadError: see ``from_json``.
    """
    path = Path(path)
    return identify_file(read_json_runs(path, lambda data: from_json(data, path, tag=tag)), path)
