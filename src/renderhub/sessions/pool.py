"""Warm pools: per size, `warm_<size>` hosts kept started and idle (interpreter up, imports
done, GL context made) so that a create only has to hand one its session.

Each replica's scheduler calls `maintain()`: it takes over pool hosts whose replica is gone,
tops each size's pool up to its target (a row is reserved in the store first, atomically within
the target and the size's capacity, so replicas never overshoot between them), and stops hosts
beyond the target (after the target was lowered). `check()` polls the hosts this replica
watches: a pool host that died or failed is removed, and the next `maintain()` replaces it.
Idle hosts have a hard deadline of their own, moved forward while the pool keeps them, so none
outlives a control plane that is gone for good."""

from __future__ import annotations

import asyncio
import logging
import uuid

from renderhub.backends.base import HostPhase, IdleHostSpec, PoolingBackend
from renderhub.errors import BackendError, ConfigurationError
from renderhub.sessions.host_specs import public_key_pem
from renderhub.sessions.service import SessionService
from renderhub.sizes import SessionSize
from renderhub.store.pool import PoolHostRecord, PoolStatus, PoolStore

log = logging.getLogger(__name__)

IDLE_DEADLINE_SECONDS = 600.0  # an idle host's own deadline, from its last refresh
_REFRESH_EVERY_SECONDS = 60.0


class WarmPool:
    def __init__(self, service: SessionService, store: PoolStore) -> None:
        self._service = service
        self._store = store
        self._settings = service.settings
        self._next_refresh = 0.0
        if self.enabled and not hasattr(service.backend, "start_idle"):
            raise ConfigurationError(
                f"The {service.backend.name} backend cannot keep warm hosts; set "
                "RENDERHUB_WARM_STANDARD and RENDERHUB_WARM_PREMIUM to 0."
            )

    @property
    def enabled(self) -> bool:
        return any(self._settings.warm_for(size) for size in SessionSize)

    @property
    def _backend(self) -> PoolingBackend:
        backend = self._service.backend
        assert hasattr(backend, "start_idle")
        return backend  # type: ignore[return-value]

    @property
    def _me(self) -> str:
        return self._service.replica_id

    async def maintain(self) -> None:
        now = self._service.now()
        for record in await self._store.claim_orphans(
            self._me, now, now + self._settings.claim_seconds
        ):
            self._watch(record)
        for size in SessionSize:
            await self._top_up(size)
        await self._trim()
        if now >= self._next_refresh:
            self._next_refresh = now + _REFRESH_EVERY_SECONDS
            await self._refresh_deadlines()

    async def renew(self, until: float) -> None:
        await self._store.renew_claims(self._me, until)

    async def release(self, replica_ids: list[str]) -> None:
        await self._store.release_claims(replica_ids)

    async def check(self) -> None:
        """Poll the warm hosts this replica watches; drop the ones that died."""
        for record in await self._store.owned(self._me):
            if record.status is PoolStatus.IDLE and record.backend_state is not None:
                health = await self._backend.poll(record.backend_state)
                if health.phase in (HostPhase.GONE, HostPhase.FAILED):
                    log.warning("warm host %s died: %s", record.id, health.message)
                    await self._discard(record, "The warm host died.")

    async def _top_up(self, size: SessionSize) -> None:
        target = self._settings.warm_for(size)
        if target == 0:
            return
        capacity = self._settings.capacity_for(size.value)
        while True:
            host_id = str(uuid.uuid4())
            now = self._service.now()
            if not await self._store.reserve(
                host_id, size, self._backend.name, now, target, capacity, self._service.claim()
            ):
                return
            record = await self._store.get(host_id)
            if record is not None:
                self._watch(record)

    async def _trim(self) -> None:
        """Stop idle hosts beyond their size's target (the target was lowered)."""
        for size in SessionSize:
            surplus = await self._store.count(size) - self._settings.warm_for(size)
            if surplus <= 0:
                continue
            idle = [
                record
                for record in await self._store.owned(self._me)
                if record.size is size and record.status is PoolStatus.IDLE
            ]
            for record in idle[:surplus]:
                await self._discard(record, "The warm pool was made smaller.")

    def _watch(self, record: PoolHostRecord) -> None:
        self._service.tasks.spawn(self._warm_up(record), key=f"pool:{record.id}")

    async def _warm_up(self, record: PoolHostRecord) -> None:
        """Start the host (unless it runs already) and wait until it is warm."""
        try:
            state = record.backend_state or await self._start(record)
            if state is None:
                return
            await self._until_idle(record, state)
        except BackendError as exc:
            self._service.events.backend_error("start-idle")
            log.error("warm host %s could not start: %s", record.id, exc.message)
            await self._discard(record, exc.message)

    async def _start(self, record: PoolHostRecord) -> dict[str, object] | None:
        spec = IdleHostSpec(
            pool_id=record.id,
            size=record.size,
            deadline=self._service.now() + IDLE_DEADLINE_SECONDS,
            polygon_limit=self._settings.polygon_limit_for(record.size),
            public_key_pem=public_key_pem(self._settings),
        )
        started = await self._backend.start_idle(spec)
        attached = await self._store.attach(record.id, **started.columns())
        if not attached:  # the row was discarded meanwhile (sessions only take started hosts)
            await self._backend.stop(started.state, "The warm pool no longer needs this host.")
            return None
        return started.state

    async def _until_idle(self, record: PoolHostRecord, state: dict[str, object]) -> None:
        deadline = self._service.now() + self._settings.start_timeout_seconds
        while self._service.now() < deadline:
            current = await self._store.get(record.id)
            if current is None:
                return  # a session took it meanwhile; its bring-up watches it now
            health = await self._backend.poll(state)
            if health.phase is HostPhase.IDLE:
                await self._store.mark_idle(record.id)
                return
            if health.phase in (HostPhase.GONE, HostPhase.FAILED):
                raise BackendError(health.message or "The warm host failed while starting.")
            await asyncio.sleep(0.05)
        raise BackendError(
            f"The warm host was not ready within {self._settings.start_timeout_seconds:g} s."
        )

    async def _discard(self, record: PoolHostRecord, reason: str) -> None:
        """Remove the row first (so no session takes the host), then stop the host."""
        if not await self._store.remove(record.id):
            return  # a session took it
        if record.backend_state is not None:
            try:
                await self._backend.stop(record.backend_state, reason)
            except BackendError as exc:
                self._service.events.backend_error("stop")
                log.error("could not stop warm host %s: %s", record.id, exc.message)

    async def _refresh_deadlines(self) -> None:
        deadline = self._service.now() + IDLE_DEADLINE_SECONDS
        for record in await self._store.owned(self._me):
            if record.backend_state is not None:
                await self._backend.set_deadline(record.backend_state, deadline)
