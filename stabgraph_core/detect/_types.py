"""What detection takes and gives: its parameters and its results (shared by the package)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError


@dataclass(frozen=True)
class Spike:
    """A loss excursion that came back: it started, peaked and ended at these steps."""

    start: int
    peak: int
    end: int

    def to_dict(self) -> dict[str, int]:
        return {"start": self.start, "peak": self.peak, "end": self.end}


@dataclass(frozen=True)
class GradNormSpike:
    """A gradient-norm spike: a stretch of points far above their running median.

    ``ratio`` is the peak's multiple of the median of the ``grad_window`` values before it.
    """

    start: int
    peak: int
    end: int
    ratio: float

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "peak": self.peak, "end": self.end, "ratio": self.ratio}


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
    grad_norm_spikes: tuple[GradNormSpike, ...] = ()

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
            "grad_norm_spikes": [s.to_dict() for s in self.grad_norm_spikes],
        }


@dataclass(frozen=True)
class DetectorConfig:
    """The detector's parameters; the defaults are what the CLI and the app use.

    Windows count logged points. See the module docstring for how each is used.

    Args:
        smooth_window: points averaged (after a 3-point median) for the level, >= 1.
        ratio: a departure is at least this multiple of the baseline, > 1 (1.5).
        sigmas: ... and at least this many robust noise widths above it, > 0 (7, as OLMo).
        return_ratio: back within this multiple of the baseline ends an excursion,
            1 <= return_ratio <= ratio (1.1).
        return_sigmas: ... or within this many noise widths, whichever is wider,
            0 <= return_sigmas <= sigmas (3).
        return_noise: ... and with the local noise width back within this multiple of
            the width before the excursion, >= 1 (4): a loss swinging wildly around
            its old level has not come back.
        noise_window: points per block of the robust noise estimate, >= 2 (64).
        return_window: an excursion that takes longer than this to come back is a
            divergence, not a spike, >= 1 (1000).
        merge_gap: a return followed by a new departure within this many points was
            not a return: both are one excursion, >= 1 (10).
        min_sustained_points: an excursion still open when the log ends that has lasted
            this many logged points is a divergence whatever it does, >= 1 (20; 1 makes
            every open excursion a divergence).
        recovering_fraction: a shorter open excursion whose last value is already this
            share of its height (peak minus the lowest loss before it) below its peak is a
            spike on its way back, 0 < recovering_fraction <= 1 (0.25).
        nonfinite_window: at most this many non-finite points in a row can still be a
            spike, >= 1 (10).
        settle_window: after non-finite values the loss must stay finite this long (or
            to the end of the run) for them to count as a spike, >= 1 (100).
        spike_score_window: OLMo's rolling window for the spike score, >= 2 (1000).
        spike_score_sigmas: OLMo's threshold in standard deviations, > 0 (7).
        grad_ratio: a gradient-norm spike is at least this multiple of the median of the
            ``grad_window`` values before it, > 1 (3).
        grad_sigmas: ... and this many robust noise widths (1.4826 x MAD of that window)
            above it, > 0 (6).
        grad_window: values in that running window, >= 2 (50).
        grad_lead: a divergence's reason names a gradient-norm spike that started at most
            this many logged points before its onset, >= 0 (50).

    Raises:
        InvalidArgumentError: a value is out of its range.
    """

    smooth_window: int = 9
    ratio: float = 1.5
    sigmas: float = 7.0
    return_ratio: float = 1.1
    return_sigmas: float = 3.0
    return_noise: float = 4.0
    noise_window: int = 64
    return_window: int = 1000
    merge_gap: int = 10
    min_sustained_points: int = 20
    recovering_fraction: float = 0.25
    nonfinite_window: int = 10
    settle_window: int = 100
    spike_score_window: int = 1000
    spike_score_sigmas: float = 7.0
    grad_ratio: float = 3.0
    grad_sigmas: float = 6.0
    grad_window: int = 50
    grad_lead: int = 50

    def __post_init__(self) -> None:
        minimum = {
            "smooth_window": 1,
            "noise_window": 2,
            "return_window": 1,
            "merge_gap": 1,
            "min_sustained_points": 1,
            "nonfinite_window": 1,
            "settle_window": 1,
            "spike_score_window": 2,
            "grad_window": 2,
            "grad_lead": 0,
        }
        for name, low in minimum.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise InvalidArgumentError(f"detector {name} must be an integer, got {value!r}")
            if value < low:
                raise InvalidArgumentError(f"detector {name} must be >= {low}, got {value}")
            object.__setattr__(self, name, int(value))
        numbers = (
            "ratio",
            "sigmas",
            "return_ratio",
            "return_sigmas",
            "return_noise",
            "recovering_fraction",
        )
        for name in (*numbers, "spike_score_sigmas", "grad_ratio", "grad_sigmas"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise InvalidArgumentError(f"detector {name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise InvalidArgumentError(f"detector {name} must be finite, got {value}")
            object.__setattr__(self, name, float(value))
        if self.ratio <= 1:
            raise InvalidArgumentError(f"detector ratio must be > 1, got {self.ratio}")
        if not 1 <= self.return_ratio <= self.ratio:
            raise InvalidArgumentError(
                f"detector return_ratio must be between 1 and ratio ({self.ratio}), "
                f"got {self.return_ratio}"
            )
        if self.grad_ratio <= 1:
            raise InvalidArgumentError(f"detector grad_ratio must be > 1, got {self.grad_ratio}")
        for name in ("sigmas", "spike_score_sigmas", "grad_sigmas"):
            if getattr(self, name) <= 0:
                raise InvalidArgumentError(f"detector {name} must be > 0")
        if not 0 < self.recovering_fraction <= 1:
            raise InvalidArgumentError(
                f"detector recovering_fraction must be > 0 and <= 1, got {self.recovering_fraction}"
            )
        if self.return_noise < 1:
            raise InvalidArgumentError(
                f"detector return_noise must be >= 1, got {self.return_noise}"
            )
        if not 0 <= self.return_sigmas <= self.sigmas:
            raise InvalidArgumentError(
                f"detector return_sigmas must be between 0 and sigmas ({self.sigmas}), "
                f"got {self.return_sigmas}"
            )

    def replace(self, **changes: Any) -> DetectorConfig:
        """A copy with some parameters changed; None values are ignored (CLI defaults).

        Raises:
            InvalidArgumentError: an unknown parameter, or a value out of range.
        """
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InvalidArgumentError(f"unknown detector parameter {unknown[0]!r}")
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update({k: v for k, v in changes.items() if v is not None})
        return DetectorConfig(**values)


DEFAULT_CONFIG = DetectorConfig()
