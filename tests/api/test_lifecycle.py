"""The session lifecycle on the fake backend and a manual clock: lease, expiry, extension,
start timeout, host death, failed models, stop, restart, retention, capacity and idempotent
creation. What real hosts say and do is checked in tests/e2e/test_host_outcomes.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from renderhub.clock import ManualClock
from renderhub.sessions.host_specs import host_spec
from renderhub.settings import Settings
from renderhub.sizes import SessionSize
from renderhub.status import SessionStatus
from renderhub.store.records import SessionRecord
from renderhub.testing import Behaviour, FakeBackend, Stop
from tests.conftest import API, ControlPlane, make_settings, running_control_plane
from tests.conftest import wait_for as wait_until


async def _ready(plane: ControlPlane, session_id: str, **body: object) -> dict:
    response = await plane.create(session_id, models=["samples/cube.glb"], **body)
    assert response.status_code == 201, response.text
    return await plane.wait_status(session_id, "Ready")


async def _stored_status(plane: ControlPlane, session_id: str, status: str) -> None:
    """Wait for the status in the store (the 2021 API shows Stopping as Stopped)."""

    async def reached() -> bool:
        return (await plane.row(session_id)).status.value == status

    await wait_until(reached, within=15)


async def _stopped_once(plane: ControlPlane, session_id: str, reason: str) -> None:
    """The session's host was stopped exactly once, telling its client `reason`."""

    async def stopped() -> list[Stop]:
        return [stop for stop in plane.backend.stops if stop.session == session_id]

    assert await wait_until(stopped) == [(plane.account.id, session_id, reason)]


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
    assert plane.backend.stops == []
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
    await _stopped_once(plane, "short", "The session's lease of 00:01:00 ran out.")
    listed = await plane.client.get(plane.sessions_url(), headers=plane.auth)
    assert listed.json()["sessions"] == []


async def test_extension_is_a_new_total(plane: ControlPlane) -> None:
    await _ready(plane, "extend", maxLeaseTimeMinutes=1)
    response = await plane.client.patch(
        plane.sessions_url("extend"), json={"maxLeaseTimeMinutes": 3}, headers=plane.auth
    )
    assert response.status_code == 200
    assert response.json()["maxLeaseTimeMinutes"] == 3
    ready_at = (await plane.row("extend")).ready_at
    grace = plane.settings.host_grace_seconds

    async def host_deadline_moved() -> bool:
        return plane.backend.deadlines[-1] == (plane.account.id, "extend", ready_at + 180 + grace)

    await wait_until(host_deadline_moved)
    assert plane.backend.deadlines[0].deadline == ready_at + 60 + grace
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


async def test_start_timeout_ends_in_error_and_stops_the_host(plane: ControlPlane) -> None:
    plane.backend.script("slow", Behaviour.NEVER_READY)
    response = await plane.create("slow", models=["samples/cube.glb"])
    assert response.status_code == 201

    async def polled() -> bool:
        return bool(plane.backend.starts) and (await plane.get("slow"))["status"] == "Starting"

    await wait_until(polled)
    plane.clock.advance(timedelta(seconds=plane.settings.start_timeout_seconds + 1))
    await plane.scheduler.tick()
    body = await plane.get("slow")
    assert body["status"] == "Error"
    assert body["error"]["code"] == "StartTimeout"
    assert body["error"]["message"] == "The render host was not ready within 30 s."
    await _stopped_once(plane, "slow", "The render host was not ready within 30 s.")


async def test_a_launch_that_fails_is_an_error_with_the_backends_message(
    plane: ControlPlane,
) -> None:
    plane.backend.script("nowhere", Behaviour.LAUNCH_FAILS, message="No room for a host.")
    assert (await plane.create("nowhere")).status_code == 201
    body = await plane.wait_status("nowhere", "Error")
    assert body["error"]["code"] == "HostStartFailed"
    assert body["error"]["message"] == "No room for a host."
    assert "hostname" not in body
    assert plane.backend.stops == []  # nothing was launched, so nothing to stop


async def test_host_death_becomes_error_with_a_message(plane: ControlPlane) -> None:
    await _ready(plane, "doomed")
    await _ready(plane, "bystander")
    plane.backend.kill("doomed", message="The host was killed by signal 9.")
    plane.clock.advance(timedelta(seconds=plane.settings.health_interval_seconds + 1))
    await plane.scheduler.tick()
    body = await plane.get("doomed")
    assert body["status"] == "Error"
    assert body["error"]["code"] == "HostFailed"
    assert body["error"]["message"] == "The host was killed by signal 9."
    assert (await plane.get("bystander"))["status"] == "Ready"
    await _stopped_once(plane, "doomed", "The host was killed by signal 9.")


async def test_a_host_that_dies_later_is_seen_at_the_next_liveness_check(
    plane: ControlPlane,
) -> None:
    plane.backend.script("brief", Behaviour.DIES, polls=2, message="Out of memory.")
    await _ready(plane, "brief")  # the first poll: Ready
    interval = timedelta(seconds=plane.settings.health_interval_seconds + 1)
    plane.clock.advance(interval)
    await plane.scheduler.tick()  # the second: still Ready
    assert (await plane.get("brief"))["status"] == "Ready"
    plane.clock.advance(interval)
    await plane.scheduler.tick()  # the third: gone
    body = await plane.get("brief")
    assert (body["status"], body["error"]["code"]) == ("Error", "HostFailed")
    assert body["error"]["message"] == "Out of memory."


async def test_a_host_gone_while_starting_is_an_error(plane: ControlPlane) -> None:
    plane.backend.script("lost", Behaviour.DIES, polls=0, message="The node went away.")
    assert (await plane.create("lost")).status_code == 201
    body = await plane.wait_status("lost", "Error")
    # No null fields inside the error object (only the session's own `error` may be null).
    assert body["error"] == {"code": "HostFailed", "message": "The node went away."}


async def test_model_that_fails_to_load_becomes_error(plane: ControlPlane) -> None:
    message = "Could not load model 'samples/cube.glb': not a glTF file."
    plane.backend.script("broken", Behaviour.FAILS, message=message)
    response = await plane.create("broken", models=["samples/cube.glb"])
    assert response.status_code == 201
    body = await plane.wait_status("broken", "Error")
    assert body["error"]["code"] == "ModelLoadFailed"
    assert body["error"]["message"] == message
    await _stopped_once(plane, "broken", message)
    assert plane.backend.starts[0].models == ["samples/cube.glb"]


async def test_stop_is_final_and_reads_differently_per_generation(plane: ControlPlane) -> None:
    await _ready(plane, "stopme")
    response = await plane.client.post(
        f"/accounts/{plane.account.id}/sessions/stopme/:stop?{API}", headers=plane.auth
    )
    assert response.status_code == 204
    assert (await plane.get("stopme"))["status"] == "Stopped"
    await _stopped_once(plane, "stopme", "The session was stopped.")

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
    assert extend.status_code == 422  # the document lists no 409 for an update
    assert extend.json()["error"]["code"] == "UnprocessableEntity"
    assert len(plane.backend.stops) == 1


async def test_stopping_a_starting_session_stops_its_host(plane: ControlPlane) -> None:
    plane.backend.script("early", Behaviour.NEVER_READY)
    assert (await plane.create("early")).status_code == 201

    async def launched() -> bool:
        return (await plane.row("early")).backend_state is not None

    await wait_until(launched)
    url = f"/accounts/{plane.account.id}/sessions/early/:stop?{API}"
    assert (await plane.client.post(url, headers=plane.auth)).status_code == 204
    await _stored_status(plane, "early", "Stopped")
    await _stopped_once(plane, "early", "The session was stopped.")


async def test_stopping_a_session_stops_a_host_launched_but_never_recorded(
    plane: ControlPlane,
) -> None:
    """A replica launched the session's host and died before recording it: whoever stops the
    session finds that host by the session (as Ray's named actors) and stops it."""
    now = plane.clock.now().timestamp()
    record = SessionRecord(
        account_id=plane.account.id,
        id="orphaned",
        size=SessionSize.STANDARD,
        status=SessionStatus.STARTING,
        lease_seconds=600,
        models=[],
        created_at=now,
        start_deadline=now + 600,
        backend=plane.backend.name,
        claimed_by="a-replica-that-died",
        claimed_until=now + 3600,
    )
    await plane.context.service.store.insert(record, capacity=10)
    await plane.backend.start(host_spec(record, plane.settings, plane.clock, now + 900))
    assert (await plane.row("orphaned")).backend_state is None
    url = f"/accounts/{plane.account.id}/sessions/orphaned/:stop?{API}"
    assert (await plane.client.post(url, headers=plane.auth)).status_code == 204
    await _stored_status(plane, "orphaned", "Stopped")
    await _stopped_once(plane, "orphaned", "The session was stopped.")


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
    await plane.wait_status("same", "Ready")
    assert [spec.session_id for spec in plane.backend.starts] == ["same"]  # one host only


async def test_a_ready_hosts_message_and_polygons_are_kept(tmp_path, clock: ManualClock) -> None:
    settings = make_settings(tmp_path / "data", standard_polygon_limit=10)
    message = "The models have 12 polygons, more than the Standard size's limit of 10."
    async with running_control_plane(settings, clock) as plane:
        plane.backend.script("huge", Behaviour.READY, message=message, polygons=12)
        await _ready(plane, "huge")
        assert plane.backend.starts[0].polygon_limit == 10
        row = await plane.row("huge")
        assert (row.polygons, row.message) == (12, message)
        url = f"/v1/accounts/{plane.account.id}/sessions/huge/properties"
        properties = (await plane.client.get(url, headers=plane.auth)).json()
        assert properties["message"] == message


async def test_capacity_is_enforced_with_a_clear_error(tmp_path, clock: ManualClock) -> None:
    settings: Settings = make_settings(tmp_path / "data", capacity_premium=1)
    async with running_control_plane(settings, clock) as plane:
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
        await plane.wait_status("p2", "Ready")
        assert [spec.session_id for spec in plane.backend.starts] == ["p1", "p2"]


@pytest.mark.parametrize("page_size", [1, 2])
async def test_list_pages_with_next_link(tmp_path, clock: ManualClock, page_size: int) -> None:
    settings = make_settings(tmp_path / "data", page_size=page_size, capacity_standard=5)
    async with running_control_plane(settings, clock) as plane:
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


async def test_a_restart_readopts_live_hosts_and_settles_the_rest(
    tmp_path, clock: ManualClock
) -> None:
    """The control plane stops and starts again on the same store, its hosts running on:
    living hosts are re-adopted (not restarted), a dead one is an Error, an overdue lease
    expires, and a session still starting is watched again."""
    settings = make_settings(tmp_path / "data", start_timeout_seconds=600)
    backend = FakeBackend(settings)
    backend.script("starting", Behaviour.NEVER_READY)
    async with running_control_plane(settings, clock, backend=backend) as first:
        account_id = first.account.id
        for session_id, minutes in (("alive", 60), ("dies", 60), ("overdue", 1)):
            await _ready(first, session_id, maxLeaseTimeMinutes=minutes)
        assert (await first.create("starting")).status_code == 201

        async def launched() -> bool:
            return (await first.row("starting")).backend_state is not None

        await wait_until(launched)
        before = await first.row("alive")
    # The control plane is down: its hosts run on; one of them dies meanwhile.
    assert backend.stops == [] and backend.closed == 1
    backend.kill("dies", message="The host died while nobody watched.")
    backend.script("starting", Behaviour.READY)  # it finishes loading meanwhile
    clock.advance(timedelta(minutes=2))
    deadlines = len(backend.deadlines)

    async with running_control_plane(settings, clock, backend=backend) as second:
        alive = await second.row("alive", account_id)
        assert alive.status.value == "Ready"
        assert alive.backend_state == before.backend_state
        assert alive.handshake_port == before.handshake_port
        died = await second.row("dies", account_id)
        assert (died.status.value, died.error_code) == ("Error", "HostFailed")
        assert died.message == "The host died while nobody watched."
        expired = await second.row("overdue", account_id)
        assert expired.status.value == "Expired"
        assert expired.ended_at == expired.ready_at + 60

        async def started_is_ready() -> bool:
            return (await second.row("starting", account_id)).status.value == "Ready"

        await wait_until(started_is_ready)
        assert len(backend.starts) == 4, "re-adopted, not restarted"
        assert (account_id, "alive", alive.lease_deadline + settings.host_grace_seconds) in (
            backend.deadlines[deadlines:]
        ), "a re-adopted host is told its deadline again"

        async def settled() -> set[str | None]:
            return {stop.session for stop in backend.stops}

        assert await wait_until(settled) >= {"dies", "overdue"}
        assert "alive" not in {stop.session for stop in backend.stops}
