"""The inspector page of a real render host in real headless Chromium, while the viewer
streams from it: its charts are drawn from the host's history and move live, and every value
it shows is readable (no epoch seconds, no raw byte counts)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.browser import chromium, viewed_session, wait_for

pytestmark = pytest.mark.e2e

CHARTS = {  # each chart's first series and its colour (inspector.js COLOURS)
    "chart-fps": (86, 211, 100),
    "chart-times": (79, 157, 222),
    "chart-bitrate": (57, 197, 207),
}
ROUND_TRIP = "chart-rtt"

_COLOUR_PIXELS = """([id, colour]) => {
  const canvas = document.querySelector(`#${id} canvas`);
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0, near = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0) painted += 1;
    if (colour && [0, 1, 2].every((c) => Math.abs(data[i + c] - colour[c]) <= 24)) near += 1;
  }
  return [painted, near];
}"""


def until(page: Page, expression: str, seconds: float = 15) -> None:
    """Wait until the page's JavaScript `expression` is true. (Playwright's wait_for_function
    evaluates its predicate with eval, which the page's Content-Security-Policy forbids;
    page.evaluate goes through the debugger, which it does not.)"""
    guarded = f"() => {{ try {{ return Boolean({expression}); }} catch {{ return false; }} }}"
    give_up = time.monotonic() + seconds
    while not page.evaluate(guarded):
        assert time.monotonic() < give_up, f"the page never got to: {expression}"
        page.wait_for_timeout(100)


def colour_pixels(page: Page, chart: str, rgb: tuple[int, int, int] | None) -> tuple[int, int]:
    """How many pixels of `chart`'s canvas are painted at all, and how many in `rgb`."""
    painted, near = page.evaluate(_COLOUR_PIXELS, [chart, list(rgb) if rgb else None])
    return int(painted), int(near)


def test_the_inspector_charts_the_live_stream_in_readable_values(tmp_path: Path) -> None:
    with (
        viewed_session(tmp_path / "data", ["samples/torus-knot.glb"]) as session,
        chromium() as browser,
    ):
        viewer = browser.new_page(viewport={"width": 640, "height": 360})
        viewer.goto(f"{session.host}/viewer#token={session.token}")
        wait_for(viewer, "window.renderhubViewer.stats.framesDecoded > 10")

        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        # The inspector port's root, as in ARR (where the admin API's `inspector` points).
        inspector = f"http://{session.ready['hostname']}:{session.ready['arrInspectorPort']}/"
        page.goto(f"{inspector}#token={session.token}")
        assert "token" not in page.url, "the token is taken out of the address"
        streaming = "h.fps.filter((f) => f > 0).length >= 3 && h.bitrate.at(-1) > 0"
        until(page, f"(h => {streaming})(window.renderhubInspector.history)", seconds=30)
        samples = page.evaluate("window.renderhubInspector.samples")
        until(page, f"window.renderhubInspector.samples > {samples}", seconds=5)
        page.screenshot(path=tmp_path / "inspector.png", full_page=True)

        for chart, colour in CHARTS.items():
            painted, near = colour_pixels(page, chart, colour)
            assert painted > 1000, f"{chart} is blank"
            assert near > 40, f"{chart} draws no line ({near} pixels of its colour)"
        assert colour_pixels(page, ROUND_TRIP, None)[0] > 1000, "the round trip chart is blank"

        text = page.inner_text("body")
        assert not re.search(r"(?<![\d,.])\d{7,}", text), (
            f"a raw figure (epoch seconds, bytes): {text}"
        )
        assert re.search(r"Lease left\s+\d+m \d\ds", text), text
        assert re.search(r"Frame rate\s+\d+\.\d fps", text), text
        assert re.search(r"Bitrate\s+[\d.]+ (Mbit|kbit)/s", text), text
        assert re.search(r"Memory\s+[\d.]+ MB", text), text
        assert re.search(r"torus-knot\.glb\s+[\d,]+\s+[\d.]+ MB", text), text
        assert page.inner_text("#session-id") == "viewed"  # viewed_session's session
        assert page.inner_text("#now-client") == "connected"

        asked = browser.new_page()  # another tab: no token yet
        asked.goto(inspector)
        assert asked.is_visible("#signin") and not asked.is_visible("#figures")
        asked.fill("#token", "not-a-token")
        asked.click("#signin button")
        until(asked, "document.querySelector('#signin-reason.refused')")
        assert "The host refused this token" in asked.inner_text("#signin-reason")
        asked.fill("#token", session.token)
        asked.click("#signin button")
        until(asked, "window.renderhubInspector.updates > 0")
        assert asked.is_visible("#figures")
