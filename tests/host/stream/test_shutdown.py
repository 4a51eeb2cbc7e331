"""Ending a whole host (serve_host, real uvicorn on 127.0.0.1): the client hears why, then
the connection and the renderer are closed and serve_host returns."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from renderhub.host.config import FetchLimits, HostConfig
from renderhub.host.frames import SceneRenderer
from renderhub.host.server import serve_host
from renderhub.host.state import HostState
from renderhub.model_sources import ModelPolicy
from renderhub.sizes import SessionSize
from tests.host.stream.conftest import ACCOUNT, CONTROL_TOKEN, Keys
from tests.host.stream.doubles import PictureSource
from tests.host.stream.peers import Viewer, bearer

MakeViewer = Callable[..., Viewer]


@dataclass
class RunningHost:
    serving: asyncio.Task[None]
    source: PictureSource
    http: httpx.AsyncClient
    token: str

    async def connect(self, viewer: Viewer) -> None:
        """Offer until the host takes it (it answers 503 until the renderer runs)."""
        async with asyncio.timeout(10):
            while True:
                response = await viewer.connect(self.http, self.token)
                if response.status_code != 503:
                    break
                await asyncio.sleep(0.05)
        assert response.status_code == 200, response.text
        await viewer.picture()

    async def ended(self) -> None:
        async with asyncio.timeout(5):
            await self.serving


@pytest.fixture
async def running(tmp_path: Path, keys: Keys) -> AsyncIterator[RunningHost]:
    public_key = tmp_path / "signing.pem.pub"
    public_key.write_bytes(
        keys.signing.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    config = HostConfig(
        session_id="shutdown-test",
        size=SessionSize.STANDARD,
        deadline=time.time() + 60,
        models=(),
        policy=ModelPolicy(tmp_path),
        polygon_limit=None,
        limits=FetchLimits(),
        control_token=CONTROL_TOKEN,
        public_key_path=public_key,
        account_id=ACCOUNT,
    )
    source = PictureSource()

    async def start_renderer(state: HostState) -> SceneRenderer:
        return source

    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    serving = asyncio.create_task(serve_host(config, [listener], start_renderer))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        yield RunningHost(serving, source, http, keys.token())
    if not serving.done():
        serving.cancel()
    await asyncio.gather(serving, return_exceptions=True)
    listener.close()


async def test_control_shutdown_says_bye_with_the_reason(
    running: RunningHost, make_viewer: MakeViewer
) -> None:
    viewer = make_viewer()
    await running.connect(viewer)

    refused = await running.http.post("/control/shutdown", json={"reason": "x"})
    response = await running.http.post(
        "/control/shutdown",
        json={"reason": "The session was stopped by its owner."},
        headers=bearer(CONTROL_TOKEN),
    )

    assert refused.status_code == 401
    assert response.status_code == 202
    assert response.json() == {
        "status": "stopping",
        "reason": "The session was stopped by its owner.",
    }
    bye = await viewer.message("bye")
    assert bye == {"type": "bye", "reason": "The session was stopped by its owner."}
    await running.ended()
    assert running.source.closed


async def test_the_lease_running_out_says_so(running: RunningHost, make_viewer: MakeViewer) -> None:
    viewer = make_viewer()
    await running.connect(viewer)

    await running.http.post(
        "/control/deadline",
        json={"deadline": time.time() + 0.2},
        headers=bearer(CONTROL_TOKEN),
    )

    assert await viewer.message("bye") == {"type": "bye", "reason": "The session's lease ran out."}
    await running.ended()
    assert running.source.closed


async def test_sigterm_says_the_session_was_stopped(
    running: RunningHost, make_viewer: MakeViewer
) -> None:
    viewer = make_viewer()
    await running.connect(viewer)

    os.kill(os.getpid(), signal.SIGTERM)  # serve_host has its own handler installed

    assert await viewer.message("bye") == {"type": "bye", "reason": "The session was stopped."}
    await running.ended()
    assert running.source.closed


async def test_a_bad_shutdown_body_is_400_and_stops_nothing(running: RunningHost) -> None:
    for body in (b"[]", b'{"reason": ""}', b'{"reason": 5}', b'{"why": "x"}', b"{"):
        response = await running.http.post(
            "/control/shutdown", content=body, headers=bearer(CONTROL_TOKEN)
        )
        assert response.status_code == 400, body
    assert not running.serving.done()
    assert (await running.http.get("/health")).status_code == 200
