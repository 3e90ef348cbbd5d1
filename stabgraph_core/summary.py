"""The summary JSON: the old script's schema, computed honestly, always strict JSON.

Per run: ``final_loss`` (last finite value), ``min_loss``, ``mean_loss``, ``std_loss``
(population std), all over the finite values; ``diverged``, ``divergence_step``,
``num_nan`` and ``num_inf`` over the whole curve. A run with no finite value is left out,
as the old script did. ``comparison`` holds, for every length both compared models have,
``improvement = baseline_final - candidate_final`` and its percentage of the baseline's
final loss (baseline ``mamba``, candidate ``resnetbk`` by default: the old script's sign).

Given detection results, each entry gains a ``detection`` block, and ``diverged`` /
``divergence_step`` keep the old meaning: what the source declared where it declares
it (the simulator does), else what was detected.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from .model import Run

if TYPE_CHECKING:
    from .detect import Detection

DEFAULT_BASELINE = "mamba"
DEFAULT_CANDIDATE = "resnetbk"


def run_key(run: Run) -> str:
    """The key a run has under its model: ``"8192"``, or ``"8192 seed 1"`` when it needs more."""
    parts = [str(run.seq_len) if run.seq_len is not None else "?"]
    if run.seed is not None:
        parts.append(f"seed {run.seed}")
    if run.label:
        parts.append(run.label)
    return " ".join(parts)


def run_stats(run: Run) -> dict[str, Any] | None:
    """Loss statistics of one run, or None when it has no finite value."""
    finite = np.isfinite(run.loss)
    values = run.loss[finite]
    if values.size == 0:
        return None
    return {
        "final_loss": float(values[-1]),
        "min_loss": float(values.min()),
        "mean_loss": float(values.mean()),
        "std_loss": float(values.std()),
        "diverged": bool(run.diverged) if run.diverged is not None else False,
        "divergence_step": run.divergence_step,
        "num_nan": int(np.isnan(run.loss).sum()),
        "num_inf": int(np.isinf(run.loss).sum()),
    }


def summarize(
    runs: Iterable[Run],
    *,
    baseline: str = DEFAULT_BASELINE,
    candidate: str = DEFAULT_CANDIDATE,
    detections: Mapping[str, Detection] | None = None,
) -> dict[str, Any]:
    """The summary dict for ``runs`` (see the module docstring).

    Args:
        runs: the runs to summarise; models appear in first-seen order.
        baseline: the model compared against (``mamba_final`` in the old schema).
        candidate: the model compared (``resnetbk_final``).
        detections: detection results by ``Run.run_id``; runs without one get no
            ``detection`` block and keep only what their source declared.
    """
    out: dict[str, Any] = {}
    for run in runs:
        entry = run_stats(run)
        if entry is None:
            continue
        found = detections.get(run.run_id) if detections else None
        if found is not None:
            entry["detection"] = found.to_dict()
            if run.diverged is None:
                entry["diverged"] = found.diverged
                entry["divergence_step"] = found.divergence_step
        out.setdefault(run.model, {})[run_key(run)] = entry
    base, cand = out.get(baseline, {}), out.get(candidate, {})
    comparison: dict[str, Any] = {}
    for key in _sorted_keys(k for k in base if k in cand):
        b, c = base[key]["final_loss"], cand[key]["final_loss"]
        improvement = b - c
        comparison[key] = {
            f"{candidate}_final": c,
            f"{baseline}_final": b,
            "improvement": improvement,
            "improvement_pct": improvement / b * 100 if b != 0 else None,
            f"{baseline}_diverged": base[key]["diverged"],
            f"{candidate}_diverged": cand[key]["diverged"],
        }
    out["comparison"] = comparison
    return out


def _sorted_keys(keys: Iterable[str]) -> list[str]:
    def order(key: str) -> tuple[int, str]:
        head = key.split(" ", 1)[0]
        return (int(head) if head.isdigit() else math.inf, key)  # type: ignore[return-value]

    return sorted(keys, key=order)


def _strict(value: Any) -> Any:
    """Replace NaN/Inf floats with None so the output is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    if isinstance(value, np.generic):
        return _strict(value.item())
    return value


def to_json(summary: dict[str, Any]) -> bytes:
    """Strict, indented JSON bytes (no NaN/Infinity literals)."""
    return orjson.dumps(_strict(summary), option=orjson.OPT_INDENT_2) + b"\n"


def write_summary(summary: dict[str, Any], path: str | Path) -> Path:
    """Write the summary as strict JSON, creating the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_json(summary))
    return path
