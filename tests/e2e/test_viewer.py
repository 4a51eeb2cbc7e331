"""A person's view of a session: the viewer page in real headless Chromium shows the model
streamed from a real render host, follows camera input, and is told when the session ends."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import API
from tests.e2e.browser import chromium, video_pixels, viewer_stats
from tests.e2e.server import ServerProcess, free_port, sign_in

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def session(tmp_path: Path) -> Iterator[tuple[httpx.Client, str, dict]]:
    server = ServerProcess(tmp_path / "data", free_port())
    server.start()
    try:
        signed_in = sign_in(server)
        account_id, token, client = signed_in.account_id, signed_in.token, signed_in.client
        url = f"/accounts/{account_id}/sessions/viewed?{API}"
        body = {"maxLeaseTimeMinutes": 30, "size": "Standard", "models": ["samples/torus-knot.glb"]}
        assert client.put(url, json=body).status_code == 201
        give_up = time.monotonic() + 20
        while (session := client.get(url).json())["status"] != "Ready":
            assert time.monotonic() < give_up, session
            time.sleep(0.05)
        yield client, token, {**session, "url": url, "accountId": account_id}
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


def _wait(page, expression: str, seconds: float = 15) -> None:
    page.wait_for_function(expression, timeout=seconds * 1000)


def test_viewer_streams_the_model_follows_input_and_hears_the_end(session) -> None:
    client, token, ready = session
    viewer = f"http://{ready['hostname']}:{ready['handshakePort']}/viewer#token={token}&measure=1"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(viewer)
        _wait(page, "window.renderhubViewer.stats.framesDecoded > 10")
        assert viewer_stats(page)["state"] == "connected"

        before = video_pixels(page).astype(int)
        assert before.std() > 10, "the frame is blank"
        centre, corner = before[35:55, 70:90].mean(axis=(0, 1)), before[:10, :10].mean(axis=(0, 1))
        assert np.abs(centre - corner).max() > 20, "the model is not in the middle of the picture"

        page.mouse.move(640, 360)
        page.mouse.down()
        page.mouse.move(900, 400, steps=12)
        page.mouse.up()
        _wait(page, "window.renderhubViewer.stats.latenciesMs.length > 0")
        time.sleep(0.5)
        after = video_pixels(page).astype(int)
        assert np.abs(after - before).mean() > 3, "camera input did not change the picture"

        stopped = client.post(f"{ready['url'].split('?')[0]}/:stop?{API}")
        assert stopped.status_code == 204
        _wait(page, "window.renderhubViewer.stats.bye !== null")
        stats = viewer_stats(page)
        assert stats["bye"] == "The session was stopped."
        assert "The session has ended" in page.inner_text("#notice")
        browser.close()


def test_viewer_without_a_valid_token_is_refused(session) -> None:
    _, _, ready = session
    base = f"http://{ready['hostname']}:{ready['handshakePort']}/viewer"
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{base}#token=not-a-token")
        _wait(page, "window.renderhubViewer.stats.state === 'failed'")
        assert "token" in page.inner_text("#notice").lower()
        page.goto(f"{base}?again")
        _wait(page, "window.renderhubViewer.stats.state === 'failed'")
        assert "No access token" in page.inner_text("#notice")
