"""Shared fixtures: where the read-only real logs live, and skipping when they are absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STABGRAPH_SHARED", ROOT.parent / "shared"))
REAL = SHARED / "data" / "real"
TEST_DATA = ROOT / "tests" / "data"


@pytest.fixture
def real_data() -> Path:
    """``../shared/data/real`` (read in place, never copied); skips when it is absent."""
    if not REAL.is_dir():
        pytest.skip(f"real logs not found at {REAL} (set STABGRAPH_SHARED)")
    return REAL


@pytest.fixture
def reference_dir() -> Path:
    """The folder holding the reference script's summary (a copy kept in ``tests/data``,
    whose README names its source)."""
    return TEST_DATA


#: The sweep written by :func:`write_sweep`: models x lengths x seeds, one seed diverging.
SWEEP_MODELS = ("resnetbk", "mamba")
SWEEP_LENGTHS = (8192, 32768)
SWEEP_SEEDS = (0, 1, 2)
SWEEP_STEPS = 500
SWEEP_DIVERGED = ("mamba", 32768, 2)  # this seed diverges ...
SWEEP_ONSET = 300  # ... from this step ...
SWEEP_GRAD_SPIKE = 290  # ... after a grad-norm spike here
SWEEP_MEMORY_GB = {("resnetbk", 8192): 2.5, ("resnetbk", 32768): 4.0}
SWEEP_MEMORY_GB |= {("mamba", 8192): 3.0, ("mamba", 32768): 6.0}


def write_sweep(root: Path) -> Path:
    """A hyper-parameter sweep as a trainer writes it: one JSONL log per model, length and seed.

    ``root/sweep/<model>/seq<len>_seed<k>.jsonl``, records ``{step, model, seq_len, seed, loss,
    grad_norm, memory_gb}`` every step (memory as ``peak_memory_mb`` for Mamba, to check the
    unit). The loss decays with seeded noise; :data:`SWEEP_DIVERGED` has a grad-norm spike at
    :data:`SWEEP_GRAD_SPIKE`, then its loss grows from :data:`SWEEP_ONSET` and never returns.
    Returns the sweep folder.
    """
    import numpy as np
    import orjson

    sweep = root / "sweep"
    steps = np.arange(SWEEP_STEPS)
    for model in SWEEP_MODELS:
        for n in SWEEP_LENGTHS:
            for seed in SWEEP_SEEDS:
                rng = np.random.default_rng([seed, n, len(model)])
                loss = 3.5 * np.exp(-steps / 120) + 2.0 + rng.normal(0, 0.02, steps.size)
                loss += 0.05 * np.log2(n / 8192)
                norm = 0.8 + 1.5 * np.exp(-steps / 80) + rng.normal(0, 0.03, steps.size)
                if (model, n, seed) == SWEEP_DIVERGED:
                    norm[SWEEP_GRAD_SPIKE : SWEEP_GRAD_SPIKE + 3] *= 12
                    after = steps >= SWEEP_ONSET
                    loss[after] *= np.exp(0.01 * (steps[after] - SWEEP_ONSET))
                    norm[after] *= np.exp(0.01 * (steps[after] - SWEEP_ONSET))
                peak = SWEEP_MEMORY_GB[(model, n)]
                folder = sweep / model
                folder.mkdir(parents=True, exist_ok=True)
                lines = []
                for i in range(steps.size):
                    record = {"step": int(steps[i]), "model": model, "seq_len": n, "seed": seed}
                    record |= {"loss": float(loss[i]), "grad_norm": float(norm[i])}
                    if model == "mamba":
                        record["peak_memory_mb"] = peak * 1024
                    else:
                        record["memory_gb"] = peak
                    lines.append(orjson.dumps(record))
                (folder / f"seq{n}_seed{seed}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return sweep


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    """A fresh sweep folder (see :func:`write_sweep`) under ``tmp_path``."""
    return write_sweep(tmp_path)
