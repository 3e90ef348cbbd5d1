"""Server configuration, read once from documented environment variables.

STABGRAPH_RESULTS_ROOT  folder whose sub-folders hold runs (default ./results)
STABGRAPH_REDIS_URL     Redis for background exports via Celery (default: none, embedded diskcache)
STABGRAPH_DEFAULT_SOURCE  what a plain address opens: ``simulated`` (default), ``folder:NAME``
                        or ``folder:.`` for every run under the results root
STABGRAPH_CACHE_DIR     where the embedded background-callback and run caches live
STABGRAPH_POLL_S        seconds between the open page's checks of its folder (default 1; 0 turns
                        following off)
HOST / PORT             where ``python -m app`` listens (default 127.0.0.1:8050)
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    results_root: Path
    redis_url: str | None
    cache_dir: Path
    host: str
    port: int
    poll_s: float = 1.0
    finished_after_s: float = 120.0


def load_settings() -> Settings:
    """Settings from the environment (see the module docstring)."""
    return Settings(
        results_root=Path(os.environ.get("STABGRAPH_RESULTS_ROOT", "results")).resolve(),
        redis_url=os.environ.get("STABGRAPH_REDIS_URL") or None,
        cache_dir=Path(
            os.environ.get("STABGRAPH_CACHE_DIR", Path(tempfile.gettempdir()) / "stabgraph-cache")
        ),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8050")),
        poll_s=_poll_seconds(os.environ.get("STABGRAPH_POLL_S", "")),
        finished_after_s=_seconds(os.environ.get("STABGRAPH_FINISHED_AFTER_S", ""), 120.0),
    )


DEFAULT_POLL_S = 1.0
MIN_POLL_S = 0.25


def _seconds(value: str, default: float) -> float:
    """A positive number of seconds from the environment; anything else: the default."""
    try:
        seconds = float(value) if value.strip() else default
    except ValueError:
        return default
    return seconds if seconds > 0 and seconds != float("inf") else default


def _poll_seconds(value: str) -> float:
    """``STABGRAPH_POLL_S``: a number of seconds (at least 0.25), 0 for off; else the default."""
    try:
        seconds = float(value) if value.strip() else DEFAULT_POLL_S
    except ValueError:
        return DEFAULT_POLL_S
    if seconds != seconds or seconds < 0:  # NaN or negative
        return DEFAULT_POLL_S
    return 0.0 if seconds == 0 else max(MIN_POLL_S, seconds)
