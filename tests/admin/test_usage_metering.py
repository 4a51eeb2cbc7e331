"""Metering in the store: a session's usage row is opened in the same transaction as its move
to Ready and closed in the same transaction as its move out (stopped, expired, failed), on
SQLite and PostgreSQL; a restart adds nothing, and purged sessions keep their usage."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from renderhub.clock import ManualClock
from renderhub.sizes import SessionSize
from renderhub.testing import Behaviour, FakeBackend
from tests.admin.usage_helpers import make_ready, metered, stop, stored_status
from tests.conftest import ControlPlane, make_settings, running_control_plane, wait_for


async def _stop_is_metered_up_to_the_stop(plane: ControlPlane) -> None:
    await make_ready(plane, "metered")
    ready = await plane.row("metered")
    [opened] = await metered(plane, "metered")
    assert (opened.ready_at, opened.ended_at, opened.size) == (
        ready.ready_at,
        None,
        SessionSize.STANDARD,
    )
    plane.clock.advance(timedelta(minutes=90, milliseconds=250))
    await stop(plane, "metered")
    stopping = await plane.row("metered")
    [closed] = await metered(plane, "metered")
    assert closed.ended_at == stopping.ended_at == ready.ready_at + 5400.25
    plane.clock.advance(timedelta(minutes=5))  # the host takes its time to stop
    stopped = await stored_status(plane, "metered", "Stopped")
    assert stopped.ended_at == stopping.ended_at
    assert await metered(plane, "metered") == [closed], "Stopping -> Stopped changes nothing"


async def test_ready_opens_the_interval_and_a_stop_closes_it(plane: ControlPlane) -> None:
    await _stop_is_metered_up_to_the_stop(plane)


async def test_metering_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    settings = make_settings(tmp_path / "data", database_url=postgres_url)
    async with running_control_plane(settings, ManualClock()) as plane:
        await _stop_is_metered_up_to_the_stop(plane)


async def test_an_expired_session_is_metered_up_to_its_lease_end(plane: ControlPlane) -> None:
    await make_ready(plane, "leased", maxLeaseTimeMinutes=10)
    ready = await plane.row("leased")
    plane.clock.advance(timedelta(minutes=17))  # the scheduler looks late
    await plane.scheduler.tick()
    expired = await stored_status(plane, "leased", "Expired")
    [interval] = await metered(plane, "leased")
    assert interval.ended_at == expired.ended_at == ready.lease_deadline == ready.ready_at + 600


async def test_a_failed_session_is_metered_up_to_its_failure(plane: ControlPlane) -> None:
    await make_ready(plane, "doomed")
    ready = await plane.row("doomed")
    plane.backend.kill("doomed", message="The host was killed by signal 9.")
    plane.clock.advance(timedelta(seconds=plane.settings.health_interval_seconds + 1))
    await plane.scheduler.tick()
    failed = await stored_status(plane, "doomed", "Error")
    [interval] = await metered(plane, "doomed")
    assert interval.ended_at == failed.ended_at
    assert interval.ended_at - interval.ready_at == plane.settings.health_interval_seconds + 1
    assert ready.ready_at == interval.ready_at


async def test_sessions_that_never_were_ready_are_not_metered(plane: ControlPlane) -> None:
    plane.backend.script("broken", Behaviour.FAILS)
    assert (await plane.create("broken")).status_code == 201
    await stored_status(plane, "broken", "Error")
    plane.backend.script("slow", Behaviour.NEVER_READY)
    assert (await plane.create("slow")).status_code == 201
    await stop(plane, "slow")
    await stored_status(plane, "slow", "Stopped")
    assert await metered(plane, "broken") == []
    assert await metered(plane, "slow") == []


async def test_a_restart_counts_nothing_twice(tmp_path: Path, clock: ManualClock) -> None:
    settings = make_settings(tmp_path / "data", start_timeout_seconds=600)
    backend = FakeBackend(settings)
    async with running_control_plane(settings, clock, backend=backend) as first:
        await make_ready(first, "alive", maxLeaseTimeMinutes=60)
        await make_ready(first, "overdue", maxLeaseTimeMinutes=1)
        account = first.account
        ready = {sid: (await first.row(sid)).ready_at for sid in ("alive", "overdue")}
    clock.advance(timedelta(minutes=2))  # the control plane is down; one lease runs out
    async with running_control_plane(settings, clock, backend=backend) as second:
        second.account = account
        second.refresh_token()
        expired = await stored_status(second, "overdue", "Expired")
        [overdue] = await metered(second, "overdue")
        assert (overdue.ready_at, overdue.ended_at) == (ready["overdue"], expired.ended_at)
        assert overdue.ended_at == ready["overdue"] + 60
        [alive] = await metered(second, "alive")
        assert (alive.ready_at, alive.ended_at) == (ready["alive"], None), "re-adopted as is"
        clock.advance(timedelta(minutes=3))
        await stop(second, "alive")
        [closed] = await metered(second, "alive")
        assert closed.ended_at == ready["alive"] + 300
        everything = await second.app.state.usage.overlapping(0, 4e9)
        assert len(everything) == 2


async def test_purged_sessions_keep_their_usage(tmp_path: Path, clock: ManualClock) -> None:
    settings = make_settings(tmp_path / "data", retention_days=1)
    async with running_control_plane(settings, clock) as plane:
        await make_ready(plane, "old")
        plane.clock.advance(timedelta(minutes=30))
        await stop(plane, "old")
        await stored_status(plane, "old", "Stopped")
        plane.clock.advance(timedelta(days=2))
        assert await plane.scheduler.purge() == 1
        assert await plane.context.service.store.get(plane.account.id, "old") is None

        async def kept() -> bool:
            [interval] = await metered(plane, "old")
            return interval.ended_at is not None and interval.ended_at - interval.ready_at == 1800

        assert await wait_for(kept)
