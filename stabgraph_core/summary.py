"""The summary JSON: the old script's schema, computed honestly, always strict JSON.

Per run: ``final_loss`` (last finite value), ``min_loss``, ``mean_loss``, ``std_loss``
(population std), all over the finite values; ``diverged``, ``divergence_step``,
``num_nan`` and ``num_inf`` over the whole curve; ``peak_memory_gb``, the largest memory
the run logged in GiB (None when it logs none; ``series.py`` lists the names read). A run
with no finite value is left out, as the old script did.

``seeds`` holds, per model and length (keyed as the runs are, without the seed), every
seed group (two or more seeds of one model and length, see ``seeds.py``): ``n_seeds``,
``n_diverged``, ``divergence_rate``, ``divergence_steps`` (the diverged seeds', by seed),
``final_loss_mean`` and ``final_loss_std`` (sample std, None for fewer than two finals) and
the ``seeds`` themselves. It is empty when no run shares its model and length with
another seed.

``comparison`` holds, for every length both compared models have,
``improvement = baseline_final - candidate_final`` and its percentage of the baseline's
final loss (baseline ``mamba``, candidate ``resnetbk`` by default: the old script's sign).
Where a model has a seed group at a length, its final is the seeds' mean and it counts as
diverged there when any seed diverged; ``{model}_n_seeds`` says how many seeds stand
behind each number.

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
from .seeds import SeedGroup, final_losses, mean_and_std, seed_groups
from .series import peak_memory_gb

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
        "peak_memory_gb": peak_memory_gb(run),
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
    runs = list(runs)
    out: dict[str, Any] = {}
    status: dict[str, tuple[bool, int | None]] = {}
    for run in runs:
        found = detections.get(run.run_id) if detections else None
        status[run.run_id] = _divergence(run, found)
        entry = run_stats(run)
        if entry is None:
            continue
        if found is not None:
            entry["detection"] = found.to_dict()
        entry["diverged"], entry["divergence_step"] = status[run.run_id]
        out.setdefault(run.model, {})[run_key(run)] = entry
    groups = seed_groups(runs)
    seeds: dict[str, Any] = {}
    models = list(dict.fromkeys(r.model for r in runs))
    for group in sorted(groups, key=lambda g: (models.index(g.model), _key_order(group_key(g)))):
        seeds.setdefault(group.model, {})[group_key(group)] = group_stats(group, status)
    grouped = {(r.model, run_key(r)) for g in groups for r in g.runs}
    finals = {
        m: _finals(
            {k: e for k, e in out.get(m, {}).items() if (m, k) not in grouped},
            seeds.get(m, {}),
        )
        for m in (baseline, candidate)
    }
    base, cand = finals[baseline], finals[candidate]
    comparison: dict[str, Any] = {}
    for key in _sorted_keys(k for k in base if k in cand):
        (b, b_div, b_n), (c, c_div, c_n) = base[key], cand[key]
        improvement = b - c
        comparison[key] = {
            f"{candidate}_final": c,
            f"{baseline}_final": b,
            "improvement": improvement,
            "improvement_pct": improvement / b * 100 if b != 0 else None,
            f"{baseline}_diverged": b_div,
            f"{candidate}_diverged": c_div,
        }
        if b_n > 1 or c_n > 1:
            comparison[key][f"{baseline}_n_seeds"] = b_n
            comparison[key][f"{candidate}_n_seeds"] = c_n
    out["seeds"] = seeds
    out["comparison"] = comparison
    return out


def group_key(group: SeedGroup) -> str:
    """A seed group's key under its model: the runs' key without the seed (``"8192"``)."""
    parts = [str(group.seq_len) if group.seq_len is not None else "?"]
    if group.label:
        parts.append(group.label)
    return " ".join(parts)


def group_stats(group: SeedGroup, status: Mapping[str, tuple[bool, int | None]]) -> dict[str, Any]:
    """The ``seeds`` entry of one group, given each run's ``(diverged, divergence_step)``."""
    diverged = [(run.seed, status[run.run_id]) for run in group.runs]
    steps = [step for _, (hit, step) in diverged if hit]
    mean, std = mean_and_std(final_losses(group))
    n = len(group.runs)
    n_diverged = sum(hit for _, (hit, _) in diverged)
    return {
        "n_seeds": n,
        "n_diverged": n_diverged,
        "divergence_rate": n_diverged / n,
        "divergence_steps": steps,
        "final_loss_mean": mean,
        "final_loss_std": std,
        "seeds": list(group.seeds),
    }


def _divergence(run: Run, found: Detection | None) -> tuple[bool, int | None]:
    """What the source declared, else what was detected, else not diverged."""
    if run.diverged is not None or found is None:
        return bool(run.diverged), run.divergence_step
    return found.diverged, found.divergence_step


def _finals(
    entries: Mapping[str, Any], groups: Mapping[str, Any]
) -> dict[str, tuple[float, bool, int]]:
    """Per comparable key, ``(final loss, diverged, seeds behind it)``: a group's mean where
    the model has a seed group at that length, else the single run's values."""
    finals = {k: (e["final_loss"], e["diverged"], 1) for k, e in entries.items()}
    for key, g in groups.items():
        if g["final_loss_mean"] is not None:
            finals[key] = (g["final_loss_mean"], g["n_diverged"] > 0, g["n_seeds"])
    return finals


def _key_order(key: str) -> tuple[float, str]:
    """Length keys by length (numerically), then the rest of the key; unknown lengths last."""
    head = key.split(" ", 1)[0]
    return (int(head) if head.isdigit() else math.inf, key)


def _sorted_keys(keys: Iterable[str]) -> list[str]:
    return sorted(keys, key=_key_order)


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
