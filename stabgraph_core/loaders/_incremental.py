"""Reading a log that grew: only the bytes written since the last read are parsed.

Trainers append to JSONL, CSV, console and Megatron logs and to TensorBoard event files.
After a whole read, the reader keeps (per file and options) how far it got: the end of the
last whole line (the end of the last whole record for event files), the file's identity
(device and inode) and its first bytes. When the file has grown, the new whole lines are
parsed by the same parser that reads whole files (a CSV's header line put before them) and
appended to the runs already read; the last line, while it has no line break, waits for
it exactly as in a whole read (``pending_note``).

The result is always what a whole read of the file would give. Where appending cannot
guarantee that, the file is read whole instead:

- the file shrank, was replaced (another inode) or its first bytes changed;
- the new lines have a note of their own (duplicate or backwards steps, lines without a
  loss, Megatron's missing ``lm loss``), start at or before the last step read, give a
  run the earlier lines did not have, or a different set of series;
- a new line is malformed (the whole read then names its line number);
- the last line is whole without its line break (a JSON record or a full CSV row);
- an event file gains a default loss tag that comes before the one in use.

Runs keep their arrays in buffers with room to grow, so an append copies only the new
points: reading 1,000 new lines costs the same for a log of a thousand lines or a million.
Runs handed out earlier keep seeing their own points: a buffer is only ever written past
the end of every array handed out from it.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import LoadError
from ..model import Run
from . import _csv as csv_io
from . import tensorboard
from ._clean import build_runs, pending_note
from ._dispatch import GROWING_KINDS, Options, kind_of, parse_text, read_file
from ._jsonio import GZIP_MAGIC, decode_text, loads

#: How many of the file's first bytes must stay the same for it to count as grown.
HEAD_BYTES = 4096
#: Files whose read position is kept (least recently read first out).
MAX_FILES = 256
_GROWTH = 1.5

_PENDING = {
    "jsonl": pending_note(),
    "console": pending_note(),
    "csv": pending_note("row"),
    "tfevents": pending_note("record", "cut short"),
}
# Where a whole read puts the pending note among a run's notes: first, or last (JSONL).
_PENDING_FIRST = {"jsonl": False, "console": True, "csv": True, "tfevents": True}


class _Series:
    """A growable float or int array: ``view()`` is the first ``size`` values."""

    def __init__(self, values: np.ndarray) -> None:
        self._buf = np.empty(max(16, int(values.size * _GROWTH)), dtype=values.dtype)
        self._buf[: values.size] = values
        self.size = values.size

    def append(self, values: np.ndarray) -> np.ndarray:
        end = self.size + values.size
        if end > self._buf.size:
            grown = np.empty(int(end * _GROWTH), dtype=self._buf.dtype)
            grown[: self.size] = self._buf[: self.size]
            self._buf = grown
        self._buf[self.size : end] = values
        self.size = end
        return self.view()

    def view(self) -> np.ndarray:
        out = self._buf[: self.size]
        out.flags.writeable = False
        return out


@dataclass
class _State:
    kind: str
    identity: tuple[int, int]
    head: bytes
    committed: int
    runs: list[Run]
    header: str = ""
    series: dict[tuple, dict[str, _Series]] = field(default_factory=dict)


_states: OrderedDict[Hashable, _State] = OrderedDict()
stats = {"whole": 0, "appended": 0}


def clear() -> None:
    """Forget every file's read position (tests call this between cases)."""
    _states.clear()
    stats.update(whole=0, appended=0)


def read(path: Path, options: Options) -> list[Run]:
    """``read_file(path, ...)``: the new bytes only when the file grew since the last read.

    Raises:
        LoadError: whatever the whole read raises.
    """
    kind = kind_of(path)
    if kind not in GROWING_KINDS:
        return read_file(path, tag=options[0], preset=options[1], regex=options[2])
    key = (str(path.resolve()), options)
    state = _states.pop(key, None)
    runs = None
    try:
        with path.open("rb") as handle:
            st = os.fstat(handle.fileno())
            if state is not None:
                runs = _grown(state, handle, st, path, options)
            if runs is None:
                state = None
                stats["whole"] += 1
                runs = read_file(path, tag=options[0], preset=options[1], regex=options[2])
                state = _start(kind, handle, st, path, runs)
    except OSError as err:
        raise LoadError(path, f"cannot read file ({err.strerror or err})") from None
    if state is not None:
        _states[key] = state
        while len(_states) > MAX_FILES:
            _states.popitem(last=False)
    return runs


def _start(kind: str, handle, st: os.stat_result, path: Path, runs: list[Run]) -> _State | None:
    """The read position after a whole read, or None when the file cannot be followed."""
    handle.seek(0)
    data = handle.read()
    if data.startswith(GZIP_MAGIC) or len(data) != st.st_size:
        return None  # compressed, or written to while it was read: read it whole next time
    if kind == "tfevents":
        try:
            payloads, _cut = tensorboard.records(data, path)
        except LoadError:
            return None
        committed = sum(len(p) + 16 for p in payloads)
        header = ""
    else:
        committed = data.rfind(b"\n") + 1
        tail = data[committed:]
        if tail.strip() and not _is_pending(kind, tail, data):
            return None  # a whole last line without its line break: read whole until it ends
        header = (
            data[: data.find(b"\n") + 1].decode("utf-8-sig", "replace") if kind == "csv" else ""
        )
        if kind == "csv" and data[:committed].count(b'"') % 2:
            return None
    note = _PENDING[kind]
    runs = [r.with_(notes=tuple(n for n in r.notes if n != note)) for r in runs]
    return _State(
        kind=kind,
        identity=(st.st_dev, st.st_ino),
        head=data[:HEAD_BYTES],
        committed=committed,
        runs=runs,
        header=header,
    )


def _is_pending(kind: str, tail: bytes, data: bytes) -> bool:
    """Whether a last line without its line break waits for it (as a whole read decides)."""
    if kind == "console":
        return True
    if kind == "jsonl":
        try:
            loads(tail, Path("-"))
        except LoadError:
            return True
        return False
    if kind == "csv":
        head_line = data[: data.find(b"\n")].decode("utf-8-sig", "replace")
        text = tail.decode("utf-8", "replace")
        return bool(text.count('"') % 2) or len(csv_io.header(text)) < len(csv_io.header(head_line))
    return False


def _grown(
    state: _State, handle, st: os.stat_result, path: Path, options: Options
) -> list[Run] | None:
    """The runs after reading what was appended, or None when the file must be read whole."""
    if (st.st_dev, st.st_ino) != state.identity or st.st_size < state.committed:
        return None
    head = handle.read(HEAD_BYTES)
    if head[: len(state.head)] != state.head:
        return None
    state.head = head  # a short file: its first bytes grow with it
    handle.seek(state.committed)
    new = handle.read(st.st_size - state.committed)
    if state.kind == "tfevents":
        return _grown_events(state, new, path, options)
    cut = new.rfind(b"\n") + 1
    complete, tail = new[:cut], new[cut:]
    if complete.strip():
        if state.kind == "csv" and complete.count(b'"') % 2:
            return None
        try:
            text = decode_text(complete, path)
            chunk = parse_text(
                state.kind, state.header + text, path, _chunk_options(state, options)
            )
        except LoadError as err:
            if state.kind == "console" and err.reason.startswith("no line matches"):
                chunk = []  # lines of another kind (evaluation, prints): no points
            else:
                return None
        merged = _append(state, chunk)
        if merged is None:
            return None
        state.runs = merged
    state.committed += cut
    if not tail.strip():
        return state.runs
    if not _is_pending(state.kind, tail, state.header.encode()):
        return None
    return _with_pending(state.runs, state.kind)


def _chunk_options(state: _State, options: Options) -> Options:
    """The options for new lines: a console log keeps the preset its whole read found."""
    tag, preset, regex = options
    if state.kind == "console" and regex is None and state.runs:
        preset = state.runs[0].metadata.get("preset", preset)
    return tag, preset, regex


def _grown_events(state: _State, new: bytes, path: Path, options: Options) -> list[Run] | None:
    try:
        payloads, cut = tensorboard.records(new, path)
        found = tensorboard.scalars(payloads, path)
    except LoadError:
        return None
    if not state.runs:
        return None
    meta = dict(state.runs[0].metadata)
    tags = list(meta["tags"])
    added = [t for t in found if t not in tags]
    chosen = meta["tag"]
    if options[0] is None and chosen in tensorboard.DEFAULT_TAGS:
        better = tensorboard.DEFAULT_TAGS[: tensorboard.DEFAULT_TAGS.index(chosen)]
        if any(t in better for t in added):
            return None  # the whole read would now pick another tag
    meta["tags"] = tags + added
    runs = state.runs
    if chosen in found:
        steps, values = found[chosen]
        chunk = build_runs(
            np.array(steps, dtype=np.int64),
            np.array(values, dtype=np.float64),
            path=path,
            model="",
            metadata=meta,
        )
        runs = _append(state, chunk, metadata=meta)
        if runs is None:
            return None
    elif added:
        runs = [r.with_(metadata=meta) for r in runs]
    state.runs = runs
    state.committed += sum(len(p) + 16 for p in payloads)
    return _with_pending(runs, "tfevents") if cut else runs


def _append(state: _State, chunk: list[Run], *, metadata: dict | None = None) -> list[Run] | None:
    """The state's runs with the chunk's points appended, or None where that would not be
    what a whole read gives."""
    by_key = {run.key: i for i, run in enumerate(state.runs)}
    if len(by_key) != len(state.runs):
        return None
    out = list(state.runs)
    for new in chunk:
        i = by_key.get(new.key)
        if i is None or new.notes:
            return None
        old = out[i]
        if (
            old.extra.keys() != new.extra.keys()
            or (metadata is None and dict(old.metadata) != dict(new.metadata))
            or (old.diverged, old.divergence_step) != (new.diverged, new.divergence_step)
            or new.steps.size == 0
            or (old.steps.size and new.steps[0] <= old.steps[-1])
        ):
            return None
    for new in chunk:
        i = by_key[new.key]
        old = out[i]
        series = state.series.get(old.key)
        if series is None:
            series = {"steps": _Series(old.steps), "loss": _Series(old.loss)}
            series.update({f"x:{k}": _Series(v) for k, v in old.extra.items()})
            state.series[old.key] = series
        extra = {k: series[f"x:{k}"].append(v) for k, v in new.extra.items()}
        out[i] = old.with_(
            steps=series["steps"].append(new.steps),
            loss=series["loss"].append(new.loss),
            extra=extra,
            metadata=metadata if metadata is not None else old.metadata,
        )
    if metadata is not None:
        out = [r if dict(r.metadata) == metadata else r.with_(metadata=metadata) for r in out]
    stats["appended"] += 1
    return out


def _with_pending(runs: list[Run], kind: str) -> list[Run]:
    note = _PENDING[kind]
    if _PENDING_FIRST[kind]:
        return [r.with_(notes=(note, *r.notes)) for r in runs]
    return [r.with_(notes=(*r.notes, note)) for r in runs]
