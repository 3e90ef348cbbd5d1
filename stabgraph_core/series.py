"""Which logged series are the gradient norm and the memory, whatever a trainer calls them.

Loaders keep every extra column under the name the log gave it (``Run.extra``); this module
is the one place that knows the aliases, so the figure, the detector and the summary agree
on what a run's gradient norm and memory are.

* Gradient norm: ``grad_norm``, ``gradient_norm``, ``grad/norm``, ``train/grad_norm``,
  llm.c's ``norm``, Megatron's ``grad norm`` (its console reader names it ``grad_norm``) and a
  few more spellings, first match wins in :data:`GRAD_NORM_NAMES` order.
* Memory, in GiB (printed "GB" as trainers do): the unit is taken from the name — ``*_gb``
  as logged, ``*_mb`` / 1024, names without a unit (``max_memory_allocated``, PyTorch's
  ``torch.cuda.max_memory_allocated()``, which returns bytes) / 1024³.
"""

from __future__ import annotations

from collections.abc import Mapping

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


def peak_memory_gb(run: Run) -> float | None:
    """The largest finite memory value the run logged, in GiB, or None.

    A ``peak_memory_gb`` in the run's metadata (a results file's own figure) counts too.
    """
    values = memory_gb(run)
    peaks = (
        [] if values is None else [float(np.nanmax(np.where(np.isfinite(values), values, np.nan)))]
    )
    stated = run.metadata.get("peak_memory_gb")
    if isinstance(stated, int | float) and not isinstance(stated, bool) and np.isfinite(stated):
        peaks.append(float(stated))
    return max(peaks) if peaks else None


__all__ = [
    "GRAD_NORM_NAMES",
    "MEMORY_NAMES",
    "grad_norm",
    "grad_norm_name",
    "memory_gb",
    "memory_name",
    "peak_memory_gb",
]
