"""Hovering the chart: no page errors however the mouse moves, and a hover that says only
what differs (the smoothed loss only when smoothing is on)."""

from __future__ import annotations

import random

from dashboard_page import wait_for_chart

HOVER_TEXT_JS = "() => document.querySelector('#graph .hoverlayer').textContent"


def _plot_box(page) -> dict:
    page.wait_for_selector(".runs-table .ag-row")  # the page has settled
    return page.locator("#graph .nsewdrag").first.bounding_box()


def _hover_at(page, box: dict, fx: float, fy: float) -> str:
    """The hover label's text at a point of the plot ("" where nothing is close enough)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    try:
        page.wait_for_function(f"() => ({HOVER_TEXT_JS})().includes('step')", timeout=2000)
    except PlaywrightTimeout:
        return ""
    return page.evaluate(HOVER_TEXT_JS)


def test_200_mouse_moves_over_the_chart_raise_no_page_error(page, server_url) -> None:
    page.goto(server_url)
    wait_for_chart(page, min_traces=10)
    box = _plot_box(page)
    rng = random.Random(0)
    for _ in range(200):
        page.mouse.move(
            box["x"] + rng.random() * box["width"], box["y"] + rng.random() * box["height"]
        )
        page.wait_for_timeout(10)
    page.wait_for_timeout(300)
    assert page.console_errors == []


def _hovers(page) -> list[str]:
    """The hover text at a row of points along the lower part of the plot."""
    box = _plot_box(page)
    return [_hover_at(page, box, fx, 0.85) for fx in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)]


def test_hover_shows_smoothed_only_when_smoothing_is_on(page, server_url) -> None:
    page.goto(server_url)
    wait_for_chart(page, min_traces=10)
    texts = _hovers(page)
    assert any("loss" in t for t in texts)
    assert not any("smoothed" in t for t in texts)
    page.goto(server_url + "/?smoothing=0.6")
    wait_for_chart(page, min_traces=10)
    assert any("smoothed" in t for t in _hovers(page))
    assert page.console_errors == []
