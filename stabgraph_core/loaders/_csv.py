"""CSV reading shared by the CSV formats: every cell as text, then checked numeric columns.

Cells are read as text so that an empty cell (no point) stays distinct from ``nan``/``inf``
(a logged non-finite value), which pandas' default NA handling would merge. A row cut short
(fewer cells than the header) leaves its missing cells empty: no value, never a NaN. A last
row without its line break that is short, or ends inside a quoted cell, is still being
written and is left out (see :func:`frame`).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import LoadError
from ._clean import pending_note, split_tail
from ._jsonio import decode_text, read_bytes


def read_text(path: Path) -> str:
    """The file as UTF-8 text.

    Raises:
        LoadError: empty, binary or not UTF-8.
    """
    return decode_text(read_bytes(path), path)


def header(text: str) -> list[str]:
    """The first row's cells (quotes removed)."""
    return _cells(text.split("\n", 1)[0].rstrip("\r"))


def _cells(line: str) -> list[str]:
    """One line's cells; a line the csv module refuses (a stray carriage return) is split
    on commas, for the parser to report properly."""
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return line.split(",")


def frame(text: str, path: Path) -> tuple[pd.DataFrame, list[str]]:
    """All cells as strings (empty cells are ``""``), and notes about the rows.

    The notes say when the last row was left out because it is not written yet.

    Raises:
        LoadError: a row has too many cells, with its line number.
    """
    notes = []
    body, tail = split_tail(text)
    if tail.strip() and body.strip():
        cells = _cells(tail)
        if tail.count('"') % 2 or len(cells) < len(header(text)):
            text = body
            notes.append(pending_note("row"))
    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
        return table, notes
    except (pd.errors.ParserError, ValueError) as err:
        line = re.search(r"line (\d+)", str(err))
        reason = str(err).split(":", 1)[-1].strip() if "saw" in str(err) else str(err)
        raise LoadError(path, f"malformed CSV ({reason})", int(line[1]) if line else None) from None
    except pd.errors.EmptyDataError:
        raise LoadError(path, "empty file") from None


def numbers(column: pd.Series, path: Path, *, header_lines: int = 1) -> np.ndarray:
    """A float64 array from text cells; empty cells become NaN.

    Use ``present(column)`` to tell an empty cell from a logged ``nan``.

    Raises:
        LoadError: a non-empty cell is not a number, with its line number.
    """
    cells = column.to_numpy(dtype=str)
    text = np.where(cells == "", "nan", cells)
    try:
        return text.astype(np.float64)
    except ValueError:
        pass
    for index, cell in enumerate(text.tolist()):  # error path only: find the first bad cell
        try:
            float(cell)
        except ValueError:
            raise LoadError(
                path,
                f"column {column.name!r}: {cell!r:.40} is not a number",
                index + 1 + header_lines,
            ) from None
    raise LoadError(path, f"column {column.name!r} is not numeric")  # pragma: no cover


def present(column: pd.Series) -> np.ndarray:
    """Which rows have a non-empty cell."""
    return column.to_numpy(dtype=str) != ""
