"""Two aiortc peers on loopback: the client offers through the real app, watches the video
and steers it over the data channel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np

from renderhub.host.camera import OrbitCamera
from renderhub.host.frames import View
from tests.host.stream.conftest import HEIGHT, WIDTH, Keys, StreamHost, open_host
from tests.host.stream.doubles import eye_colour
from tests.host.stream.peers import Viewer, close_to, marker_is

MakeViewer = Callable[..., Viewer]


CUBE_BOUNDS = np.array([[-0.5, -0.5, -0.5], [0.5, 0.5, 0.5]])  # the cube sample's


def home_view() -> View:
    return OrbitCamera.framing(CUBE_BOUNDS, aspect=WIDTH / HEIGHT).view(WIDTH, HEIGHT)


async def test_the_client_sees_the_scene_and_steers_it(
    host: StreamHost, make_viewer: MakeViewer
) -> None:
    viewer = make_viewer()

    response = await viewer.connect(host.http, host.token)

    assert response.status_code == 200
    assert response.json()["type"] == "answer"
    hello = await viewer.message("hello")
    assert hello == {
        "type": "hello",
        "width": WIDTH,
        "height": HEIGHT,
        "fps": 30,
        "renderer": "test double",
        "polygons": 12,
        "message": None,
        "models": [host.runtime.model.entity_json(host.runtime.model.model_roots()[0])],
    }
    first = await viewer.picture(close_to(eye_colour(home_view())))
    assert first.shape == (HEIGHT, WIDTH, 3)

    viewer.send({"type": "orbit", "dx": 0.5, "dy": 0.0, "seq": 1})
    camera = OrbitCamera.framing(CUBE_BOUNDS, aspect=WIDTH / HEIGHT)
    camera.apply({"type": "orbit", "dx": 0.5, "dy": 0.0})
    await viewer.picture(close_to(eye_colour(camera.view(WIDTH, HEIGHT))))
    assert host.source.last_view is not None
    assert host.source.last_view.eye == camera.eye


async def test_h264_as_chromium_would_choose_it(host: StreamHost, make_viewer: MakeViewer) -> None:
    viewer = make_viewer(codec="video/H264")

    assert (await viewer.connect(host.http, host.token)).status_code == 200

    await viewer.picture(close_to(eye_colour(home_view())))
    assert host.streamer.client is not None
    assert host.streamer.client.codec == "video/H264"


async def test_resolution_fps_ping_and_marker(host: StreamHost, make_viewer: MakeViewer) -> None:
    viewer = make_viewer()
    await viewer.connect(host.http, host.token)
    await viewer.message("hello")

    viewer.send({"type": "ping", "t": 1234.5})
    assert await viewer.message("pong") == {"type": "pong", "t": 1234.5}

    viewer.send({"type": "resolution", "width": 256, "height": 160})
    await viewer.picture(lambda pixels: pixels.shape == (160, 256, 3))

    viewer.send({"type": "marker", "enabled": True, "seq": 41})
    await viewer.picture(marker_is(41))
    viewer.send({"type": "zoom", "factor": 0.8, "seq": 65536 + 42})
    await viewer.picture(marker_is(42))

    viewer.send({"type": "fps", "value": 5, "seq": 43})
    await viewer.picture(marker_is(43))
    before = host.source.renders
    await asyncio.sleep(1.0)
    assert 3 <= host.source.renders - before <= 7, "about 5 frames a second"


async def test_a_bad_command_gets_an_error_and_the_channel_stays_open(
    host: StreamHost, make_viewer: MakeViewer
) -> None:
    viewer = make_viewer()
    await viewer.connect(host.http, host.token)
    await viewer.message("hello")

    refused: list[tuple[dict[str, Any], str]] = [
        ({"type": "fly"}, "Unknown message type 'fly'"),
        ({"type": "zoom", "factor": 0}, "'factor' must be greater than 0."),
        ({"type": "orbit", "dx": "left", "dy": 0}, "'dx' must be a number."),
        ({"type": "resolution", "width": 321, "height": 240}, "'width' must be an even"),
        ({"type": "fps", "value": 0}, "'value' must be a whole number"),
        ({"type": "marker", "enabled": 1}, "'enabled' must be true or false."),
    ]
    for message, error in refused:
        viewer.send(message)
        reply = await viewer.message("error")
        assert reply["message"].startswith(error), reply
    viewer.channel.send("not json")
    assert "not valid JSON" in (await viewer.message("error"))["message"]

    viewer.send({"type": "ping", "t": 1})
    assert await viewer.message("pong") == {"type": "pong", "t": 1}
    assert viewer.channel.readyState == "open"


async def test_one_client_at_a_time(host: StreamHost, make_viewer: MakeViewer) -> None:
    first, second, third = make_viewer(), make_viewer(), make_viewer()
    await first.connect(host.http, host.token)
    await first.picture()

    refused = await second.connect(host.http, host.token)

    assert refused.status_code == 409
    assert refused.json()["error"] == {
        "code": "Conflict",
        "message": (
            "A client is already connected to this session; only one may be connected at a time."
        ),
    }

    await first.close()
    await _until(lambda: host.streamer.client is None)  # the host notices the close
    response = await third.connect(host.http, host.token)
    assert response.status_code == 200
    await third.picture(close_to(eye_colour(home_view())))


async def test_a_client_that_falls_silent_counts_as_gone(
    keys: Keys, make_viewer: MakeViewer
) -> None:
    async with open_host(keys, silent_client_seconds=2.5) as host:
        vanished, next_one = make_viewer(), make_viewer()
        await vanished.connect(host.http, host.token)
        await vanished.picture()

        vanished.go_silent()
        await _until(lambda: host.streamer.client is None, within=6)

        assert (await next_one.connect(host.http, host.token)).status_code == 200
        await next_one.picture()


async def test_nothing_is_rendered_without_a_client(
    host: StreamHost, make_viewer: MakeViewer
) -> None:
    await asyncio.sleep(0.3)
    assert host.source.renders == 0

    viewer = make_viewer()
    await viewer.connect(host.http, host.token)
    await viewer.picture()
    await viewer.close()
    await _until(lambda: host.streamer.client is None)
    stopped_at = host.source.renders
    await asyncio.sleep(0.3)

    assert host.source.renders == stopped_at


async def test_the_inspector_figures_move_while_streaming(
    host: StreamHost, make_viewer: MakeViewer
) -> None:
    idle = (await host.http.get("/inspector.json", headers=_bearer(host.token))).json()
    assert idle["client"] == {"connected": False, "state": None, "connectedSince": None}
    assert idle["video"]["framesRendered"] == 0

    viewer = make_viewer()
    await viewer.connect(host.http, host.token)
    await viewer.picture()
    await asyncio.sleep(2.2)  # two transport samples, for the bitrate
    busy = (await host.http.get("/inspector.json", headers=_bearer(host.token))).json()

    assert busy["client"]["connected"] is True
    assert busy["client"]["connectedSince"] is not None
    video = busy["video"]
    assert video["codec"] == "video/VP8"
    assert (video["width"], video["height"], video["fpsTarget"]) == (WIDTH, HEIGHT, 30)
    assert video["framesRendered"] > 30
    assert video["framesSent"] > 30
    assert 15 < video["fps"] <= 33
    assert video["bitrate"] > 0
    for step in ("render", "frame", "encode", "send"):
        assert video["timingsMs"][step]["median"] is not None, step
        assert video["timingsMs"][step]["p95"] >= video["timingsMs"][step]["median"]
    assert busy["renderer"] == {"renderer": "test double", "gpu": False}
    assert busy["scene"] == {
        "polygons": 12,
        "polygonsRendered": 12,
        "entities": 2,
        "models": 1,
        "cutPlanes": 0,
        "polygonLimit": 1000,
        "overLimit": False,
    }
    assert busy["memory"]["hostRssBytes"] > 10_000_000


async def test_the_client_gets_bye_when_the_host_closes(
    host: StreamHost, make_viewer: MakeViewer
) -> None:
    viewer = make_viewer()
    await viewer.connect(host.http, host.token)
    await viewer.picture()

    closing = asyncio.ensure_future(host.streamer.close("The session's lease ran out."))

    assert await viewer.message("bye") == {"type": "bye", "reason": "The session's lease ran out."}
    await closing
    assert host.source.closed
    assert host.streamer.client is None
    late = await make_viewer().connect(host.http, host.token)
    assert late.status_code == 503
    assert late.json()["error"]["message"] == "The session is ending."


async def test_a_failed_render_ends_the_stream_with_the_reason(
    host: StreamHost, make_viewer: MakeViewer
) -> None:
    viewer = make_viewer()
    await viewer.connect(host.http, host.token)
    await viewer.picture()

    host.source.broken = "The renderer process is gone."

    assert await viewer.message("bye") == {"type": "bye", "reason": "The renderer process is gone."}
    await _until(lambda: host.streamer.client is None)
    refused = await make_viewer().connect(host.http, host.token)
    assert refused.status_code == 503
    assert refused.json()["error"]["message"] == "The renderer process is gone."


async def _until(check: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until `check()` holds; fail after `within` seconds."""
    async with asyncio.timeout(within):
        while True:
            if check():
                return
            await asyncio.sleep(0.02)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
