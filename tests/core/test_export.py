"""Static export: what is inside each format, sizes, atomic writes, threads, and no Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import io
import multiprocessing
import os
import re
import shutil
import struct
import subprocess
import threading
import time

import pytest

from stabgraph_core import export, simulate
from stabgraph_core.cli import main
from stabgraph_core.errors import ExportError, InvalidArgumentError
from stabgraph_core.figure import FigureOptions, build_figure


def _chromium_or_skip() -> None:
    try:
        export.browser_path()
    except ExportError as err:
        pytest.skip(str(err))


@pytest.fixture(scope="module")
def small_figure():
    """The reference figure on 300 simulated steps (same traces, fewer points)."""
    _chromium_or_skip()
    return build_figure(simulate(num_steps=300))


@pytest.fixture(scope="module")
def exported(small_figure, tmp_path_factory):
    """Every format written once: {"pdf": path, ...}."""
    out = tmp_path_factory.mktemp("export") / "nested" / "figure"
    paths = export.export_figures(small_figure, out, ["all"], dpi=300)
    return {p.suffix.lstrip("."): p for p in paths}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_all_writes_every_format_into_created_folders(exported):
    assert sorted(exported) == sorted(export.FORMATS)
    assert all(p.stat().st_size > 1000 for p in exported.values())
    folder = exported["pdf"].parent
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in exported.values())


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_pdf_is_12_by_7_inches_with_real_text(exported):
    text = subprocess.run(
        ["pdftotext", str(exported["pdf"]), "-"], capture_output=True, text=True, check=True
    ).stdout
    for words in ("Training Step", "Loss", "Long-Context Stability", "Sequence length", "N=1M"):
        assert words in text
    info = subprocess.run(
        ["pdfinfo", str(exported["pdf"])], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"Page size:\s+864 x 504 pts", info)


def test_svg_is_vector_with_text_elements(exported):
    svg = exported["svg"].read_text()
    assert svg.lstrip().startswith("<svg")
    assert 'width="1152"' in svg and 'height="672"' in svg
    assert len(re.findall(r"<text\b", svg)) > 20
    assert "Training Step" in svg and "<image" not in svg  # no raster inside


def test_eps_has_header_bounding_box_and_fonts(exported):
    eps = exported["eps"].read_bytes()
    assert eps.startswith(b"%!PS-Adobe-3.0 EPSF-3.0")
    box = re.search(rb"%%BoundingBox: 0 0 (\d+) (\d+)", eps)
    assert box and (int(box[1]), int(box[2])) == (864, 504)  # 12 x 7 in at 72 pt/in
    assert re.search(rb"/FontName /\S*(Liberation|Times|Serif)", eps)
    assert not re.search(rb"^cairo_image$", eps, re.M)  # nothing rasterised: all vector


def test_png_at_300_and_600_dpi(exported, small_figure):
    assert png_size(exported["png"].read_bytes()) == (3600, 2100)
    assert png_size(export.figure_bytes(small_figure, "png", dpi=600)) == (7200, 4200)


def test_html_is_standalone_with_the_traces(exported, small_figure):
    html = exported["html"].read_text()
    assert '<script src="http' not in html  # plotly.js inline: works offline
    assert "Plotly.newPlot" in html
    for trace in small_figure.data:
        if trace.meta["run_id"]:
            assert trace.meta["run_id"] in html
    assert "Training Step" in html


def test_concurrent_exports_each_get_their_own_bytes():
    _chromium_or_skip()
    runs = simulate(lengths=[8192], num_steps=50)
    titles = [f"Figure number {i}" for i in range(4)]
    figs = [build_figure(runs, FigureOptions(title=t)) for t in titles]
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            results[i] = export.figure_bytes(figs[i], "svg")
        except BaseException as err:  # collected and re-raised in the test thread
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    for i, title in enumerate(titles):
        svg = results[i].decode()
        assert title in svg
        assert all(other not in svg for other in titles if other != title)


def _count_page_reloads(monkeypatch) -> list[int]:
    """Counts kaleido's tab reloads (its ``_return_kaleido_tab`` reloads the page)."""
    import kaleido

    reloads: list[int] = []
    original = kaleido.Kaleido._return_kaleido_tab

    async def counting(self, tab):
        reloads.append(1)
        await original(self, tab)

    monkeypatch.setattr(kaleido.Kaleido, "_return_kaleido_tab", counting)
    return reloads


@pytest.mark.parametrize("reload_every", [2, 1000])
def test_pages_are_kept_between_renders_and_reloaded_now_and_then(monkeypatch, reload_every):
    _chromium_or_skip()
    export.start_renderer(wait=True)
    reloads = _count_page_reloads(monkeypatch)
    monkeypatch.setattr(export, "RELOAD_EVERY", reload_every)
    runs = simulate(lengths=[8192], num_steps=50)
    titles = [f"Page reuse {i}" for i in range(6)]
    for title in titles:
        svg = export.figure_bytes(build_figure(runs, FigureOptions(title=title)), "svg").decode()
        assert title in svg and all(t not in svg for t in titles if t != title)
    if reload_every == 1000:
        assert reloads == []  # six renders, not one page load
    else:
        assert len(reloads) >= 2  # each tab reloads every second render of its own


def test_one_drawing_serves_every_format_of_an_export(small_figure, tmp_path, monkeypatch):
    export.start_renderer(wait=True)
    renderer = export._state["renderer"]
    render = renderer.browser.render
    calls: list[list[str]] = []

    async def counting(figure_json, size, formats, *args, **kwargs):
        calls.append(list(formats))
        return await render(figure_json, size, formats, *args, **kwargs)

    monkeypatch.setattr(renderer.browser, "render", counting)
    paths = export.export_figures(small_figure, tmp_path / "fig", ["pdf", "png", "eps"], dpi=100)
    assert [p.suffix for p in paths] == [".pdf", ".png", ".eps"]
    assert calls == [["pdf", "png", "svg"]]  # one draw; the EPS is made from its SVG
    assert paths[0].read_bytes().startswith(b"%PDF")
    assert png_size(paths[1].read_bytes()) == (1200, 700)
    assert paths[2].read_bytes().startswith(b"%!PS-Adobe-3.0 EPSF-3.0")


def test_chromium_runs_without_a_second_python(small_figure):
    export.start_renderer(wait=True)
    process = export._state["renderer"].browser.subprocess
    assert process.args[0] == "/bin/sh"  # sh moved the pipe to fds 3 and 4, then exec'd
    programs = [os.path.basename(os.path.realpath(f"/proc/{p}/exe")) for p in _tree(process.pid)]
    assert any("chrom" in p for p in programs), programs
    assert not any(p.startswith("python") for p in programs), programs
    assert export.figure_bytes(small_figure, "svg").lstrip().startswith(b"<svg")


def test_start_returns_once_chromium_is_launched_not_when_it_is_ready(monkeypatch):
    export.stop_renderer()
    page_loaded = threading.Event()

    class SlowPage:
        """Takes 0.3 s to launch, then its time loading its page, as Chromium does."""

        def __init__(self, path, plotlyjs, on_launch, abort=None):
            time.sleep(0.3)
            on_launch()
            assert page_loaded.wait(10)

        def close(self, quick=False):
            pass

    monkeypatch.setattr(export, "browser_path", lambda: "/usr/bin/true")
    monkeypatch.setattr(export, "_Renderer", SlowPage)
    started = time.monotonic()
    export.start_renderer()  # returns once launched, although the page is still loading
    assert time.monotonic() - started >= 0.3
    assert export._state["renderer"] is None and export._state["starter"] is not None
    waiter = threading.Thread(target=export.start_renderer, kwargs={"wait": True})
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive()  # wait=True waits for the page
    page_loaded.set()
    waiter.join(10)
    assert isinstance(export._state["renderer"], SlowPage)
    export.stop_renderer()


def test_quick_stop_kills_every_chromium_process_and_removes_its_folders(small_figure):
    export.start_renderer(wait=True)
    export.figure_bytes(small_figure, "svg")
    browser = export._state["renderer"].browser
    pids = _tree(browser.subprocess.pid)
    folders = [browser._browser_impl.tmp_dir.path, browser._html_tmp_dir.path]
    assert len(pids) > 2 and all(os.path.isdir(f) for f in folders)
    started = time.monotonic()
    export.stop_renderer(quick=True)
    # killed, not asked: no wait for Chromium to wind down, nor for the pipe's reader
    assert time.monotonic() - started < 1.5
    deadline = time.monotonic() + 5
    while any(os.path.exists(f"/proc/{p}") for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if os.path.exists(f"/proc/{p}")]
    assert not any(os.path.exists(f) for f in folders)
    assert export.figure_bytes(small_figure, "svg").lstrip().startswith(b"<svg")  # starts anew


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo.extend(children.get(found[-1], []))
    return found


def test_a_javascript_error_is_one_line_and_the_next_export_works(small_figure, monkeypatch):
    export.start_renderer(wait=True)
    monkeypatch.setattr(export, "_static_json", lambda fig: ("{not json", (100, 100)))
    with pytest.raises(ExportError, match=r"^png export failed: SyntaxError") as err:
        export.figure_bytes(small_figure, "png")
    assert "\n" not in str(err.value)
    monkeypatch.undo()
    assert png_size(export.figure_bytes(small_figure, "png", dpi=96)) == (1152, 672)


def test_eps_conversion_drops_only_empty_groups():
    svg = b'<svg><g class="a"><g class="b"/><g> </g></g><g class="c"><path d="M0 0"/></g></svg>'
    assert export._without_empty_groups(svg) == b'<svg><g class="c"><path d="M0 0"/></g></svg>'


def test_only_the_asked_path_is_replaced_and_no_temp_files_remain(small_figure, tmp_path):
    target = tmp_path / "fig.svg"
    target.write_text("old")
    neighbour = tmp_path / "fig.pdf"
    neighbour.write_text("keep me")
    export.export_figure(small_figure, target)
    assert target.read_text().lstrip().startswith("<svg")
    assert neighbour.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.pdf", "fig.svg"]


def test_unwritable_target_is_one_line_export_error(small_figure, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="cannot write") as err:
        export.export_figure(small_figure, blocker / "sub" / "fig.html")
    assert "\n" not in str(err.value)


def test_bad_format_and_dpi_are_rejected(small_figure, tmp_path):
    with pytest.raises(InvalidArgumentError, match="unknown figure format"):
        export.export_figure(small_figure, tmp_path / "x.jpg")
    with pytest.raises(InvalidArgumentError, match="dpi"):
        export.figure_bytes(small_figure, "png", dpi=0)
    with pytest.raises(InvalidArgumentError, match="no format"):
        export.export_figure(small_figure, tmp_path / "noext")


def _export_in_forked_child(fig, path: str) -> None:
    """Runs in a child made by fork: export, then stop its own Chromium (no atexit there)."""
    try:
        export.export_figure(fig, path)
    finally:
        export.stop_renderer()


def test_a_stuck_render_times_out_then_a_fresh_chromium_serves_the_next(
    small_figure, tmp_path, monkeypatch
):
    export.start_renderer(wait=True)
    stuck = export._state["renderer"]

    async def never_returns(*args, **kwargs):
        await asyncio.sleep(3600)

    monkeypatch.setattr(stuck.browser, "render", never_returns)
    monkeypatch.setattr(export, "RENDER_TIMEOUT_S", 0.5)
    with pytest.raises(ExportError, match="did not return the svg within"):
        export.figure_bytes(small_figure, "svg")
    assert not stuck.is_alive() and not stuck.thread.is_alive()  # shut down, not left stuck
    monkeypatch.setattr(export, "RENDER_TIMEOUT_S", 60.0)
    out = export.export_figure(small_figure, tmp_path / "after.svg")
    assert out.read_bytes().lstrip().startswith((b"<svg", b"<?xml"))
    assert export._state["renderer"] is not stuck and export._state["renderer"].is_alive()


def test_a_forked_child_starts_its_own_chromium(small_figure, tmp_path):
    export.start_renderer(wait=True)
    parent = export._state["renderer"]
    child = multiprocessing.get_context("fork").Process(
        target=_export_in_forked_child, args=(small_figure, str(tmp_path / "child.pdf"))
    )
    child.start()
    child.join(90)
    assert child.exitcode == 0
    assert (tmp_path / "child.pdf").read_bytes().startswith(b"%PDF")
    assert export._state["renderer"] is parent and parent.is_alive()  # the parent's untouched
    assert export.figure_bytes(small_figure, "pdf").startswith(b"%PDF")


def test_missing_chromium_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chrome"))
    with pytest.raises(ExportError, match="apt-get install chromium"):
        export.browser_path()
    monkeypatch.delenv("BROWSER_PATH")
    monkeypatch.setattr(export, "CHROMIUM_CANDIDATES", (str(tmp_path / "none"),))
    monkeypatch.setattr(export.shutil, "which", lambda name: None)
    with pytest.raises(ExportError) as err:
        export.browser_path()
    assert "apt-get install chromium" in str(err.value) and "\n" not in str(err.value)


def test_respects_browser_path(monkeypatch):
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not shutil.os.path.exists(chromium):
        pytest.skip("no chromium binary")
    monkeypatch.setenv("BROWSER_PATH", chromium)
    assert export.browser_path() == chromium


def test_cli_writes_the_format_the_png_and_the_summary(tmp_path, capsys):
    _chromium_or_skip()
    out = tmp_path / "figs" / "stability_graph"
    code = main(
        ["--simulate", "--num_steps", "200", "--format", "svg", "--save_summary",
         "--output", str(out), "--title", "CLI title", "--smoothing", "0.6", "--log_y"]
    )  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "stability_graph.json",
        "stability_graph.png",
        "stability_graph.svg",
    ]
    svg = (out.parent / "stability_graph.svg").read_text()
    assert "CLI title" in svg and "Loss (log scale)" in svg
    assert "figure written to" in capsys.readouterr().out


def test_vendored_plotly_matches_plotly_py_and_carries_the_compile_hint():
    from plotly.offline import get_plotlyjs_version

    bundle = export.plotly_bundle()
    assert bundle is not None, f"vendored plotly.js is not v{get_plotlyjs_version()}"
    # V8 compiles the whole script while the page loads (see _vendor/README.md)
    assert bundle.read_bytes().startswith(b"//# allFunctionsCalledOnLoad\n")


def test_png_carries_its_dpi_so_it_opens_at_print_size(exported, small_figure):
    from PIL import Image

    with Image.open(io.BytesIO(exported["png"].read_bytes())) as image:
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.05)
        assert image.size[0] / image.info["dpi"][0] == pytest.approx(12, abs=0.05)  # 12 in wide
    png = export.figure_bytes(small_figure, "png", dpi=600)
    with Image.open(io.BytesIO(png)) as image:
        assert image.info["dpi"] == pytest.approx((600, 600), abs=0.05)
        image.load()  # the chunks' checksums are right: Pillow reads it whole


def test_png_dpi_tag_replaces_one_already_there():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG", dpi=(72, 72))
    tagged = export.png_with_dpi(buffer.getvalue(), 150)
    assert tagged.count(b"pHYs") == 1
    with Image.open(io.BytesIO(tagged)) as image:
        assert image.info["dpi"] == pytest.approx((150, 150), abs=0.05)
    assert export.png_with_dpi(b"not a png", 300) == b"not a png"
