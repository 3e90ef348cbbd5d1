"""What a figure shows: :class:`FigureOptions`, checked when built."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..downsample import MIN_POINTS
from ..errors import InvalidArgumentError
from ..smoothing import MAX_WEIGHT
from ._style import DEFAULT_Y_CAP

#: Values of :attr:`FigureOptions.grad_norm`.
GRAD_NORM_CHOICES: tuple[str, ...] = ("auto", "on", "off")
#: Values of :attr:`FigureOptions.bands`.
BAND_CHOICES: tuple[str, ...] = ("std", "minmax", "off")


@dataclass(frozen=True)
class FigureOptions:
    """What to draw and how. Checked when built, so a bad value fails at the caller.

    Args:
        models: models to show (None = all), in the order they should be drawn.
        lengths: sequence lengths to show (None = all).
        smoothing: TensorBoard smoothing weight in [0, 0.999]; above 0 the raw loss is
            drawn faintly behind the smoothed curve.
        log_y: logarithmic loss axis (no cap: everything finite and positive is shown).
        x_axis: ``steps`` or ``tokens`` (needs a ``tokens`` series on every shown run).
        show_divergence: divergence colour after the onset, and onset markers.
        show_spikes: markers at spike peaks.
        show_stable: shaded stable regions.
        show_raw: the faint raw curve when smoothing.
        title: figure title (``<br>`` breaks lines); None = the default two-line title.
        max_points: points per curve after downsampling (None = every point). The app
            passes about 2000; exports keep everything.
        x_range: visible x-range; downsampling then spends its points inside it.
        y_cap: ``"auto"`` caps a linear axis so exploded losses cannot flatten the other
            curves (with an off-the-chart marker); a number sets the top; None = let the
            axis fit everything.
        grad_norm: the gradient-norm panel under the loss: ``auto`` when a shown run logs
            a gradient norm, ``on`` always (saying so when none does), ``off`` never.
        bands: runs of one model and length with two or more seeds (a seed group, see
            ``seeds.py``) are drawn as their mean curve and a band: ``std`` mean ± one
            standard deviation, ``minmax`` lowest to highest seed, ``off`` every seed as its
            own line. A diverged seed leaves the band at its onset and goes on as its own line.
        show_seeds: with bands, also each grouped seed's own (thin) line.
        fit_legend: a legend longer than the page gets smaller text, so an export is never
            cut off; off for a chart whose legend can scroll (the app's).

    Raises:
        InvalidArgumentError: any value out of range, or a bare string for a collection.
    """

    models: tuple[str, ...] | None = None
    lengths: tuple[int, ...] | None = None
    smoothing: float = 0.0
    log_y: bool = False
    x_axis: Literal["steps", "tokens"] = "steps"
    show_divergence: bool = True
    show_spikes: bool = True
    show_stable: bool = True
    show_raw: bool = True
    title: str | None = None
    max_points: int | None = None
    x_range: tuple[float, float] | None = None
    y_cap: float | Literal["auto"] | None = DEFAULT_Y_CAP
    grad_norm: Literal["auto", "on", "off"] = "auto"
    bands: Literal["std", "minmax", "off"] = "std"
    show_seeds: bool = False
    fit_legend: bool = True

    def __post_init__(self) -> None:
        for name in ("models", "lengths"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise InvalidArgumentError(f"{name} must be a collection, not {value!r}")
            if value is not None:
                object.__setattr__(self, name, tuple(value))
        if self.lengths is not None:
            object.__setattr__(self, "lengths", tuple(int(n) for n in self.lengths))
        smoothing = float(self.smoothing)
        if not 0.0 <= smoothing <= MAX_WEIGHT:
            raise InvalidArgumentError(
                f"smoothing must be between 0 and {MAX_WEIGHT}, got {self.smoothing}"
            )
        object.__setattr__(self, "smoothing", smoothing)
        if self.x_axis not in ("steps", "tokens"):
            raise InvalidArgumentError(f"x axis must be 'steps' or 'tokens', got {self.x_axis!r}")
        if self.grad_norm not in GRAD_NORM_CHOICES:
            raise InvalidArgumentError(
                f"grad norm must be one of {', '.join(GRAD_NORM_CHOICES)}, got {self.grad_norm!r}"
            )
        if self.bands not in BAND_CHOICES:
            raise InvalidArgumentError(
                f"bands must be one of {', '.join(BAND_CHOICES)}, got {self.bands!r}"
            )
        if self.max_points is not None and int(self.max_points) < MIN_POINTS:
            raise InvalidArgumentError(
                f"max points must be at least {MIN_POINTS}, got {self.max_points}"
            )
        if self.x_range is not None:
            lo, hi = (float(v) for v in self.x_range)
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi:
                raise InvalidArgumentError(f"x range must be two different numbers: {self.x_range}")
            object.__setattr__(self, "x_range", (min(lo, hi), max(lo, hi)))
        cap = self.y_cap
        if cap is not None and cap != "auto":
            if isinstance(cap, str) or not math.isfinite(float(cap)) or float(cap) <= 0:
                raise InvalidArgumentError(
                    f"y cap must be 'auto', None or a positive number: {cap!r}"
                )
            object.__setattr__(self, "y_cap", float(cap))
