"""Static export of a figure: PDF, SVG, PNG and EPS through kaleido, HTML through Plotly.

kaleido 1.x drives a headless Chromium. Starting it costs about a second, so one
Chromium serves the whole process: a ``kaleido.Kaleido`` on an event loop in a daemon
thread (what ``kaleido.start_sync_server`` does, but holding the loop and the browser, so
a stuck one can be shut down), started on first use or early with :func:`start_renderer`,
and stopped at exit. Renders are serialised under one lock (concurrent callers of one
kaleido server can receive each other's images). A render that does not come back within
``RENDER_TIMEOUT_S`` stops that Chromium (killed if it will not close) and the next export
starts a fresh one. A forked child forgets its parent's renderer (whose thread does not
exist in the child) and starts its own.

Sizes: the figure is laid out at 96 CSS px per inch (see ``figure.py``), so PDF and SVG
come out at the figure's size in inches, and a PNG at ``dpi`` is rendered at
``scale = dpi / 96`` (12 x 7 in at 300 dpi = 3600 x 2100 px). EPS is made from the SVG
by cairosvg, keeping vector paths and text. Files are written to a temporary file in the
target folder and renamed into place, so a reader never sees half a file and nothing but
the asked path is replaced.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ExportError, InvalidArgumentError
from .figure import HEIGHT_PX, PX_PER_INCH, WIDTH_PX

if TYPE_CHECKING:
    import plotly.graph_objects as go

FORMATS: tuple[str, ...] = ("pdf", "svg", "png", "eps", "html")
DEFAULT_DPI = 300
MAX_DPI = 1200
RENDER_TIMEOUT_S = 120.0
START_TIMEOUT_S = 60.0
CLOSE_TIMEOUT_S = 5.0
CHROMIUM_CANDIDATES: tuple[str, ...] = (
    "/usr/bin/chromium-headless-shell",
    "/usr/bin/chromium",
)
BASIC_BUNDLE = Path(__file__).with_name("_vendor") / "plotly-basic.min.js"
INSTALL_HINT = (
    "static export needs Chromium: install it with `apt-get install chromium` "
    "(or set BROWSER_PATH to a Chrome/Chromium executable)"
)

_lock = threading.Lock()  # one render at a time through the process's one Chromium
_state: dict[str, Any] = {"renderer": None, "starter": None, "error": None}
_umask = os.umask(0)
os.umask(_umask)


def browser_path() -> str:
    """The Chromium to use: ``BROWSER_PATH`` if set, else the system headless shell or Chromium.

    Raises:
        ExportError: none found (the message says how to install one).
    """
    configured = os.environ.get("BROWSER_PATH")
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise ExportError(f"BROWSER_PATH={configured} is not an executable; {INSTALL_HINT}")
        return configured
    for candidate in CHROMIUM_CANDIDATES:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("chromium") or shutil.which("google-chrome")
    if found:
        return found
    raise ExportError(INSTALL_HINT)


def plotly_bundle() -> Path | None:
    """The vendored basic plotly.js when it matches the installed plotly's, else None.

    Chromium parses a quarter of the JavaScript (see ``_vendor/README.md``); a mismatch
    would risk a figure the bundle does not understand, so then the full one is used.
    """
    if not BASIC_BUNDLE.is_file():
        return None
    from plotly.offline import get_plotlyjs_version

    with BASIC_BUNDLE.open("rb") as handle:
        header = handle.read(200).decode("ascii", "replace")
    return BASIC_BUNDLE if f"v{get_plotlyjs_version()}\n" in header else None


def start_renderer(*, wait: bool = False) -> None:
    """Start the process's Chromium now (in the background) so the first export is fast.

    Safe to call many times and from several threads. Without ``wait`` it returns at
    once; errors then surface on the first export.

    Raises:
        ExportError: with ``wait``, when no Chromium can be found or started.
    """
    with _lock:
        if _state["renderer"] is not None or _state["starter"] is not None:
            starter = _state["starter"]
        else:
            starter = threading.Thread(target=_start, name="stabgraph-chromium", daemon=True)
            _state["starter"] = starter
            starter.start()
    if wait and starter is not None:
        starter.join()
        if _state["error"] is not None:
            raise _state["error"]


def _start() -> None:
    """Import kaleido and open a Chromium (runs in a thread: the import alone takes 0.2 s)."""
    try:
        path = browser_path()
        import kaleido  # noqa: F401 - first: it sets up the loggers the filter goes on

        _quiet_ignored_pipe_errors()
        bundle = plotly_bundle()
        _state["renderer"] = _Renderer(path, str(bundle) if bundle else None)
        _state["error"] = None
    except ExportError as err:
        _state["error"] = err
    except Exception as err:  # kaleido/choreographer failures become one user-facing line
        _state["error"] = ExportError(f"could not start Chromium for export: {_first_line(err)}")
    finally:
        _state["starter"] = None


class _Renderer:
    """One headless Chromium (``kaleido.Kaleido``) on its own event loop in a daemon thread.

    kaleido's global sync server hides its loop, so a render that never returns leaves it
    blocked for good, and it still counts as running. Holding the loop and the browser
    here lets a timeout cancel the render and close or kill that Chromium.
    """

    def __init__(self, path: str, plotlyjs: str | None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="stabgraph-chromium", daemon=True
        )
        self.thread.start()
        self.browser: Any = None
        try:
            self._call(self._open(path, plotlyjs), START_TIMEOUT_S)
        except BaseException:
            self.close()
            raise

    async def _open(self, path: str, plotlyjs: str | None) -> None:
        import kaleido

        self.browser = kaleido.Kaleido(n=1, mathjax=False, path=path, plotlyjs=plotlyjs)
        await self.browser.open()

    def _call(self, coroutine: Any, timeout: float) -> Any:
        """Run ``coroutine`` on the loop; on timeout cancel it and raise ``TimeoutError``."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def render(self, spec: dict[str, Any], opts: dict[str, Any], timeout: float) -> bytes:
        """The image bytes (kaleido's ``calc_fig``), or ``TimeoutError`` after ``timeout``."""
        return self._call(self.browser.calc_fig(spec, opts=opts), timeout)

    def close(self) -> None:
        """Close Chromium (kill it if it will not close), stop the loop and its thread."""
        if self.browser is not None and self.thread.is_alive():
            with contextlib.suppress(Exception):  # a stuck or dead browser: killed below
                self._call(self.browser.close(), CLOSE_TIMEOUT_S)
        process = getattr(self.browser, "subprocess", None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(CLOSE_TIMEOUT_S)
        if self.thread.is_alive():
            with contextlib.suppress(Exception):  # best effort: the loop stops either way
                self._call(_cancel_other_tasks(), CLOSE_TIMEOUT_S)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(CLOSE_TIMEOUT_S)
        if not self.thread.is_alive():
            self.loop.close()

    def is_alive(self) -> bool:
        """Whether its Chromium process is still running."""
        process = getattr(self.browser, "subprocess", None)
        return process is not None and process.poll() is None


async def _cancel_other_tasks() -> None:
    """Cancel what is still pending on the renderer's loop (a render that timed out)."""
    me = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not me]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class _SkipIgnoredPipeErrors(logging.Filter):
    """Drops choreographer's traceback for a browser message it skips and recovers from.

    On a busy machine Chromium's pipe sometimes delivers a message in pieces;
    choreographer logs the failed decode with a full traceback, ignores it and carries
    on (the export still succeeds), which would only alarm a user reading the terminal.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("JSONError decoding message. Ignoring")


def _quiet_ignored_pipe_errors() -> None:
    logger = logging.getLogger("choreographer.channels.pipe")
    if not any(isinstance(f, _SkipIgnoredPipeErrors) for f in logger.filters):
        logger.addFilter(_SkipIgnoredPipeErrors())


def stop_renderer() -> None:
    """Stop the process's Chromium (registered to run at exit; safe to call twice)."""
    with _lock:
        renderer, _state["renderer"] = _state["renderer"], None
        if renderer is not None:
            renderer.close()


def _forget_renderer_in_child() -> None:
    """After ``fork``: the parent's render thread does not exist here, and its Chromium is
    the parent's. Start from nothing (a fresh lock too: a fork can copy it held), so the
    child's first export opens its own Chromium."""
    global _lock
    _lock = threading.Lock()
    _state.update(renderer=None, starter=None, error=None)


atexit.register(stop_renderer)
os.register_at_fork(after_in_child=_forget_renderer_in_child)


def figure_bytes(fig: go.Figure, fmt: str, dpi: int = DEFAULT_DPI) -> bytes:
    """The figure encoded as ``fmt`` (pdf, svg, png, eps or html), without touching disk.

    The app's download button uses this; :func:`export_figure` writes it to a file.

    Raises:
        InvalidArgumentError: unknown format or dpi out of range.
        ExportError: Chromium is missing or the render failed.
    """
    fmt = _check(fmt, dpi)
    if fmt == "html":
        return _html(fig).encode("utf-8")
    if fmt == "eps":
        return _eps(_render(fig, "svg", 1.0))
    return _render(fig, fmt, dpi / PX_PER_INCH if fmt == "png" else 1.0)


def export_figure(
    fig: go.Figure, path: str | os.PathLike[str], fmt: str | None = None, dpi: int = DEFAULT_DPI
) -> Path:
    """Write the figure to ``path`` as ``fmt`` (default: from the suffix), atomically.

    Args:
        fig: a figure from ``build_figure`` (any Plotly figure works).
        path: the file to write; missing folders are created; only this path is replaced.
        fmt: pdf, svg, png, eps or html; None takes it from the path's suffix.
        dpi: PNG resolution (12 x 7 in at 300 dpi = 3600 x 2100 px); vector formats ignore it.

    Returns:
        The path written.

    Raises:
        InvalidArgumentError: unknown format or dpi out of range.
        ExportError: Chromium is missing, the render failed, or the file cannot be written.
    """
    target = Path(path)
    if fmt is None:
        fmt = target.suffix.lstrip(".").lower()
        if not fmt:
            raise InvalidArgumentError(f"{target}: no format given and no file suffix")
    data = figure_bytes(fig, fmt, dpi)
    write_atomic(target, data)
    return target


def export_figures(
    fig: go.Figure,
    output: str | os.PathLike[str],
    formats: Iterable[str],
    dpi: int = DEFAULT_DPI,
) -> list[Path]:
    """Write ``{output}.{fmt}`` for each format (``all`` = every format), in that order.

    SVG is rendered once when both SVG and EPS are asked for.

    Raises:
        InvalidArgumentError: unknown format or dpi out of range.
        ExportError: as :func:`export_figure`.
    """
    wanted: list[str] = []
    for fmt in formats:
        for f in FORMATS if fmt == "all" else (fmt,):
            f = _check(f, dpi)
            if f not in wanted:
                wanted.append(f)
    base = os.fspath(output)
    svg: bytes | None = None
    written = []
    for fmt in wanted:
        if fmt in ("svg", "eps"):
            svg = svg if svg is not None else _render(fig, "svg", 1.0)
            data = svg if fmt == "svg" else _eps(svg)
        else:
            data = figure_bytes(fig, fmt, dpi)
        target = Path(f"{base}.{fmt}")
        write_atomic(target, data)
        written.append(target)
    return written


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Raises:
        ExportError: the folder cannot be created or the file cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise ExportError(f"cannot write {path}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise ExportError(f"cannot write {path}: {err.strerror or err}") from None


def _check(fmt: str, dpi: int) -> str:
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidArgumentError(f"unknown figure format {fmt!r} (use {', '.join(FORMATS)})")
    if not 1 <= int(dpi) <= MAX_DPI:
        raise InvalidArgumentError(f"dpi must be between 1 and {MAX_DPI}, got {dpi}")
    return fmt


def _render(fig: go.Figure, fmt: str, scale: float) -> bytes:
    """One image from the shared Chromium, under the lock, with a timeout."""
    start_renderer(wait=True)
    spec = _static_spec(fig)
    layout = spec.get("layout", {})
    opts = {
        "format": fmt,
        "width": layout.get("width") or WIDTH_PX,
        "height": layout.get("height") or HEIGHT_PX,
        "scale": scale,
    }
    with _lock:
        renderer = _state["renderer"]
        if renderer is None:  # stopped between start_renderer and here
            raise ExportError(f"{fmt} export failed: Chromium was stopped")
        try:
            return renderer.render(spec, opts, RENDER_TIMEOUT_S)
        except TimeoutError:
            # that Chromium stopped answering: shut it down; the next export starts afresh
            _state["renderer"] = None
            renderer.close()
            raise ExportError(
                f"Chromium did not return the {fmt} within {RENDER_TIMEOUT_S:.0f} s"
            ) from None
        except Exception as err:  # reported as one line
            if not renderer.is_alive():  # Chromium died: do not hand the next export to it
                _state["renderer"] = None
                renderer.close()
            raise ExportError(f"{fmt} export failed: {_first_line(err)}") from None


def _static_spec(fig: go.Figure | dict[str, Any]) -> dict[str, Any]:
    """The figure as plain JSON data, without what only matters when hovering.

    A static image cannot hover, and hover data is most of the payload (three numbers
    per point): dropping it and encoding the arrays once with orjson halves the time
    Chromium takes per export.
    """
    import orjson

    spec = fig.to_dict() if hasattr(fig, "to_dict") else dict(fig)
    spec["data"] = [
        {k: v for k, v in trace.items() if k not in ("customdata", "hovertemplate", "meta")}
        for trace in spec.get("data", [])
    ]
    return orjson.loads(orjson.dumps(spec, option=orjson.OPT_SERIALIZE_NUMPY, default=_tolist))


def _tolist(value: Any) -> Any:
    """orjson's fallback: arrays it cannot take directly (strings, non-contiguous) as lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _eps(svg: bytes) -> bytes:
    """EPS from the SVG (kaleido 1.x has no EPS): vector paths, fonts embedded as text."""
    import cairosvg

    try:
        return cairosvg.svg2eps(bytestring=_styles_as_attributes(svg))
    except Exception:  # a rewrite cairosvg cannot read: convert the SVG as it is
        try:
            return cairosvg.svg2eps(bytestring=svg)
        except Exception as err:  # cairosvg raises many types; the user needs one line
            raise ExportError(f"eps export failed: {err}") from None


_STYLE_ATTRIBUTE = re.compile(rb'style="([^"]*)"')


def _styles_as_attributes(svg: bytes) -> bytes:
    """``style="fill: red; stroke: none"`` as ``fill="red" stroke="none"``: the same picture.

    Plotly styles every element inline, and cairosvg parses each style with a pure-Python
    CSS tokenizer; presentation attributes skip it, which takes a third off the EPS time.
    """

    def rewrite(match: re.Match[bytes]) -> bytes:
        pairs = (decl.split(b":", 1) for decl in match[1].split(b";") if b":" in decl)
        return b" ".join(b'%s="%s"' % (k.strip(), v.strip()) for k, v in pairs if k.strip())

    return _STYLE_ATTRIBUTE.sub(rewrite, svg)


def _html(fig: go.Figure) -> str:
    """A standalone interactive page: plotly.js inline (the basic bundle when it fits)."""
    import plotly.io as pio

    bundle = plotly_bundle()
    page = pio.to_html(
        fig,
        include_plotlyjs=bundle is None,
        full_html=True,
        config={
            "displaylogo": False,
            "responsive": True,
            "toImageButtonOptions": {"format": "svg", "width": WIDTH_PX, "height": HEIGHT_PX},
        },
    )
    if bundle is not None:
        script = f'<script type="text/javascript">{bundle.read_text(encoding="utf-8")}</script>'
        page = page.replace("<head>", f'<head><meta charset="utf-8" />{script}', 1)
    return page


__all__ = [
    "DEFAULT_DPI",
    "FORMATS",
    "browser_path",
    "export_figure",
    "export_figures",
    "figure_bytes",
    "start_renderer",
    "stop_renderer",
    "write_atomic",
]
