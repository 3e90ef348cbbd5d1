"""Seed groups: runs of one model and sequence length that differ only by their seed.

A *seed group* is every run with the same model, sequence length and label and a known
seed; it counts as a group when it has two or more distinct seeds. Runs without a seed,
and a seed that is alone, stay single runs.

Across the seeds of a group, :func:`seed_stats` gives per step the mean, the standard
deviation, the minimum, the maximum and how many seeds count there. Alignment:

- the steps are the union of every seed's logged steps;
- at a step a seed logged, its own value counts; between two of its logged steps, the
  value on the straight line between them (so seeds that log at different steps still
  share a band); outside its own first and last step, nothing (no extrapolation);
- only finite values count: a NaN/Inf step of one seed, or a step next to one, leaves
  that seed out there;
- a seed contributes only before its ``cutoff`` (the figure and the summary pass the
  divergence onset), so a diverged seed can never be averaged into a band that hides it.

The standard deviation is the *sample* one (``ddof=1``, the spread a paper reports for a
handful of seeds), so it is NaN where fewer than two seeds count; the mean, minimum and
maximum need one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .model import Run, length_label, model_display_name

#: Rows of :attr:`SeedStats.table`, in order.
STAT_ROWS = ("steps", "mean", "std", "min", "max", "count")


@dataclass(frozen=True)
class SeedGroup:
    """Runs of one model, sequence length and label with two or more different seeds.

    Args:
        model: the model name.
        seq_len: the sequence length (None when the runs name none).
        label: the runs' shared label (None for most).
        runs: the seeds' runs, by ascending seed.
    """

    model: str
    seq_len: int | None
    label: str | None
    runs: tuple[Run, ...]

    @property
    def seeds(self) -> tuple[int, ...]:
        """The seeds, ascending."""
        return tuple(r.seed for r in self.runs if r.seed is not None)

    @property
    def group_id(self) -> str:
        """A stable, URL- and file-safe identifier, distinct from every run's ``run_id``."""
        parts = [self.model, f"seq{self.seq_len}" if self.seq_len is not None else "seqNA"]
        if self.label:
            parts.append(self.label)
        parts.append("seeds")
        return "_".join(parts).replace(" ", "-").replace("/", "-")

    @property
    def display_name(self) -> str:
        """``Mamba 32k``, ``gpt2 (sweep)``: the runs' name without the seed."""
        parts = [model_display_name(self.model)]
        if self.seq_len is not None:
            parts.append(length_label(self.seq_len))
        if self.label:
            parts.append(f"({self.label})")
        return " ".join(parts)


def seed_groups(runs: Iterable[Run]) -> list[SeedGroup]:
    """The groups of two or more seeds among ``runs``, in the order their first run comes.

    A seed that appears twice in one group (two files of the same seed with different
    labels are told apart by label, so this is rare) is kept once: its first run.
    """
    by_key: dict[tuple, dict[int, Run]] = {}
    for run in runs:
        if run.seed is None:
            continue
        by_key.setdefault((run.model, run.seq_len, run.label), {}).setdefault(run.seed, run)
    return [
        SeedGroup(model, seq_len, label, tuple(members[s] for s in sorted(members)))
        for (model, seq_len, label), members in by_key.items()
        if len(members) >= 2
    ]


def grouped_run_ids(groups: Iterable[SeedGroup]) -> dict[str, SeedGroup]:
    """``run_id`` of every seed in the groups, to its group."""
    return {run.run_id: group for group in groups for run in group.runs}


@dataclass(frozen=True)
class SeedStats:
    """Per-step statistics across a group's seeds (see the module docstring).

    ``table`` is one float64 array with a row per name in :data:`STAT_ROWS`; the
    properties are its rows.
    """

    table: np.ndarray

    @property
    def steps(self) -> np.ndarray:
        """The union of the seeds' steps (as floats)."""
        return self.table[0]

    @property
    def mean(self) -> np.ndarray:
        """Mean over the seeds that count at each step (NaN where none does)."""
        return self.table[1]

    @property
    def std(self) -> np.ndarray:
        """Sample standard deviation (NaN where fewer than two seeds count)."""
        return self.table[2]

    @property
    def min(self) -> np.ndarray:
        """Lowest value of the seeds that count."""
        return self.table[3]

    @property
    def max(self) -> np.ndarray:
        """Highest value of the seeds that count."""
        return self.table[4]

    @property
    def count(self) -> np.ndarray:
        """How many seeds count at each step."""
        return self.table[5]


def seed_stats(
    steps: Sequence[np.ndarray],
    values: Sequence[np.ndarray],
    cutoffs: Sequence[int | None] | None = None,
) -> SeedStats:
    """Mean, std, min, max and count across seeds on the union of their steps.

    Args:
        steps: each seed's sorted steps.
        values: each seed's values on its steps (the loss, or a smoothed loss).
        cutoffs: per seed, the first step it no longer counts at (its divergence onset),
            None for a seed that counts everywhere.

    Returns:
        The statistics; see the module docstring for the alignment.
    """
    cutoffs = list(cutoffs) if cutoffs is not None else [None] * len(steps)
    if not steps:
        return SeedStats(np.empty((len(STAT_ROWS), 0)))
    first = np.asarray(steps[0])
    if all(np.array_equal(first, s) for s in steps[1:]):
        grid = first
        matrix = np.array([np.asarray(v, dtype=np.float64) for v in values])
    else:
        grid = np.unique(np.concatenate([np.asarray(s) for s in steps]))
        matrix = np.array([_on_grid(s, v, grid) for s, v in zip(steps, values, strict=True)])
    for row, cutoff in enumerate(cutoffs):
        if cutoff is not None:
            matrix[row, np.searchsorted(grid, cutoff) :] = np.nan
    counted = np.isfinite(matrix)
    count = counted.sum(axis=0)
    safe = np.where(counted, matrix, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = safe.sum(axis=0) / count
        squares = np.where(counted, (matrix - mean) ** 2, 0.0).sum(axis=0)
        std = np.sqrt(squares / (count - 1))
    std[count < 2] = np.nan
    lowest = np.where(counted, matrix, np.inf).min(axis=0)
    highest = np.where(counted, matrix, -np.inf).max(axis=0)
    none = count == 0
    lowest[none] = highest[none] = np.nan
    table = np.vstack((grid.astype(np.float64), mean, std, lowest, highest, count))
    return SeedStats(table)


def _on_grid(steps: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """``values`` at every grid step: its own where logged, linear between logged steps,
    NaN outside its range or next to a non-finite value."""
    steps = np.asarray(steps)
    values = np.asarray(values, dtype=np.float64)
    out = np.full(grid.size, np.nan)
    if steps.size == 0:
        return out
    inside = (grid >= steps[0]) & (grid <= steps[-1])
    at = grid[inside]
    right = np.searchsorted(steps, at)  # first logged step >= the grid step
    exact = steps[np.minimum(right, steps.size - 1)] == at
    vals = np.empty(at.size)
    vals[exact] = values[right[exact]]
    between = ~exact
    hi = right[between]
    lo = hi - 1
    weight = (at[between] - steps[lo]) / (steps[hi] - steps[lo])
    with np.errstate(invalid="ignore"):
        vals[between] = values[lo] + weight * (values[hi] - values[lo])
    out[inside] = vals
    return out


def final_losses(group: SeedGroup) -> list[float | None]:
    """Each seed's final loss (its last finite value), None for a seed with none."""
    out: list[float | None] = []
    for run in group.runs:
        finite = run.loss[np.isfinite(run.loss)]
        out.append(float(finite[-1]) if finite.size else None)
    return out


def mean_and_std(values: Iterable[float | None]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation of the known values (None where undefined)."""
    known = np.array([v for v in values if v is not None], dtype=np.float64)
    if known.size == 0:
        return None, None
    std = float(known.std(ddof=1)) if known.size >= 2 else None
    return float(known.mean()), std
