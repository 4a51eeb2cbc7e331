"""The session lifecycle with real hosts and a manual clock: lease, expiry, extension,
start timeout, host death, stop, retention, capacity and idempotent creation."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest

from renderhub.clock import ManualClock
from renderhub.settings import Settings
from tests.conftest import API, ControlPlane, make_settings, running_control_plane, stop_all_hosts
from tests.conftest import wait_for as wait_until
from tests.hosts import host_pids


async def _ready(plane: ControlPlane, session_id: str, **body: object) -> dict:
    response = await plane.create(session_id, models=["samples/cube.glb"], **body)
    assert response.status_code == 201, response.text
    return await plane.wait_status(session_id, "Ready")


async def _stored_status(plane: ControlPlane, session_id: str, status: str) -> None:
    """Wait for the status in the store (the 2021 API shows Stopping as Stopped)."""

    async def reached() -> bool:
        return (await plane.row(session_id)).status.value == status

    await wait_until(reached, within=15)


async def _no_host(session_id: str) -> None:
    async def gone() -> bool:
        return not host_pids(session_id)

    await wait_until(gone, within=10)


async def test_lease_and_elapsed_time_count_from_ready(plane: ControlPlane) -> None:
    await _ready(plane, "lease", maxLeaseTimeMinutes=2)
    plane.clock.advance(timedelta(minutes=1, seconds=30))
    body = await plane.get("lease")
    assert body["status"] == "Ready"
    assert body["elapsedTimeMinutes"] == 1
    properties = await plane.client.get(
        f"/v1/accounts/{plane.account.id}/sessions/lease/properties", headers=plane.auth
    )
    assert properties.json()["sessionElapsedTime"] == "00:01:30"


async def test_session_expires_when_its_lease_runs_out(plane: ControlPlane) -> None:
    await _ready(plane, "short", maxLeaseTimeMinutes=1)
    assert host_pids("short")
    plane.clock.advance(timedelta(seconds=59))
    await plane.scheduler.tick()
    assert (await plane.get("short"))["status"] == "Ready"
    plane.clock.advance(timedelta(seconds=2))
    await plane.scheduler.tick()
    body = await plane.get("short")
    assert body["status"] == "Expired"
    assert body["elapsedTimeMinutes"] == 1
    row = await plane.row("short")
    assert row.message == "The session's lease of 00:01:00 ran out."
    await _no_host("short")
    listed = await plane.client.get(plane.sessions_url(), headers=plane.auth)
    assert listed.json()["sessions"] == []


async def test_extension_is_a_new_total(plane: ControlPlane) -> None:
    await _ready(plane, "extend", maxLeaseTimeMinutes=1)
    response = await plane.client.patch(
        plane.sessions_url("extend"), json={"maxLeaseTimeMinutes": 3}, headers=plane.auth
    )
    assert response.status_code == 200
    assert response.json()["maxLeaseTimeMinutes"] == 3
    plane.clock.advance(timedelta(minutes=2, seconds=30))
    await plane.scheduler.tick()
    assert (await plane.get("extend"))["status"] == "Ready"
    plane.clock.advance(timedelta(seconds=31))
    await plane.scheduler.tick()
    assert (await plane.get("extend"))["status"] == "Expired"


async def test_v1_extension_uses_timespans(plane: ControlPlane) -> None:
    await _ready(plane, "v1extend", maxLeaseTimeMinutes=60)
    url = f"/v1/accounts/{plane.account.id}/sessions/v1extend"
    response = await plane.client.patch(
        url, content="{'maxLeaseTime': '2:0:0'}", headers=plane.auth
    )
    assert response.status_code == 200 and response.content == b""
    shorter = await plane.client.patch(url, json={"maxLeaseTime": "1:0:0"}, headers=plane.auth)
    assert shorter.status_code == 400
    assert (await plane.row("v1extend")).lease_seconds == 7200


async def test_start_timeout_ends_in_error_and_no_host(plane: ControlPlane) -> None:
    response = await plane.create("slow", models=["samples/cube.glb"])
    assert response.status_code == 201
    plane.clock.advance(timedelta(seconds=plane.settings.start_timeout_seconds + 1))
    await plane.scheduler.tick()
    body = await plane.get("slow")
    assert body["status"] == "Error"
    assert body["error"]["code"] == "StartTimeout"
    assert "not ready within" in body["error"]["message"]
    await _no_host("slow")


async def test_host_death_becomes_error_with_a_message(plane: ControlPlane) -> None:
    await _ready(plane, "doomed")
    [pid] = host_pids("doomed")
    os.kill(pid, signal.SIGKILL)

    async def seen_dead() -> bool:
        # As in production: liveness checks run until one sees the death (a killed host's
        # threads take a moment to die before the kernel lets it be reaped).
        plane.clock.advance(timedelta(seconds=plane.settings.health_interval_seconds + 1))
        await plane.scheduler.tick()
        return (await plane.get("doomed"))["status"] != "Ready"

    await wait_until(seen_dead, within=10)
    body = await plane.get("doomed")
    assert body["status"] == "Error"
    assert body["error"]["code"] == "HostFailed"
    assert "signal 9" in body["error"]["message"]


async def test_model_that_fails_to_load_becomes_error(plane: ControlPlane) -> None:
    broken = plane.settings.models_dir / "broken.glb"
    broken.write_bytes(b"this is not a glb file")
    response = await plane.create("broken", models=["broken.glb"])
    assert response.status_code == 201
    body = await plane.wait_status("broken", "Error")
    assert body["error"]["code"] == "ModelLoadFailed"
    assert "broken.glb" in body["error"]["message"]
    await _no_host("broken")


async def test_stop_is_final_and_reads_differently_per_generation(plane: ControlPlane) -> None:
    await _ready(plane, "stopme")
    response = await plane.client.post(
        f"/accounts/{plane.account.id}/sessions/stopme/:stop?{API}", headers=plane.auth
    )
    assert response.status_code == 204
    assert (await plane.get("stopme"))["status"] == "Stopped"
    await _no_host("stopme")

    async def v1_stopped() -> bool:
        url = f"/v1/accounts/{plane.account.id}/sessions/stopme/properties"
        return (await plane.client.get(url, headers=plane.auth)).json()[
            "sessionStatus"
        ] == "Stopped"

    await wait_until(v1_stopped)
    again = await plane.client.post(
        f"/accounts/{plane.account.id}/sessions/stopme/:stop?{API}", headers=plane.auth
    )
    assert again.status_code == 204
    extend = await plane.client.patch(
        plane.sessions_url("stopme"), json={"maxLeaseTimeMinutes": 30}, headers=plane.auth
    )
    assert extend.status_code == 409


async def test_ended_sessions_are_kept_30_days_then_purged(plane: ControlPlane) -> None:
    await _ready(plane, "old")
    await plane.client.post(
        f"/accounts/{plane.account.id}/sessions/old/:stop?{API}", headers=plane.auth
    )
    await _stored_status(plane, "old", "Stopped")
    plane.clock.advance(timedelta(days=29, hours=23))
    await plane.scheduler.purge()
    plane.refresh_token()
    assert (await plane.get("old"))["status"] == "Stopped"
    plane.clock.advance(timedelta(hours=2))
    assert await plane.scheduler.purge() == 1
    response = await plane.client.get(plane.sessions_url("old"), headers=plane.auth)
    assert response.status_code == 404


async def test_idempotent_create_and_conflict(plane: ControlPlane) -> None:
    first = await plane.create("same", maxLeaseTimeMinutes=30)
    retry = await plane.create("same", maxLeaseTimeMinutes=30)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["creationTime"] == first.json()["creationTime"]
    other = await plane.create("same", maxLeaseTimeMinutes=31)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "Conflict"


async def test_over_the_polygon_limit_is_ready_with_a_message(tmp_path, clock: ManualClock) -> None:
    settings = make_settings(tmp_path / "data", standard_polygon_limit=10)
    async with running_control_plane(settings, clock) as plane:
        try:
            await _ready(plane, "huge")
            row = await plane.row("huge")
            assert row.polygons == 12
            assert "more than the Standard size's limit of 10" in row.message
        finally:
            await stop_all_hosts(plane)


async def test_capacity_is_enforced_with_a_clear_error(tmp_path, clock: ManualClock) -> None:
    settings: Settings = make_settings(tmp_path / "data", capacity_premium=1)
    async with running_control_plane(settings, clock) as plane:
        try:
            assert (await plane.create("p1", size="premium")).status_code == 201
            refused = await plane.create("p2", size="Premium")
            assert refused.status_code == 429
            assert refused.headers["Retry-After"].isdigit()
            assert (
                "All servers of the requested size (Premium) are in use"
                in (refused.json()["error"]["message"])
            )
            assert await plane.row("p2") is None
            await plane.client.post(
                f"/accounts/{plane.account.id}/sessions/p1/:stop?{API}", headers=plane.auth
            )

            await _stored_status(plane, "p1", "Stopped")
            assert (await plane.create("p2", size="Premium")).status_code == 201
        finally:
            await stop_all_hosts(plane)


@pytest.mark.parametrize("page_size", [1, 2])
async def test_list_pages_with_next_link(tmp_path, clock: ManualClock, page_size: int) -> None:
    settings = make_settings(tmp_path / "data", page_size=page_size, capacity_standard=5)
    async with running_control_plane(settings, clock) as plane:
        try:
            for index in range(3):
                clock.advance(timedelta(seconds=1))
                await plane.create(f"page{index}")
            seen: list[str] = []
            url = plane.sessions_url()
            for _ in range(5):
                body = (await plane.client.get(url, headers=plane.auth)).json()
                seen += [session["id"] for session in body["sessions"]]
                if "@nextLink" not in body:
                    break
                assert "api-version=2021-01-01" in body["@nextLink"]
                url = body["@nextLink"]
            assert seen == ["page0", "page1", "page2"]
        finally:
            await stop_all_hosts(plane)
