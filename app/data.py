"""Turn the page's source choice into runs, load errors and detections, cached per process.

The browser never sends a filesystem path. It sends a *choice*: ``simulated`` (with seed,
steps and lengths) or the name of one folder among those :func:`list_folders` offered, which
are the sub-folders of ``STABGRAPH_RESULTS_ROOT`` that hold run files. A name that is not one
of them, contains ``..`` or a separator, is absolute, or is a symlink that leads out of the
root is refused with a one-line error. Inside a folder, nothing outside the root is ever
opened either: a file link that leads out of it (or to nothing, or to a pipe) is one error
line (``stabgraph_core.walk``, the same walk for the listing, the loaders and the keys).

Loading and detection are the expensive part (10 runs x 1M steps take seconds), so
:func:`load_source` keeps the last few loaded sources in a per-process LRU cache. The key is
the choice itself plus, for a folder, the size and mtime of every file in it: every gunicorn
worker computes the same key, and an edited folder is read again. Detections are cached
apart, keyed by that same source key plus the detector's settings (a frozen
:class:`~stabgraph_core.detect.DetectorConfig`), so new settings re-run detection on the
runs already in memory and never reload them; going back to earlier settings is a hit.
Parsed folders are also kept on disk for every worker (``stabgraph_core.store``), so a new
worker reads arrays instead of parsing logs. The page's source callback runs
:func:`load_source` as a background job (on a thread of a web worker, or on a Celery
worker); that job fills the on-disk cache, and the chart and table callbacks that follow
call :func:`load_source` again in their own process, where it reads the arrays back and
re-runs detection, never the parse.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from stabgraph_core import RunSet, simulate
from stabgraph_core.detect import DEFAULT_CONFIG, Detection, DetectorConfig, detect_run
from stabgraph_core.errors import InvalidArgumentError, NotFoundError, StabgraphError
from stabgraph_core.simulation import DEFAULT_LENGTHS, DEFAULT_NUM_STEPS, DEFAULT_SEED
from stabgraph_core.store import RunStore
from stabgraph_core.walk import walk_files

from . import inputs
from .config import load_settings

SIMULATED = "simulated"
MAX_SIM_STEPS = inputs.MAX_SIM_STEPS
MAX_SIM_LENGTHS = inputs.MAX_SIM_LENGTHS
CACHE_SOURCES = 2  # one large source is ~160 MB of arrays; keep the current and the previous
CACHE_DETECTIONS = 4  # detections are small; a few settings per source
_HIDDEN = (".", "_")


@dataclass(frozen=True)
class SourceChoice:
    """What the page asked for: simulated runs, or one listed folder by name."""

    kind: str = SIMULATED
    seed: int = DEFAULT_SEED
    steps: int = DEFAULT_NUM_STEPS
    lengths: tuple[int, ...] = DEFAULT_LENGTHS
    folder: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe form kept in the page's source store."""
        if self.kind == SIMULATED:
            return {
                "kind": SIMULATED,
                "seed": self.seed,
                "steps": self.steps,
                "lengths": list(self.lengths),
            }
        return {"kind": "folder", "folder": self.folder}

    @property
    def label(self) -> str:
        """Short human name: ``simulated (seed 42, 1,000 steps)`` or the folder name."""
        if self.kind == SIMULATED:
            return f"simulated (seed {self.seed}, {self.steps:,} steps)"
        return str(self.folder)


@dataclass(frozen=True, eq=False)
class Loaded:
    """Runs of one source with what the loader and the detector (with ``config``) said.

    Compared and hashed by identity: the same cached object stands for the same source
    and detector settings, which is what keys the chart cache.
    """

    choice: SourceChoice
    runs: RunSet
    errors: tuple[str, ...] = ()
    detections: dict[str, Detection] = field(default_factory=dict)
    config: DetectorConfig = DEFAULT_CONFIG
    #: the folder's snapshot key (None for simulated runs); the page keeps it in its store
    snapshot: str | None = None

    def store(self) -> dict[str, Any]:
        """The page's source store: the choice and, for a folder, which snapshot of it."""
        raw = self.choice.to_dict()
        if self.snapshot is not None:
            raw["snapshot"] = self.snapshot
        return raw


def run_states(loaded: Loaded, now: float | None = None) -> dict[str, str]:
    """``running`` or ``finished`` per run of a folder, by when its file last changed.

    A run is running while its log was written to within ``STABGRAPH_FINISHED_AFTER_S``
    seconds (120 by default); a file that is gone counts as finished. Simulated runs: none.
    """
    if loaded.snapshot is None or loaded.choice.kind == SIMULATED:
        return {}
    settings = load_settings()
    folder = resolve_folder(loaded.choice.folder or "", settings.results_root)
    now = time.time() if now is None else now
    states, seen = {}, {}
    for run in loaded.runs:
        if run.source not in seen:
            try:
                seen[run.source] = os.stat(folder / run.source).st_mtime
            except OSError:
                seen[run.source] = float("-inf")
        age = now - seen[run.source]
        states[run.run_id] = "running" if age < settings.finished_after_s else "finished"
    return states


def parse_choice(raw: dict[str, Any] | None) -> SourceChoice:
    """Check a choice coming from the page and give it a fixed, hashable form.

    Raises:
        InvalidArgumentError: a value of the wrong type or out of range, or an unknown kind
            (see ``inputs.source_store``).
    """
    checked = inputs.source_store(raw)
    checked.pop("snapshot", None)
    return SourceChoice(**checked)


def current_snapshot(raw: dict[str, Any] | None) -> str | None:
    """The key of the chosen folder as it is on disk now (None for simulated runs).

    One walk of the folder with ``stat`` only: what the page's live poll asks.

    Raises:
        StabgraphError: the choice is invalid or the folder is no longer listed.
    """
    choice = parse_choice(raw)
    if choice.kind == SIMULATED:
        return None
    root = results_root()
    return _store(root).key(resolve_folder(choice.folder or "", root))


def results_root() -> Path:
    """The configured results root (read per call so tests and the CLI flag can set it)."""
    return load_settings().results_root


def list_folders(root: Path | None = None) -> list[str]:
    """Names of the sub-folders of ``root`` that hold at least one file, sorted.

    Hidden folders and symlinks that leave the root are not offered.
    """
    root = (root or results_root()).resolve()
    if not root.is_dir():
        return []
    names = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(_HIDDEN) or not entry.is_dir():
            continue
        if _inside(entry, root) and _holds_files(entry, root):
            names.append(entry.name)
    return names


#: The folder name that stands for the results root itself: every run under it, together.
WHOLE_ROOT = "."


def offers_whole_root(root: Path | None = None) -> bool:
    """True when the results root holds a file to load (directly or in any sub-folder)."""
    root = (root or results_root()).resolve()
    return root.is_dir() and _holds_files(root, root)


def _inside(path: Path, root: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(root)


def _holds_files(folder: Path, root: Path) -> bool:
    return any(not e.path.name.startswith(".") for e in walk_files(folder, within=root))


def resolve_folder(name: str, root: Path | None = None) -> Path:
    """The path of the listed folder called ``name``.

    Raises:
        InvalidArgumentError: ``name`` is not text a filesystem can name, is absolute, has a
            separator or ``..``, or leaves the root.
        NotFoundError: no listed folder has that name.
    """
    root = (root or results_root()).resolve()
    name = inputs.folder_name(name)
    if name == WHOLE_ROOT:
        if not offers_whole_root(root):
            raise NotFoundError("the results root holds no files")
        return root
    if Path(name).is_absolute() or "/" in name or "\\" in name or ".." in name:
        raise InvalidArgumentError(f"results folder {name!r} is not a plain folder name")
    if name not in list_folders(root):
        if os.path.lexists(root / name) and not _inside(root / name, root):
            raise InvalidArgumentError(f"results folder {name!r} leads outside the results root")
        raise NotFoundError(f"no results folder {name!r} under the results root")
    return (root / name).resolve()


def detector_config(changes: dict[str, Any] | None) -> DetectorConfig:
    """The detector's settings: the defaults with the page's changes (``{field: value}``).

    Raises:
        InvalidArgumentError: an unknown parameter, or a value out of range.
    """
    return DEFAULT_CONFIG.replace(**inputs.detector_store(changes))


def load_source(raw: dict[str, Any] | None, detector: dict[str, Any] | None = None) -> Loaded:
    """Runs, load errors and detections for a source choice from the page (cached).

    Args:
        raw: the source store's dict.
        detector: detector settings that differ from the defaults, ``{field: value}``.

    Raises:
        StabgraphError: the choice or the settings are invalid, the folder is not listed,
            or nothing loads.
    """
    choice = parse_choice(raw)
    config = detector_config(detector)
    if choice.kind == SIMULATED:
        return _detect_cached(choice, "", None, config)
    wanted = inputs.source_store(raw).get("snapshot")
    root = results_root()
    folder = resolve_folder(choice.folder or "", root)
    if wanted is None:
        wanted = _store(root).key(folder)
    return _detect_cached(choice, wanted, str(root), config)


@lru_cache(maxsize=CACHE_SOURCES)
def _load_cached(
    choice: SourceChoice, key: str, root: str | None
) -> tuple[RunSet, tuple[str, ...], str | None]:
    if choice.kind == SIMULATED:
        return simulate(choice.lengths, choice.steps, choice.seed), (), None
    root_path = Path(root or ".")
    # the store's disk cache is shared by every worker: one parse per change
    result, kept = _store(root_path).load(root_path / (choice.folder or ""), snapshot=key)
    return RunSet(result.runs), tuple(_error_line(e, root) for e in result.errors), kept


@lru_cache(maxsize=CACHE_DETECTIONS)
def _detect_cached(
    choice: SourceChoice, key: str, root: str | None, config: DetectorConfig
) -> Loaded:
    runs, errors, kept = _load_cached(choice, key, root)
    detections = {run.run_id: detect_run(run, config) for run in runs}
    return Loaded(choice, runs, errors, detections, config, kept)


def _error_line(error: StabgraphError, root: str | None) -> str:
    relative = getattr(error, "relative_to", None)
    if relative is not None and root is not None:
        error = relative(root)
    return str(error)


def _store(root: Path) -> RunStore:
    """The run store of the results root, with the cache every worker shares."""
    return RunStore(cache_dir=load_settings().cache_dir / "runs", within=root)


def clear_cache() -> None:
    """Forget every loaded source (tests; a long-lived worker never needs it)."""
    _detect_cached.cache_clear()
    _load_cached.cache_clear()
