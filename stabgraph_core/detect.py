"""Divergence and spike detection on a run's raw loss (contract; algorithm to be filled)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Spike:
    """A loss excursion that came back: it started, peaked and ended at these steps."""

    start: int
    peak: int
    end: int

    def to_dict(self) -> dict[str, int]:
        return {"start": self.start, "peak": self.peak, "end": self.end}


@dataclass(frozen=True)
class Detection:
    """What the detector found in one run (all steps are the run's own step numbers)."""

    diverged: bool
    divergence_step: int | None
    reason: str
    first_nonfinite_step: int | None = None
    spikes: tuple[Spike, ...] = ()
    stable_regions: tuple[tuple[int, int], ...] = ()
    spike_score: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON-ready dict, the ``detection`` block of the summary."""
        return {
            "diverged": self.diverged,
            "divergence_step": self.divergence_step,
            "reason": self.reason,
            "first_nonfinite_step": self.first_nonfinite_step,
            "spikes": [s.to_dict() for s in self.spikes],
            "stable_regions": [list(r) for r in self.stable_regions],
            "spike_score": self.spike_score,
        }
