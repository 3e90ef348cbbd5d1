"""Divergence and spike detection on a run's raw loss.

Every run gets one :class:`Detection`: whether and where it diverged, the spikes it
recovered from, the intervals in which it was stable, and OLMo 2's spike score. It is
computed on the raw series (before any smoothing or downsampling for display) and it
says in one sentence, with the numbers, why.

What others do, and what we took from each:

* **OLMo 2** (OLMo-core) reports a *spike score*: the share of points more than 7 standard
  deviations from the rolling mean of the previous 1000. It is a good single number to
  compare runs, so ``spike_score`` is exactly that. It does not say where a run diverged.
* **Megatron-LM** stops on the first NaN/Inf loss (``--check-for-nan-in-loss-and-grad``)
  and, with ``--check-for-spiky-loss``, flags a loss 10x the largest seen so far; its
  logs print a NaN iteration without its ``lm loss`` field. We keep "non-finite means
  diverged" as the default, but only 10x is far too late to find an onset.
* **LLM Foundry**'s ``KillLossSpike`` calls a loss an outlier at 2x the mean of a rolling
  window (100 steps or 5% of training) and a run diverged after 5 outliers in a row or
  when half the window is above a loss cap. **Lightning**'s ``SpikeDetection`` flags a
  loss above ``rtol=2`` times the running mean of a 10-step window (or non-finite), and
  ``EarlyStopping(divergence_threshold=..., check_finite=True)`` stops on an absolute
  level or a NaN. These are online rules: they must decide at the step. We read the
  whole run afterwards, so we can ask whether an excursion *came back*, and date its
  start rather than the step at which a threshold happened to be crossed.

The rules (parameters in :class:`DetectorConfig`; windows count logged points, not
optimizer steps, so a run logged every 10 steps is judged like one logged every step):

1. **Level.** The loss is filtered with a 3-point running median (so one wild point
   cannot move it) and averaged over ``smooth_window`` points. The *baseline* at a point
   is the running minimum of the trailing level over the points before it: a loss curve
   should only go down, and the best level reached so far is what a researcher compares
   a bump against. A run that starts high and falls never rises above its own running
   minimum, so an early descent is never a spike.
2. **Noise.** A robust noise width per block of ``noise_window`` points (wider blocks
   for long runs, at most 2,048 of them): the median
   absolute deviation of first differences, divided by sqrt(2) (trends cancel in
   differences, and MAD ignores the spikes themselves). The width used at a point is
   the one from where its baseline was set, so a blow-up cannot widen its own band, and
   points whose noise is over ``return_noise`` x the quietest block so far do not set
   the baseline (a loss swinging wildly around zero is not a new minimum).
3. **Departure.** A point departs when it is above the baseline by both ``ratio`` x the
   baseline (relative: 1.5x, between Lightning/Foundry's 2x and no margin at all) and
   ``sigmas`` noise widths (absolute: pure noise never departs, even near zero loss).
4. **Return.** An excursion ends at the first point that is back within
   ``return_ratio`` x (1.1x) and ``return_sigmas`` noise widths of the baseline, together
   with its 3-point median, while the local noise is back within
   ``return_noise`` x (4x) its width before the excursion (one lucky low point inside a
   blow-up, or a loss swinging wildly around its old level, is not a return). A return
   followed by a new departure within ``merge_gap`` points was not one.
   An excursion that returns within ``return_window`` points is a **spike**; one that
   returns only later is a **divergence**.
5. **Open at the end.** An excursion still open when the log ends is a **divergence** when
   it has lasted ``min_sustained_points`` (20) logged points or more, or is still near its
   peak. A shorter one whose last value has already fallen back by ``recovering_fraction``
   (25%) of its height (peak minus the lowest loss before it) is a **spike** on its way
   back: its ``end`` is the last step and ``reason`` says it was recovering and had not yet
   reached its baseline. A log cut a few points into a spike must not be called a
   divergence (BigScience 13B at iteration 29050: 2.77 -> 8.72, then 7.65, 7.19, 6.85 and
   the excerpt ends), while a run that falls back by as much but stays up for dozens of
   points (a nanoGPT run: 3.66 -> 8.52, still 6.96 sixty points on) and a blow-up that
   rises to the end, however short, stay divergences. A log that ends on NaN/Inf is never
   on its way back.
6. **Onset.** A divergence is dated where the departure began: the kink of the best
   continuous two-piece line through the 3-point medians (not the smoothed level, which
   a 9-point mean starts lifting half a window before a jump), searched around the last
   point at which the smoothed level stood at its minimum between the previous
   excursion and the first departing point. A kink right before the first departing
   point is a jump, dated at its first point; points just before it that already stood
   ``return_sigmas`` noise widths above the lowest loss so far are part of the rise.
   Earlier excursions after which the level never got halfway back to the baseline are
   part of the same rise. A threshold crossing would date a slow blow-up tens of steps
   late. The "running minimum" a reason quotes is the lowest 3-point median before the
   onset (or the spike), not the lagging smoothed baseline.
7. **Non-finite.** A NaN/Inf loss (a Megatron iteration without its loss field is NaN
   too) is a divergence at its first step, unless the loss is finite again within
   ``nonfinite_window`` points and stays finite for ``settle_window`` points (or to the
   end of the run); then it is a spike, and ``reason`` says which.
8. **Stable regions** are the intervals before the divergence step and outside spikes.
9. **Gradient norm.** Where a run logs one (see :mod:`stabgraph_core.series` for the names
   recognised), a point of it is a *gradient-norm spike* when it is above both
   ``grad_ratio`` (3) x the median of the ``grad_window`` (50) logged values before it and
   ``grad_sigmas`` (6) robust noise widths (1.4826 x the median absolute deviation of that
   window) above that median; non-finite and non-positive values are not values (a step
   that did not log a norm neither spikes nor counts in a window), and a point needs 8
   earlier values to be judged. Spiking points at most 3 values apart are one spike,
   dated at its first point, with its peak and the peak's multiple of its median. OLMo 2
   reports that gradient-norm spikes precede loss spikes: when a run diverged and a spike
   started at most ``grad_lead`` (50) logged points before the onset, the reason says so
   (``; the gradient norm spiked at step 290 (12.1x its running median), 10 steps
   before``; the last such spike). Gradient norms are only read by :func:`detect_run`,
   which has the run's logged series; :func:`detect` takes the loss alone.

The work (in :mod:`stabgraph_core.detect._core`) is vectorised NumPy, done in
cache-sized chunks of 32,768 points in one pass; returns are then checked only at the
candidate points after each departure. Python loops run over chunks, excursions and
non-finite stretches, never over points.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..model import Run
from ..series import grad_norm
from ._core import analyse, nonfinite_word
from ._gradnorm import find_spikes, lead_clause
from ._types import DEFAULT_CONFIG, Detection, DetectorConfig, GradNormSpike, Spike


def detect(
    steps: np.ndarray, loss: np.ndarray, config: DetectorConfig = DEFAULT_CONFIG
) -> Detection:
    """Detect divergence, spikes and stable regions in one raw loss curve.

    Args:
        steps: sorted step numbers (int-like), one per loss value.
        loss: the raw loss, NaN/Inf kept as logged.
        config: the detector's parameters.

    Returns:
        The :class:`Detection` for this curve.

    Raises:
        InvalidArgumentError: steps and loss are not 1-D arrays of the same length.
    """
    steps = np.asarray(steps, dtype=np.int64)
    loss = np.asarray(loss, dtype=np.float64)
    if steps.ndim != 1 or loss.shape != steps.shape:
        raise InvalidArgumentError(
            f"detect needs one loss per step, got {steps.size} steps and {loss.size} values"
        )
    if steps.size == 0:
        return Detection(False, None, "no loss values were logged")
    if not np.isfinite(loss).any():
        first = int(steps[0])
        reason = f"loss is never finite ({nonfinite_word(loss[0])} from step {first})"
        return Detection(True, first, reason, first)
    found = analyse(steps, loss, config)
    found["spikes"] = tuple(Spike(*s) for s in found["spikes"])
    return Detection(**found)


def detect_run(run: Run, config: DetectorConfig = DEFAULT_CONFIG) -> Detection:
    """:func:`detect` on a run's raw steps and loss, with its gradient-norm spikes.

    Where the run logs a gradient norm, ``grad_norm_spikes`` holds its spikes, and a
    divergence's reason names the last one that came shortly before the onset (rule 9).

    Raises:
        InvalidArgumentError: never for a valid :class:`Run` (kept for symmetry).
    """
    found = detect(run.steps, run.loss, config)
    norm = grad_norm(run)
    if norm is None or norm.shape != run.steps.shape:
        return found
    spikes = find_spikes(run.steps, norm, config)
    if not spikes:
        return found
    reason = found.reason
    if found.diverged and found.divergence_step is not None:
        reason += lead_clause(run.steps, found.divergence_step, spikes, config)
    return replace(found, reason=reason, grad_norm_spikes=spikes)


def describe(found: Detection | Mapping[str, Any]) -> str:
    """A short label for tables: ``diverged @ 600``, ``2 spikes``, ``stable``.

    Takes a :class:`Detection` or its ``to_dict()`` form (the ``detection`` block of a
    summary), so tables printed from either say the same.
    """
    if isinstance(found, Mapping):
        diverged, step, spikes = found["diverged"], found["divergence_step"], found["spikes"]
    else:
        diverged, step, spikes = found.diverged, found.divergence_step, found.spikes
    if diverged:
        return f"diverged @ {step}"
    if spikes:
        n = len(spikes)
        return f"{n} spike{'s' if n > 1 else ''}"
    return "stable"


__all__ = [
    "DEFAULT_CONFIG",
    "Detection",
    "DetectorConfig",
    "GradNormSpike",
    "Spike",
    "describe",
    "detect",
    "detect_run",
]
