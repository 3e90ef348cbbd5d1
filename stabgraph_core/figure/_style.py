"""Colours, sizes and small helpers shared by the figure modules (``figure`` re-exports them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from ..page import HEIGHT_PX, WIDTH_PX

if TYPE_CHECKING:  # only named in annotations: export imports this module without NumPy
    from ..model import Run


MODEL_COLORS: Mapping[str, str] = {"resnetbk": "#2E86AB", "mamba": "#A23B72"}
DIVERGENCE_COLOR = "#F18F01"
STABLE_COLOR = "#06A77D"
# for other models: distinct from the four above and from each other
OTHER_COLORS: tuple[str, ...] = (
    "#5E4B8B",
    "#C0392B",
    "#3D5A6C",
    "#8C6D46",
    "#1F3A93",
    "#7F8C8D",
    "#B5487A",
    "#2C3E50",
)
DASHES: tuple[str, ...] = ("solid", "dash", "dashdot", "dot", "longdashdot", "longdash")
FONT_FAMILY = "Times New Roman, Liberation Serif, Times, DejaVu Serif, serif"
DEFAULT_Y_CAP: Literal["auto"] = "auto"

_ROLE_KEY = "key"
_PLOT_PX = 800  # about the width of the plot area, legend excluded
_LABEL_CHAR_PX = 6.5  # about the width of one label character at 13 px
LABEL_CHARS = 32  # longer run names are cut in the legend and labels (hover has them whole)
_RUG_TOP = 0.975  # y2 (paper-like 0..1) position of the first NaN/Inf rug row
_RUG_STEP = 0.022
# stretches of NaN/Inf per run drawn at most; closer ones are merged (about 1.5 px each)
RUG_MAX_STRETCHES = 500
# steps per run the automatic y cap is fitted to (an even sample of longer runs)
CAP_SAMPLE = 10_000


def short(text: str, limit: int = LABEL_CHARS) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis: legends and labels stay narrow."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _tint(hex_color: str, strength: float) -> str:
    """``hex_color`` blended with white: opaque, so EPS (no transparency) stays vector."""
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    mix = [round(255 - strength * (255 - c)) for c in (r, g, b)]
    return "#{:02X}{:02X}{:02X}".format(*mix)


def _shade(hex_color: str, t: float) -> str:
    """``hex_color`` darker (``t`` < 0.5, down to 30% black) or lighter (``t`` > 0.5, up to
    50% white) — opaque, and the model's hue either way."""
    if not hex_color.startswith("#") or len(hex_color) != 7:
        return hex_color  # an hsl() colour of a model past the palette: left as it is
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    if t < 0.5:
        k = 1 - 0.6 * (0.5 - t)
        mix = [round(c * k) for c in (r, g, b)]
    else:
        w = t - 0.5
        mix = [round(c + w * (255 - c)) for c in (r, g, b)]
    return "#{:02X}{:02X}{:02X}".format(*mix)


def length_position(n: int | None, lengths: list[int | None]) -> float:
    """Where ``n`` sits among the ascending ``lengths``, 0 (shortest) to 1 (longest); 0.5
    for a lone length."""
    if len(lengths) < 2:
        return 0.5
    return lengths.index(n) / (len(lengths) - 1)


def _hashed_color(name: str) -> str:
    import zlib

    hue = zlib.crc32(name.encode()) % 360
    return f"hsl({hue},55%,40%)"


def _meta(run: Run | None, role: str, model: str | None = None) -> dict[str, Any]:
    return {
        "run_id": run.run_id if run else None,
        "model": run.model if run else model,
        "seq_len": run.seq_len if run else None,
        "seed": run.seed if run else None,
        "role": role,
    }


def axis_style() -> dict[str, Any]:
    """The reference's axes: a black frame, outside ticks, dashed grey grid, bold titles
    (a fresh dict: callers add their title text, range and type)."""
    return {
        "showline": True,
        "linecolor": "black",
        "linewidth": 1,
        "mirror": True,
        "ticks": "outside",
        "tickcolor": "black",
        "showgrid": True,
        "gridcolor": "#D4D4D4",
        "griddash": "dash",
        "zeroline": False,
        "title": {"font": {"size": 18, "weight": "bold"}, "standoff": 8},
        "tickfont": {"size": 13},
    }


def page_layout(title: str) -> dict[str, Any]:
    """Everything of a figure's layout but its axes: the 12 x 7 in page, fonts, the centred
    title, margins, the framed legend right of the plot, no template (a fresh dict)."""
    return {
        "width": WIDTH_PX,
        "height": HEIGHT_PX,
        "font": {"family": FONT_FAMILY, "size": 13, "color": "black"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "title": {
            "text": title,
            "x": 0.5,
            "xanchor": "center",
            "y": 0.965,
            "yanchor": "top",
            "font": {"size": 20, "weight": "bold"},
        },
        "margin": {"l": 78, "r": 20, "t": 92 if "<br>" in title else 64, "b": 64},
        "legend": {
            "x": 1.01,
            "xanchor": "left",
            "y": 1.0,
            "yanchor": "top",
            "bordercolor": "black",
            "borderwidth": 1,
            "bgcolor": "white",
            "font": {"size": 13},
            "grouptitlefont": {"size": 14, "weight": "bold"},
            "tracegroupgap": 10,
            "groupclick": "toggleitem",
            "traceorder": "grouped",
        },
        "hovermode": "closest",
        "showlegend": True,
        "template": {"layout": {}},  # no default template: the figure sets all it needs
    }
