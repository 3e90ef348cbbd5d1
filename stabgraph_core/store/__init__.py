"""The run store: the one place the CLI, ``stabgraph watch`` and the app ask for runs.

Like TensorBoard's data provider, it hides how runs are found and kept:

- discovery: one walk of the folder (``stabgraph_core.walk``) that never leaves the results
  root, with ``stat`` only, tolerant of files that vanish while it runs;
- fingerprints: the folder's key (``key``) is a digest of every file's path, size and
  modification time, so a poll that finds the same key knows nothing changed;
- snapshots: ``load(folder, snapshot=key)`` gives the folder as it was under that key, so
  every part of a page (and every worker serving it) shows the same state of a folder that
  is being written to;
- the on-disk cache (``cache_dir``): parsed folders as raw arrays, shared by processes;
- incremental reads: of a log that grew, only the new lines or records are parsed
  (``stabgraph_core.loaders._incremental``), in every process that read it before.

Example::

    store = RunStore(cache_dir=Path("~/.cache/stabgraph/runs").expanduser())
    result, key = store.load("runs/")
    if store.key("runs/") != key:  # something was written since
        result, key = store.load("runs/")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..loaders import LoadResult, load_results
from ..walk import fingerprint
from ._disk import cached_load, folder_key, load_snapshot


@dataclass(frozen=True)
class RunStore:
    """Where runs are asked for.

    Args:
        cache_dir: the shared on-disk cache; None keeps parsed files in this process only.
        within: no file outside this folder is opened (the app's results root).
        tag, preset, regex: reading options (see ``load_results``).
    """

    cache_dir: Path | None = None
    within: Path | None = None
    tag: str | None = None
    preset: str | None = None
    regex: str | None = None

    def key(self, folder: str | Path) -> str:
        """The folder's fingerprint now: one ``stat`` walk, no file opened."""
        path = Path(folder).resolve()
        return folder_key(path, within=self.within, listing=fingerprint(path, within=self.within))

    def load(self, folder: str | Path, snapshot: str | None = None) -> tuple[LoadResult, str]:
        """The folder's runs and errors, and the key of the snapshot they are.

        Args:
            folder: a results folder or one log file.
            snapshot: a key an earlier ``load`` or ``key`` gave: that state of the folder
                when the cache still holds it, else the folder as it is now.

        Raises:
            StabgraphError: the folder does not exist, or an option is invalid.
        """
        path = Path(folder)
        if self.cache_dir is None or self._has_options:
            key = self.key(path)
            return self._read(path), key
        if snapshot is None:
            snapshot = self.key(path)
        return load_snapshot(path, snapshot, cache_dir=self.cache_dir, within=self.within)

    @property
    def _has_options(self) -> bool:
        # the disk cache holds default reads only: its key does not name the options
        return any(v is not None for v in (self.tag, self.preset, self.regex))

    def _read(self, path: Path) -> LoadResult:
        return load_results(
            path, tag=self.tag, preset=self.preset, regex=self.regex, within=self.within
        )


__all__ = ["RunStore", "cached_load", "folder_key", "load_snapshot"]
