"""Reading files as bytes, text or JSON, turning every failure into one ``LoadError``.

Compressed logs are read as they are: a file that starts with gzip's magic bytes (a
``metrics.jsonl.gz`` copy of any supported format) is decompressed here, so every reader
sees the same bytes it would see uncompressed.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..errors import LoadError

GZIP_MAGIC = b"\x1f\x8b"
#: The most a compressed log may expand to: more is refused rather than filling memory.
MAX_DECOMPRESSED = 1 << 30
_BOM = b"\xef\xbb\xbf"


def read_bytes(path: Path) -> bytes:
    """The whole file, decompressed when it is gzip; an empty file or an OS error is a
    ``LoadError``.

    Raises:
        LoadError: the file is empty, cannot be opened, or is a damaged gzip stream.
    """
    try:
        data = path.read_bytes()
    except OSError as err:
        raise LoadError(path, f"cannot read file ({err.strerror or err})") from None
    if data.startswith(GZIP_MAGIC):
        data = gunzip(data, path)
    if not data.strip():
        raise LoadError(path, "empty file")
    return data


def gunzip(data: bytes, path: Path) -> bytes:
    """The content of a gzip file (concatenated members too).

    A stream cut short (a ``.gz`` still being written) gives what it holds so far; the
    readers then treat its last record as not written yet, as for a plain file.

    Raises:
        LoadError: a damaged stream, or one that expands past ``MAX_DECOMPRESSED``.
    """
    out = bytearray()
    rest = data
    while rest.startswith(GZIP_MAGIC):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(rest, MAX_DECOMPRESSED + 1 - len(out))
        except zlib.error as err:
            raise LoadError(path, f"damaged gzip data ({err})") from None
        if len(out) > MAX_DECOMPRESSED:
            raise LoadError(path, f"decompresses to more than {MAX_DECOMPRESSED >> 20} MiB")
        if not inflater.eof:
            break  # cut short: keep what arrived
        rest = inflater.unused_data
    return bytes(out)


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


def loads(data: bytes, path: Path, line: int | None = None) -> Any:
    """Parse JSON as trainers write it: a leading BOM, ``NaN``/``Infinity`` literals and
    numbers past the double range (``1e400``, read as inf, as Python's json reads it).

    ``null`` stays ``None`` (a missing value) and ``NaN`` becomes a float NaN, so the two
    are never confused. Strict JSON goes through orjson; only a document orjson refuses
    earns a second pass with Python's json, which reads those extensions.

    Args:
        data: the JSON document.
        path: the file, for error messages.
        line: the line number of ``data`` inside the file (for JSONL records).

    Raises:
        LoadError: invalid or truncated JSON, or not UTF-8, with the line number.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        failure = _Failure(exc.pos, exc.lineno, str(exc))
    try:
        return json.loads(data)  # reads NaN, Infinity, -Infinity and 1e400 as floats
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError alike
        pass
    if b"\x00" in data:
        decode_text(data, path)
    msg = failure.message.split(":", 1)[0]
    if "UTF-8" in msg:
        decode_text(data, path)
    if failure.pos >= len(data.rstrip()):
        msg = "truncated JSON (unexpected end of data)"
    else:
        msg = f"invalid JSON ({msg})"
    raise LoadError(path, msg, line if line is not None else failure.lineno)


def is_complete_json(text: str) -> bool:
    """Whether ``text`` parses as JSON (with the extensions :func:`loads` accepts)."""
    try:
        loads(text.encode(), Path("-"))
    except LoadError:
        return False
    return True


@dataclass(frozen=True)
class _Failure:
    """Where orjson stopped. Kept instead of the exception, whose traceback would tie the
    whole document to a reference cycle until the next garbage collection."""

    pos: int
    lineno: int
    message: str


__all__ = ["GZIP_MAGIC", "decode_text", "gunzip", "is_complete_json", "loads", "read_bytes"]
