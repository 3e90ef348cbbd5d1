"""TensorBoard event files (``events.out.tfevents.*``), read with tbparse.

One scalar tag is the loss: the ``tag`` option, else the first present of ``DEFAULT_TAGS``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import LoadError
from ..model import Run
from ._clean import build_runs
from ._identity import identify_file

DEFAULT_TAGS = ("loss", "train_loss", "train/loss", "lm loss", "lm-loss")
FILE_PREFIX = "events.out.tfevents"


def matches_name(path: Path) -> bool:
    """Whether the file name is a TensorBoard event file's."""
    return path.name.startswith(FILE_PREFIX)


def pick_tag(available: list[str], tag: str | None, path: Path, defaults: tuple[str, ...]) -> str:
    """The requested tag, or the first default present.

    Raises:
        LoadError: the requested tag is absent, or no default is present; lists what is there.
    """
    shown = ", ".join(repr(t) for t in available[:8]) or "none"
    if tag is not None:
        if tag not in available:
            raise LoadError(path, f"no scalar tag {tag!r} (tags: {shown})")
        return tag
    for candidate in defaults:
        if candidate in available:
            return candidate
    raise LoadError(path, f"no loss tag among {', '.join(defaults)} (tags: {shown}; use --tag)")


def parse(path: Path, *, tag: str | None = None) -> list[Run]:
    """Runs from one event file, identity left to the caller.

    Raises:
        LoadError: tbparse is missing, the file is not a readable event file, or has no such tag.
    """
    try:
        from tbparse import SummaryReader
    except ImportError:  # pragma: no cover - tbparse is a declared dependency
        raise LoadError(
            path, "reading TensorBoard files needs tbparse: pip install tbparse"
        ) from None
    try:
        with warnings.catch_warnings():  # tbparse's own pandas deprecation warnings
            warnings.simplefilter("ignore")
            frame = SummaryReader(str(path), pivot=False).scalars
    except Exception as err:  # noqa: BLE001 - tbparse/tensorboard raise many unrelated types
        raise LoadError(
            path, f"not a readable TensorBoard event file ({type(err).__name__})"
        ) from None
    if frame is None or frame.empty or "tag" not in frame:
        raise LoadError(path, "no scalar values in the TensorBoard event file")
    available = list(dict.fromkeys(frame["tag"].tolist()))
    chosen = pick_tag(available, tag, path, DEFAULT_TAGS)
    rows = frame[frame["tag"] == chosen]
    return build_runs(
        rows["step"].to_numpy(np.int64),
        rows["value"].to_numpy(np.float64),
        model="",
        metadata={"tag": chosen, "tags": available},
    )


def read(path: Path, *, tag: str | None = None) -> list[Run]:
    """Read one event file (see the module docstring for the tag).

    Raises:
        LoadError: see ``parse``.
    """
    path = Path(path)
    return identify_file(parse(path, tag=tag), path)
