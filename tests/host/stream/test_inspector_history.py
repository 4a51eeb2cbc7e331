"""The inspector's charts' history (one sample a second, the last minutes, kept by the host),
its route, the session's lease and models in /inspector.json, and the inspector page with its
vendored charting library as the host serves them."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

import httpx
import pytest

from renderhub.clock import ManualClock
from renderhub.host.app import build_app
from renderhub.host.stream.inspector import COLUMNS, InspectorHistory
from renderhub.host.stream.stats import StreamStats
from tests.host.stream.conftest import CONTROL_TOKEN, Keys, StreamHost
from tests.host.stream.peers import Viewer

START = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
MEMORY = 300_000_000


class Seconds:
    """A monotonic clock for StreamStats that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def history_of(size: int = 600) -> tuple[InspectorHistory, StreamStats, ManualClock, Seconds]:
    seconds = Seconds()
    stats = StreamStats(clock=seconds)
    wall = ManualClock(START)
    return InspectorHistory(stats, wall, lambda: MEMORY, size), stats, wall, seconds


def one_second_of_frames(stats: StreamStats, seconds: Seconds, render_ms: float) -> None:
    """30 frames over the next second, each rendered in `render_ms`, encoded in 4 ms and sent
    in 1 ms; then a transport reading of 250 kB more than the last."""
    for _ in range(30):
        seconds.now += 1 / 30
        stats.frame_rendered(render_ms, render_ms + 1)
        stats.frame_sent(4.0, 1.0)
    previous = stats._last_transport.bytes_sent if stats._last_transport else 0
    stats.transport(previous + 250_000, 0.012)


def test_a_sample_is_the_last_second_of_the_stream() -> None:
    history, stats, _wall, seconds = history_of()
    stats.transport(0, None)
    one_second_of_frames(stats, seconds, render_ms=8.0)

    sample = history.take()

    assert sample.t == START.timestamp()
    assert sample.fps == pytest.approx(30, rel=0.05)  # 30 frames over (29/30) s
    assert (sample.render_ms, sample.encode_ms, sample.send_ms) == (8.0, 4.0, 1.0)
    assert sample.bitrate == 2_000_000  # 250 kB in one second
    assert sample.round_trip_ms == 12.0
    assert sample.memory_bytes == MEMORY


def test_without_a_client_the_charts_get_gaps_not_zeros() -> None:
    history, _stats, _wall, _seconds = history_of()

    sample = history.take()

    assert sample.fps == 0.0
    assert sample.render_ms is sample.encode_ms is sample.send_ms is None
    assert sample.bitrate is sample.round_trip_ms is None


def test_the_history_keeps_the_last_samples_as_columns() -> None:
    history, stats, wall, seconds = history_of(size=3)
    for second in range(5):
        one_second_of_frames(stats, seconds, render_ms=float(second + 1))
        history.take()
        wall.advance(timedelta(seconds=1))
    times = [START.timestamp() + second for second in range(2, 5)]

    everything = history.since(None)
    later = history.since(times[0])

    assert everything["intervalSeconds"] == 1.0
    assert tuple(everything["columns"]) == COLUMNS
    assert COLUMNS == (
        "t", "fps", "renderMs", "encodeMs", "sendMs", "bitrate", "roundTripMs", "memoryBytes",
    )  # fmt: skip
    assert everything["columns"]["t"] == times
    assert everything["columns"]["renderMs"] == [3.0, 4.0, 5.0]
    assert later["columns"]["t"] == times[1:]
    assert later["columns"]["memoryBytes"] == [MEMORY, MEMORY]
    assert history.since(times[-1])["columns"]["t"] == []


@pytest.fixture
async def recorded(host: StreamHost, keys: Keys) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The test host's app again, with a history that the test fills (the host's serve loop
    would, every second)."""
    history = InspectorHistory(host.streamer.stats)
    app = build_app(host.state, CONTROL_TOKEN, host.streamer, keys.auth(), history=history)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://host") as http:
        yield http, history


async def test_the_history_route_gives_the_stream_as_it_went(
    recorded: tuple[httpx.AsyncClient, InspectorHistory],
    host: StreamHost,
    make_viewer: Callable[..., Viewer],
) -> None:
    http, history = recorded
    history.take()  # before any client
    viewer = make_viewer()
    await viewer.connect(http, host.token)
    await viewer.picture()
    give_up = time.monotonic() + 10
    while (sample := history.take()).bitrate is None or sample.encode_ms is None:
        assert time.monotonic() < give_up, sample
        await asyncio.sleep(0.25)

    answer = await http.get("/inspector/history.json", headers=bearer(host.token))
    first_t = answer.json()["columns"]["t"][0]
    since = await http.get(f"/inspector/history.json?since={first_t}", headers=bearer(host.token))

    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    columns = answer.json()["columns"]
    assert columns["fps"][0] == 0.0 and columns["bitrate"][0] is None
    assert columns["fps"][-1] > 0
    assert columns["bitrate"][-1] > 0
    assert columns["renderMs"][-1] is not None and columns["encodeMs"][-1] is not None
    assert abs(columns["t"][-1] - time.time()) < 5
    assert since.json()["columns"]["t"] == columns["t"][1:]


async def test_the_history_route_needs_the_accounts_token_and_a_time(
    recorded: tuple[httpx.AsyncClient, InspectorHistory], host: StreamHost, keys: Keys
) -> None:
    http, _history = recorded
    assert (await http.get("/inspector/history.json")).status_code == 401
    other = bearer(keys.token(account="account-b"))
    assert (await http.get("/inspector/history.json", headers=other)).status_code == 403
    for bad in ("yesterday", "nan", "inf", ""):
        answer = await http.get(
            "/inspector/history.json", params={"since": bad}, headers=bearer(host.token)
        )
        assert answer.status_code == 400, bad
        assert answer.json()["error"]["message"].startswith(f"since: {bad!r} is not a time")


async def test_the_inspector_tells_the_lease_and_the_sessions_models(host: StreamHost) -> None:
    answer = await host.http.get("/inspector.json", headers=bearer(host.token))

    session = answer.json()["session"]
    assert session["leaseEnds"] == "2096-10-02T07:06:40Z"  # the test host's deadline
    assert session["leaseLeftSeconds"] == pytest.approx(4_000_000_000 - time.time(), abs=5)
    assert session["models"] == [{"url": "samples/cube.glb", "polygons": 12, "bytes": 100}]
    assert (session["modelsLoaded"], session["modelsTotal"]) == (0, 1)
    assert session["loadSeconds"] == 0.1
    assert session["clientConnectedSeconds"] is None


async def test_the_inspector_page_its_scripts_and_its_charts_library_are_served(
    host: StreamHost,
) -> None:
    page = await host.http.get("/inspector")
    policy = page.headers["content-security-policy"]
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    for script in ("inspector.js", "static/uplot/uPlot.iife.min.js"):
        assert f'src="{script}"' in page.text
    for sheet in ("inspector.css", "static/uplot/uPlot.min.css"):
        assert f'href="{sheet}"' in page.text

    vendored = files("renderhub.web_vendor").joinpath("uplot")
    recorded = vendored.joinpath("VERSION").read_text()
    for name, media in (("uPlot.iife.min.js", "text/javascript"), ("uPlot.min.css", "text/css")):
        answer = await host.http.get(f"/static/uplot/{name}")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(media)
        assert f"{hashlib.sha256(answer.content).hexdigest()}  {name}" in recorded
    for name in ("inspector.js", "inspector.css"):
        assert (await host.http.get(f"/{name}")).status_code == 200
