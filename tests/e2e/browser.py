"""Debian's Chromium driven by Playwright, as the project's browser tests use it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    # WebRTC on loopback only: tests never send traffic to the machine's other addresses.
    "--allow-loopback-in-peer-connection",
]  # fmt: skip

_VIDEO_PIXELS = """(size) => {
  const video = document.getElementById("video");
  const canvas = Object.assign(document.createElement("canvas"), {width: size[0], height: size[1]});
  const context = canvas.getContext("2d");
  context.drawImage(video, 0, 0, size[0], size[1]);
  return Array.from(context.getImageData(0, 0, size[0], size[1]).data);
}"""


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def video_pixels(page: Page, width: int = 160, height: int = 90) -> np.ndarray:
    """The video element's current frame, scaled to width x height, as RGB."""
    data = page.evaluate(_VIDEO_PIXELS, [width, height])
    return np.array(data, dtype=np.uint8).reshape(height, width, 4)[:, :, :3]


def viewer_stats(page: Page) -> dict:
    stats: dict = page.evaluate("() => window.renderhubViewer.stats")
    return stats
