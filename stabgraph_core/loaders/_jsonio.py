"""Reading files as bytes, text or JSON, turning every failure into one ``LoadError``.

Compressed logs are read as they are: a file that starts with gzip's magic bytes (a
``metrics.jsonl.gz`` copy of any supported format) is decompressed here, so every reader
sees the same bytes it would see uncompressed.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..errors import LoadError

#: Written in place of ``Infinity`` and ``NaN`` literals so that orjson (which rejects them)
#: can parse the rest; ``_clean.float_array`` turns them back into inf and NaN. They are the
#: largest finite double and the one below it: never a real loss.
INF_SENTINEL = 1.7976931348623157e308
NAN_SENTINEL = 1.7976931348623155e308

# Python's json module writes NaN/Infinity/-Infinity for non-finite floats (allow_nan=True is
# its default), so real logs carry them. Only a literal in a value position is replaced: right
# after ``[ , :`` or a line break, or after a space that itself follows one of those (or
# indentation). A word inside a string ("a NaN b") is left as it is.
_NON_STANDARD = (
    (b"-Infinity", b"-1.7976931348623157e308"),
    (b"Infinity", b"1.7976931348623157e308"),
    (b"-NaN", b"1.7976931348623155e308"),
    (b"NaN", b"1.7976931348623155e308"),
)
_DELIMITERS = (b", ", b",", b"[", b": ", b":", b"[ ", b"  ", b"\n", b"\n ", b"\t", b"\t ")

_SENTINELS = {"NaN": NAN_SENTINEL, "Infinity": INF_SENTINEL, "-Infinity": -INF_SENTINEL}

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

    ``null`` stays ``None`` (a missing value) and is never confused with ``NaN``. Strict JSON
    goes through orjson. A document it refuses at a ``NaN``/``Infinity`` literal is parsed
    again with those literals written as sentinels (``INF_SENTINEL``, ``NAN_SENTINEL``, which
    ``float_array`` turns back into inf and NaN); anything else orjson refuses gets Python's
    json (the literals as the same sentinels, ``1e400`` as inf).

    Args:
        data: the JSON document.
        path: the file, for error messages.
        line: the line number of ``data`` inside the file (for JSONL records).

    Raises:
        LoadError: invalid or truncated JSON, or not UTF-8, with the line number.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    failure = _try_parse(data)
    if not isinstance(failure, _Failure):
        return failure
    window = data[max(failure.pos - 1, 0) : failure.pos + 4]
    if b"NaN" in window or b"Inf" in window:
        # Everything before the failure parsed, so it holds no literal in a value position:
        # only the rest needs rewriting (for a diverging run, usually a short tail).
        start = max(failure.pos - 3, 0)  # room for "-" and a two-byte delimiter
        parsed = _try_parse(data[:start] + _tolerant(data[start:]))
        if not isinstance(parsed, _Failure):
            return parsed
    try:
        # the literals as the same sentinels; 1e400 as inf, as Python reads it
        return json.loads(data, parse_constant=_SENTINELS.__getitem__)
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


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_PAIR = re.compile(rb"\[\]|\{\}")
_CLOSER = {ord("["): b"]", ord("{"): b"}"}
_SALVAGE_TRIES = 16


def salvage(data: bytes) -> Any:
    """What a cut JSON document held up to its last whole element, or None.

    A trainer that rewrites a JSON log may be caught mid-write. The document is cut back to
    its last comma that follows a whole object or list (as records in a list are) and closed
    there; None when no such point parses.
    """
    data = data.removeprefix(_BOM)
    end = len(data)
    for _ in range(_SALVAGE_TRIES):
        comma = data.rfind(b",", 0, end)
        if comma == -1:
            return None
        end = comma
        head = data[:comma].rstrip()
        if not head.endswith((b"}", b"]")):
            continue
        brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", head))
        while True:
            fewer = _PAIR.sub(b"", brackets)
            if fewer == brackets:
                break
            brackets = fewer
        if b"]" in brackets or b"}" in brackets:
            continue  # the comma sits inside a string: not a cut point
        closers = b"".join(_CLOSER[c] for c in reversed(brackets))
        try:
            return loads(head + closers, Path("-"))
        except LoadError:
            continue
    return None


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


def _try_parse(doc: bytes) -> Any:
    try:
        return orjson.loads(doc)
    except orjson.JSONDecodeError as exc:
        return _Failure(exc.pos, exc.lineno, str(exc))


@dataclass(frozen=True)
class _Failure:
    """Where orjson stopped. Kept instead of the exception, whose traceback would tie the
    whole document to a reference cycle until the next garbage collection."""

    pos: int
    lineno: int
    message: str


__all__ = [
    "GZIP_MAGIC",
    "INF_SENTINEL",
    "NAN_SENTINEL",
    "decode_text",
    "gunzip",
    "loads",
    "read_bytes",
    "salvage",
]
