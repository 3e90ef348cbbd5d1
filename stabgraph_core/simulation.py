"""Simulated ResNet-BK and Mamba runs, number for number the old script's.

Users compare stabgraph's figures with ones the matplotlib script made, so the
generator, the order of draws and every formula below follow it exactly: per model the
legacy generator is seeded once with ``seed`` (``RandomState(seed)`` gives the same stream
as ``np.random.seed(seed)``), then the lengths are simulated in the order given.

The old script simulated the loss only. Each run here also carries two **synthetic** series
so the demo shows every panel: ``grad_norm`` (a decaying norm with noise; a diverging run's
norm spikes a few steps before its loss departs, then grows with it, and is NaN where the
loss is) and ``memory_gb`` (a peak that grows linearly with the length, ResNet-BK's more
slowly than Mamba's, flat after a short warm-up). They come from a generator of their own
(seeded with the seed, the model and the length), so no loss value differs from the old
script's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import InvalidArgumentError
from .model import Run, RunSet

DEFAULT_LENGTHS: tuple[int, ...] = (8192, 32768, 131072, 524288, 1048576)
DEFAULT_NUM_STEPS = 1000
DEFAULT_SEED = 42

_BASE_LOSS = 4.0
_DECAY = 0.003
_NOISE_STD = 0.05
_SHORT = 8192  # Mamba is stable up to here
_MEDIUM = 32768  # ... diverges at step 600 up to here, early above


def _decay(rng: np.random.RandomState, steps: np.ndarray) -> np.ndarray:
    loss = _BASE_LOSS * np.exp(-_DECAY * steps)
    return loss + rng.normal(0, _NOISE_STD, steps.size)


def _nan_out(rng: np.random.RandomState, loss: np.ndarray, start: int, count: int) -> None:
    n = loss.size
    if n > start:
        where = rng.choice(np.arange(start, n), size=min(count, n - start), replace=False)
        loss[where] = np.nan


#: Synthetic peak memory, GiB = base + per_32k * seq_len / 32768 (see the module docstring).
_MEMORY_GB: dict[str, tuple[float, float]] = {"resnetbk": (2.0, 1.6), "mamba": (2.5, 2.4)}
_GRAD_SPIKE_LEAD = 12  # steps between a diverging run's grad-norm spike and its loss onset


def synthetic_series(run: Run, seed: int) -> Run:
    """``run`` with the synthetic ``grad_norm`` and ``memory_gb`` series added."""
    rng = np.random.default_rng([seed, sum(map(ord, run.model)), int(run.seq_len or 0)])
    steps = run.steps.astype(np.float64)
    norm = (0.6 + 2.4 * np.exp(-steps / 150.0)) * rng.lognormal(0.0, 0.08, steps.size)
    if run.diverged and run.divergence_step is not None:
        onset = float(run.divergence_step)
        lead = onset - _GRAD_SPIKE_LEAD
        norm *= 1.0 + 9.0 * np.exp(-0.5 * ((steps - lead) / 2.5) ** 2)
        after = steps >= onset
        norm[after] *= np.minimum(np.exp(0.02 * (steps[after] - onset)), 200.0)
    norm[~np.isfinite(run.loss)] = np.nan
    base, per_32k = _MEMORY_GB.get(run.model, (2.0, 2.0))
    peak = base + per_32k * float(run.seq_len or 0) / 32768
    warm = 1.0 - 0.35 * np.exp(-steps / 5.0)
    memory = peak * warm * (1.0 - np.abs(rng.normal(0.0, 0.004, steps.size)))
    return run.with_(extra={**run.extra, "grad_norm": norm, "memory_gb": memory})


def simulate_resnetbk(rng: np.random.RandomState, seq_len: int, num_steps: int) -> Run:
    """Stable decay with a small logarithmic length penalty, clipped to [0.5, 10]."""
    steps = np.arange(num_steps)
    loss = _decay(rng, steps)
    loss += 0.2 * np.log10(seq_len / _SHORT)
    loss = np.clip(loss, 0.5, 10.0)
    return Run("resnetbk", seq_len, steps, loss, diverged=False, source="simulated")


def simulate_mamba(rng: np.random.RandomState, seq_len: int, num_steps: int) -> Run:
    """Stable at <= 8k; diverges at step 600 up to 32k (5 NaNs), at 200-299 above (20 NaNs)."""
    steps = np.arange(num_steps)
    if seq_len <= _SHORT:
        return Run("mamba", seq_len, steps, _decay(rng, steps), diverged=False, source="simulated")
    if seq_len <= _MEDIUM:
        onset, rate, nans = 600, 0.01, 5
        loss = _decay(rng, steps)
    else:
        onset = 200 + int(100 * rng.random_sample())  # drawn before the noise
        rate, nans = 0.02, 20
        loss = _decay(rng, steps)
    after = steps >= onset
    loss[after] *= np.exp(rate * (steps[after] - onset))
    _nan_out(rng, loss, onset, nans)
    return Run(
        "mamba", seq_len, steps, loss, diverged=True, divergence_step=onset, source="simulated"
    )


def simulate(
    lengths: Sequence[int] = DEFAULT_LENGTHS,
    num_steps: int = DEFAULT_NUM_STEPS,
    seed: int = DEFAULT_SEED,
) -> RunSet:
    """ResNet-BK runs then Mamba runs, one per length, in the order given.

    Raises:
        InvalidArgumentError: ``num_steps`` <= 0, a length <= 0, or no lengths.
    """
    if int(num_steps) <= 0:
        raise InvalidArgumentError(f"--num_steps must be positive, got {num_steps}")
    lengths = [int(n) for n in lengths]
    if not lengths:
        raise InvalidArgumentError("at least one sequence length is needed")
    bad = [n for n in lengths if n <= 0]
    if bad:
        raise InvalidArgumentError(f"sequence lengths must be positive, got {bad[0]}")
    runs: list[Run] = []
    for make in (simulate_resnetbk, simulate_mamba):
        rng = np.random.RandomState(seed)
        runs.extend(make(rng, n, int(num_steps)) for n in lengths)
    return RunSet(synthetic_series(run, int(seed)) for run in runs)
