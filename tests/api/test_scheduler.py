"""The scheduler keeps going: Ready hosts are checked several at once within a bound, one
failing check does not stop the others, and a failing reconcile is retried, not fatal."""

from __future__ import annotations

import asyncio
from pathlib import Path

from renderhub.backends.base import BackendState, HostHealth
from renderhub.clock import ManualClock
from renderhub.sessions.scheduler import Scheduler
from renderhub.testing import FakeBackend
from tests.conftest import make_settings, running_control_plane, wait_for


class CountingBackend(FakeBackend):
    """Polls take a while; note how many run at once, and fail the host of 'bad'."""

    def __init__(self) -> None:
        super().__init__()
        self.running = 0
        self.most_at_once = 0
        self.checked: set[str] = set()
        self.slow = False

    async def poll(self, state: BackendState) -> HostHealth:
        if not self.slow:
            return await super().poll(state)
        if state.get("session") == "bad":
            raise RuntimeError("the check itself failed")
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(0.02)
            return await super().poll(state)
        finally:
            self.running -= 1
            self.checked.add(str(state.get("session")))


async def test_ready_hosts_are_checked_concurrently_within_the_bound(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", capacity_standard=50, health_concurrency=8)
    backend = CountingBackend()
    async with running_control_plane(settings, ManualClock(), backend=backend) as plane:
        names = ["bad", *(f"s{n}" for n in range(40))]
        for name in names:
            assert (await plane.create(name)).status_code == 201
        for name in names:
            await plane.wait_status(name, "Ready")
        backend.slow = True
        await plane.scheduler.check_hosts()
        assert backend.most_at_once == 8
        assert backend.checked == set(names) - {"bad"}  # the failing check stopped none


class FlakyScheduler(Scheduler):
    """Reconciling fails twice (as with a store that is not up yet), then works."""

    failures = 2

    async def reconcile(self) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the store is not there yet")
        await super().reconcile()


async def test_a_failing_reconcile_is_retried(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    async with running_control_plane(settings, ManualClock()) as plane:
        original: Scheduler = plane.scheduler
        flaky = FlakyScheduler(
            plane.context.service, original._replicas, original.pool
        )  # the same service and stores, a loop of its own
        running = asyncio.create_task(flaky.run())
        try:

            async def reconciled() -> bool:
                return flaky.failures == 0 and flaky._registered

            await wait_for(reconciled, within=10)
            assert not running.done()
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await flaky.resign()
