"""Screenshot the dashboard in headless Chromium (for the README and for looking at it).

Usage::

    python scripts/screenshot_app.py    # starts the app, writes docs/app_screenshot.png
    python scripts/screenshot_app.py --url http://127.0.0.1:8050 --size 1920x1080 --out wide.png

Without ``--url`` the app is started on a free loopback port for the duration of the shot.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app_session import AppDidNotStart, launch_chromium, start_app, stop_app  # next to this file

ROOT = Path(__file__).resolve().parents[1]
DRAWN_JS = (
    "() => { const g = document.querySelector('#graph .js-plotly-plot');"
    " return !!(g && g.data && g.data.length && g.querySelector('.scatterlayer .trace'))"
    " && document.querySelectorAll('.runs-table .ag-row').length > 0; }"
)


def shoot(url: str, out: Path, width: int, height: int, full_page: bool) -> None:
    """Open ``url`` at width x height, wait for the chart and table, save a PNG."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(url)
        page.wait_for_function(DRAWN_JS, timeout=30_000)
        page.wait_for_load_state("networkidle")
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=full_page)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running app (default: start one)")
    parser.add_argument("--path", default="/", help="page path and query, e.g. /?scale=log")
    parser.add_argument("--size", default="1366x768", help="viewport WIDTHxHEIGHT")
    parser.add_argument("--full_page", action="store_true", help="the whole page, not the viewport")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "app_screenshot.png")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    proc = None
    url = args.url
    if url is None:
        try:
            proc, url = start_app()
        except AppDidNotStart:
            raise SystemExit("the app did not start within 60 s") from None
    try:
        shoot(url.rstrip("/") + args.path, args.out, width, height, args.full_page)
    finally:
        if proc is not None:
            stop_app(proc)
    print(args.out)


if __name__ == "__main__":
    main()
