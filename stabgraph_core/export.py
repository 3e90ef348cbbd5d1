"""Static export of a figure: PDF, SVG, PNG and EPS through kaleido, HTML through Plotly.

kaleido 1.x drives a headless Chromium. Starting it costs about a second, so one
Chromium serves the whole process: a ``kaleido.Kaleido`` on an event loop in a daemon
thread (what ``kaleido.start_sync_server`` does, but holding the loop and the browser, so
a stuck one can be shut down), started on first use or early with :func:`start_renderer`,
and stopped at exit. Renders are serialised under one lock (concurrent callers of one
kaleido server can receive each other's images). A render that does not come back within
``RENDER_TIMEOUT_S`` stops that Chromium (killed if it will not close) and the next export
starts a fresh one. A forked child forgets its parent's renderer (whose thread does not
exist in the child) and starts its own. A tab keeps its page between renders (kaleido
would reload it after each). Each export draws the figure once, with plotly.js in that
page, and makes every format it asks for from that one drawing (``_render.js``): the draw
is the slowest step, and kaleido's own page function would repeat it per format.

Sizes: the figure is laid out at 96 CSS px per inch (see ``page.py``), so PDF and SVG
come out at the figure's size in inches, and a PNG at ``dpi`` is rendered at
``scale = dpi / 96`` (12 x 7 in at 300 dpi = 3600 x 2100 px). EPS is made from the SVG
by cairosvg, keeping vector paths and text. Files are written to a temporary file in the
target folder and renamed into place, so a reader never sees half a file and nothing but
the asked path is replaced.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ExportError, InvalidArgumentError
from .page import HEIGHT_PX, PX_PER_INCH, WIDTH_PX

if TYPE_CHECKING:
    import plotly.graph_objects as go

FORMATS: tuple[str, ...] = ("pdf", "svg", "png", "eps", "html")
DEFAULT_DPI = 300
MAX_DPI = 1200
RENDER_TIMEOUT_S = 120.0
START_TIMEOUT_S = 60.0
CLOSE_TIMEOUT_S = 5.0
RELOAD_EVERY = 20  # renders a tab's page serves before it is reloaded (see _kaleido_class)
IMAGE_FORMATS: tuple[str, ...] = ("pdf", "png", "svg")  # what Chromium draws; EPS comes from SVG
CHROMIUM_CANDIDATES: tuple[str, ...] = (
    "/usr/bin/chromium-headless-shell",
    "/usr/bin/chromium",
)
BASIC_BUNDLE = Path(__file__).with_name("_vendor") / "plotly-basic.min.js"
RENDER_SCRIPT = Path(__file__).with_name("_render.js")
# Page.printToPDF as kaleido asks for it (the page is sized to the figure by _render.js),
# untagged: the page is one image of the SVG, so the tags would only say "Figure" with no
# text; LaTeX drops an included PDF's tags anyway, and leaving them out saves 25 ms.
PDF_PARAMS: dict[str, Any] = {
    "generateTaggedPDF": False,
    "printBackground": True,
    "marginTop": 0.1,
    "marginBottom": 0.1,
    "marginLeft": 0.1,
    "marginRight": 0.1,
    "preferCSSPageSize": True,
    "pageRanges": "1",
}
INSTALL_HINT = (
    "static export needs Chromium: install it with `apt-get install chromium` "
    "(or set BROWSER_PATH to a Chrome/Chromium executable)"
)

_lock = threading.Lock()  # one render at a time through the process's one Chromium
# "abort" is the Event of the start in progress: stop_renderer sets it, so a Chromium not
# yet launched never is, and one launched is stopped as soon as it has started.
_state: dict[str, Any] = {"renderer": None, "starter": None, "error": None, "abort": None}
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

    Safe to call many times and from several threads. Without ``wait`` it returns once
    Chromium's process has been launched (about 0.2 s after the first call) and leaves it
    loading its page; errors then surface on the first export. Launching is Python work
    (importing kaleido): run beside the caller's own Python, both would take twice as long
    and Chromium would start later. With ``wait`` it returns when Chromium can render.

    Raises:
        ExportError: with ``wait``, when no Chromium can be found or started.
    """
    launched: threading.Event | None = threading.Event()
    with _lock:
        if _state["renderer"] is not None or _state["starter"] is not None:
            starter, launched = _state["starter"], None
        else:
            abort = threading.Event()
            starter = threading.Thread(
                target=_start, args=(launched, abort), name="stabgraph-chromium", daemon=True
            )
            _state.update(starter=starter, abort=abort)
            starter.start()
    if launched is not None and not wait:
        launched.wait(START_TIMEOUT_S)
    if wait and starter is not None:
        starter.join()
        if _state["error"] is not None:
            raise _state["error"]


def _start(launched: threading.Event, abort: threading.Event) -> None:
    """Import kaleido and open a Chromium (runs in a thread: the import alone takes 0.2 s).
    ``launched`` is set once Chromium's process is started, or the start has failed.
    Once ``abort`` is set, Chromium is not launched, or is stopped once it is."""
    try:
        path = browser_path()
        import kaleido  # noqa: F401 - first: it sets up the loggers the filter goes on

        _quiet_ignored_pipe_errors()
        bundle = plotly_bundle()
        renderer = _Renderer(path, str(bundle) if bundle else None, launched.set, abort)
        if abort.is_set():  # stopped while it opened: whoever stopped it waits for this
            renderer.close(quick=True)
            return
        _state["renderer"] = renderer
        _state["error"] = None
    except ExportError as err:
        _state["error"] = err
    except Exception as err:  # kaleido/choreographer failures become one user-facing line
        _state["error"] = ExportError(f"could not start Chromium for export: {_first_line(err)}")
    finally:
        _state["starter"] = None
        launched.set()


class _Renderer:
    """One headless Chromium (``kaleido.Kaleido``) on its own event loop in a daemon thread.

    kaleido's global sync server hides its loop, so a render that never returns leaves it
    blocked for good, and it still counts as running. Holding the loop and the browser
    here lets a timeout cancel the render and close or kill that Chromium.
    """

    def __init__(
        self,
        path: str,
        plotlyjs: str | None,
        on_launch: Callable[[], None] | None = None,
        abort: threading.Event | None = None,
    ) -> None:
        self.abort = abort or threading.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="stabgraph-chromium", daemon=True
        )
        self.thread.start()
        self.browser: Any = None
        try:
            self._call(self._open(path, plotlyjs, on_launch), START_TIMEOUT_S)
        except BaseException:
            self.close()
            raise

    async def _open(
        self, path: str, plotlyjs: str | None, on_launch: Callable[[], None] | None
    ) -> None:
        self.browser = _kaleido_class()(n=1, page_generator=_page(plotlyjs), path=path)
        self.browser.on_launch = on_launch
        self.browser.abort = self.abort
        # open() idles 0.1 s after its tab is ready (choreographer polls for targets):
        # return as soon as the tab is, and let open() finish in the background
        opening = asyncio.ensure_future(self.browser.open())
        ready = asyncio.ensure_future(self.browser.first_tab.wait())
        await asyncio.wait({opening, ready}, return_when=asyncio.FIRST_COMPLETED)
        if opening.done():
            ready.cancel()
            opening.result()  # raises what made it fail
        else:
            self.browser.in_background(opening)

    def _call(self, coroutine: Any, timeout: float) -> Any:
        """Run ``coroutine`` on the loop; on timeout cancel it and raise ``TimeoutError``."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def render(
        self,
        figure_json: str,
        size: tuple[int, int],
        formats: list[str],
        png_scale: float,
        timeout: float,
        on_image: Callable[[str, bytes], None] | None = None,
    ) -> dict[str, bytes]:
        """``{format: bytes}`` for ``formats`` (pdf, png, svg) from one drawing of the
        figure, or ``TimeoutError`` after ``timeout``.

        ``on_image(format, data)`` runs as each image arrives, before the others are done,
        so a caller can start working on it (EPS from the SVG) while Chromium prints the PDF.
        """
        job = self.browser.render(figure_json, size, formats, png_scale, on_image)
        return self._call(job, timeout)

    def close(self, *, quick: bool = False) -> None:
        """Close Chromium (kill it if it will not close), stop the loop and its thread.

        ``quick`` kills it straight away instead of asking it to close, for when the
        process exits: nothing is left to render, and a polite close makes the exit wait
        a tenth of a second.
        """
        if self.browser is not None and self.thread.is_alive():
            closing = self.browser.kill_and_close() if quick else self.browser.close()
            with contextlib.suppress(Exception):  # a stuck or dead browser: killed below
                self._call(closing, CLOSE_TIMEOUT_S)
        process = getattr(self.browser, "subprocess", None)
        if process is not None and process.poll() is None:
            # its own process group (choreographer starts a new session): Chromium's
            # helpers and a launcher script's child go with it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
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


def _page(plotlyjs: str | None) -> Any:
    """kaleido's page with plotly.js and ``_render.js``, without kaleido's own render
    script (90 kB that every page load would parse, unused here)."""
    import kaleido

    class _Page(kaleido.PageGenerator):
        footer = """
    </head>
    <body style="margin: 0; padding: 0;"><img id="kaleido-image" /></body>
</html>
"""

    return _Page(plotly=plotlyjs, mathjax=False, others=[str(RENDER_SCRIPT)])


def _kaleido_class() -> type:
    """``kaleido.Kaleido`` that draws with ``_render.js``, keeps a tab's page between
    renders, and starts Chromium without a second Python.

    kaleido reloads the page after every render, and only then returns the image: a tenth
    of a second waiting for the reload, and the next render runs on a cold plotly.js that
    the JavaScript engine has to compile again (another tenth). The page holds nothing
    from one render to the next (plotly.js draws each figure into a new element and purges
    it; the printed image and the page size are set anew each time), so a tab is reloaded
    only every ``RELOAD_EVERY`` renders, to hand back whatever memory the page has grown,
    and then in the background, after the image has been returned.
    """
    import kaleido

    class _KeepPage(kaleido.Kaleido):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._renders: dict[int, int] = {}  # id(tab) -> renders since its last reload
            self._background: set[asyncio.Future[None]] = set()
            self.first_tab = asyncio.Event()  # set once a tab can take a render
            self._closing = False
            self.on_launch: Callable[[], None] | None = None  # called as Chromium starts
            self.abort = threading.Event()  # set: do not launch Chromium after all
            _launch_without_wrapper(self._browser_impl, self._launching)

        def _launching(self) -> Callable[[], None] | None:
            """Just before Chromium is launched (its profile folder exists by now): refuse
            if the start was called off, and make sure it is stopped before that folder is
            removed at exit (see ``_stop_at_exit``)."""
            if self.abort.is_set():
                raise ExportError("export browser stopped before it was launched")
            atexit.unregister(_stop_at_exit)
            atexit.register(_stop_at_exit)
            return self.on_launch

        async def populate_targets(self) -> None:
            await super().populate_targets()
            self.first_tab.set()

        async def render(
            self,
            figure_json: str,
            size: tuple[int, int],
            formats: list[str],
            png_scale: float,
            on_image: Callable[[str, bytes], None] | None,
        ) -> dict[str, bytes]:
            """See ``_Renderer.render``: one call of ``stabgraphRender`` in a free tab,
            then, side by side, the PNG fetched from its encoder and the page printed."""
            tab = await self._get_kaleido_tab()
            images: dict[str, bytes] = {}

            def arrived(fmt: str, data: bytes) -> None:
                images[fmt] = data
                if on_image is not None:
                    on_image(fmt, data)

            async def call(function: str, *args: Any) -> Any:
                return _reply_value(
                    await tab.tab.send_command(
                        "Runtime.callFunctionOn",
                        params={
                            "functionDeclaration": function,
                            "arguments": [{"value": v} for v in args],
                            "returnByValue": True,
                            "awaitPromise": True,
                            "executionContextId": tab._current_js_id,
                        },
                    )
                )

            async def png() -> None:
                arrived("png", base64.b64decode(await call(_CALL_PNG)))

            async def pdf() -> None:
                printed = _reply_value(
                    await tab.tab.send_command("Page.printToPDF", params=PDF_PARAMS)
                )
                arrived("pdf", base64.b64decode(printed["data"]))

            try:
                drawn = await call(_CALL_RENDER, figure_json, *size, formats, png_scale)
                if "svg" in drawn:
                    arrived("svg", drawn["svg"].encode("utf-8"))
                # the PNG is encoded on a worker thread in the page while the PDF prints;
                # both are waited for before the tab is handed back, even if one fails
                jobs = [job() for fmt, job in (("png", png), ("pdf", pdf)) if fmt in formats]
                for outcome in await asyncio.gather(*jobs, return_exceptions=True):
                    if isinstance(outcome, BaseException):
                        raise outcome
                return images
            finally:
                await self._return_kaleido_tab(tab)

        async def close(self) -> None:
            """Stop the tab openings and reloads still running, then close Chromium (they
            fail against the closed browser, which is no news worth logging)."""
            self._closing = True
            for task in list(self._background):
                task.cancel()
            await asyncio.gather(*self._background, return_exceptions=True)
            await super().close()

        async def kill_and_close(self) -> None:
            """Kill Chromium, then close (which then only cleans up its temporary folders).
            The watchdog goes first (it would report the death as unexpected), and the
            pipe is closed before the close (its reader would wait two seconds for more).
            Tab openings still under way then fail, which is expected, not news."""
            self._closing = True
            if self._watch_dog_task is not None:
                self._watch_dog_task.cancel()
            process = getattr(self, "subprocess", None)  # None: stopped before the launch
            if process is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await asyncio.get_running_loop().run_in_executor(None, process.wait)
            self._channel.close()
            await self.close()

        def in_background(self, work: Any) -> None:
            """Run ``work`` (a coroutine or task) on the loop without waiting for it."""
            task = asyncio.ensure_future(work)
            self._background.add(task)  # held so it is not collected mid-way
            task.add_done_callback(self._background.discard)
            task.add_done_callback(self._log_failure)

        def _log_failure(self, task: asyncio.Future[None]) -> None:
            """A tab that failed to open or reload is left out; renders use the others (and
            time out, restarting Chromium, should none be left)."""
            if self._closing or task.cancelled() or task.exception() is None:
                return
            logging.getLogger(__name__).warning(
                "Chromium tab lost: %s", _first_line(task.exception())
            )

        async def _return_kaleido_tab(self, tab: Any) -> None:
            count = self._renders.get(id(tab), 0) + 1
            if count < RELOAD_EVERY:
                self._renders[id(tab)] = count
                await self.tabs_ready.put(tab)
                return
            self._renders[id(tab)] = 0
            self.in_background(super()._return_kaleido_tab(tab))

    return _KeepPage


def _reply_value(reply: dict[str, Any]) -> Any:
    """The value a DevTools command returned, or ``RuntimeError`` with the browser's reason
    (a protocol error, or the exception the page's JavaScript threw)."""
    if "error" in reply:
        raise RuntimeError(reply["error"].get("message", "DevTools error"))
    result = reply.get("result", {})
    details = result.get("exceptionDetails")
    if details:
        thrown = details.get("exception", {}).get("description") or details.get("text")
        raise RuntimeError(thrown or "JavaScript error")
    return result["result"]["value"] if "result" in result else result


_CALL_RENDER = "function (...args) { return stabgraphRender(...args); }"
_CALL_PNG = "function () { return stabgraphPng(); }"
_WRAPPER_SCRIPT = "_unix_pipe_chromium_wrapper.py"


def _launch_without_wrapper(impl: Any, listener: Callable[[], Any]) -> None:
    """Start Chromium through ``sh`` instead of choreographer's Python wrapper.

    Chromium's DevTools pipe must be its file descriptors 3 and 4. choreographer starts a
    second Python interpreter only to move the pipe there and then run Chromium, a tenth of
    a second before Chromium even starts; ``sh`` moves them with two redirections and
    becomes Chromium (``exec``). Chromium's own stdout goes to its log (stderr), not into
    the pipe. Left as it is on platforms without the wrapper. ``listener()`` gives what to
    call as Chromium is launched (None: nothing).
    """
    original = impl.get_cli

    def get_cli() -> list[str]:
        cli = list(original())
        notify = listener()
        if notify is not None:  # choreographer starts it right after asking for this
            notify()
        if len(cli) > 2 and cli[1].endswith(_WRAPPER_SCRIPT) and os.path.exists("/bin/sh"):
            return ["/bin/sh", "-c", 'exec "$@" 3<&0 4>&1 0</dev/null 1>&2', "sh", *cli[2:]]
        return cli

    impl.get_cli = get_cli


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


def stop_renderer(*, quick: bool = False) -> None:
    """Stop the process's Chromium (safe to call twice); at exit it is killed (``quick``).

    A start still in progress is called off: a Chromium not yet launched never is, and one
    being launched is waited for (at most ``START_TIMEOUT_S``) and then stopped, so that
    nothing (no process, no profile folder) outlives the call.
    """
    starter, abort = _state["starter"], _state["abort"]
    if abort is not None:
        abort.set()
    if starter is not None and starter is not threading.current_thread():
        starter.join(START_TIMEOUT_S)
    with _lock:
        renderer, _state["renderer"] = _state["renderer"], None
        if renderer is not None:
            renderer.close(quick=quick)


def _stop_at_exit() -> None:
    """At exit, Chromium is killed before anything removes its folders.

    The profile folder is a ``TemporaryDirectory`` whose own exit hook would delete it
    while Chromium still writes there (``Directory not empty``, a traceback, a folder
    left in the temp directory). Exit hooks run last-registered first, so this one is
    registered again just before each launch, after that folder's hook.
    """
    stop_renderer(quick=True)


def _forget_renderer_in_child() -> None:
    """After ``fork``: the parent's render thread does not exist here, and its Chromium is
    the parent's. Start from nothing (a fresh lock too: a fork can copy it held), so the
    child's first export opens its own Chromium."""
    global _lock
    _lock = threading.Lock()
    _state.update(renderer=None, starter=None, error=None, abort=None)


atexit.register(_stop_at_exit)
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
        return _eps(_render(fig, ["svg"], dpi)["svg"])
    return _render(fig, [fmt], dpi)[fmt]


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

    The figure is drawn once for all of them; the EPS is converted from that drawing's SVG
    while Chromium prints the PDF.

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
    drawn = [f for f in IMAGE_FORMATS if f in wanted or (f == "svg" and "eps" in wanted)]
    eps: Future[bytes] = Future()

    def convert_as_soon_as_svg_arrives(fmt: str, data: bytes) -> None:
        if fmt == "svg" and "eps" in wanted:  # cairosvg works while Chromium prints the PDF
            threading.Thread(target=_settle, args=(eps, _eps, data), daemon=True).start()

    images = _render(fig, drawn, dpi, convert_as_soon_as_svg_arrives) if drawn else {}
    if "eps" in wanted:
        images["eps"] = eps.result()
    if "html" in wanted:
        images["html"] = _html(fig).encode("utf-8")
    base = os.fspath(output)
    written = []
    for fmt in wanted:
        target = Path(f"{base}.{fmt}")
        write_atomic(target, images[fmt])
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


def _settle(future: Future[bytes], work: Callable[[bytes], bytes], data: bytes) -> None:
    """``future`` gets ``work(data)`` or the error it raised (runs in its own thread)."""
    try:
        future.set_result(work(data))
    except BaseException as err:  # handed to whoever waits on the future
        future.set_exception(err)


def _check(fmt: str, dpi: int) -> str:
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidArgumentError(f"unknown figure format {fmt!r} (use {', '.join(FORMATS)})")
    if not 1 <= int(dpi) <= MAX_DPI:
        raise InvalidArgumentError(f"dpi must be between 1 and {MAX_DPI}, got {dpi}")
    return fmt


def _render(
    fig: go.Figure,
    formats: list[str],
    dpi: int,
    on_image: Callable[[str, bytes], None] | None = None,
) -> dict[str, bytes]:
    """``{format: bytes}`` for ``formats`` (pdf, png, svg) from one drawing in the shared
    Chromium, under the lock (concurrent callers never share a render), with a timeout.

    ``on_image`` as in ``_Renderer.render``.
    """
    start_renderer(wait=True)
    figure_json, size = _static_json(fig)
    names = "/".join(formats)
    with _lock:
        renderer = _state["renderer"]
        if renderer is None:  # stopped between start_renderer and here
            raise ExportError(f"{names} export failed: Chromium was stopped")
        try:
            images = renderer.render(
                figure_json, size, formats, dpi / PX_PER_INCH, RENDER_TIMEOUT_S, on_image
            )
            if "png" in images:
                images["png"] = png_with_dpi(images["png"], dpi)
            return images
        except TimeoutError:
            # that Chromium stopped answering: shut it down; the next export starts afresh
            _state["renderer"] = None
            renderer.close()
            raise ExportError(
                f"Chromium did not return the {names} within {RENDER_TIMEOUT_S:.0f} s"
            ) from None
        except Exception as err:  # reported as one line
            if not renderer.is_alive():  # Chromium died: do not hand the next export to it
                _state["renderer"] = None
                renderer.close()
            raise ExportError(f"{names} export failed: {_first_line(err)}") from None


def png_with_dpi(png: bytes, dpi: int) -> bytes:
    """``png`` tagged with its resolution (a ``pHYs`` chunk), so it opens at ``dpi``.

    Chromium's screenshots carry no resolution, which viewers and LaTeX read as 72 or 96
    dpi: a 3600 x 2100 px figure meant for 12 x 7 in would open at 37.5 in wide. The chunk
    goes right after the header (the PNG standard puts it before the image data); one
    already there is replaced. The pixels are not touched.
    """
    import struct
    import zlib

    if png[:8] != b"\x89PNG\r\n\x1a\n":
        return png
    per_metre = round(dpi / 0.0254)
    body = b"pHYs" + struct.pack(">IIB", per_metre, per_metre, 1)
    chunk = struct.pack(">I", 9) + body + struct.pack(">I", zlib.crc32(body))
    out, pos = [png[:8]], 8
    while pos + 8 <= len(png):
        length = struct.unpack(">I", png[pos : pos + 4])[0]
        kind = png[pos + 4 : pos + 8]
        end = pos + 12 + length
        if kind != b"pHYs":
            out.append(png[pos:end])
        if kind == b"IHDR":
            out.append(chunk)
        pos = end
    return b"".join(out)


def _static_json(fig: go.Figure | dict[str, Any]) -> tuple[str, tuple[int, int]]:
    """The figure as JSON text without what only matters when hovering, and its size in px.

    A static image cannot hover, and hover data is most of the payload (three numbers
    per point): dropping it and encoding the arrays once with orjson halves the time
    Chromium takes per export. The page parses the text itself (``JSON.parse``), which
    is quicker than handing the browser a nested object to serialise again.
    """
    import orjson

    spec = fig.to_dict() if hasattr(fig, "to_dict") else dict(fig)
    spec["data"] = [
        {k: v for k, v in trace.items() if k not in ("customdata", "hovertemplate", "meta")}
        for trace in spec.get("data", [])
    ]
    layout = spec.get("layout", {})
    size = (int(layout.get("width") or WIDTH_PX), int(layout.get("height") or HEIGHT_PX))
    text = orjson.dumps(spec, option=orjson.OPT_SERIALIZE_NUMPY, default=_tolist).decode()
    return text, size


def _tolist(value: Any) -> Any:
    """orjson's fallback: arrays it cannot take directly (strings, non-contiguous) as lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _eps(svg: bytes) -> bytes:
    """EPS from the SVG (kaleido 1.x has no EPS): vector paths, fonts embedded as text."""
    try:
        return _svg2eps(_styles_as_attributes(_without_empty_groups(svg)))
    except Exception:  # a rewrite cairosvg cannot read: convert the SVG as it is
        try:
            return _svg2eps(svg)
        except Exception as err:  # cairosvg raises many types; the user needs one line
            raise ExportError(f"eps export failed: {err}") from None


def _svg2eps(svg: bytes) -> bytes:
    """``cairosvg.svg2eps`` through a temporary file: given a file name, cairo writes the
    PostScript itself; given a buffer it hands every few bytes to a Python callback (tens
    of thousands of calls, a fifth of the conversion time)."""
    import cairosvg

    fd, tmp = tempfile.mkstemp(suffix=".eps", prefix="stabgraph-")
    os.close(fd)
    try:
        cairosvg.svg2eps(bytestring=svg, write_to=tmp)
        return Path(tmp).read_bytes()
    finally:
        Path(tmp).unlink(missing_ok=True)


_STYLE_ATTRIBUTE = re.compile(rb'style="([^"]*)"')
_EMPTY_GROUP = re.compile(rb"<g\b[^>]*/>|<g\b[^>]*>\s*</g>")


def _without_empty_groups(svg: bytes) -> bytes:
    """The SVG without its empty ``<g>`` elements: the same picture, a tenth faster in cairosvg.

    Plotly's SVG keeps a group for every layer it could draw (about 200 of 400 are empty),
    and cairosvg visits each. Removing one can empty its parent, hence the loop.
    """
    removed = 1
    while removed:
        svg, removed = _EMPTY_GROUP.subn(b"", svg)
    return svg


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
