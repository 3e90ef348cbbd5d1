"""Simulated ResNet-BK and Mamba runs, number for number the old script's.

Users compare stabgraph's figures with ones the matplotlib script made, so the
generator, the order of draws and every formula below follow it exactly: per model the
legacy generator is seeded once with ``seed`` (``RandomState(seed)`` gives the same stream
as ``np.random.seed(seed)``), then the lengths are simulated in the order given.
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
    return RunSet(runs)
