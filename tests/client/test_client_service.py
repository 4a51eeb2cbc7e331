"""The async client against the real service in-process (real store, the fake backend).
A real host's loading error reaching the client: tests/e2e/test_host_outcomes.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from renderhub.client import (
    AsyncRenderHubClient,
    BadRequest,
    Conflict,
    NotFound,
    Session,
    SessionFailed,
    Unauthorized,
)
from renderhub.status import SessionStatus
from renderhub.testing import Behaviour, Script
from tests.conftest import ControlPlane


def _client(
    plane: ControlPlane, version: str = "2021-01-01", key: str | None = None
) -> AsyncRenderHubClient:
    return AsyncRenderHubClient(
        "http://renderhub.test",
        plane.account.id,
        key or plane.account.primary_key,
        api_version=version,  # type: ignore[arg-type]
        transport=httpx.ASGITransport(app=plane.app),
    )


@pytest.fixture(params=["2021-01-01", "v1"])
async def client(
    plane: ControlPlane, request: pytest.FixtureRequest
) -> AsyncIterator[AsyncRenderHubClient]:
    async with _client(plane, request.param) as client:
        yield client


async def test_a_whole_session_life(client: AsyncRenderHubClient) -> None:
    session = await client.create_session(
        size="standard", lease=timedelta(minutes=20), models=["samples/cube.glb"]
    )
    assert session.status is SessionStatus.STARTING
    seen: list[SessionStatus] = []
    ready = await client.wait_until_ready(
        session.id, timeout=20, interval=0.05, progress=lambda s: seen.append(s.status)
    )
    assert ready.status is SessionStatus.READY and seen[-1] is SessionStatus.READY
    assert ready.viewer_url == f"http://{ready.hostname}:{ready.handshake_port}/viewer"
    assert [s.id async for s in client.list_sessions()] == [session.id]
    extended = await client.extend_session(session.id, timedelta(minutes=45))
    assert extended.max_lease == timedelta(minutes=45)
    await client.stop_session(session.id)
    assert (await client.get_session(session.id)).status in (
        SessionStatus.STOPPING,
        SessionStatus.STOPPED,
    )


async def test_typed_errors_carry_the_services_message(plane: ControlPlane) -> None:
    async with _client(plane) as client:
        with pytest.raises(NotFound, match="No session with id 'nope'"):
            await client.get_session("nope")
        await client.create_session("taken", lease=timedelta(minutes=10))
        with pytest.raises(Conflict) as conflict:
            await client.create_session("taken", lease=timedelta(minutes=11))
        assert conflict.value.status == 409 and conflict.value.correlation_vector
        with pytest.raises(BadRequest, match="between 0 and 1440"):
            await client.create_session("long", lease=timedelta(days=2))
    async with _client(plane, key="wrong-key") as wrong:
        with pytest.raises(Unauthorized, match="not accepted by the token service"):
            await wrong.get_session("taken")


async def test_waiting_on_a_failing_session_raises(plane: ControlPlane) -> None:
    plane.backend.default = Script(Behaviour.FAILS, "Could not load model 'broken.glb'.")
    async with _client(plane) as client:
        session = await client.create_session(models=["samples/cube.glb"])
        with pytest.raises(SessionFailed, match=r"is Error: Could not load model 'broken\.glb'\.$"):
            await client.wait_until_ready(session.id, timeout=20, interval=0.05)
        failed = await client.get_session(session.id)
        assert (failed.error_code, failed.status) == ("ModelLoadFailed", SessionStatus.ERROR)


def test_sessions_parse_from_the_spec_examples() -> None:
    ready = Session.from_2021(
        {"id": "x", "status": "Ready", "size": "Standard", "maxLeaseTimeMinutes": 60,
         "elapsedTimeMinutes": 10, "creationTime": "2020-11-11T11:11:11.111Z",
         "hostname": "h.example", "handshakePort": 50051, "arrInspectorPort": 50052,
         "teraflops": 10.6, "error": None}
    )  # fmt: skip
    assert ready.elapsed == timedelta(minutes=10) and ready.creation_time is not None
    assert ready.to_json()["viewerUrl"] == "http://h.example:50051/viewer"
    v1 = Session.from_v1(
        {"message": None, "sessionElapsedTime": "00:00:01", "sessionHostname": "h",
         "sessionId": "e13d", "sessionMaxLeaseTime": "04:00:00", "sessionStatus": "Ready"}
    )  # fmt: skip
    assert v1.max_lease == timedelta(hours=4) and v1.status is SessionStatus.READY
