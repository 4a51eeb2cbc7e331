"""One loop per control-plane process: expires leases on time, times out starts, checks that
Ready hosts still live, takes over the work of replicas that died (their conversions too: the
conversion runner is woken at each scan), and purges ended sessions and conversions after the
retention period. It sleeps until the next deadline in the store (or until woken).

Several replicas may share one store. Each session's work (bringing its host up, checking it,
stopping it) belongs to the one replica that claimed it; a replica renews its claims every
third of `claim_seconds`, so the claims of one that died lapse within `claim_seconds` and
another replica takes them over at its next scan (every second). A replica that died on this
machine is seen dead at once (its process is gone), and one that shuts down in order hands its
claims back. Expiries and start timeouts are conditional UPDATEs any replica may win; the
winner also claims the host's teardown, so each host is stopped by exactly one replica."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable

from renderhub.conversions.runner import ConversionRunner
from renderhub.sessions.pool import WarmPool
from renderhub.sessions.service import SessionService
from renderhub.store.database import UNAVAILABLE
from renderhub.store.records import SessionRecord
from renderhub.store.replicas import ReplicaStore

log = logging.getLogger(__name__)

_PURGE_EVERY_SECONDS = 3600.0
_TAKEOVER_EVERY_SECONDS = 1.0
_RETRY_RECONCILE_SECONDS = 1.0


class Scheduler:
    def __init__(
        self,
        service: SessionService,
        replicas: ReplicaStore,
        pool: WarmPool,
        conversions: ConversionRunner | None = None,
    ) -> None:
        self._service = service
        self._pool = pool
        self._conversions = conversions
        self._store = service.store
        self._replicas = replicas
        self._settings = service.settings
        self._wakeup = asyncio.Event()
        self._registered = False
        self._next_liveness = 0.0
        self._next_purge = 0.0
        self._next_renewal = 0.0
        self._next_takeover = 0.0

    @property
    def pool(self) -> WarmPool:
        return self._pool

    @property
    def replica_id(self) -> str:
        return self._service.replica_id

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        await self._reconcile_until_done()
        while True:
            try:
                await self.tick()
            except UNAVAILABLE as exc:
                log.warning("the store is unavailable (%s); the scheduler retries", exc)
            except Exception:
                log.exception("scheduler tick failed; retrying")
            await self._sleep()

    async def _reconcile_until_done(self) -> None:
        """A store that is down at start only delays the scheduler; it never ends it."""
        while True:
            try:
                await self.reconcile()
                return
            except UNAVAILABLE as exc:
                log.warning("the store is unavailable (%s); reconciling again shortly", exc)
                await asyncio.sleep(_RETRY_RECONCILE_SECONDS)
            except Exception:
                log.exception("reconciling with the store failed; retrying")
                await asyncio.sleep(_RETRY_RECONCILE_SECONDS)

    async def reconcile(self) -> None:
        """Pick every unfinished session up again after a (re)start of the control plane."""
        if not self._registered:
            await self._replicas.register(self.replica_id, self._service.now())
            self._registered = True
        await self.take_over()
        await self._pool.maintain()
        await self.expire_overdue()
        owned = await self._store.owned_ready(self.replica_id)
        await self._bounded(owned, self._check_and_resend)
        log.info("reconciled the store with the running hosts (replica %s)", self.replica_id)

    async def _check_and_resend(self, record: SessionRecord) -> None:
        await self._service.check_liveness(record)
        await self._service.resend_deadline(record)

    async def tick(self) -> None:
        now = self._service.now()
        if now >= self._next_renewal:
            self._next_renewal = now + self._settings.claim_seconds / 3
            await self.renew()
        if now >= self._next_takeover:
            self._next_takeover = now + _TAKEOVER_EVERY_SECONDS
            await self.take_over()
        await self._pool.maintain()
        await self.expire_overdue()
        for record in await self._store.start_overdue(now):
            await self._service.time_out_start(record)
        if now >= self._next_liveness:
            self._next_liveness = now + self._settings.health_interval_seconds
            await self.check_hosts()
        if now >= self._next_purge:
            self._next_purge = now + _PURGE_EVERY_SECONDS
            await self.purge()

    async def renew(self) -> None:
        """Keep this replica's claims (and its heartbeat) fresh."""
        now = self._service.now()
        until = now + self._settings.claim_seconds
        await self._replicas.heartbeat(self.replica_id, now)
        await self._store.renew_claims(self.replica_id, until)
        await self._pool.renew(until)

    async def take_over(self) -> list[SessionRecord]:
        """Claim the work of replicas that are gone and carry it on; return what was claimed."""
        await self._forget_dead_replicas()
        now = self._service.now()
        claimed = await self._store.claim_orphans(
            self.replica_id, now, now + self._settings.claim_seconds
        )
        for record in claimed:
            self._service.resume(record)
        if claimed:
            log.info("took over the work of %d session(s)", len(claimed))
        if self._conversions is not None:
            self._conversions.wake()  # its own scan: claims that lapsed, conversions waiting
        # Carry on with this replica's own work whose task ended early (the store was down,
        # say); work that is still running is not started twice.
        for record in await self._store.owned_with_work(self.replica_id):
            self._service.resume(record)
        return claimed

    async def _forget_dead_replicas(self) -> None:
        now = self._service.now()
        hostname = socket.gethostname()
        lapsed_before = now - 3 * self._settings.claim_seconds
        dead = [
            replica.id
            for replica in await self._replicas.all()
            if replica.id != self.replica_id
            and (replica.is_dead_here(hostname) or replica.heartbeat_at < lapsed_before)
        ]
        if dead:
            await self._pool.release(dead)
            if self._conversions is not None:
                await self._conversions.release(dead)
            released = await self._store.release_claims(dead)
            await self._replicas.remove(dead)
            log.warning("replica(s) %s gone; released %d claim(s)", ", ".join(dead), released)

    async def resign(self) -> None:
        """An orderly shutdown: hand this replica's claims back for the others to take."""
        if not self._registered:
            return
        await self._store.release_claims([self.replica_id])
        await self._pool.release([self.replica_id])
        if self._conversions is not None:
            await self._conversions.release([self.replica_id])
        await self._replicas.remove([self.replica_id])
        self._registered = False

    async def expire_overdue(self) -> None:
        for record in await self._store.lease_overdue(self._service.now()):
            await self._service.expire(record)

    async def check_hosts(self) -> None:
        """Check every Ready host this replica owns, several at once."""
        owned = await self._store.owned_ready(self.replica_id)
        await self._bounded(owned, self._service.check_liveness)
        await self._pool.check()

    async def _bounded(
        self, records: list[SessionRecord], check: Callable[[SessionRecord], Awaitable[None]]
    ) -> None:
        """Run `check` on every record, at most `health_concurrency` at once, each within the
        health interval; one failing check does not stop the others."""
        limit = asyncio.Semaphore(self._settings.health_concurrency)
        within = max(self._settings.health_interval_seconds, 2.0)

        async def one(record: SessionRecord) -> None:
            async with limit:
                try:
                    await asyncio.wait_for(check(record), within)
                except Exception:
                    log.exception("checking the host of session %s failed", record.id)

        await asyncio.gather(*(one(record) for record in records))

    async def purge(self) -> int:
        retention = self._settings.retention_days * 86_400
        before = self._service.now() - retention
        purged = await self._store.purge_ended_before(before)
        if purged:
            log.info("purged %d sessions ended more than %g days ago", purged, retention / 86_400)
        if self._conversions is not None:
            conversions = await self._conversions.purge(before)
            if conversions:
                days = retention / 86_400
                log.info("purged %d conversions ended more than %g days ago", conversions, days)
        return purged

    async def _sleep(self) -> None:
        now = self._service.now()
        wake_at = min(
            self._next_liveness, self._next_purge, self._next_renewal, self._next_takeover
        )
        deadline = await self._store.next_deadline()
        if deadline is not None:
            wake_at = min(wake_at, deadline)
        self._wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=max(0.0, wake_at - now) + 0.01)
