"""The view as a query string, so a copied link reproduces what the sender saw.

A view is the value of each control named in :data:`CONTROLS`, detection settings included
(``detect_ratio=2`` and so on, see ``detection.py``). Only values that differ from the
defaults go into the URL, so the plain address is the default view. Decoding is
forgiving: an unknown or malformed parameter is ignored, never an error page. Each value
is checked by the same function (``inputs.py``) as the control it sets, so a link can
set nothing that the control itself could not send.
"""

from __future__ import annotations

import math
import os
from typing import Any
from urllib.parse import parse_qs, urlencode

from stabgraph_core.errors import InvalidArgumentError
from stabgraph_core.model import NO_LENGTH_LABEL, length_label
from stabgraph_core.simulation import DEFAULT_LENGTHS, DEFAULT_NUM_STEPS, DEFAULT_SEED

from . import detection, ids, inputs

SIMULATED_VALUE = "simulated"
FOLDER_PREFIX = "folder:"
#: The source that shows every run under the results root (``stabgraph serve ROOT`` opens it).
WHOLE_ROOT_VALUE = FOLDER_PREFIX + "."
#: The Sequence-lengths checklist's value (and the URL's word) for runs that name no length.
NO_LENGTH = "none"  # the same word as inputs.NO_LENGTH, which checks it

# view field -> component id whose ``value`` holds it
CONTROLS: dict[str, str] = {
    "source": ids.SOURCE,
    "seed": ids.SIM_SEED,
    "steps": ids.SIM_STEPS,
    "sim_lengths": ids.SIM_LENGTHS,
    "models": ids.MODELS,
    "lengths": ids.LENGTHS,
    "smoothing": ids.SMOOTHING,
    "scale": ids.LOG_Y,
    "show": ids.SHOW,
    "x_axis": ids.X_AXIS,
    "grad_norm": ids.GRAD_NORM,
    "bands": ids.BANDS,
    **{s.key: s.component for s in detection.SETTINGS},
}

DEFAULT_SHOW = [ids.SHOW_DIVERGENCE, ids.SHOW_SPIKES, ids.SHOW_STABLE, ids.SHOW_RAW]


def _default_source() -> str:
    """The source a plain address opens: ``STABGRAPH_DEFAULT_SOURCE``, else simulated runs."""
    value = os.environ.get("STABGRAPH_DEFAULT_SOURCE", "").strip()
    return (
        value
        if value.startswith(FOLDER_PREFIX) and len(value) > len(FOLDER_PREFIX)
        else (SIMULATED_VALUE)
    )


DEFAULTS: dict[str, Any] = {
    "source": _default_source(),
    "seed": DEFAULT_SEED,
    "steps": DEFAULT_NUM_STEPS,
    "sim_lengths": list(DEFAULT_LENGTHS),
    "models": None,  # None: every model the source has
    "lengths": None,  # None: every length the source has
    "smoothing": 0.0,
    "scale": "linear",
    "show": DEFAULT_SHOW,
    "x_axis": "steps",
    "grad_norm": "auto",
    "bands": "std",
    **{s.key: s.default for s in detection.SETTINGS},
}

_INT_LISTS = ("sim_lengths", "lengths")
_STR_LISTS = ("models", "show")


def length_value(seq_len: int | None) -> int | str:
    """The lengths checklist's value for a run's length (:data:`NO_LENGTH` for None)."""
    return NO_LENGTH if seq_len is None else seq_len


def length_options(choices: list[int | None]) -> list[dict[str, Any]]:
    """The lengths checklist's options for a source's ``RunSet.length_choices``."""
    return [
        {"label": length_label(n) if n is not None else NO_LENGTH_LABEL, "value": length_value(n)}
        for n in choices
    ]


def folder_value(name: str) -> str:
    """The source dropdown's value for a results folder."""
    return FOLDER_PREFIX + name


def source_from_value(value: str | None, seed: Any, steps: Any, lengths: Any) -> dict[str, Any]:
    """The source store's dict for the source controls' values."""
    if value and value.startswith(FOLDER_PREFIX):
        return {"kind": "folder", "folder": value[len(FOLDER_PREFIX) :]}
    return {"kind": "simulated", "seed": seed, "steps": steps, "lengths": lengths or []}


def encode(view: dict[str, Any], all_models: list[str], all_lengths: list[int]) -> str:
    """``?source=...&lengths=8192,32768`` for the values that differ from the defaults.

    Args:
        view: control values by field name (see :data:`CONTROLS`).
        all_models: every model the source offers; selecting all of them is the default.
        all_lengths: every length the source offers, likewise.
    """
    params: dict[str, str] = {}
    for name, value in view.items():
        if name not in DEFAULTS or value is None:
            continue
        if name == "models" and _same(value, all_models):
            continue
        if name == "lengths" and _same(value, all_lengths):  # ints and "none": compared as text
            continue
        if _same(value, DEFAULTS[name]):
            continue
        if isinstance(value, list | tuple):
            params[name] = ",".join(str(v) for v in value)
        elif isinstance(value, float) and value.is_integer():
            params[name] = str(int(value))
        else:
            params[name] = str(value)
    return "?" + urlencode(params, safe=",:") if params else ""


def _same(value: Any, default: Any) -> bool:
    if isinstance(value, list | tuple) and isinstance(default, list | tuple):
        return sorted(map(str, value)) == sorted(map(str, default))
    return value == default


def decode(search: str | None) -> dict[str, Any]:
    """Control values named in a query string; parameters absent or malformed are left out.

    ``models`` and ``lengths`` absent decode to None (every one the source has), so a link
    made on one folder still shows everything on a folder with other lengths.
    """
    query = parse_qs((search or "").lstrip("?"), keep_blank_values=True)
    view: dict[str, Any] = {}
    for name in DEFAULTS:
        if name not in query:
            continue
        text = query[name][-1]
        try:
            view[name] = inputs.control(name, _parse(name, text))
        except (ValueError, InvalidArgumentError):
            continue
    return view


def _parse(name: str, text: str) -> Any:
    items = [t for t in text.split(",") if t]
    if name == "lengths":
        return [NO_LENGTH if t == NO_LENGTH else int(t) for t in items]
    if name in _INT_LISTS:
        return [int(t) for t in items]
    if name in _STR_LISTS:
        return items
    if name in ("seed", "steps"):
        return int(text)
    if name in detection.BY_KEY:
        return _detector_number(name, text)
    if name == "smoothing":
        value = float(text)
        if not 0 <= value < 1:
            raise ValueError(text)
        return value
    if name == "scale" and text not in ("linear", "log"):
        raise ValueError(text)
    if name == "x_axis" and text not in ("steps", "tokens"):
        raise ValueError(text)
    if name == "grad_norm" and text not in inputs.GRAD_NORM_VALUES:
        raise ValueError(text)
    if name == "bands" and text not in inputs.BAND_VALUES:
        raise ValueError(text)
    return text


def _detector_number(name: str, text: str) -> int | float:
    """A detection setting's number; its range is checked where it is applied."""
    if detection.BY_KEY[name].integer:
        return int(text)
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value
