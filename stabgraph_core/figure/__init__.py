"""The one Plotly figure of loss curves, used by the CLI exports and the Dash app alike.

What is drawn (see ``model.py`` for what a run and a step are):

- a loss curve per run: colour by model, dash style by sequence length; after the run's
  divergence onset the curve goes on in the divergence colour, and the onset gets an X
  marker with the run's length as a label (placed at the nearest finite value when the
  onset step itself is NaN);
- with smoothing, TensorBoard's debiased EMA as the curve and the raw loss faintly behind;
- shaded stable regions (the steps where every run drawn is stable: up to the first
  divergence among them, or everywhere when none diverges), spike peaks, NaN/Inf steps
  as a rug near the top edge (one segment per stretch of consecutive NaN/Inf steps, at
  most ``RUG_MAX_STRETCHES`` per run; counts in the legend and hover), and an "off the
  chart" marker where a curve leaves a capped y-axis;
- one grouped legend: model status, sequence length, non-finite loss;
- where runs log a gradient norm (``FigureOptions.grad_norm``), a log-scale panel under the
  loss on ``yaxis3``, sharing the x axis, with gradient-norm spikes circled (``_gradnorm``);
- for runs of one model and length with two or more seeds (``FigureOptions.bands``), the
  seeds' mean curve over a band (mean ± 1 std, or min–max) instead of one line per seed;
  a diverged seed leaves the band at its onset and goes on as its own line (``_bands``).

Every trace carries ``meta = {"run_id", "model", "seq_len", "seed", "role"}`` so a caller
can find traces by run and role and toggle them (``dash.Patch``) without rebuilding.
Roles: ``raw``, ``loss``, ``diverged``, ``onset``, ``spikes``, ``nonfinite``,
``offchart``, ``grad_norm``, ``grad_spikes``, ``seed`` (a grouped seed's own thin line; at
most one each per run, only when there is something to draw), ``band`` and ``seed_mean``
(one each per seed group, ``run_id`` the group's ``group_id``) and ``key`` (legend-only
entries, ``run_id`` None). The stable band is not a trace but
``layout.shapes`` (drawn under the grid lines in an opaque tint, so EPS stays vector);
``layout.meta`` holds ``stable_models`` (the models of the runs the band speaks for),
``y_top`` (the y cap, None when uncapped) and ``home`` (the x and y ranges of the whole-run
view, also when ``x_range`` zooms in: where the app's double-click returns).
Everything drawn is opaque: PostScript has no transparency, and cairo would otherwise
rasterise those parts of an EPS.

Cost: with ``max_points`` set, every step of every run is touched only by the smoothing,
the downsampler and a few whole-array reductions; everything else (the y cap, the rug,
onsets, hover data) works on the chosen points, a sample or the non-finite indices, so
10 runs x 1M steps build in about a tenth of a second. For read-only runs (the app's) the
smoothed curves, chosen points and full-series scans are remembered per process in
bounded LRU caches keyed by the arrays' identity, so redrawing with another option that
does not move the points takes about ten milliseconds; writable runs are computed afresh
every time, and either way the figure is the same.

The memory comparison figure (``memory_figure_dict``, ``build_memory_figure``; ``_memory``)
draws each model's peak memory against sequence length, marking runs that diverged or ran
out of memory, in the same colours, fonts and page size.

The figure is sized for print: 12 x 7 in at 96 CSS px per inch (1152 x 672 px), so a PDF
or SVG comes out 12 x 7 in and a PNG at ``dpi`` uses ``scale = dpi / 96``.
"""

from ..page import HEIGHT_IN, HEIGHT_PX, PX_PER_INCH, WIDTH_IN, WIDTH_PX
from ._build import (
    build_figure,
    clear_cache,
    default_title,
    figure_dict,
    length_dashes,
    model_colors,
    stable_band,
)
from ._gradnorm import frame_shapes as panel_frame_shapes
from ._memory import build_memory_figure, memory_figure_dict
from ._options import FigureOptions
from ._style import (
    CAP_SAMPLE,
    DIVERGENCE_COLOR,
    FONT_FAMILY,
    LABEL_CHARS,
    MODEL_COLORS,
    RUG_MAX_STRETCHES,
    STABLE_COLOR,
)

__all__ = [
    "CAP_SAMPLE",
    "HEIGHT_IN",
    "LABEL_CHARS",
    "WIDTH_IN",
    "panel_frame_shapes",
    "stable_band",
    "DIVERGENCE_COLOR",
    "FONT_FAMILY",
    "HEIGHT_PX",
    "MODEL_COLORS",
    "PX_PER_INCH",
    "RUG_MAX_STRETCHES",
    "STABLE_COLOR",
    "WIDTH_PX",
    "FigureOptions",
    "build_figure",
    "build_memory_figure",
    "clear_cache",
    "default_title",
    "figure_dict",
    "length_dashes",
    "memory_figure_dict",
    "model_colors",
]
