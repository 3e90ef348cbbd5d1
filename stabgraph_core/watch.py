"""``stabgraph watch ROOT``: a terminal watch over training logs as they grow.

It runs on the machine that trains, beside the trainer, and needs no plugin in it: every
``--interval`` seconds it walks ROOT with ``stat`` only, and when a file changed it reads the
logs again and runs the detector. Each new event is one line on stdout (a divergence, the
first NaN/Inf of a run, a recovered spike, a file that cannot be read); on a terminal a
status line on stderr says how many runs it follows and when it last looked. With
``--exit-on-divergence`` it exits with status 3 on the first divergence, so a launcher or a
cron job can stop the run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .detect import DEFAULT_CONFIG, Detection, DetectorConfig, detect_run
from .errors import StabgraphError
from .model import Run
from .walk import fingerprint

EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130
DEFAULT_INTERVAL_S = 5.0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stabgraph watch",
        description="Watch training logs as they grow; print each divergence, NaN or spike.",
    )
    p.add_argument("root", metavar="ROOT", help="folder (or one file) of training logs")
    p.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL_S,
        help="seconds between looks at ROOT (default: %(default)s)",
    )
    p.add_argument(
        "--exit-on-divergence",
        action="store_true",
        help=f"exit with status {EXIT_DIVERGED} on the first divergence (also one found at start)",
    )
    p.add_argument("--tag", default=None, help="loss series to read (as for stabgraph)")
    p.add_argument("--preset", default=None, help="console-log format (as for stabgraph)")
    p.add_argument("--regex", default=None, help="console-log regex (as for stabgraph)")
    return p


@dataclass
class _Seen:
    diverged: bool = False
    nonfinite: bool = False
    spikes: set[int] = field(default_factory=set)


@dataclass
class Watcher:
    """What has been reported so far; :meth:`look` reports what is new since."""

    root: Path
    load: Callable[[Path], object]
    config: DetectorConfig = DEFAULT_CONFIG
    seen: dict[str, _Seen] = field(default_factory=dict)
    errors: set[str] = field(default_factory=set)
    listing: tuple | None = None
    runs: int = 0
    diverged: int = 0

    def look(self) -> tuple[list[str], bool]:
        """New event lines, and whether a run diverged in them. Reads only if a file changed."""
        listing = fingerprint(self.root) if self.root.is_dir() else _file_listing(self.root)
        if listing == self.listing:
            return [], False
        self.listing = listing
        try:
            result = self.load(self.root)
        except StabgraphError as err:  # nothing readable yet (e.g. no log written so far)
            line = str(err)
            if line in self.errors:
                return [], False
            self.errors.add(line)
            return [f"{_now()} {line}"], False
        lines: list[str] = []
        for err in result.errors:
            text = str(err)
            if text not in self.errors:
                self.errors.add(text)
                lines.append(f"{_now()} cannot read {text}")
        diverged_now = False
        self.runs, self.diverged = len(result.runs), 0
        for run in result.runs:
            found = detect_run(run, self.config)
            self.diverged += found.diverged
            news, diverged = self._news(run, found)
            lines += news
            diverged_now |= diverged
        return lines, diverged_now

    def _news(self, run: Run, found: Detection) -> tuple[list[str], bool]:
        seen = self.seen.setdefault(run.run_id, _Seen())
        named_by_file = not run.source or Path(run.source).stem == run.model
        name = run.display_name if named_by_file else f"{run.display_name} ({run.source})"
        lines = []
        if found.first_nonfinite_step is not None and not seen.nonfinite:
            lines.append(f"{_now()} {name}: NaN/Inf loss at step {found.first_nonfinite_step}")
            seen.nonfinite = True
        diverged = found.diverged and not seen.diverged
        if diverged:
            lines.append(
                f"{_now()} {name}: DIVERGED at step {found.divergence_step}: {found.reason}"
            )
            seen.diverged = True
        for spike in found.spikes:
            if spike.start not in seen.spikes:
                seen.spikes.add(spike.start)
                lines.append(
                    f"{_now()} {name}: spike at steps {spike.start}-{spike.end} "
                    f"(peak at {spike.peak}), recovered"
                )
        return lines, diverged

    def status(self) -> str:
        return (
            f"watching {self.root}: {self.runs} run{'s' * (self.runs != 1)}, "
            f"{self.diverged} diverged · looked {_now()}"
        )


def _file_listing(path: Path) -> tuple:
    try:
        st = path.stat()
    except OSError:
        return ()
    return ((path.name, st.st_size, st.st_mtime_ns),)


def _now() -> str:
    return time.strftime("%H:%M:%S")


def run_watch(
    watcher: Watcher,
    *,
    interval: float,
    exit_on_divergence: bool,
    out: TextIO,
    err: TextIO,
    looks: int | None = None,
) -> int:
    """Look every ``interval`` seconds until interrupted (or ``looks`` times); the exit code."""
    live = err.isatty()
    count = 0
    while looks is None or count < looks:
        count += 1
        lines, diverged = watcher.look()
        if lines:
            if live:
                err.write("\r\x1b[K")
            out.write("".join(line + "\n" for line in lines))
            out.flush()
        if diverged and exit_on_divergence:
            if live:
                err.write("\n")
            return EXIT_DIVERGED
        if live:
            err.write("\r\x1b[K" + watcher.status())
            err.flush()
        if looks is None or count < looks:
            time.sleep(interval)
    return 0


def main(argv: Sequence[str]) -> int:
    """Run ``stabgraph watch``; 0 when stopped, 1 for a bad argument, 3 on divergence."""
    args = build_parser().parse_args(list(argv))
    root = Path(args.root)
    if not root.exists():
        print(f"stabgraph watch: error: {root}: does not exist", file=sys.stderr)
        return 1
    if not args.interval > 0:
        print(f"stabgraph watch: error: --interval {args.interval}: must be > 0", file=sys.stderr)
        return 1
    from .store import RunStore

    store = RunStore(tag=args.tag, preset=args.preset, regex=args.regex)

    def load(path: Path):
        return store.load(path)[0]  # a log that grew: only its new lines are read

    watcher = Watcher(root, load)
    print(f"{_now()} watching {root} every {args.interval:g} s (Ctrl-C stops)", flush=True)
    try:
        return run_watch(
            watcher,
            interval=args.interval,
            exit_on_divergence=args.exit_on_divergence,
            out=sys.stdout,
            err=sys.stderr,
        )
    except KeyboardInterrupt:
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        return EXIT_INTERRUPTED


__all__ = ["EXIT_DIVERGED", "Watcher", "build_parser", "main", "run_watch"]
