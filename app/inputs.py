"""Every value a callback gets from the browser, checked here: one function per input.

Anything the browser sends is untrusted: a forged ``/_dash-update-component`` body can put
any JSON where a control's value belongs (a list for a string, an object for a number, a
100,000-character name, an integer past 64 bits). Each function below takes one input's
raw value, checks its type, range and size, and returns it in the form the callbacks use
(defaults filled in), or raises :class:`InvalidArgumentError` with one short line naming
the control as the page labels it. The callbacks show that line where they show their
other messages, so a bad value is answered like any other mistake, never with a 500.

The checks are about shape, not meaning: whether a folder is listed, or detection settings
agree with each other, is decided where that is known (``data.py``, the detector).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from dash import set_props

from stabgraph_core.errors import InvalidArgumentError, StabgraphError
from stabgraph_core.export import DEFAULT_DPI, MAX_DPI
from stabgraph_core.simulation import DEFAULT_LENGTHS, DEFAULT_NUM_STEPS, DEFAULT_SEED
from stabgraph_core.smoothing import MAX_WEIGHT

from . import detection, ids

#: What the Download menu offers: the figure in each format, the summary and the data.
FIGURE_FORMATS = ("pdf", "svg", "eps", "png", "html")
FORMATS = (*FIGURE_FORMATS, "json", "csv")

MAX_TEXT = 4096  # characters of any free text the page sends (a URL, a folder choice)
MAX_NAME_BYTES = 255  # a folder name, as the filesystem allows it
MAX_ITEMS = 1000  # values of a checklist, options of a control
MAX_TRACES = 20_000  # entries of the trace map (traces on the chart)
MAX_RELAYOUT_KEYS = 200
MAX_OPEN_GROUPS = MAX_ITEMS  # seed groups the table shows open at once
MAX_ROW_ID = 1000  # characters of a table row's id (a run_id or a seed group's id)
MAX_SETTING = 10**9  # detection windows, in logged points
MAX_SEED = 2**32 - 1
MAX_SIM_STEPS = 2_000_000
MAX_SIM_LENGTHS = 12
MAX_LENGTH = 2**31  # a sequence length
NO_LENGTH = "none"  # the Sequence-lengths value of runs whose length is not known
SCALES = ("linear", "log")
X_AXES = ("steps", "tokens")
GRAD_NORM_VALUES = ("auto", "on", "off")
SHOW_VALUES = (
    ids.SHOW_DIVERGENCE,
    ids.SHOW_SPIKES,
    ids.SHOW_STABLE,
    ids.SHOW_RAW,
    ids.SHOW_SEEDS,
)
BAND_VALUES = ("std", "minmax", "off")


def tell(error: StabgraphError, component: str = ids.PAGE_MESSAGE) -> None:
    """Show ``error``'s line in the page from a callback whose outputs have no place for it
    (a chart patch, the table's rows, the URL); call it inside a callback only."""
    set_props(component, {"children": str(error)})


def shown(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for a message that stays one line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- building blocks ---------------------------------------------------------------------


def whole(value: Any, name: str, low: int, high: int) -> int:
    """An integer in ``[low, high]``: an int, a float with no fraction, or decimal digits.

    Raises:
        InvalidArgumentError: anything else (booleans, fractions, NaN, lists, ...).
    """
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and 0 < len(value.strip()) <= 20:
        try:
            number = int(value.strip())
        except ValueError:
            number = None
    if number is None:
        raise InvalidArgumentError(f"{name} must be a whole number, got {shown(value)}")
    if not low <= number <= high:
        raise InvalidArgumentError(
            f"{name} must be between {low:,} and {high:,}, got {shown(number, 30)}"
        )
    return number


def number(value: Any, name: str, low: float, high: float) -> float:
    """A finite number in ``[low, high]`` (an int or a float, not a boolean or a string).

    Raises:
        InvalidArgumentError: anything else.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(f"{name} must be a number, got {shown(value)}")
    if not (math.isfinite(value) and low <= value <= high):
        raise InvalidArgumentError(f"{name} must be between {low:g} and {high:g}, got {value:g}")
    return float(value)


def text(value: Any, name: str, limit: int = MAX_TEXT) -> str:
    """A string of at most ``limit`` characters.

    Raises:
        InvalidArgumentError: not a string, or too long.
    """
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be text, got {shown(value)}")
    if len(value) > limit:
        raise InvalidArgumentError(f"{name} is {len(value):,} characters; at most {limit:,}")
    return value


def one_of(value: Any, name: str, choices: tuple[str, ...], default: str) -> str:
    """One of ``choices`` (None: ``default``).

    Raises:
        InvalidArgumentError: anything else.
    """
    if value is None:
        return default
    if not isinstance(value, str) or value not in choices:
        raise InvalidArgumentError(
            f"{name} must be one of {', '.join(choices)}, got {shown(value)}"
        )
    return value


def items(value: Any, name: str, limit: int = MAX_ITEMS) -> list:
    """A list (a JSON array; from Python, any collection but text or a mapping) of at most
    ``limit`` items.

    Raises:
        InvalidArgumentError: not a list (a string is not a list of its characters), or too long.
    """
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Collection):
        raise InvalidArgumentError(f"{name} must be a list, got {shown(value)}")
    if len(value) > limit:
        raise InvalidArgumentError(f"{name} has {len(value):,} items; at most {limit:,}")
    return list(value)


def mapping(value: Any, name: str, limit: int) -> dict:
    """A dict (a JSON object) with string keys, at most ``limit`` of them.

    Raises:
        InvalidArgumentError: not an object, or too large.
    """
    if not isinstance(value, dict):
        raise InvalidArgumentError(f"{name} must be an object, got {shown(value)}")
    if len(value) > limit:
        raise InvalidArgumentError(f"{name} has {len(value):,} keys; at most {limit:,}")
    return value


# ---- the source ----------------------------------------------------------------------------


def source_value(value: Any) -> str:
    """The Source dropdown's value: ``simulated`` or ``folder:<name>`` (None: simulated)."""
    return "simulated" if value is None else text(value, "Source")


def seed(value: Any) -> int:
    """The simulation's Seed."""
    return whole(value, "seed", 0, MAX_SEED)


def steps(value: Any) -> int:
    """The simulation's Steps."""
    return whole(value, "steps", 1, MAX_SIM_STEPS)


def sim_lengths(value: Any) -> tuple[int, ...]:
    """Simulated lengths, sorted and unique (None or empty: the default lengths)."""
    if value is None:
        return DEFAULT_LENGTHS
    listed = items(value, "Simulated lengths", MAX_ITEMS)
    lengths = sorted({whole(n, "sequence length", 1, MAX_LENGTH) for n in listed})
    if len(lengths) > MAX_SIM_LENGTHS:
        raise InvalidArgumentError(f"at most {MAX_SIM_LENGTHS} sequence lengths")
    return tuple(lengths) or DEFAULT_LENGTHS


def folder_name(value: Any) -> str:
    """A results folder's name as the page sends it: non-empty text a filesystem can name.

    Whether it is a plain name of a listed folder is for ``data.resolve_folder`` to say.
    """
    if value is None or value == "":
        raise InvalidArgumentError("no results folder chosen")
    name = text(value, "results folder name", MAX_TEXT)
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES or "\x00" in name:
        raise InvalidArgumentError(f"results folder {shown(name)} is not a folder name")
    return name


_SNAPSHOT = re.compile(r"[0-9a-f]{64}")


def snapshot(value: Any) -> str:
    """The key of one loaded state of a folder (a SHA-256 hex digest, see ``store``)."""
    key = text(value, "snapshot", 64)
    if not _SNAPSHOT.fullmatch(key):
        raise InvalidArgumentError("snapshot is not a snapshot key")
    return key


def source_store(value: Any) -> dict[str, Any]:
    """The source store (what was loaded), or a source choice built from the controls.

    Returns:
        ``{"kind": "folder", "folder": name}`` or ``{"kind": "simulated", "seed": ...,
        "steps": ..., "lengths": (...)}``, absent numbers filled with the defaults.
    """
    raw = {} if value is None else mapping(value, "source", 8)
    kind = raw.get("kind", "simulated")
    if kind == "folder":
        out: dict[str, Any] = {"kind": "folder", "folder": folder_name(raw.get("folder"))}
        if raw.get("snapshot") is not None:
            out["snapshot"] = snapshot(raw["snapshot"])
        return out
    if kind != "simulated":
        raise InvalidArgumentError(f"unknown source {shown(kind)}")
    return {
        "kind": "simulated",
        "seed": seed(raw.get("seed", DEFAULT_SEED)),
        "steps": steps(raw.get("steps", DEFAULT_NUM_STEPS)),
        "lengths": sim_lengths(raw.get("lengths") or None),
    }


# ---- the view ------------------------------------------------------------------------------


def models(value: Any) -> list[str] | None:
    """The ticked Models (None: every model of the source)."""
    if value is None:
        return None
    return [text(m, "a model", 500) for m in items(value, "Models")]


def length_value(value: Any) -> int | str:
    """One Sequence-lengths value: a length in tokens, or ``none`` (runs of no stated length)."""
    if value == NO_LENGTH:
        return NO_LENGTH
    return whole(value, "a sequence length", 1, MAX_LENGTH)


def lengths(value: Any) -> list[int | str] | None:
    """The ticked Sequence lengths (None: every length of the source)."""
    if value is None:
        return None
    return [length_value(n) for n in items(value, "Sequence lengths")]


def show(value: Any) -> list[str] | None:
    """The ticked Mark boxes (None: all of them)."""
    if value is None:
        return None
    return [one_of(v, "a Mark box", SHOW_VALUES, "") for v in items(value, "Mark", 16)]


def smoothing(value: Any) -> float:
    """The Smoothing weight (None: none)."""
    return 0.0 if value is None else number(value, "Smoothing", 0.0, MAX_WEIGHT)


def scale(value: Any) -> str:
    """The Loss axis: linear or log."""
    return one_of(value, "Loss axis", SCALES, "linear")


def x_axis(value: Any) -> str:
    """The X axis: steps or tokens."""
    return one_of(value, "X axis", X_AXES, "steps")


def grad_norm(value: Any) -> str:
    """The Gradient norm panel: auto (when a run logs one), on or off."""
    return one_of(value, "Gradient norm", GRAD_NORM_VALUES, "auto")


def bands(value: Any) -> str:
    """Seed bands: mean ± 1 std (std), lowest to highest seed (minmax), or off."""
    return one_of(value, "Seed bands", BAND_VALUES, "std")


def x_range(relayout: Any) -> tuple[float, float] | str | None:
    """The x-range a zoom or pan (the chart's ``relayoutData``) moved to.

    Returns:
        ``(low, high)``, :data:`ids.ZOOM_RESET` for autorange (a double-click), or None when the x
        axis did not move (a y-only zoom, a resize, a date axis).

    Raises:
        InvalidArgumentError: not an object, or an x-range that is not two finite numbers.
    """
    if relayout is None:
        return None
    event = mapping(relayout, "the chart's zoom", MAX_RELAYOUT_KEYS)
    if event.get("xaxis.autorange"):
        return ids.ZOOM_RESET
    if "xaxis.range[0]" in event and "xaxis.range[1]" in event:
        ends = [event["xaxis.range[0]"], event["xaxis.range[1]"]]
    elif "xaxis.range" in event:
        ends = items(event["xaxis.range"], "the chart's x-range", 2)
    else:
        return None  # the x axis did not move (or only one end was dragged)
    if len(ends) == 2 and all(isinstance(e, str) for e in ends):
        return None  # a date or category axis: none that this page draws, nothing to refine
    if len(ends) != 2:
        raise InvalidArgumentError(f"the chart's x-range must be two numbers, got {shown(ends)}")
    low, high = (number(e, "the chart's x-range", -math.inf, math.inf) for e in ends)
    return (min(low, high), max(low, high))


# ---- detection settings --------------------------------------------------------------------


def setting(key: str, value: Any) -> float | int | None:
    """One detection-settings input (by its URL key); None (blank) means the default.

    Its range is the detector's to check; here only its type and size.
    """
    spec = detection.BY_KEY[key]
    if value is None:
        return None
    if spec.integer:
        if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
            return value  # the detector says a window must be whole, in its words
        return whole(value, spec.label, -MAX_SETTING, MAX_SETTING)
    return number(value, spec.label, -math.inf, math.inf)


def settings(values: Any) -> dict[str, float | int | None]:
    """The detection-settings inputs, ``{URL key: value}``, each checked by :func:`setting`."""
    given = mapping(values, "detection settings", len(detection.SETTINGS))
    return {s.key: setting(s.key, given.get(s.key)) for s in detection.SETTINGS}


def detector_store(value: Any) -> dict[str, float | int]:
    """The applied detection settings, ``{DetectorConfig field: value}`` (None: defaults)."""
    if value is None:
        return {}
    store = mapping(value, "detection settings", len(detection.SETTINGS))
    by_field = {s.field: s for s in detection.SETTINGS}
    checked: dict[str, float | int] = {}
    for field, given in store.items():
        if field not in by_field:
            raise InvalidArgumentError(f"unknown detection setting {shown(field)}")
        found = setting(by_field[field].key, given)
        if found is not None:
            checked[field] = found
    return checked


# ---- the page's other state ----------------------------------------------------------------

_TRACE_FIELDS: dict[str, Callable[[Any], bool]] = {
    "run_id": lambda v: v is None or (isinstance(v, str) and len(v) <= 1000),
    "model": lambda v: v is None or (isinstance(v, str) and len(v) <= 500),
    "seq_len": lambda v: v is None or v == NO_LENGTH or _is_int(v),
    "role": lambda v: v is None or (isinstance(v, str) and len(v) <= 50),
    "opacity": lambda v: v is None or _is_number(v),
    "width": lambda v: v is None or _is_number(v),
    "legend": lambda v: v is None or isinstance(v, bool),
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 2**53


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def trace_map(value: Any) -> list[dict[str, Any]] | None:
    """The trace map the figure callback stored (None: no chart yet).

    Returns:
        One dict per trace with every field of ``view.trace_map`` present.
    """
    if value is None:
        return None
    entries = []
    for entry in items(value, "the chart's trace map", MAX_TRACES):
        entry = mapping(entry, "a trace-map entry", 32)
        for field, ok in _TRACE_FIELDS.items():
            if not ok(entry.get(field)):
                raise InvalidArgumentError(
                    f"a trace-map entry has a bad {field}: {shown(entry.get(field))}"
                )
        entries.append(
            {
                **{field: entry.get(field) for field in _TRACE_FIELDS},
                "opacity": entry.get("opacity", 1.0),
                "legend": bool(entry.get("legend")),
            }
        )
    return entries


def selected_run(value: Any) -> str | None:
    """The run of the table's selected row (its ``selectedRows``), None when none is."""
    if not value:
        if value not in (None, []):
            raise InvalidArgumentError(f"the table's selection must be a list, got {shown(value)}")
        return None
    row = mapping(items(value, "the table's selection")[0], "a selected row", 64)
    return text(row.get("run_id"), "the selected row's run", 1000)


def expanded_groups(value: Any) -> list[str]:
    """The seed groups the table shows open (its ``TABLE_EXPANDED`` store), by group id,
    in order and each once (None: none). Ids of groups the source lacks are kept: the
    table simply has no such row."""
    if value is None:
        return []
    listed = items(value, "the table's open groups", MAX_OPEN_GROUPS)
    return list(dict.fromkeys(text(g, "an open group", MAX_ROW_ID) for g in listed))


def cell_click(value: Any) -> tuple[str | None, str | None, str | None]:
    """The table's clicked cell (its ``cellClicked``): ``(column, row id, text)``.

    ``text`` is the cell's value when it is text (None for a number or no value); all
    three are None when nothing was clicked yet.
    """
    if value is None:
        return None, None, None
    click = mapping(value, "the table's clicked cell", 16)
    column, row, shown_value = click.get("colId"), click.get("rowId"), click.get("value")
    column = None if column is None else text(column, "the clicked column", 200)
    row = None if row is None else text(row, "the clicked row", MAX_ROW_ID)
    if isinstance(shown_value, str):
        return column, row, text(shown_value, "the clicked cell", MAX_TEXT)
    if shown_value is None or isinstance(shown_value, bool | int | float):
        return column, row, None
    raise InvalidArgumentError(
        f"the clicked cell's value must be text or a number, got {shown(shown_value)}"
    )


def option_values(value: Any, name: str, check: Callable[[Any], Any]) -> list:
    """The values of a control's ``options`` (``[{"label": ..., "value": ...}]``)."""
    if value is None:
        return []
    return [check(mapping(o, f"an option of {name}", 16).get("value")) for o in items(value, name)]


def model_options(value: Any) -> list[str]:
    """The Models checklist's option values."""
    return option_values(value, "Models", lambda v: text(v, "a model", 500))


def length_options(value: Any) -> list[int | str]:
    """The Sequence-lengths checklist's option values."""
    return option_values(value, "Sequence lengths", length_value)


def n_clicks(value: Any) -> int:
    """A button's click count (None: never clicked)."""
    return 0 if value is None else whole(value, "clicks", 0, 2**53)


def export_format(value: Any) -> str:
    """The Download format."""
    return one_of(value, "Download format", FORMATS, "pdf")


def dpi(value: Any) -> int:
    """The PNG resolution (None: the default)."""
    return DEFAULT_DPI if value is None else whole(value, "dpi", 1, MAX_DPI)


def search(value: Any) -> str:
    """The page's query string (``?source=...``); None is no query."""
    return "" if value is None else text(value, "the page's address", MAX_TEXT)


def href(value: Any) -> str:
    """The page's address."""
    return "" if value is None else text(value, "the page's address", MAX_TEXT)


#: The checker of each control in ``state.CONTROLS``, by view field: the URL's values and
#: the controls' own go through the same one.
CONTROLS: dict[str, Callable[[Any], Any]] = {
    "source": source_value,
    "seed": lambda v: None if v is None else seed(v),
    "steps": lambda v: None if v is None else steps(v),
    "sim_lengths": lambda v: None if v is None else list(sim_lengths(v)),
    "models": models,
    "lengths": lengths,
    "smoothing": smoothing,
    "scale": scale,
    "show": show,
    "x_axis": x_axis,
    "grad_norm": grad_norm,
    "bands": bands,
    **{s.key: (lambda v, key=s.key: setting(key, v)) for s in detection.SETTINGS},
}


def view(values: Any) -> dict[str, Any]:
    """Every control's value by view field (see ``state.CONTROLS``), each checked."""
    given = mapping(values, "the view", len(CONTROLS))
    return {name: check(given.get(name)) for name, check in CONTROLS.items()}


def control(name: str, value: Any) -> Any:
    """One control's value by view field, checked as :func:`view` checks it."""
    return CONTROLS[name](value)
