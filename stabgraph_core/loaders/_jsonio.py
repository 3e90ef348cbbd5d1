"""Reading files as bytes, text or JSON, turning every failure into one ``LoadError``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..errors import LoadError

#: Written in place of ``Infinity`` so orjson (which rejects the literal) can parse the rest;
#: ``float_array`` turns it back into inf. It is the largest finite double, never a real loss.
INF_SENTINEL = 1.7976931348623157e308

# Python's json module writes NaN/Infinity/-Infinity for non-finite floats (allow_nan=True is
# its default), so real logs carry them. Only a literal in a value position is replaced: right
# after ``[ , :`` or a line break, or after a space that itself follows one of those (or
# indentation). A word inside a string ("a NaN b") is left as it is.
_NON_STANDARD = (
    (b"-Infinity", b"-1.7976931348623157e308"),
    (b"Infinity", b"1.7976931348623157e308"),
    (b"-NaN", b"null"),
    (b"NaN", b"null"),
)
_DELIMITERS = (b", ", b",", b"[", b": ", b":", b"[ ", b"  ", b"\n", b"\n ", b"\t", b"\t ")


def read_bytes(path: Path) -> bytes:
    """The whole file; an empty file or an OS error is a ``LoadError``.

    Raises:
        LoadError: the file is empty or cannot be opened.
    """
    try:
        data = path.read_bytes()
    except OSError as err:
        raise LoadError(path, f"cannot read file ({err.strerror or err})") from None
    if not data.strip():
        raise LoadError(path, "empty file")
    return data


def decode_text(data: bytes, path: Path) -> str:
    """UTF-8 text (a leading BOM is dropped); NUL bytes or bad UTF-8 are a ``LoadError``.

    Raises:
        LoadError: binary data or text that is not UTF-8, with the line where it starts.
    """
    nul = data.find(b"\x00")
    if nul != -1:
        line = data.count(b"\n", 0, nul) + 1
        raise LoadError(path, "binary data, not a text log (NUL byte)", line)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise LoadError(path, f"not UTF-8 text (byte 0x{data[err.start]:02x})", line) from None


def _tolerant(data: bytes) -> bytes:
    for token, replacement in _NON_STANDARD:
        total = data.count(token)
        if not total:
            continue
        in_value_position = 0
        for delimiter in _DELIMITERS:  # most likely first: usually one or two scans suffice
            in_value_position += data.count(delimiter + token)
            if in_value_position == total:
                break
        if in_value_position == total:
            data = data.replace(token, replacement)  # every occurrence is a value: one pass
            continue
        for delimiter in _DELIMITERS:  # some occurrence sits inside a string: leave it alone
            data = data.replace(delimiter + token, delimiter + replacement)
    return data


def loads(data: bytes, path: Path, line: int | None = None) -> Any:
    """Parse JSON with orjson; bytes holding ``NaN``/``Infinity`` literals get a tolerant pass.

    Args:
        data: the JSON document.
        path: the file, for error messages.
        line: the line number of ``data`` inside the file (for JSONL records).

    Raises:
        LoadError: invalid or truncated JSON, or not UTF-8, with the line number.
    """
    # Strict JSON first (the common case pays nothing extra); only a failure at a NaN or
    # Infinity literal earns the tolerant pass.
    failure = _try_parse(data)
    if not isinstance(failure, _Failure):
        return failure
    doc = data
    window = data[max(failure.pos - 1, 0) : failure.pos + 4]
    if b"NaN" in window or b"Inf" in window:
        # Everything before the failure parsed, so it holds no literal in a value position:
        # only the rest needs rewriting (for a diverging run, usually a short tail).
        start = max(failure.pos - 3, 0)  # room for "-" and a two-byte delimiter
        doc = data[:start] + _tolerant(data[start:])
        failure = _try_parse(doc)
        if not isinstance(failure, _Failure):
            return failure
    if b"\x00" in data:
        decode_text(data, path)
    msg = failure.message.split(":", 1)[0]
    if "UTF-8" in msg:
        decode_text(data, path)
    if failure.pos >= len(doc.rstrip()):
        msg = "truncated JSON (unexpected end of data)"
    else:
        msg = f"invalid JSON ({msg})"
    raise LoadError(path, msg, line if line is not None else failure.lineno)


@dataclass(frozen=True)
class _Failure:
    """Where orjson stopped. Kept instead of the exception, whose traceback would tie the
    whole document to a reference cycle until the next garbage collection."""

    pos: int
    lineno: int
    message: str


def _try_parse(doc: bytes) -> Any:
    try:
        return orjson.loads(doc)
    except orjson.JSONDecodeError as exc:
        return _Failure(exc.pos, exc.lineno, str(exc))
