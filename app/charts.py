"""The chart as the browser gets it: the core figure builder at screen resolution, cached.

Loaded runs are read-only, so the core remembers per run the smoothed curve, the chosen
points and the NaN/Inf scans: an option that does not move the points (log y, markers, a
smoothing weight seen before) rebuilds 10 runs x 1M steps in about ten milliseconds. The
figure is built as a plain dict (``figure_dict``) and its arrays encoded as Plotly's
base64 typed arrays here, exactly as ``go.Figure.to_dict`` would send them, without
constructing a figure object and deep-copying it back out. Finished charts are cached
per (source, smoothing, scale, x axis, x range); callers get shallow copies of the trace
dicts so they can set ``visible`` without touching the cached one.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from typing import Any

import numpy as np

from stabgraph_core.figure import FigureOptions, figure_dict, panel_frame_shapes, stable_band

from . import data, ids, view

BROWSER_MAX_POINTS = 2000
CACHE_FIGURES = 16
# Exploded losses are clipped to this, just inside float32's range. Not float32's maximum
# itself: its bytes base64-encode to runs of "/", which the JSON encoder escapes to six
# characters each, tripling the size of a run that sits there for most of its steps.
_F32_CLIP = 1e38
_CUSTOM_REF = re.compile(r"customdata\[(\d+)\]")


def options_for(
    loaded: data.Loaded,
    *,
    smoothing: float = 0.0,
    log_y: bool = False,
    x_axis: str = "steps",
    models: list | None = None,
    lengths: list | None = None,
    show: list | None = None,
    x_range: tuple[float, float] | None = None,
    max_points: int | None = BROWSER_MAX_POINTS,
    title: str | None = None,
    grad_norm: str = "auto",
    bands: str = "std",
) -> FigureOptions:
    """FigureOptions for a view (None for models, lengths or show: all of them).

    ``lengths`` are run lengths as the core has them (None for a run that names none).
    """
    runs = loaded.runs
    show = list(view.ROLE_SHOW.values()) if show is None else show
    kwargs: dict[str, Any] = {
        "models": tuple(runs.models if models is None else models),
        "lengths": None if lengths is None else tuple(lengths),
        "smoothing": float(smoothing or 0.0),
        "log_y": bool(log_y),
        "x_axis": x_axis,
        "show_divergence": ids.SHOW_DIVERGENCE in show,
        "show_spikes": ids.SHOW_SPIKES in show,
        "show_stable": ids.SHOW_STABLE in show,
        "show_raw": ids.SHOW_RAW in show,
        "max_points": max_points,
        "x_range": x_range,
        "grad_norm": grad_norm,
        "bands": bands,
        "show_seeds": ids.SHOW_SEEDS in show,
        # on the page the legend scrolls; a download (max_points None) fits its page
        "fit_legend": max_points is None,
    }
    if title is not None:
        kwargs["title"] = title
    return FigureOptions(**kwargs)


@lru_cache(maxsize=CACHE_FIGURES)
def _chart(
    loaded: data.Loaded,
    smoothing: float,
    log_y: bool,
    x_axis: str,
    x_range: tuple[float, float] | None,
    grad_norm: str = "auto",
    bands: str = "std",
) -> dict[str, Any]:
    options = options_for(
        loaded,
        smoothing=smoothing,
        log_y=log_y,
        x_axis=x_axis,
        x_range=x_range,
        grad_norm=grad_norm,
        bands=bands,
    )
    # the plain dict build_figure wraps: no go.Figure to construct and deep-copy back out
    out = figure_dict(loaded.runs, options, detections=loaded.detections)
    lean_hover(out, smoothing=smoothing, x_axis=x_axis)
    compact_arrays(out)
    layout = out["layout"]
    layout.update(autosize=True, uirevision=loaded.choice.label)
    layout["margin"] = {**layout.get("margin", {}), "t": 24, "r": 12}
    for key in ("width", "height", "title"):  # the page sizes the chart; the header names it
        layout.pop(key, None)
    for props in (*out["data"], layout):
        _encode_arrays(props)
    return out


def _encode_arrays(props: dict[str, Any]) -> None:
    """NumPy arrays as Plotly's base64 typed arrays, as ``Figure.to_dict`` sends them.

    Nested property dicts are walked too; ``range`` is left alone, as Plotly leaves it.
    """
    for key, value in props.items():
        if isinstance(value, np.ndarray) and key != "range":
            props[key] = _typed_array(value)
        elif isinstance(value, dict):
            _encode_arrays(value)


def _typed_array(values: np.ndarray) -> Any:
    """One array as Plotly's typed-array spec (64-bit integers narrowed as Plotly does)."""
    if values.size == 0:
        return values
    if values.dtype.name in ("int64", "uint64"):
        signed = values.dtype.kind == "i"
        narrow = (np.int8, np.int16, np.int32) if signed else (np.uint8, np.uint16, np.uint32)
        low, high = values.min(), values.max()
        fits = [t for t in narrow if low >= np.iinfo(t).min and high <= np.iinfo(t).max]
        if not fits:
            return values
        values = values.astype(fits[0])
    code = _TYPED.get(values.dtype.name)
    if code is None:
        return values
    spec = {"dtype": code, "bdata": base64.b64encode(np.ascontiguousarray(values)).decode()}
    if values.ndim > 1:
        spec["shape"] = str(values.shape)[1:-1]
    return spec


_TYPED = {
    "int8": "i1",
    "uint8": "u1",
    "int16": "i2",
    "uint16": "u2",
    "int32": "i4",
    "uint32": "u4",
    "float32": "f4",
    "float64": "f8",
}


def compact_arrays(figure: Any) -> None:
    """Send float arrays as float32: half the bytes, and a screen cannot tell.

    (Integer arrays need nothing: Plotly already sends them in the smallest type that fits.)

    Values beyond float32's range (an exploded loss of 1e300) are clipped to ±1e38 rather than
    becoming Inf; they are far off the chart either way. Exports never go through this.
    """
    for trace in figure["data"]:
        for key in ("x", "y", "customdata"):
            values = _get(trace, key)
            if not isinstance(values, np.ndarray) or values.size == 0:
                continue
            if values.dtype.kind == "f":
                trace[key] = np.clip(values, -_F32_CLIP, _F32_CLIP).astype(np.float32)
            elif values.dtype.kind in "iu" and _fits_int32(values):
                trace[key] = values.astype(np.int32)


def lean_hover(figure: Any, *, smoothing: float, x_axis: str) -> None:
    """Drop hover columns the trace already carries, rewriting the hover text to match.

    Curves carry ``customdata = [step, raw loss, smoothed loss]`` per point; the smoothed
    loss is the point's ``y``, the step its ``x`` on a steps axis, and without smoothing
    the raw loss is ``y`` too. Sending only what ``x``/``y`` do not already hold takes the
    default view's response from ~660 kB to ~220 kB. A template this does not recognise
    is left exactly as built.
    """
    same_as = {0: "x" if x_axis == "steps" else None, 1: None if smoothing else "y", 2: "y"}
    for trace in figure["data"]:
        custom, template = _get(trace, "customdata"), _get(trace, "hovertemplate")
        if not isinstance(custom, np.ndarray) or custom.ndim != 2 or custom.shape[1] != 3:
            continue
        if not isinstance(template, str) or custom.dtype.kind not in "iuf":
            continue
        if set(_CUSTOM_REF.findall(template)) - {"0", "1", "2"}:
            continue
        keep = [c for c in range(3) if same_as[c] is None]
        text = template
        for c in range(3):
            target = same_as[c] or f"customdata[{keep.index(c)}]"
            text = text.replace(f"%{{customdata[{c}]", f"%{{\0{target}")
        text = text.replace("\0", "")
        if "customdata" in text.replace("%{customdata[", "") or "\0" in text:
            continue
        trace["hovertemplate"] = text
        if keep:
            trace["customdata"] = custom[:, keep]
        elif isinstance(trace, dict):
            # absent, not null: dcc.Graph's hover handler indexes a null customdata
            trace.pop("customdata")
        else:
            trace["customdata"] = None


def _get(trace: Any, key: str) -> Any:
    """A trace property, from a trace dict or a ``go.Scatter`` alike (None when unset)."""
    return trace.get(key) if isinstance(trace, dict) else trace[key]


def _fits_int32(values: np.ndarray) -> bool:
    return bool(values.min() >= np.iinfo(np.int32).min and values.max() <= np.iinfo(np.int32).max)


def chart(
    loaded: data.Loaded,
    smoothing: float,
    log_y: bool,
    x_axis: str,
    x_range: tuple[float, float] | None = None,
    grad_norm: str = "auto",
    bands: str = "std",
) -> dict[str, Any]:
    """Every run of the source drawn with these options; a copy safe to modify per trace."""
    cached = _chart(loaded, float(smoothing or 0.0), bool(log_y), x_axis, x_range, grad_norm, bands)
    return {"data": [dict(t) for t in cached["data"]], "layout": cached["layout"]}


def with_stable_shapes(
    loaded: data.Loaded,
    figure: dict[str, Any],
    models: list | None,
    lengths: list | None,
    show: list | None,
    x_axis: str,
) -> dict[str, Any]:
    """``figure`` with its stable band for the ticked runs only (none when *Stable regions*
    is unticked). The chart is built for every run of the source and ticks only hide
    traces, but the band says where the shown runs are all stable, so it is computed again
    for them. ``figure`` is not modified.
    """
    panel = "yaxis3" in figure["layout"]
    shapes = stable_shapes(loaded, models, lengths, show, x_axis, panel=panel)
    return {**figure, "layout": {**figure["layout"], "shapes": shapes}}


def stable_shapes(
    loaded: data.Loaded,
    models: list | None,
    lengths: list | None,
    show: list | None,
    x_axis: str,
    *,
    panel: bool,
) -> list[dict[str, Any]]:
    """Every shape of the chart: the stable band of the ticked runs, and the loss panel's
    frame when the chart has a gradient-norm panel."""
    frame = panel_frame_shapes() if panel else []
    if show is not None and ids.SHOW_STABLE not in show:
        return frame
    runs = view.shown_runs(loaded.runs, models, lengths)
    band, _ = stable_band(runs, loaded.detections, x_axis=x_axis)
    return band + frame


def has_panel(trace_map: list[dict[str, Any]], grad_norm: str) -> bool:
    """Whether the chart these traces belong to has the gradient-norm panel."""
    if grad_norm == "off":
        return False
    return grad_norm == "on" or any(e.get("role") == "grad_norm" for e in trace_map)


def clear_cache() -> None:
    """Forget every built chart (benchmarks and tests)."""
    _chart.cache_clear()
