"""An in-process cache of parsed files: one entry per path and options, valid for one size
and modification time.

Re-reading an unchanged folder (the app does this on every refresh) then costs one ``stat``
per file. A file that changed replaces its entry, so a log growing under a live page is
held once, not once per version. Cached arrays are made read-only so that no caller can
change what the next one gets. Bounded, least recently used first out.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path

from ..errors import LoadError
from ..model import Run

MAX_ENTRIES = 256

_Entry = list[Run] | LoadError
_cache: OrderedDict[Hashable, tuple[tuple[int, int], _Entry]] = OrderedDict()


def _freeze(runs: list[Run]) -> list[Run]:
    for run in runs:
        run.steps.flags.writeable = False
        run.loss.flags.writeable = False
        for values in run.extra.values():
            values.flags.writeable = False
    return runs


def cached_read(
    path: Path, options: Hashable, read: Callable[[], list[Run]]
) -> list[Run] | LoadError:
    """``read()``'s runs (or its ``LoadError``), from the cache when the file is unchanged."""
    try:
        st = os.stat(path)
    except OSError as err:
        return LoadError(path, f"cannot read file ({err.strerror or err})")
    key = (str(path.resolve()), options)
    version = (st.st_size, st.st_mtime_ns)
    held = _cache.get(key)
    if held is not None and held[0] == version:
        _cache.move_to_end(key)
        return held[1]
    _cache.pop(key, None)  # an older version of the file: nobody asks for it again
    try:
        entry: _Entry = _freeze(read())
    except LoadError as err:
        entry = err
    _cache[key] = (version, entry)
    while len(_cache) > MAX_ENTRIES:
        _cache.popitem(last=False)
    return entry


def clear_cache() -> None:
    """Forget every cached file (tests call this between cases)."""
    _cache.clear()


def cache_size() -> int:
    """Number of cached files."""
    return len(_cache)
