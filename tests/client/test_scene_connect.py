"""connect_scene against a real `renderhub serve` and its real render host, over real aiortc
on loopback: the greeting, decoded video, camera input, one client at a time, the host's
goodbye, a failed session."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np
import pytest

from renderhub.client import (
    AlreadyConnected,
    SceneClosed,
    SessionFailed,
    WaitTimedOut,
)
from renderhub.frame_marker import read_marker
from tests.client.scene_support import (
    Served,
    background_share,
    difference,
    frame_showing,
    served,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(tmp_path_factory.mktemp("scene") / "data") as running:
        yield running


async def test_connect_greets_streams_and_follows_the_camera(hub: Served) -> None:
    async with hub.client() as client:
        session_id = await hub.session(client, ["samples/torus-knot.glb"])
        async with client.connect_scene(session_id, ready_timeout=60) as scene:
            hello = scene.hello
            assert (hello.width, hello.height) == (1280, 720) and hello.fps > 0
            assert hello.polygons > 0 and hello.renderer

            with pytest.raises(WaitTimedOut):
                await scene.next_frame(timeout=0.0)
            frame = await scene.next_frame()
            assert frame.shape == (720, 1280, 3) and frame.dtype == np.uint8
            assert background_share(frame) < 0.97, "the frame shows only background"

            on = scene.marker(True)
            before = await frame_showing(scene, on)
            turned = scene.orbit(0.2, 0.1)
            assert turned > on == scene.last_seq - 1
            after = await frame_showing(scene, turned)
            assert read_marker(after) == turned
            assert difference(before, after) > 2, "the camera input did not change the picture"

            smaller = scene.resolution(640, 360)
            resized = await frame_showing(scene, smaller)
            assert resized.shape == (360, 640, 3)


async def test_one_client_at_a_time_and_the_next_after_it_leaves(hub: Served) -> None:
    async with hub.client() as client:
        session_id = await hub.session(client, ["samples/cube.glb"])
        async with client.connect_scene(session_id, ready_timeout=60) as first:
            await first.next_frame()
            with pytest.raises(AlreadyConnected, match="already connected") as refused:
                async with client.connect_scene(session_id):
                    pass
            assert refused.value.status == 409
            assert (await first.next_frame()).shape == (720, 1280, 3), "the first lost its video"
        # The host notices the close at once: the next client is let in.
        async with client.connect_scene(session_id) as second:
            assert (await second.next_frame()).shape == (720, 1280, 3)


async def test_the_hosts_goodbye_ends_pending_and_later_calls(hub: Served) -> None:
    async with hub.client() as client:
        session_id = await hub.session(client, ["samples/cube.glb"])
        async with client.connect_scene(session_id, ready_timeout=60) as scene:
            await scene.next_frame()
            await client.stop_session(session_id)

            with pytest.raises(SceneClosed) as ended:
                async with asyncio.timeout(15):
                    while True:  # frames until the end, which ends the one waited for
                        await scene.next_frame()
            assert "stopped" in ended.value.reason.lower(), ended.value.reason
            assert scene.closed_reason == ended.value.reason
            with pytest.raises(SceneClosed, match=ended.value.reason):
                await scene.entities()
            with pytest.raises(SceneClosed):
                scene.orbit(1, 0)
            with pytest.raises(SceneClosed):
                await scene.next_frame()


async def test_a_failed_session_raises_as_waiting_does(hub: Served) -> None:
    (hub.server.data_dir / "models" / "broken.glb").write_bytes(b"not a glb")
    async with hub.client() as client:
        session_id = await hub.session(client, ["broken.glb"])
        with pytest.raises(SessionFailed, match="Could not load model"):
            async with client.connect_scene(session_id, ready_timeout=60):
                pass
