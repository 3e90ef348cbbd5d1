"""The one walk of a results folder: every file below it, in a fixed order, with its stat.

The loaders read what this walk lists, and the app fingerprints a folder (to key its
caches) from the same listing, so what is read and what is watched can never disagree.

* Folders whose name starts with ``.`` and ``__pycache__`` are not entered, and folder
  symlinks are not followed. Within a folder, files come in name order, then sub-folders.
* A file that vanishes while the folder is walked (log rotation, a job cleaning up) is
  left out, as if the walk had come a moment later. Nothing here raises for a file.
* With ``within`` (the app passes its results root), a link that leads outside it is never
  opened, not even to ask its size: it is listed with a one-line reason instead, as is a
  link to nothing, something that is not a regular file (a pipe would block its reader
  for good), or a file the walk may not stat.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SKIPPED_FOLDERS = frozenset({"__pycache__"})
OUTSIDE = "links outside the results root; not read"
DANGLING = "a link to a file that does not exist"
NOT_REGULAR = "not a regular file; not read"


@dataclass(frozen=True)
class FileEntry:
    """One file found by :func:`walk_files`.

    Args:
        path: the file as found under the walked folder (a link stays a link).
        rel: its path relative to the walked folder, with ``/`` separators.
        size: size in bytes of what it holds (-1 when refused).
        mtime_ns: modification time in nanoseconds (-1 when refused).
        refused: why the file is not to be read, one line; None when it can be read.
    """

    path: Path
    rel: str
    size: int = -1
    mtime_ns: int = -1
    refused: str | None = None


def walk_files(
    folder: str | os.PathLike[str], *, within: Path | None = None
) -> Iterator[FileEntry]:
    """Every file below ``folder`` (see the module docstring), lazily, in a fixed order.

    Args:
        folder: the folder to walk; one that cannot be listed gives nothing.
        within: when given, nothing outside this folder is ever opened or stat-ed.

    Returns:
        An iterator of :class:`FileEntry`, so a caller that needs only the first file
        stops the walk there.
    """
    boundary = _boundary(within)
    if boundary is not None and not _inside(os.path.realpath(folder), boundary):
        return
    yield from _walk(os.fspath(folder), "", boundary)


def file_entry(path: str | os.PathLike[str], *, within: Path | None = None) -> FileEntry | None:
    """The :class:`FileEntry` of one file (its ``rel`` is its name), as the walk would list
    it; None if it does not exist or is a folder."""
    boundary = _boundary(within)
    path = os.fspath(path)
    if boundary is not None and not _inside(os.path.realpath(os.path.dirname(path)), boundary):
        return FileEntry(Path(path), os.path.basename(path), refused=OUTSIDE)
    return _entry(path, os.path.basename(path), boundary)


def _boundary(within: Path | None) -> str | None:
    return os.path.realpath(within) if within is not None else None


def _inside(path: str, boundary: str) -> bool:
    return os.path.commonpath([boundary, path]) == boundary


def _walk(folder: str, prefix: str, boundary: str | None) -> Iterator[FileEntry]:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError:
        return  # gone, or not ours to list
    folders = []
    for entry in entries:
        rel = prefix + entry.name
        try:
            is_folder = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if not is_folder:
            found = _entry(entry.path, rel, boundary)
            if found is not None:
                yield found
        elif not entry.name.startswith(".") and entry.name not in SKIPPED_FOLDERS:
            folders.append((entry.path, rel + "/"))
    for path, rel in folders:
        yield from _walk(path, rel, boundary)


def _entry(path: str, rel: str, boundary: str | None) -> FileEntry | None:
    """The listing of one name; None for a file that vanished or a link to a folder."""
    is_link = os.path.islink(path)
    try:
        if is_link and boundary is not None and not _inside(os.path.realpath(path), boundary):
            return FileEntry(Path(path), rel, refused=OUTSIDE)
        st = os.stat(path)
    except FileNotFoundError:
        if is_link and os.path.lexists(path):
            return FileEntry(Path(path), rel, refused=DANGLING)
        return None  # gone since it was listed (the link itself, or the file)
    except OSError as err:
        return FileEntry(Path(path), rel, refused=f"cannot read file ({err.strerror or err})")
    if stat.S_ISDIR(st.st_mode):
        return None  # a link to a folder: folder links are not followed
    if not stat.S_ISREG(st.st_mode):
        return FileEntry(Path(path), rel, refused=NOT_REGULAR)
    return FileEntry(Path(path), rel, st.st_size, st.st_mtime_ns)


def fingerprint(
    folder: str | os.PathLike[str], *, within: Path | None = None
) -> tuple[tuple[str, int, int, str], ...]:
    """``(rel, size, mtime_ns, refused)`` of every file :func:`walk_files` lists: it changes
    whenever a file the loaders would read (or refuse) is added, removed or rewritten."""
    return tuple(
        (e.rel, e.size, e.mtime_ns, e.refused or "") for e in walk_files(folder, within=within)
    )
