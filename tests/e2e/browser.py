"""Debian's Chromium driven by Playwright, as the project's browser tests use it, and a Ready
session of a real `renderhub serve` for it to connect to."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import API
from tests.e2e.server import ServerProcess, free_port, sign_in

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


_VIDEO_COLOUR_COUNT = """([colour, tolerance]) => {
  const video = document.getElementById("video");
  const [width, height] = [video.videoWidth, video.videoHeight];
  const canvas = Object.assign(document.createElement("canvas"), {width, height});
  const context = canvas.getContext("2d");
  context.drawImage(video, 0, 0);
  const data = context.getImageData(0, 0, width, height).data;
  let count = 0;
  for (let i = 0; i < data.length; i += 4) {
    let near = true;
    for (let c = 0; c < 3; c += 1) near = near && Math.abs(data[i + c] - colour[c]) <= tolerance;
    if (near) count += 1;
  }
  return count;
}"""


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; a clear failure (never a skip) where it is missing."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `scripts/install test` (Debian's chromium).")
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


def count_video_pixels(page: Page, rgb: tuple[float, float, float], tolerance: float) -> int:
    """How many pixels of the video's current frame, at its own size, are within `tolerance`
    (0..255, each channel) of the colour `rgb` (0..255): thin lines such as the selection
    outline vanish when the frame is scaled down."""
    count: int = page.evaluate(_VIDEO_COLOUR_COUNT, [list(rgb), tolerance])
    return count


def viewer_stats(page: Page) -> dict:
    stats: dict = page.evaluate("() => window.renderhubViewer.stats")
    return stats


@dataclass(frozen=True)
class ViewedSession:
    """A Ready session: the client that made it (signed in), its token and its properties."""

    client: httpx.Client
    token: str
    ready: dict
    url: str  # the session's 2021 URL, with the api-version
    account_id: str

    @property
    def host(self) -> str:
        """The render host's base URL, where the viewer and /sdk/renderhub.js are served."""
        return f"http://{self.ready['hostname']}:{self.ready['handshakePort']}"

    def stop(self) -> httpx.Response:
        return self.client.post(f"{self.url.split('?')[0]}/:stop?{API}")


@contextmanager
def viewed_session(data_dir: Path, models: list[str]) -> Iterator[ViewedSession]:
    """A real `renderhub serve` with one Ready session (named "viewed") of `models`; stopped,
    and the server ended, afterwards."""
    server = ServerProcess(data_dir, free_port())
    server.start()
    try:
        signed_in = sign_in(server)
        client, account_id = signed_in.client, signed_in.account_id
        url = f"/accounts/{account_id}/sessions/viewed?{API}"
        body = {"maxLeaseTimeMinutes": 30, "size": "Standard", "models": models}
        assert client.put(url, json=body).status_code == 201
        give_up = time.monotonic() + 20
        while (session := client.get(url).json())["status"] != "Ready":
            assert time.monotonic() < give_up, session
            time.sleep(0.05)
        yield ViewedSession(client, signed_in.token, session, url, account_id)
        _stop_and_wait(client, account_id)
    finally:
        server.terminate()


def _stop_and_wait(client: httpx.Client, account_id: str) -> None:
    """Hosts outlive their control plane by design: stop the session before the server."""
    client.post(f"/accounts/{account_id}/sessions/viewed/:stop?{API}")
    properties = f"/v1/accounts/{account_id}/sessions/viewed/properties"
    give_up = time.monotonic() + 15
    while client.get(properties).json()["sessionStatus"] != "Stopped":
        assert time.monotonic() < give_up, "the session did not stop"
        time.sleep(0.05)


def wait_for(page: Page, expression: str, seconds: float = 15) -> None:
    """Wait until the page's JavaScript `expression` is true (false while it throws: the
    viewer's module may not have run yet)."""
    guarded = f"(() => {{ try {{ return {expression}; }} catch {{ return false; }} }})()"
    page.wait_for_function(guarded, timeout=seconds * 1000)
