"""Plain-text console logs, read with a preset regex or one the user supplies.

Presets (``PRESETS``): nanoGPT ``iter N: loss X``, llm.c ``s:N trl:X``, modded-nanogpt
``step:N/M train_loss:X`` and Megatron-DeepSpeed ``iteration N/ M | ... | lm loss: X |``.
Without a preset the one matching most lines is used. A user regex needs the named groups
``step`` and ``loss``; its other named groups become extra series.

``nan``/``inf`` captured as the loss are values and are kept. A ``nan`` elsewhere on the line
(modded-nanogpt's ``step_avg:nanms``) is not captured, so it is not a loss. Megatron prints
an iteration line without its ``lm loss`` field when the loss was NaN/Inf; such an iteration
is kept as a NaN loss and noted, where the file's other iteration lines have one (a log
with no ``lm loss`` at all has no loss values). A user regex whose loss group matched
nothing on a line gives no point there. The last line without its line break is still
being written and waits for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..errors import InvalidArgumentError, LoadError
from ..model import Run
from ._clean import build_runs, pending_note, split_tail
from ._csv import read_text
from ._identity import identify_file

PRESETS: Mapping[str, re.Pattern[str]] = MappingProxyType(
    {
        "nanogpt": re.compile(r"(?m)^iter (?P<step>\d+): loss (?P<loss>[^,\s]+)"),
        "llmc": re.compile(
            r"(?m)^s:(?P<step>\d+) trl:(?P<loss>\S+)"
            r"(?: lr:(?P<learning_rate>\S+))?(?: norm:(?P<grad_norm>\S+))?"
        ),
        "modded-nanogpt": re.compile(r"(?m)^step:(?P<step>\d+)/\d+ train_loss:(?P<loss>\S+)"),
        # Each optional group scans ahead on the same line, so a missing field stays empty.
        "megatron": re.compile(
            r"\biteration\s+(?P<step>\d+)\s*/\s*\d+\s*\|"
            r"(?:[^\n]*?\bconsumed tokens:\s*(?P<tokens>\d+))?"
            r"(?:[^\n]*?\blearning rate:\s*(?P<learning_rate>[^\s|]+))?"
            r"(?:[^\n]*?\blm loss:\s*(?P<loss>[^\s|]+))?"
            r"(?:[^\n]*?\bgrad norm:\s*(?P<grad_norm>[^\s|]+))?"
        ),
    }
)
TEXT_SUFFIXES = (".log", ".txt", ".out", ".err", ".stdout", ".stderr")


def compile_regex(regex: str) -> re.Pattern[str]:
    """A user regex, checked for the ``step`` and ``loss`` named groups.

    Raises:
        InvalidArgumentError: the regex does not compile or lacks a required group.
    """
    try:
        pattern = re.compile(regex, re.MULTILINE)
    except re.error as err:
        raise InvalidArgumentError(f"invalid --regex {regex!r}: {err}") from None
    missing = [g for g in ("step", "loss") if g not in pattern.groupindex]
    if missing:
        raise InvalidArgumentError(
            f"--regex needs the named groups (?P<step>...) and (?P<loss>...); "
            f"{' and '.join(missing)} missing in '{regex}'"
        )
    return pattern


def preset_pattern(preset: str) -> re.Pattern[str]:
    """The regex of a preset name.

    Raises:
        InvalidArgumentError: unknown preset.
    """
    try:
        return PRESETS[preset]
    except KeyError:
        raise InvalidArgumentError(
            f"unknown preset {preset!r} (presets: {', '.join(PRESETS)})"
        ) from None


def detect_preset(text: str) -> str | None:
    """The preset matching the most lines, or None when none matches."""
    counts = {name: len(p.findall(text)) for name, p in PRESETS.items() if p.search(text)}
    return max(counts, key=counts.__getitem__) if counts else None


def _line_of(text: str, pattern: re.Pattern[str], index: int) -> int:
    for number, match in enumerate(pattern.finditer(text)):  # error path only
        if number == index:
            return text.count("\n", 0, match.start("step")) + 1
    return 0


def _column(cells: np.ndarray, what: str, text: str, pattern: re.Pattern[str], path: Path):
    values = np.where(cells == "", "nan", cells)
    try:
        return values.astype(np.float64)
    except ValueError:
        for index, cell in enumerate(values.tolist()):  # error path only: name the first bad value
            try:
                float(cell)
            except ValueError:
                line = _line_of(text, pattern, index)
                raise LoadError(path, f"{what} {cell!r:.40} is not a number", line) from None
    raise AssertionError("unreachable")  # pragma: no cover


def from_text(
    text: str, path: Path, *, preset: str | None = None, regex: str | re.Pattern[str] | None = None
) -> list[Run]:
    """The run in a console log.

    Raises:
        LoadError: no line matches, or a captured step/loss is not a number (with its line).
        InvalidArgumentError: an unknown preset or an invalid regex.
    """
    if regex is not None:
        pattern = regex if isinstance(regex, re.Pattern) else compile_regex(regex)
        name = "regex"
    else:
        name = preset or detect_preset(text)
        if name is None:
            raise LoadError(
                path,
                "unknown format: no line matches a known log format "
                f"({', '.join(PRESETS)}); use --preset or --regex",
            )
        pattern = preset_pattern(name)
    text, tail = split_tail(text)
    notes = [pending_note()] if tail.strip() else []
    found = pattern.findall(text)
    if not found:
        if tail.strip() and pattern.search(tail):
            raise LoadError(path, "no loss values in the file (its only line is not written yet)")
        raise LoadError(path, f"no line matches the {name} pattern")
    groups = list(pattern.groupindex.items())
    table = np.array(found, dtype=str).reshape(len(found), -1)
    cols = {g: table[:, i - 1] for g, i in groups}
    step_values = _column(cols["step"], "step", text, pattern, path)
    bad = ~np.isfinite(step_values) | (step_values != np.round(step_values))
    bad |= np.abs(step_values) >= 2.0**63
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise LoadError(
            path,
            f"step {cols['step'][index]!r} is not a whole number",
            _line_of(text, pattern, index),
        )
    missing = cols["loss"] == ""
    loss = _column(cols["loss"], "loss", text, pattern, path)
    extra = {
        g: _column(c, g, text, pattern, path) for g, c in cols.items() if g not in ("step", "loss")
    }
    if missing.all():
        raise LoadError(path, "no loss values in the file (no matching line has a loss)")
    if missing.any() and name == "megatron":
        count = int(missing.sum())
        shown = ", ".join(str(s) for s in cols["step"][missing][:5])
        notes.append(
            f"{count} iteration{'s' if count > 1 else ''} logged without 'lm loss' "
            f"(Megatron omits it when the loss is NaN/Inf), kept as NaN: "
            f"{shown}{'...' if count > 5 else ''}"
        )
        missing = np.zeros_like(missing)
    return build_runs(
        step_values.astype(np.int64),
        loss,
        path=path,
        missing=missing,
        point="line",
        extra={k: v for k, v in extra.items() if not np.isnan(v).all()},
        notes=notes,
        metadata={"preset": name},
    )


def read(
    path: Path, *, preset: str | None = None, regex: str | re.Pattern[str] | None = None
) -> list[Run]:
    """Read a console log.

    Raises:
        LoadError: see ``from_text``; also empty, binary or non-UTF-8 files.
        InvalidArgumentError: an unknown preset or an invalid regex.
    """
    path = Path(path)
    return identify_file(from_text(read_text(path), path, preset=preset, regex=regex), path)
