"""Which reader reads a file, and reading it: by name, suffix and then content.

``read_file`` is the whole-file read every caller uses. The incremental reader
(``_incremental``) asks the same questions through ``kind_of`` and ``parse_text``, so a log
read in pieces goes through the very parser that reads it whole.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidArgumentError, LoadError
from ..model import Run
from . import _csv as csv_io
from . import (
    console,
    hf_trainer,
    jsonl,
    lightning_csv,
    long_context,
    reference_json,
    resnet_bk,
    tb_export,
    tensorboard,
    wandb_csv,
)
from ._clean import read_json_runs
from ._identity import MANIFEST_NAME
from ._jsonio import GZIP_MAGIC, decode_text, read_bytes

# JSON shapes in the order they are tried; the first that matches reads the file.
_JSON_FORMATS = (long_context, hf_trainer, reference_json, tb_export, resnet_bk)

#: Options of one file's read: (tag, preset, regex).
Options = tuple[str | None, str | None, str | None]

#: Kinds of file that grow by appending (read in pieces by ``_incremental``).
GROWING_KINDS = frozenset({"jsonl", "csv", "console", "tfevents"})


def kind_of(path: Path) -> str:
    """``tfevents``, ``json``, ``jsonl``, ``csv`` or ``console``, from the name alone
    (a ``.gz`` file by the name it had before compression, with ``gz`` prefixed)."""
    inner = Path(path.stem) if path.suffix.lower() == ".gz" else path
    prefix = "gz-" if inner is not path else ""
    suffix = inner.suffix.lower()
    if tensorboard.matches_name(inner):
        return prefix + "tfevents"
    if suffix == ".json":
        return prefix + "json"
    if suffix in (".jsonl", ".ndjson"):
        return prefix + "jsonl"
    if suffix == ".csv":
        return prefix + "csv"
    return prefix + "console"


def parse_text(kind: str, text: str, path: Path, options: Options) -> list[Run]:
    """Runs from the decoded text of a ``jsonl``, ``csv`` or ``console`` file.

    Raises:
        LoadError: malformed for its format, or an unknown CSV shape.
        InvalidArgumentError: an unknown preset or an invalid regex.
    """
    tag, preset, regex = options
    if kind == "jsonl":
        return jsonl.from_text(text, path, tag=tag)
    if kind == "csv":
        cells = csv_io.header(text)
        if tb_export.matches_header(cells):
            return tb_export.from_csv(text, path)
        if wandb_csv.matches_header(cells):
            return wandb_csv.from_csv(text, path, tag=tag)
        if lightning_csv.matches_header(cells):
            return lightning_csv.from_csv(text, path, tag=tag)
        raise LoadError(
            path,
            f"unknown format: a CSV without step and loss columns ({', '.join(cells[:6])})",
        )
    return console.from_text(text, path, preset=preset, regex=regex)


def read_file(
    path: Path, *, tag: str | None = None, preset: str | None = None, regex: str | None = None
) -> list[Run]:
    """Read one file in whatever supported format it is, identity left to the caller.

    The format is chosen by name (``events.out.tfevents.*``), suffix (``.json``, ``.jsonl``,
    ``.csv``) and then content (JSON shape, CSV header); anything else is read as a console log.
    A gzip file (``log.jsonl.gz``) is read as the file it compresses.

    Raises:
        LoadError: unreadable, unknown format, or malformed for its format.
    """
    path = Path(path)
    kind = kind_of(path).removeprefix("gz-")
    try:
        if kind == "tfevents":
            return tensorboard.parse(path, tag=tag)
        if kind == "json":
            return read_json_runs(path, lambda data: _from_json(data, path, tag))
        if kind == "console":
            _reject_binary(path)
        return parse_text(kind, csv_io.read_text(path), path, (tag, preset, regex))
    except InvalidArgumentError as err:  # a bad preset or regex given in runs.toml
        raise LoadError(path, f"{MANIFEST_NAME}: {err}") from None
    except RecursionError:
        raise LoadError(path, "JSON nested too deeply") from None
    except OSError as err:
        raise LoadError(path, f"cannot read file ({err.strerror or err})") from None


def _from_json(data: object, path: Path, tag: str | None) -> list[Run]:
    """Runs from a parsed JSON document, by the first format whose shape it has.

    Raises:
        LoadError: no supported shape, or malformed for its format.
    """
    for module in _JSON_FORMATS:
        if module.matches(data):
            if module is hf_trainer:
                return module.from_json(data, path, tag=tag)
            return module.from_json(data, path)
    raise LoadError(path, "unknown format: a JSON file in none of the supported shapes")


def _reject_binary(path: Path, probe: int = 8192) -> None:
    """Fail on a binary file from its first bytes, before reading all of it as text
    (a gzip file is let through: it is read as the text it compresses)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(probe)
    except OSError:
        return  # read_text reports it
    if b"\x00" in head and not head.startswith(GZIP_MAGIC):
        decode_text(head, path)


__all__ = ["GROWING_KINDS", "Options", "kind_of", "parse_text", "read_bytes", "read_file"]
