"""A sweep folder for tests: models x lengths x seeds of JSONL logs, one seed diverging.

Imported by ``tests/conftest.py`` (the ``sweep_dir`` fixture) and by tests that need its
numbers (``from sweep_data import SWEEP_ONSET``); ``tests/`` is on the path because its
``conftest.py`` is.
"""

from __future__ import annotations

from pathlib import Path

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
