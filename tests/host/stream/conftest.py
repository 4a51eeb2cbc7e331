"""Fixtures for the streaming tests: loopback-only ICE, access tokens, an in-process host."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aioice.ice
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from renderhub.clock import ManualClock, SystemClock
from renderhub.host.app import build_app
from renderhub.host.config import FetchLimits
from renderhub.host.deadline import Deadline
from renderhub.host.limits import PolygonBudget
from renderhub.host.runtime.loads import ModelSources, fetch_and_prepare
from renderhub.host.runtime.model import SceneModel
from renderhub.host.runtime.runtime import SceneRuntime
from renderhub.host.scene import LoadedModel, LoadedScene
from renderhub.host.state import HostState
from renderhub.host.stream.auth import ClientAuth
from renderhub.host.stream.streamer import Streamer, StreamSettings
from renderhub.model_sources import ModelPolicy
from renderhub.samples import install_samples
from renderhub.sizes import SessionSize
from renderhub.tokens import TokenIssuer, TokenVerifier
from tests.host.stream.doubles import PictureSource
from tests.host.stream.peers import Viewer

ACCOUNT = "account-a"
CONTROL_TOKEN = "control-token"
WIDTH, HEIGHT = 320, 240


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both peers gather only 127.0.0.1: every packet of these tests stays on loopback.

    (aioice leaves loopback out of its host candidates; on a machine with only `lo` it
    would gather nothing at all.)"""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])


@dataclass
class Keys:
    signing: Ed25519PrivateKey

    def token(self, account: str = ACCOUNT, issued: datetime | None = None) -> str:
        return TokenIssuer(self.signing, ManualClock(issued or datetime.now(UTC))).issue(account)

    def expired_token(self) -> str:
        return self.token(issued=datetime.now(UTC) - timedelta(days=2))

    def auth(self, account: str | None = ACCOUNT) -> ClientAuth:
        return ClientAuth(TokenVerifier(self.signing.public_key(), SystemClock()), account)


@pytest.fixture
def keys() -> Keys:
    return Keys(Ed25519PrivateKey.generate())


def ready_state(polygons: int = 12, limit: int | None = 1000) -> HostState:
    state = HostState(
        session_id="stream-test",
        budget=PolygonBudget(SessionSize.STANDARD, limit),
        deadline=Deadline(4_000_000_000.0),
        models_total=1,
    )
    model = LoadedModel("samples/cube.glb", (), polygons, 100)
    state.mark_ready(LoadedScene(models=(model,)), 0.1)
    return state


async def scene_runtime(
    models_dir: Path, *models: str, polygon_limit: int | None = 1000
) -> SceneRuntime:
    """A SceneRuntime (a real SceneModel) with `models` loaded from `models_dir`, which has
    the samples installed; no renderer yet (Streamer.attach's caller attaches one)."""
    install_samples(models_dir)
    sources = ModelSources(ModelPolicy(models_dir), FetchLimits())
    runtime = SceneRuntime(SceneModel(polygon_limit), sources)
    for url in models:
        await runtime.add(await fetch_and_prepare(url, sources, runtime.model))
    return runtime


async def attach(streamer: Streamer, source: PictureSource, runtime: SceneRuntime) -> None:
    """Hand `runtime`'s scene to `source` and both to the streamer, as the host does."""
    await runtime.attach(source)
    await streamer.attach(source, runtime)


@dataclass
class StreamHost:
    """A host app in this test's loop: its state, streamer, picture source, scene runtime,
    an HTTP client."""

    state: HostState
    streamer: Streamer
    source: PictureSource
    runtime: SceneRuntime
    http: httpx.AsyncClient
    token: str


@asynccontextmanager
async def open_host(keys: Keys, **settings: Any) -> AsyncIterator[StreamHost]:
    """A ready host app with a PictureSource attached, streaming at WIDTH x HEIGHT; its scene
    holds the cube sample (12 polygons)."""
    state = ready_state()
    streamer = Streamer(state, StreamSettings(width=WIDTH, height=HEIGHT, **settings))
    source = PictureSource()
    with tempfile.TemporaryDirectory(prefix="renderhub-stream-") as folder:
        runtime = await scene_runtime(Path(folder), "samples/cube.glb")
        await attach(streamer, source, runtime)
        app = build_app(state, CONTROL_TOKEN, streamer, keys.auth())
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://host") as http:
                yield StreamHost(state, streamer, source, runtime, http, keys.token())
        finally:
            await streamer.close("The test is over.")


@pytest.fixture
async def host(keys: Keys) -> AsyncIterator[StreamHost]:
    async with open_host(keys) as opened:
        yield opened


@pytest.fixture
async def make_viewer() -> AsyncIterator[Callable[..., Viewer]]:
    """Creates client peers; closes them all when the test ends."""
    made: list[Viewer] = []

    def make(codec: str | None = None) -> Viewer:
        made.append(Viewer(codec))
        return made[-1]

    yield make
    for viewer in made:
        await viewer.close()
