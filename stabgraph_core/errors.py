"""Errors whose message is safe to show a user, one line each."""

from __future__ import annotations

from pathlib import Path


class StabgraphError(Exception):
    """Base of every error stabgraph raises on purpose; ``str(err)`` is user-facing."""


class InvalidArgumentError(StabgraphError):
    """An option or argument is out of range (e.g. ``--num_steps 0``)."""


class NotFoundError(StabgraphError):
    """A results folder, file or run that was asked for does not exist."""


class ExportError(StabgraphError):
    """A figure could not be written (no Chromium, unwritable path, ...)."""


class LoadError(StabgraphError):
    """One file could not be read.

    Carries the file (relative to the results root where known), the line or record
    number when there is one, and the reason. ``str()`` is the one line shown to users:
    ``runs/bad.json: line 3: truncated JSON``.
    """

    def __init__(self, path: str | Path, reason: str, line: int | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.line = line
        where = f"{self.path}: line {line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")

    def relative_to(self, root: str | Path) -> LoadError:
        """The same error with its path shown relative to ``root`` (when inside it)."""
        try:
            rel = Path(self.path).resolve().relative_to(Path(root).resolve())
        except ValueError:
            return self
        return LoadError(rel.as_posix(), self.reason, self.line)
