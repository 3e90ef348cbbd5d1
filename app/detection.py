"""Detection settings: the page's inputs for the detector's main parameters, checked.

Each :class:`Setting` ties one :class:`~stabgraph_core.detect.DetectorConfig` field to its
input, its URL parameter (the CLI's ``--detect-*`` flag without the dashes) and a label in
plain words. The detector itself checks the values, so the page, the CLI and the core
accept exactly the same ranges; this module turns its error into a line a reader can act
on, naming the setting by its label.

What the page keeps (in a store and in the URL) is only the settings that differ from the
defaults, as ``{field: value}``, so the plain address still means the default detector.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stabgraph_core.detect import DEFAULT_CONFIG
from stabgraph_core.errors import InvalidArgumentError

from . import ids


@dataclass(frozen=True)
class Setting:
    """One detector parameter as the page shows it."""

    key: str  # URL parameter and view field
    field: str  # DetectorConfig field
    component: str  # input id
    label: str
    hint: str  # tooltip: what the number does
    unit: str = ""  # after the default: ``default 1,000 points``
    integer: bool = False

    @property
    def default(self) -> float | int:
        """The detector's default for this parameter."""
        return getattr(DEFAULT_CONFIG, self.field)

    @property
    def default_text(self) -> str:
        """``default 1,000 points``, shown under the label."""
        return f"default {self.default:,g} {self.unit}".rstrip()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "detect_ratio",
        "ratio",
        ids.DETECT_RATIO,
        "Rise above baseline",
        "A departure is at least this multiple of the best level so far (> 1).",
        unit="×",
    ),
    Setting(
        "detect_sigmas",
        "sigmas",
        ids.DETECT_SIGMAS,
        "Rise in noise widths",
        "... and at least this many robust noise widths above it (> 0).",
    ),
    Setting(
        "detect_return_ratio",
        "return_ratio",
        ids.DETECT_RETURN_RATIO,
        "Back within baseline",
        "An excursion ends once the loss is back within this multiple (1 to the rise).",
        unit="×",
    ),
    Setting(
        "detect_return_window",
        "return_window",
        ids.DETECT_RETURN_WINDOW,
        "Spike returns within",
        "An excursion not back within this many logged points is a divergence.",
        unit="points",
        integer=True,
    ),
    Setting(
        "detect_sustained_points",
        "min_sustained_points",
        ids.DETECT_SUSTAINED_POINTS,
        "Still up at end after",
        "An excursion still open when the log ends is a divergence after this many points.",
        unit="points",
        integer=True,
    ),
    Setting(
        "detect_recovering_fraction",
        "recovering_fraction",
        ids.DETECT_RECOVERING_FRACTION,
        "… unless fallen back by",
        "A shorter open excursion already this share of its height below its peak is a "
        "spike on its way back (0 to 1).",
        unit="of its height",
    ),
    Setting(
        "detect_nonfinite_window",
        "nonfinite_window",
        ids.DETECT_NONFINITE_WINDOW,
        "NaN/Inf spike at most",
        "At most this many NaN/Inf points in a row can still be a spike.",
        unit="points",
        integer=True,
    ),
)
BY_KEY = {s.key: s for s in SETTINGS}
_BY_FIELD = {s.field: s for s in SETTINGS}
_CORE_NAME = re.compile(r"^detector (\w+) ")


def changes(values: Mapping[str, Any]) -> dict[str, float | int]:
    """The settings that differ from the defaults, as ``{field: value}``.

    Args:
        values: input values by URL key; a blank (None) input means the default.

    Raises:
        InvalidArgumentError: a value is out of its range, or two disagree.
    """
    given = {s.field: values.get(s.key) for s in SETTINGS}
    config = DEFAULT_CONFIG.replace(**given)
    return {
        s.field: getattr(config, s.field) for s in SETTINGS if getattr(config, s.field) != s.default
    }


def message(error: InvalidArgumentError) -> str:
    """The detector's complaint, naming the setting by its label, on one line."""
    text = str(error)
    found = _CORE_NAME.match(text)
    if found and found.group(1) in _BY_FIELD:
        rest = text[found.end() :].replace(" and ratio (", " and the rise (")
        text = f"{_BY_FIELD[found.group(1)].label} {rest}"
    return f"{text}; the last valid settings stay in use."


def values_for(applied: Mapping[str, Any] | None) -> dict[str, float | int]:
    """Input values by URL key for applied changes (defaults for the rest)."""
    applied = applied or {}
    return {s.key: applied.get(s.field, s.default) for s in SETTINGS}


def valid_view(view: dict[str, Any], applied: Mapping[str, Any] | None) -> dict[str, Any]:
    """``view`` as the URL should keep it: invalid settings replaced by the applied ones."""
    try:
        changes(view)
    except InvalidArgumentError:
        return view | values_for(applied)
    return view


def changed_label(applied: Mapping[str, Any] | None) -> str:
    """`` · 2 changed`` beside the section's title, empty when all are defaults."""
    return f" · {len(applied)} changed" if applied else ""
