"""A person's view of a session: the viewer page in real headless Chromium shows the model
streamed from a real render host, follows camera input, and is told when the session ends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.browser import (
    ViewedSession,
    chromium,
    video_pixels,
    viewed_session,
    viewer_stats,
    wait_for,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def session(tmp_path: Path) -> Iterator[ViewedSession]:
    with viewed_session(tmp_path / "data", ["samples/torus-knot.glb"]) as viewed:
        yield viewed


def test_viewer_streams_the_model_follows_input_and_hears_the_end(session) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{session.host}/viewer#token={session.token}&measure=1")
        wait_for(page, "window.renderhubViewer.stats.framesDecoded > 10")
        assert viewer_stats(page)["state"] == "connected"

        before = video_pixels(page).astype(int)
        assert before.std() > 10, "the frame is blank"
        centre, corner = before[35:55, 70:90].mean(axis=(0, 1)), before[:10, :10].mean(axis=(0, 1))
        assert np.abs(centre - corner).max() > 20, "the model is not in the middle of the picture"

        page.mouse.move(640, 360)
        page.mouse.down()
        page.mouse.move(900, 400, steps=12)
        page.mouse.up()
        wait_for(page, "window.renderhubViewer.stats.latenciesMs.length > 0")
        time.sleep(0.5)
        after = video_pixels(page).astype(int)
        assert np.abs(after - before).mean() > 3, "camera input did not change the picture"

        assert session.stop().status_code == 204
        wait_for(page, "window.renderhubViewer.stats.bye !== null")
        stats = viewer_stats(page)
        assert stats["bye"] == "The session was stopped."
        assert "The session has ended" in page.inner_text("#notice")
        browser.close()


def test_viewer_without_a_valid_token_is_refused(session) -> None:
    base = f"{session.host}/viewer"
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{base}#token=not-a-token")
        wait_for(page, "window.renderhubViewer.stats.state === 'failed'")
        assert "token" in page.inner_text("#notice").lower()
        page.goto(f"{base}?again")
        wait_for(page, "window.renderhubViewer.stats.state === 'failed'")
        assert "No access token" in page.inner_text("#notice")
