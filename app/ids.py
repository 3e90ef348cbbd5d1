"""Component ids, one spelling shared by the layout, the callbacks and the browser tests."""

from __future__ import annotations

# Page state
URL = "url"
SOURCE_STORE = "source-store"
TRACE_MAP = "trace-map"
DRAWN_SOURCE = "drawn-source"  # which source the chart last drew (a live redraw keeps zoom)
PAGE_MESSAGE = "page-message"  # a refused input, from callbacks with no message of their own

# Source panel
SOURCE = "source"
SIM_PANEL = "sim-panel"
SIM_SEED = "sim-seed"
SIM_STEPS = "sim-steps"
SIM_LENGTHS = "sim-lengths"
SOURCE_STATUS = "source-status"
LOAD_ERRORS = "load-errors"
SOURCE_LOADING = "source-loading"
SOURCE_LOADING_LABEL = "source-loading-label"

# Live: the page follows its folder as the logs grow
LIVE_PANEL = "live-panel"
LIVE_TICK = "live-tick"  # dcc.Interval: one poll of the folder (stat only) per tick
LIVE_CHANGE = "live-change"  # the folder's new snapshot key, when a poll finds one
LIVE_PAUSE = "live-pause"
LIVE_STATUS = "live-status"
LIVE_RUNS = "live-runs"  # how many runs are being written to (running) or not (finished)
LIVE_NOTICES = "live-notices"  # runs that diverged (or got a NaN) while the page was open
LIVE_NOTICE_LIST = "live-notice-list"
LIVE_DISMISS = "live-dismiss"

# View controls
MODELS = "models"
LENGTHS = "lengths"
SMOOTHING = "smoothing"
LOG_Y = "log-y"
SHOW = "show"
X_AXIS = "x-axis"
GRAD_NORM = "grad-norm"  # the gradient-norm panel: auto, on or off
BANDS = "bands"  # seed groups as mean and band: std, minmax or off

# Detection settings (the inputs are listed with their parameters in detection.py)
DETECT_STORE = "detect-store"
DETECT_PANEL = "detect-panel"
DETECT_CHANGED = "detect-changed"
DETECT_MESSAGE = "detect-message"
DETECT_RESET = "detect-reset"
DETECT_RATIO = "detect-ratio"
DETECT_SIGMAS = "detect-sigmas"
DETECT_RETURN_RATIO = "detect-return-ratio"
DETECT_RETURN_WINDOW = "detect-return-window"
DETECT_SUSTAINED_POINTS = "detect-sustained-points"
DETECT_RECOVERING_FRACTION = "detect-recovering-fraction"
DETECT_NONFINITE_WINDOW = "detect-nonfinite-window"

# Chart and table
GRAPH = "graph"
TABLE = "table"
TABLE_EXPANDED = "table-expanded"  # the seed groups whose seed rows the table shows
MEMORY_GRAPH = "memory-graph"  # peak memory by sequence length, under the loss chart
MEMORY_CARD = "memory-card"  # its section, hidden when no shown run logs memory

# Downloads
EXPORT_FORMAT = "export-format"
EXPORT_DPI = "export-dpi"
EXPORT_BUTTON = "export-button"
EXPORT_PROGRESS = "export-progress"
EXPORT_STATUS = "export-status"
DOWNLOAD = "download"
COPY_LINK = "copy-link"

# Values of the SHOW checklist
SHOW_DIVERGENCE = "divergence"
SHOW_SPIKES = "spikes"
SHOW_STABLE = "stable"
SHOW_RAW = "raw"
SHOW_SEEDS = "seeds"  # each grouped seed's own thin line under its band

# Not an id: the x range a double-click on the chart asks for (Plotly's autorange)
ZOOM_RESET = "reset"
