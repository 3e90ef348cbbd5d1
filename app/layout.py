"""The page: a column of controls on the left, the chart large on the right, the table below.

``serve_layout`` is called per page load, so folders added under the results root appear on
reload. Control values here are the defaults; ``callbacks/url.py`` then applies the query
string. Styling lives in ``assets/stabgraph.css``; components carry class names only.
"""

from __future__ import annotations

import dash_ag_grid as dag
from dash import dcc, html

from stabgraph_core import length_label

from . import data, detection, ids, state
from .config import load_settings

EXPORT_FORMATS = [
    {"label": "PDF", "value": "pdf"},
    {"label": "SVG", "value": "svg"},
    {"label": "EPS", "value": "eps"},
    {"label": "PNG", "value": "png"},
    {"label": "HTML", "value": "html"},
    {"label": "Summary JSON", "value": "json"},
    {"label": "Data CSV", "value": "csv"},
]
DPI_CHOICES = [150, 300, 600]
SIM_LENGTH_CHOICES = [1 << p for p in range(10, 21)]  # 1k ... 1M

GRAPH_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    # autoscale would fit exploded losses; double-click and "Reset axes" go to the first view
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "filename": "stabgraph", "scale": 2},
}

# cell formatters, in assets/dashAgGridFunctions.js: losses to four significant digits (powers
# of ten when large), counts with thousands separators
_LOSS = {"valueFormatter": {"function": "lossCell(params)"}}
_COUNT = {"valueFormatter": {"function": "countCell(params)"}}

TABLE_COLUMNS = [
    {
        "field": "run",
        "headerName": "Run",
        "pinned": "left",
        "minWidth": 210,
        "headerTooltip": "A seed group's row opens to its seeds: click its name",
        # functions named here live in assets/dashAgGridFunctions.js
        "comparator": {"function": "runNames(valueA, valueB)"},
    },
    {
        "field": "final",
        "headerName": "Final",
        "type": "numericColumn",
        "headerTooltip": "Last finite loss; a seed group: the seeds' mean ± std",
        "valueFormatter": {"function": "seedMeanAndStd(params)"},
        "minWidth": 130,
    },
    {"field": "min", "headerName": "Min", "type": "numericColumn", **_LOSS},
    {"field": "mean", "headerName": "Mean", "type": "numericColumn", **_LOSS},
    {"field": "nan", "headerName": "NaN", "type": "numericColumn", "maxWidth": 90, **_COUNT},
    {"field": "inf", "headerName": "Inf", "type": "numericColumn", "maxWidth": 90, **_COUNT},
    {
        "field": "declared",
        "headerName": "Declared",
        "headerTooltip": "Divergence as the source states it",
        "tooltipField": "declared",
        "minWidth": 120,
    },
    {
        "field": "detected",
        "headerName": "Detected",
        "headerTooltip": "Divergence found in the raw loss",
        "tooltipField": "detected",
        "minWidth": 190,  # a seed group's "1/3 diverged (step 1,200)"
    },
    {"field": "spikes", "headerName": "Spikes", "type": "numericColumn", "maxWidth": 100, **_COUNT},
    {
        "field": "state",
        "headerName": "State",
        "headerTooltip": "running: its log changed in the last 2 minutes; finished: it did not",
        "maxWidth": 110,
    },
    {"field": "source", "headerName": "File", "tooltipField": "source", "minWidth": 160},
    {"field": "notes", "headerName": "Notes", "tooltipField": "notes", "minWidth": 260},
]


def _section(title: str, *children: object, class_name: str = "") -> html.Section:
    return html.Section(
        [html.H2(title, className="panel-title"), *children],
        className=f"panel {class_name}".strip(),
    )


def _radio(component_id: str, value: str, choices: list[tuple[str, str]]) -> dcc.RadioItems:
    """An inline radio group of ``(label, value)`` choices."""
    return dcc.RadioItems(
        id=component_id,
        value=value,
        inline=True,
        className="radio",
        options=[{"label": label, "value": v} for label, v in choices],
    )


def _field(label: str, control: object, hint: str | None = None) -> html.Div:
    parts: list[object] = [html.Label(label, className="field-label"), control]
    if hint:
        parts.append(html.Div(hint, className="field-hint"))
    return html.Div(parts, className="field")


def source_options() -> list[dict[str, str]]:
    """Simulated runs first, then every run under the results root, then each of its folders."""
    options = [{"label": "Simulated runs", "value": state.SIMULATED_VALUE}]
    if data.offers_whole_root():
        name = data.results_root().name or str(data.results_root())
        options.append({"label": f"All runs in {name}/", "value": state.WHOLE_ROOT_VALUE})
    options += [{"label": name, "value": state.folder_value(name)} for name in data.list_folders()]
    return options


def _source_panel() -> html.Section:
    d = state.DEFAULTS
    sim = html.Div(
        [
            html.Div(
                [
                    _field(
                        "Seed",
                        dcc.Input(
                            id=ids.SIM_SEED,
                            type="number",
                            value=d["seed"],
                            min=0,
                            step=1,
                            debounce=True,
                            className="input",
                        ),
                    ),
                    _field(
                        "Steps",
                        dcc.Input(
                            id=ids.SIM_STEPS,
                            type="number",
                            value=d["steps"],
                            min=1,
                            max=data.MAX_SIM_STEPS,
                            step=1,
                            debounce=True,
                            className="input",
                        ),
                    ),
                ],
                className="field-row seed-steps",
            ),
            _field(
                "Simulated lengths",
                dcc.Dropdown(
                    id=ids.SIM_LENGTHS,
                    options=[{"label": length_label(n), "value": n} for n in SIM_LENGTH_CHOICES],
                    value=d["sim_lengths"],
                    multi=True,
                    clearable=False,
                ),
            ),
        ],
        id=ids.SIM_PANEL,
        className="sim-panel",
    )
    options = source_options()
    offered = {o["value"] for o in options}
    return _section(
        "Data",
        _field(
            "Source",
            dcc.Dropdown(
                id=ids.SOURCE,
                options=options,
                # a default folder that is gone (or a root with no files) opens simulated runs
                value=d["source"] if d["source"] in offered else state.SIMULATED_VALUE,
                clearable=False,
                searchable=True,
            ),
        ),
        sim,
        html.Div(
            [html.Span(className="spinner"), html.Span(id=ids.SOURCE_LOADING_LABEL)],
            id=ids.SOURCE_LOADING,
            className="source-loading",
            role="status",
            hidden=True,
        ),
        html.Div(id=ids.SOURCE_STATUS, className="source-status", role="status"),
        _live_row(),
        html.Ul(id=ids.LOAD_ERRORS, className="load-errors", role="alert"),
    )


def _live_row() -> html.Div:
    """Following the folder: when it last changed, and a switch to stop following."""
    poll_s = load_settings().poll_s
    return html.Div(
        [
            html.Span(className="live-dot"),
            html.Span(id=ids.LIVE_STATUS, className="live-status", role="status"),
            html.Span(id=ids.LIVE_RUNS, className="live-runs"),
            dcc.Checklist(
                id=ids.LIVE_PAUSE,
                options=[{"label": "Pause", "value": "paused"}],
                value=[] if poll_s else ["paused"],
                className="live-pause",
                inputClassName="check",
            ),
            dcc.Interval(id=ids.LIVE_TICK, interval=int(1000 * (poll_s or 3600)), disabled=True),
        ],
        id=ids.LIVE_PANEL,
        className="live-row",
        hidden=True,
        title=f"The page checks the folder every {poll_s:g} s" if poll_s else "Following is off",
    )


def _runs_panel() -> html.Section:
    return _section(
        "Runs",
        _field(
            "Models",
            dcc.Checklist(
                id=ids.MODELS, options=[], value=None, className="checklist", inline=True
            ),
        ),
        _field(
            "Sequence lengths",
            dcc.Checklist(
                id=ids.LENGTHS, options=[], value=None, className="checklist", inline=True
            ),
        ),
    )


def _display_panel() -> html.Section:
    d = state.DEFAULTS
    return _section(
        "Display",
        _field(
            "Smoothing",
            dcc.Slider(
                id=ids.SMOOTHING,
                min=0,
                max=0.99,
                step=0.01,
                value=d["smoothing"],
                marks={0: "0", 0.6: "0.6", 0.9: "0.9", 0.99: ".99"},
                tooltip={"placement": "bottom"},
                updatemode="mouseup",
            ),
            hint="Exponential moving average, debiased; raw loss stays faint behind.",
        ),
        _field(
            "Loss axis",
            _radio(ids.LOG_Y, d["scale"], [("Linear", "linear"), ("Log", "log")]),
        ),
        _field(
            "X axis",
            _radio(ids.X_AXIS, d["x_axis"], [("Steps", "steps"), ("Tokens seen", "tokens")]),
        ),
        _field(
            "Gradient norm",
            _radio(ids.GRAD_NORM, d["grad_norm"], [("Auto", "auto"), ("On", "on"), ("Off", "off")]),
            hint="A log-scale panel under the loss; auto: when a run logs one.",
        ),
        _field(
            "Seed bands",
            _radio(
                ids.BANDS,
                d["bands"],
                [("Mean ± std", "std"), ("Min–max", "minmax"), ("Off", "off")],
            ),
            hint="Runs of one model and length with several seeds: their mean and spread. "
            "A diverged seed is always its own line from its onset.",
        ),
        _field(
            "Mark",
            dcc.Checklist(
                id=ids.SHOW,
                value=d["show"],
                className="checklist stacked",
                options=[
                    {"label": "Divergence onsets", "value": ids.SHOW_DIVERGENCE},
                    {"label": "Loss spikes", "value": ids.SHOW_SPIKES},
                    {"label": "Stable regions", "value": ids.SHOW_STABLE},
                    {"label": "Raw loss behind smoothing", "value": ids.SHOW_RAW},
                    {"label": "Each seed under its band", "value": ids.SHOW_SEEDS},
                ],
            ),
        ),
    )


def _setting_row(setting: detection.Setting) -> html.Div:
    return html.Div(
        [
            html.Label(
                [setting.label, html.Span(setting.default_text, className="setting-default")],
                htmlFor=setting.component,
                className="setting-label",
            ),
            dcc.Input(
                id=setting.component,
                type="number",
                value=state.DEFAULTS[setting.key],
                placeholder=f"{setting.default:g}",
                step=1 if setting.integer else "any",
                debounce=True,
                className="input setting-input",
            ),
        ],
        title=setting.hint,
        className="setting-row",
    )


def _detection_panel() -> html.Details:
    """Collapsed by default: most readers never change the detector."""
    return html.Details(
        [
            html.Summary(
                ["Detection settings", html.Span(id=ids.DETECT_CHANGED, className="changed")],
                className="panel-title details-title",
            ),
            html.Div([_setting_row(s) for s in detection.SETTINGS], className="settings"),
            html.Div(id=ids.DETECT_MESSAGE, className="detect-message", role="alert"),
            html.Div(
                [
                    html.Span("Same as the CLI's --detect-* flags.", className="field-hint"),
                    html.Button("Reset", id=ids.DETECT_RESET, className="link-button"),
                ],
                className="settings-foot",
            ),
        ],
        id=ids.DETECT_PANEL,
        className="panel detection-panel",
    )


def _export_panel() -> html.Section:
    return _section(
        "Download",
        html.Div(
            [
                dcc.Dropdown(
                    id=ids.EXPORT_FORMAT,
                    options=EXPORT_FORMATS,
                    value="pdf",
                    clearable=False,
                    className="export-format",
                ),
                dcc.Dropdown(
                    id=ids.EXPORT_DPI,
                    value=300,
                    clearable=False,
                    className="export-dpi",
                    options=[{"label": f"{n} dpi", "value": n} for n in DPI_CHOICES],
                ),
            ],
            className="field-row",
        ),
        html.Div(
            [
                html.Button("Download", id=ids.EXPORT_BUTTON, className="button primary"),
                dcc.Clipboard(
                    id=ids.COPY_LINK,
                    title="Copy a link to this view",
                    className="button copy-link",
                    content="",
                ),
            ],
            className="button-row",
        ),
        html.Progress(id=ids.EXPORT_PROGRESS, className="export-progress", hidden=True),
        html.Div(id=ids.EXPORT_STATUS, className="export-status", role="status"),
        html.Div(
            "The figure as shown (vector PDF/SVG/EPS, PNG at the chosen dpi, interactive "
            "HTML), the summary with detection, or the ticked runs' raw points.",
            className="field-hint",
        ),
    )


def _memory_section() -> html.Section:
    """Peak memory by sequence length for the shown runs (``callbacks/memory.py`` fills it
    and shows it only when a shown run logs memory)."""
    return html.Section(
        [
            html.H2("Peak memory by sequence length", className="panel-title"),
            html.Div(  # sized here: a responsive dcc.Graph fills its parent's height
                dcc.Graph(
                    id=ids.MEMORY_GRAPH,
                    config={
                        **GRAPH_CONFIG,
                        "toImageButtonOptions": {
                            **GRAPH_CONFIG["toImageButtonOptions"],
                            "filename": "stabgraph-memory",
                        },
                    },
                    className="chart",
                ),
                className="memory-chart",
            ),
        ],
        id=ids.MEMORY_CARD,
        className="card memory-card",
        hidden=True,
    )


def serve_layout() -> html.Div:
    """The whole page (a function, so the folder list is fresh on every load)."""
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.SOURCE_STORE),
            dcc.Store(id=ids.LIVE_CHANGE),
            dcc.Store(id=ids.TRACE_MAP),
            dcc.Store(id=ids.DRAWN_SOURCE),
            dcc.Store(id=ids.DETECT_STORE, data={}),
            dcc.Store(id=ids.TABLE_EXPANDED, data=[]),
            dcc.Download(id=ids.DOWNLOAD),
            html.Header(
                [
                    html.H1("stabgraph", className="brand"),
                    html.Span("Training stability across sequence lengths", className="tagline"),
                ],
                className="app-header",
            ),
            html.Div(
                [
                    html.Aside(
                        [
                            _source_panel(),
                            _runs_panel(),
                            _display_panel(),
                            _detection_panel(),
                            _export_panel(),
                        ],
                        className="sidebar",
                    ),
                    html.Main(
                        [
                            html.Div(id=ids.PAGE_MESSAGE, className="page-message", role="alert"),
                            html.Div(
                                [
                                    html.Ul(id=ids.LIVE_NOTICE_LIST, className="live-notice-list"),
                                    html.Button("Dismiss", id=ids.LIVE_DISMISS, className="button"),
                                ],
                                id=ids.LIVE_NOTICES,
                                className="live-notices",
                                role="alert",
                                hidden=True,
                            ),
                            html.Div(
                                dcc.Graph(id=ids.GRAPH, config=GRAPH_CONFIG, className="chart"),
                                className="card chart-card",
                            ),
                            _memory_section(),
                            html.Div(
                                [
                                    html.H2("Runs", className="panel-title"),
                                    dag.AgGrid(
                                        id=ids.TABLE,
                                        columnDefs=TABLE_COLUMNS,
                                        rowData=[],
                                        getRowId="params.data.run_id",
                                        rowClassRules={
                                            "seed-group-row": "params.data.kind === 'group'",
                                            "seed-row": "params.data.kind === 'seed'",
                                        },
                                        defaultColDef={
                                            "sortable": True,
                                            "resizable": True,
                                            "flex": 1,
                                            "minWidth": 90,
                                        },
                                        dashGridOptions={
                                            "rowSelection": {
                                                "mode": "singleRow",
                                                "checkboxes": False,
                                                "enableClickSelection": True,
                                            },
                                            "domLayout": "autoHeight",
                                            "animateRows": False,
                                            "postSortRows": {
                                                "function": "seedsUnderTheirGroup(params)"
                                            },
                                        },
                                        className="ag-theme-quartz runs-table",
                                    ),
                                ],
                                className="card table-card",
                            ),
                        ],
                        className="main",
                    ),
                ],
                className="app-body",
            ),
        ],
        className="app-shell",
    )
