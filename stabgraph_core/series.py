"""Which logged series are the gradient norm and the memory, whatever a trainer calls them.

Loaders keep every extra column under the name the log gave it (``Run.extra``); this module
is the one place that knows the aliases, so the figure, the detector and the summary agree
on what a run's gradient norm and memory are.

* Gradient norm: ``grad_norm``, ``gradient_norm``, ``grad/norm``, ``train/grad_norm``,
  llm.c's ``norm``, Megatron's ``grad norm`` (its console reader names it ``grad_norm``) and a
  few more spellings, first match wins in :data:`GRAD_NORM_NAMES` order.
* Memory, in GiB (printed "GB" as trainers do): the unit is taken from the name — ``*_gb``
  as logged, ``*_mb`` / 1024, names without a unit (``max_memory_allocated``, PyTorch's
  ``torch.cuda.max_memory_allocated()``, which returns bytes) / 1024³. A results file's own
  figures count too: the same names in ``Run.metadata`` and in its ``results_by_length``
  (what ``train_long_context.py`` wrote for the run's length).
* Out of memory (:func:`ran_out_of_memory`): only when the run's metadata or notes say so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .model import Run

#: Gradient-norm series names, most specific first.
GRAD_NORM_NAMES: tuple[str, ...] = (
    "grad_norm",
    "gradient_norm",
    "grad/norm",
    "train/grad_norm",
    "train/gradient_norm",
    "optim/total_grad_norm",
    "grad_norm/total",
    "total_grad_norm",
    "grad norm",
    "norm",
)

_GIB = float(1 << 30)

#: Memory series names and the divisor that turns their unit into GiB, most specific first.
MEMORY_NAMES: Mapping[str, float] = {
    "peak_memory_gb": 1.0,
    "max_memory_allocated_gb": 1.0,
    "memory_allocated_gb": 1.0,
    "memory_gb": 1.0,
    "mem_gb": 1.0,
    "gpu_memory_gb": 1.0,
    "peak_memory_mb": 1024.0,
    "max_memory_allocated_mb": 1024.0,
    "memory_allocated_mb": 1024.0,
    "memory_mb": 1024.0,
    "mem_mb": 1024.0,
    "max_memory_allocated": _GIB,
    "memory_allocated": _GIB,
    "peak_memory_bytes": _GIB,
    "max_memory_reserved": _GIB,
}


def _has_values(values: np.ndarray) -> bool:
    return bool(np.isfinite(values).any())


def grad_norm_name(run: Run) -> str | None:
    """The name of the run's gradient-norm series, or None when it logs none."""
    for name in GRAD_NORM_NAMES:
        values = run.extra.get(name)
        if values is not None and _has_values(values):
            return name
    return None


def grad_norm(run: Run) -> np.ndarray | None:
    """The run's gradient norm on its steps (NaN where a step did not log it), or None."""
    name = grad_norm_name(run)
    return None if name is None else run.extra[name]


def memory_name(run: Run) -> str | None:
    """The name of the run's memory series, or None when it logs none."""
    for name in MEMORY_NAMES:
        values = run.extra.get(name)
        if values is not None and _has_values(values):
            return name
    return None


def memory_gb(run: Run) -> np.ndarray | None:
    """The run's memory in GiB on its steps (NaN where a step did not log it), or None."""
    name = memory_name(run)
    return None if name is None else run.extra[name] / MEMORY_NAMES[name]


def _records(run: Run) -> Iterator[Mapping[str, Any]]:
    """The run's metadata, then its ``results_by_length`` record(s) (a dict, or a list of
    dicts such as one per epoch), in that order."""
    yield run.metadata
    by_length = run.metadata.get("results_by_length")
    if isinstance(by_length, Mapping):
        yield by_length
    elif isinstance(by_length, list | tuple):
        yield from (r for r in by_length if isinstance(r, Mapping))


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None (booleans and text are not numbers)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value):
        return float(value)
    return None


def _stated_memory_gb(record: Mapping[str, Any]) -> float | None:
    """The first memory field of ``record`` in :data:`MEMORY_NAMES` order, in GiB, or None."""
    for name, divisor in MEMORY_NAMES.items():
        value = _number(record.get(name))
        if value is not None:
            return value / divisor
    return None


def peak_memory_gb(run: Run) -> float | None:
    """The largest finite memory value the run logged, in GiB, or None.

    A memory field (any name of :data:`MEMORY_NAMES`, in its unit) in the run's metadata or
    in its ``results_by_length`` record (a results file's own figure) counts too.
    """
    values = memory_gb(run)
    peaks = []
    if values is not None:
        peaks.append(float(np.nanmax(np.where(np.isfinite(values), values, np.nan))))
    peaks += [gb for record in _records(run) if (gb := _stated_memory_gb(record)) is not None]
    return max(peaks) if peaks else None


#: Metadata flags that say the run ran out of memory when they are ``true``.
OOM_FLAGS: tuple[str, ...] = ("oom", "out_of_memory", "is_oom", "ran_out_of_memory")
#: Metadata fields whose text says why a run stopped.
OOM_TEXT_FIELDS: tuple[str, ...] = (
    "status",
    "error",
    "stop_reason",
    "exit_reason",
    "failure",
    "exception",
)
#: "out of memory" (also ``out_of_memory``, ``OutOfMemoryError``) or "OOM" as a word.
OOM_PATTERN = re.compile(
    r"(?<![a-z0-9])out[\s_-]?of[\s_-]?memory(?:error)?(?![a-z0-9])"
    r"|(?<![a-z0-9])oom(?:killed)?(?![a-z0-9])",
    re.IGNORECASE,
)


def says_out_of_memory(text: str) -> bool:
    """Whether ``text`` says "out of memory" or "OOM" (as a word, any case)."""
    return bool(OOM_PATTERN.search(text))


def ran_out_of_memory(run: Run) -> bool:
    """True only when the run's source says it ran out of memory.

    That is: a flag of :data:`OOM_FLAGS` that is ``true``, or a text field of
    :data:`OOM_TEXT_FIELDS` saying "out of memory" / "OOM", in the run's metadata or its
    ``results_by_length`` record; or a loader note saying so. Nothing is inferred from the
    memory series or from where the log ends.
    """
    for record in _records(run):
        if any(record.get(flag) is True for flag in OOM_FLAGS):
            return True
        for field in OOM_TEXT_FIELDS:
            value = record.get(field)
            if isinstance(value, str) and says_out_of_memory(value):
                return True
    return any(says_out_of_memory(note) for note in run.notes)


__all__ = [
    "GRAD_NORM_NAMES",
    "MEMORY_NAMES",
    "OOM_FLAGS",
    "OOM_PATTERN",
    "OOM_TEXT_FIELDS",
    "grad_norm",
    "grad_norm_name",
    "memory_gb",
    "memory_name",
    "peak_memory_gb",
    "ran_out_of_memory",
    "says_out_of_memory",
]
