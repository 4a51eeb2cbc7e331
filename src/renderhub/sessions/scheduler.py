"""One loop per control-plane process: expires leases on time, times out starts, checks that
Ready hosts still live, and purges ended sessions after the retention period. It sleeps until
the next deadline in the store (or until woken), and claims each piece of work with a
conditional UPDATE, so replicas sharing a database never act twice.

On start it reconciles: every session that is not ended is picked up again from the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from renderhub.sessions.service import SessionService
from renderhub.status import SessionStatus

log = logging.getLogger(__name__)

_PURGE_EVERY_SECONDS = 3600.0


class Scheduler:
    def __init__(self, service: SessionService) -> None:
        self._service = service
        self._store = service.store
        self._settings = service.settings
        self._wakeup = asyncio.Event()
        self._next_liveness = 0.0
        self._next_purge = 0.0

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        await self.reconcile()
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed; retrying")
            await self._sleep()

    async def reconcile(self) -> None:
        """Pick every unfinished session up again after a (re)start of the control plane."""
        service = self._service
        await self.expire_overdue()
        for record in await self._store.with_status({SessionStatus.STARTING}):
            service.watch_start(record)
        for record in await self._store.with_status({SessionStatus.STOPPING}):
            service.watch_stop(record)
        for record in await self._store.with_status({SessionStatus.READY}):
            await service.check_liveness(record)
            await service.resend_deadline(record)
        log.info("reconciled the store with the running hosts")

    async def tick(self) -> None:
        now = self._service.now()
        await self.expire_overdue()
        for record in await self._store.start_overdue(now):
            await self._service.time_out_start(record)
        if now >= self._next_liveness:
            self._next_liveness = now + self._settings.health_interval_seconds
            await self.check_hosts()
        if now >= self._next_purge:
            self._next_purge = now + _PURGE_EVERY_SECONDS
            await self.purge()

    async def expire_overdue(self) -> None:
        for record in await self._store.lease_overdue(self._service.now()):
            await self._service.expire(record)

    async def check_hosts(self) -> None:
        for record in await self._store.with_status({SessionStatus.READY}):
            await self._service.check_liveness(record)

    async def purge(self) -> int:
        retention = self._settings.retention_days * 86_400
        purged = await self._store.purge_ended_before(self._service.now() - retention)
        if purged:
            log.info("purged %d sessions ended more than %g days ago", purged, retention / 86_400)
        return purged

    async def _sleep(self) -> None:
        now = self._service.now()
        wake_at = min(self._next_liveness, self._next_purge)
        deadline = await self._store.next_deadline()
        if deadline is not None:
            wake_at = min(wake_at, deadline)
        self._wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=max(0.0, wake_at - now) + 0.01)
