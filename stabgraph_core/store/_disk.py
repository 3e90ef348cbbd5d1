"""A cache of loaded results folders on disk, shared by every process that reads them
(every gunicorn and Celery worker of the app).

Each worker process keeps its own small in-memory cache, but a new worker (or another one
behind the load balancer) would otherwise parse the same large folder again. Here the first
process to load a folder writes its runs to ``<cache_dir>/<key>.npz``; the others
read the arrays back, which is many times faster than parsing TensorBoard or JSON logs.

The key is a hash of the folder's path and, for every file below it, its relative path, size
and modification time (plus the cache format and the loader code's own files): editing,
adding or removing any file gives a new key, so stale runs are never served. Runs are stored
as raw numpy arrays plus one JSON header, never pickled, so reading an entry runs no code.
Run data stays on local disk rather than in Redis because one large folder is hundreds of MB.

A file lock per key makes concurrent first requests wait for one parse instead of repeating it.
Old entries are removed, least recently used first, when the cache outgrows
``STABGRAPH_RUN_CACHE_MB`` (default 2048).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import zipfile
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .. import __version__, loaders
from .. import errors as core_errors
from ..model import Run, RunSet
from ..walk import fingerprint

FORMAT = 1
DEFAULT_MAX_MB = 2048
_META = "__meta__"


def cached_load(
    folder: Path,
    *,
    cache_dir: Path,
    within: Path | None = None,
    listing: tuple | None = None,
) -> loaders.LoadResult:
    """``load_results(folder, within=within)``, from the shared cache when no file changed.

    Args:
        folder: a results folder (already checked to lie inside the results root).
        cache_dir: where entries live (the app uses ``STABGRAPH_CACHE_DIR/runs``).
        within: no file outside this folder is opened (the app passes its results root).
        listing: the folder's ``walk.fingerprint`` when the caller has just taken it, so
            the folder is not walked again for the key.

    Returns:
        The same ``LoadResult`` the loader gives: runs (with read-only arrays) and the
        one-line errors of files that could not be read.

    Raises:
        StabgraphError: whatever ``load_results`` raises for this folder (never cached).
    """
    key = folder_key(Path(folder).resolve(), within=within, listing=listing)
    return load_snapshot(folder, key, cache_dir=cache_dir, within=within)[0]


def load_snapshot(
    folder: Path, key: str, *, cache_dir: Path, within: Path | None = None
) -> tuple[loaders.LoadResult, str]:
    """The folder as it was when its key was ``key``, or as it is now if that is gone.

    Every part of a page (status, checklists, chart, table, exports) asks for the snapshot
    the page loaded, by key, whichever worker answers: the first load keeps its result
    under the key taken before it read, so a folder being written to while it was read is
    still one snapshot for all of them. A folder that changed since gets a new key.

    Returns:
        The result, and the key it is kept under (``key``, or the folder's key now when
        the entry for ``key`` is no longer in the cache).
    """
    folder = Path(folder).resolve()
    directory = Path(cache_dir)
    directory.mkdir(parents=True, exist_ok=True)
    hit = _read(directory / f"{key}.npz")
    if hit is not None:
        return hit, key
    key = folder_key(folder, within=within)  # gone (pruned): the folder as it is now
    entry = directory / f"{key}.npz"
    hit = _read(entry)
    if hit is not None:
        return hit, key
    with _locked(directory / f"{key}.lock"):
        hit = _read(entry)  # another process may have written it while we waited
        if hit is not None:
            return hit, key
        result = loaders.load_results(folder, within=within)
        # kept under the key taken before the read, even if a file grew meanwhile: the
        # next poll sees the new key and loads again
        _write(entry, result)
    _prune(directory, _max_bytes())
    return result, key


def folder_key(folder: Path, *, within: Path | None = None, listing: tuple | None = None) -> str:
    """Hex digest of the folder's path and every file's relative path, size and mtime.

    The files are those ``stabgraph_core.walk`` lists (``listing`` when already taken): the
    same walk the loaders read, which leaves out files that vanish while it runs.
    """
    files = fingerprint(folder, within=within) if listing is None else listing
    payload = [FORMAT, __version__, _code_key(), str(folder), list(files)]
    return hashlib.sha256(orjson.dumps(payload)).hexdigest()


@cache
def _code_key() -> list[tuple[str, int, int]]:
    """Size and mtime of the loader and model sources: a changed parser invalidates entries."""
    root = Path(__file__).resolve().parents[1]
    paths = sorted(
        [root / "model.py", root / "errors.py", root / "walk.py", *root.glob("loaders/*.py")]
    )
    return [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in paths if p.exists()]


@contextmanager
def _locked(path: Path):
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write(entry: Path, result: loaders.LoadResult) -> None:
    arrays: dict[str, np.ndarray] = {}
    runs_meta = []
    for i, run in enumerate(result.runs):
        arrays[f"s{i}"] = run.steps
        arrays[f"l{i}"] = run.loss
        names = list(run.extra)
        for j, name in enumerate(names):
            arrays[f"x{i}_{j}"] = run.extra[name]
        runs_meta.append(
            {
                "model": run.model,
                "seq_len": run.seq_len,
                "seed": run.seed,
                "label": run.label,
                "extra": names,
                "diverged": run.diverged,
                "divergence_step": run.divergence_step,
                "source": run.source,
                "notes": list(run.notes),
                "metadata": dict(run.metadata),
            }
        )
    try:
        header = orjson.dumps(
            {
                "format": FORMAT,
                "runs": runs_meta,
                "errors": [_error_dict(e) for e in result.errors],
            },
            option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
        )
    except TypeError:
        return  # metadata that JSON cannot hold: this folder is simply not cached
    arrays[_META] = np.frombuffer(header, dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **arrays)
        os.replace(tmp, entry)  # readers see the old entry or the whole new one, never half
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def _read(entry: Path) -> loaders.LoadResult | None:
    try:
        with np.load(entry, allow_pickle=False) as npz:
            header = orjson.loads(npz[_META].tobytes())
            if header.get("format") != FORMAT:
                return None
            runs = [_run(i, meta, npz) for i, meta in enumerate(header["runs"])]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # absent, or unreadable (e.g. from a crash mid-write): load afresh
    os.utime(entry)  # mark as recently used for pruning
    errors = [_error_from(e) for e in header["errors"]]
    return loaders.LoadResult(runs=RunSet(runs), errors=tuple(errors))


def _run(i: int, meta: dict[str, Any], npz: Any) -> Run:
    extra = {name: npz[f"x{i}_{j}"] for j, name in enumerate(meta["extra"])}
    run = Run(
        model=meta["model"],
        seq_len=meta["seq_len"],
        steps=npz[f"s{i}"],
        loss=npz[f"l{i}"],
        seed=meta["seed"],
        label=meta["label"],
        extra=extra,
        diverged=meta["diverged"],
        divergence_step=meta["divergence_step"],
        source=meta["source"],
        notes=tuple(meta["notes"]),
        metadata=meta["metadata"],
    )
    for values in (run.steps, run.loss, *run.extra.values()):
        values.flags.writeable = False  # shared by every caller: nobody may change it
    return run


def _error_dict(error: Exception) -> dict[str, Any]:
    if isinstance(error, core_errors.LoadError):
        return {"type": "LoadError", "path": error.path, "reason": error.reason, "line": error.line}
    return {"type": type(error).__name__, "message": str(error)}


def _error_from(data: dict[str, Any]) -> core_errors.StabgraphError:
    if data["type"] == "LoadError":
        return core_errors.LoadError(data["path"], data["reason"], data["line"])
    cls = getattr(core_errors, data["type"], core_errors.StabgraphError)
    if not (isinstance(cls, type) and issubclass(cls, core_errors.StabgraphError)):
        cls = core_errors.StabgraphError
    return cls(data["message"])


def _max_bytes() -> int:
    value = os.environ.get("STABGRAPH_RUN_CACHE_MB", "").strip()
    return (int(value) if value else DEFAULT_MAX_MB) * 1024 * 1024


def _prune(directory: Path, max_bytes: int) -> None:
    """Remove least recently used entries until the cache fits in ``max_bytes``."""
    entries = []
    for path in directory.glob("*.npz"):
        try:
            st = path.stat()
        except OSError:
            continue
        entries.append((st.st_mtime_ns, st.st_size, path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= max_bytes:
            break
        path.unlink(missing_ok=True)
        path.with_suffix(".lock").unlink(missing_ok=True)
        total -= size
