"""The session service: create, read, extend and stop sessions, and the workflows that bring
a host up, expire it and take it down. Every change of status goes through the store's
conditional updates, so a racing replica or a racing request simply loses, never corrupts."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import Enum
from typing import Any

from renderhub.backends.base import Backend, HostPhase, HostSpec
from renderhub.clock import Clock
from renderhub.errors import BackendError, Forbidden, NotFound
from renderhub.host_protocol import STOPPED
from renderhub.logs import labelled
from renderhub.quotas import ACCOUNT_DISABLED, NO_QUOTAS, Quotas, check_lease, sessions_over_quota
from renderhub.sessions.events import NoEvents, SessionEvents
from renderhub.sessions.host_specs import host_spec
from renderhub.sessions.requests import CreateSession
from renderhub.sessions.tasks import TaskOwner
from renderhub.settings import Settings
from renderhub.status import SessionStatus
from renderhub.store.records import SessionRecord
from renderhub.store.sessions import InsertOutcome, SessionStore
from renderhub.timespan import format_timespan

log = logging.getLogger(__name__)

# How often a starting host is polled, by the time since it was started (or assigned): a
# warm host is Ready some 10-20 ms after its assignment, a cold one after a second or two.
_POLL_SCHEDULE = ((0.3, 0.005), (3.0, 0.03))
_SLOW_POLL_SECONDS = 0.25


class CreateOutcome(Enum):
    CREATED = "created"
    SAME_EXISTS = "same-exists"  # the same id with the same settings: a client's retry
    OTHER_EXISTS = "other-exists"  # the same id with other settings
    NO_CAPACITY = "no-capacity"


class ExtendOutcome(Enum):
    EXTENDED = "extended"
    NOT_LONGER = "not-longer"  # a lease can only grow
    ENDED = "ended"  # the session has ended; its lease no longer changes


@dataclass(frozen=True, slots=True)
class Created:
    outcome: CreateOutcome
    record: SessionRecord | None  # the new or existing session; None when there was no room
    capacity: int


@dataclass(frozen=True, slots=True)
class Extended:
    outcome: ExtendOutcome
    record: SessionRecord


class SessionService:
    def __init__(
        self,
        store: SessionStore,
        backend: Backend,
        settings: Settings,
        clock: Clock,
        tasks: TaskOwner,
        wake_scheduler: Callable[[], None] = lambda: None,
        replica_id: str | None = None,
        events: SessionEvents | None = None,
    ) -> None:
        """`events` is told of sessions becoming Ready, stopping, expiring, and of the
        backend's failures (the metrics count them)."""
        self.replica_id = replica_id or str(uuid.uuid4())
        self.store = store
        self.backend = backend
        self.settings = settings
        self.clock = clock
        self.tasks = tasks
        self.wake_scheduler = wake_scheduler
        self.events: SessionEvents = events or NoEvents()

    def now(self) -> float:
        return self.clock.now().timestamp()

    def claim(self) -> dict[str, Any]:
        """Column values that make this replica the one doing a session's work for a while
        (the scheduler renews its claims; see renderhub.sessions.scheduler)."""
        return {
            "claimed_by": self.replica_id,
            "claimed_until": self.now() + self.settings.claim_seconds,
        }

    # -- client operations -------------------------------------------------------------------

    async def create(
        self,
        account_id: str,
        request: CreateSession,
        *,
        idempotent: bool,
        quotas: Quotas = NO_QUOTAS,
    ) -> Created:
        """Create a session and start its host in the background. With `idempotent`, an
        existing session with the same settings is reported as SAME_EXISTS (a client's retry);
        without, any existing session of that id is OTHER_EXISTS. Beyond the account's
        `quotas` nothing is created and the quota's error is raised."""
        check_lease(quotas, request.lease_seconds)
        now = self.now()
        record = SessionRecord(
            account_id=account_id,
            id=request.session_id,
            size=request.size,
            status=SessionStatus.STARTING,
            lease_seconds=request.lease_seconds,
            models=request.models,
            created_at=now,
            start_deadline=now + self.settings.start_timeout_seconds,
            backend=self.backend.name,
            **self.claim(),
        )
        capacity = self.settings.capacity_for(request.size.value)
        from_pool = self.settings.warm_for(request.size) > 0
        outcome, pooled = await self.store.insert(
            record,
            capacity,
            from_pool=from_pool,
            account_limit=quotas.limit_for(request.size),
        )
        if outcome is not InsertOutcome.INSERTED:
            # A retry of a create counts itself against the limits: an existing session of
            # that id is reported as such whatever the limits say.
            existing = await self.store.get(account_id, request.session_id)
            if existing is not None:
                same = _same_settings(existing, request)
                if idempotent and same:
                    return Created(CreateOutcome.SAME_EXISTS, existing, capacity)
                return Created(CreateOutcome.OTHER_EXISTS, existing, capacity)
            if outcome is InsertOutcome.OVER_QUOTA:
                raise sessions_over_quota(quotas, request.size)
            if outcome is InsertOutcome.ACCOUNT_DISABLED:
                raise Forbidden(ACCOUNT_DISABLED)
            return Created(CreateOutcome.NO_CAPACITY, None, capacity)
        if pooled is not None:
            record = replace(record, **pooled.session_values())
            log.info("session %s takes warm host %s", request.session_id, pooled.id)
        log.info("session %s created (%s)", request.session_id, request.size.value)
        self.watch_start(record)
        self.wake_scheduler()
        return Created(CreateOutcome.CREATED, record, capacity)

    async def get(self, account_id: str, session_id: str) -> SessionRecord:
        record = await self.store.get(account_id, session_id)
        if record is None:
            raise NotFound(f"No session with id {session_id!r} exists in this account.")
        return record

    async def list_active(
        self, account_id: str, limit: int | None = None, after: tuple[float, str] | None = None
    ) -> list[SessionRecord]:
        """The account's active sessions, oldest first, keyset-paged after (created_at, id)."""
        return await self.store.list_active(account_id, limit, after)

    async def extend(
        self, account_id: str, session_id: str, lease_seconds: int, quotas: Quotas = NO_QUOTAS
    ) -> Extended:
        """Set a new total lease; it must be longer than the current one and within the
        account's lease quota (a 403 otherwise)."""
        check_lease(quotas, lease_seconds)
        if await self.store.extend(account_id, session_id, lease_seconds):
            record = await self.get(account_id, session_id)
            if record.status is SessionStatus.READY and record.backend_state:
                self.tasks.spawn(self._send_deadline(record))
            self.wake_scheduler()
            return Extended(ExtendOutcome.EXTENDED, record)
        record = await self.get(account_id, session_id)
        if record.status not in (SessionStatus.STARTING, SessionStatus.READY):
            return Extended(ExtendOutcome.ENDED, record)
        return Extended(ExtendOutcome.NOT_LONGER, record)

    async def stop(self, account_id: str, session_id: str) -> SessionRecord:
        """Stop a session (irrevocable). Stopping an ended session changes nothing."""
        stopped = await self.store.transition(
            account_id, session_id, SessionStatus.STOPPING, ended_at=self.now(), **self.claim()
        )
        record = await self.get(account_id, session_id)
        if stopped:
            log.info("session %s stopping", session_id)
            self.watch_stop(record)
        return record

    # -- workflows ---------------------------------------------------------------------------

    def watch_start(self, record: SessionRecord) -> None:
        self._spawn(record, "start", self._bring_up(record))

    def watch_stop(self, record: SessionRecord) -> None:
        self._spawn(record, "stop", self._finish_stop(record))

    def watch_teardown(self, record: SessionRecord, reason: str) -> None:
        """Stop the host of an ended session, then record that it is stopped."""
        self._spawn(record, "teardown", self._teardown(record, reason))

    def _spawn(
        self, record: SessionRecord, work: str, coroutine: Coroutine[Any, Any, None]
    ) -> None:
        """Run a session's work in the background (once at a time), its account and session
        named in every line it logs (the task copies the context as it is made)."""
        with labelled(record.account_id, record.id):
            self.tasks.spawn(coroutine, key=f"{work}:{record.account_id}/{record.id}")

    def resume(self, record: SessionRecord) -> None:
        """Carry on with the work of a session this replica has just claimed (after a restart,
        or from a replica that died)."""
        if record.status is SessionStatus.STARTING:
            self.watch_start(record)
        elif record.status is SessionStatus.STOPPING:
            self.watch_stop(record)
        elif record.status.is_terminal and record.host_stopped_at is None:
            self.watch_teardown(record, record.message or "The session has ended.")

    async def _bring_up(self, record: SessionRecord) -> None:
        try:
            state = record.backend_state
            if state is None:
                state = await self._start_host(record)
                if state is None:
                    return
            await self._await_ready(record, state)
        except Exception:
            log.exception("bringing up session %s failed", record.id)
            await self._fail(record, "HostStartFailed", "The render host could not be started.")

    async def _start_host(self, record: SessionRecord) -> dict[str, object] | None:
        """Launch the host and record it on the session. Cancelling this (a shutdown) waits
        for the launch to be recorded first, so no host is ever left running unrecorded."""
        launch = asyncio.ensure_future(self._launch(record))
        try:
            return await asyncio.shield(launch)
        except asyncio.CancelledError:
            await launch
            raise

    def _host_spec(self, record: SessionRecord) -> HostSpec:
        deadline = record.start_deadline + record.lease_seconds + self._grace
        return host_spec(record, self.settings, self.clock, deadline)

    async def _launch(self, record: SessionRecord) -> dict[str, object] | None:
        try:
            started = await self.backend.start(self._host_spec(record))
        except BackendError as exc:
            self.events.backend_error("start")
            await self._fail(record, "HostStartFailed", exc.message)
            return None
        attached = await self.store.attach_host(record.account_id, record.id, **started.columns())
        if not attached:  # stopped (or failed) while the host was launched
            await self.backend.stop(started.state, "The session ended before it was ready.")
            return None
        return started.state

    async def _await_ready(self, record: SessionRecord, state: dict[str, object]) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        while True:
            health = await self.backend.poll(state)
            if health.phase is HostPhase.IDLE:  # a warm host, waiting for its session
                if not await self._assign(record, state):
                    return
                began = loop.time()
                continue
            if health.phase is HostPhase.READY:
                await self._become_ready(record, state, health.message, health.polygons)
                return
            if health.phase in (HostPhase.FAILED, HostPhase.GONE):
                code = "ModelLoadFailed" if health.phase is HostPhase.FAILED else "HostFailed"
                await self._fail(record, code, health.message or "The render host failed.")
                return
            if self.now() >= record.start_deadline:
                timeout = self.settings.start_timeout_seconds
                await self._fail(
                    record, "StartTimeout", f"The render host was not ready within {timeout:g} s."
                )
                return
            await asyncio.sleep(_poll_interval(loop.time() - began))

    async def _assign(self, record: SessionRecord, state: dict[str, object]) -> bool:
        """Give a warm host this session; False (and the session fails) if it cannot."""
        assign = getattr(self.backend, "assign", None)
        try:
            if assign is None:
                raise BackendError(f"The {self.backend.name} backend has no warm hosts.")
            await assign(state, self._host_spec(record))
        except BackendError as exc:
            self.events.backend_error("assign")
            await self._fail(record, "HostStartFailed", exc.message)
            return False
        return True

    async def _become_ready(
        self,
        record: SessionRecord,
        state: dict[str, object],
        message: str | None,
        polygons: int | None,
    ) -> None:
        now = self.now()
        if not await self.store.mark_ready(
            record.account_id, record.id, now, message=message, polygons=polygons
        ):
            return
        self.events.became_ready(record.size, now - record.created_at)
        ready = await self.store.get(record.account_id, record.id)
        if ready is not None and ready.hostname:
            log.info(
                "session %s ready; viewer: http://%s:%s/viewer#token=<access token>",
                record.id, ready.hostname, ready.handshake_port,
            )  # fmt: skip
        if ready is not None:
            await self._send_deadline(ready)
        self.wake_scheduler()

    async def _fail(self, record: SessionRecord, code: str, message: str) -> None:
        """Starting or Ready -> Error, and take the host down."""
        failed = await self.store.transition(
            record.account_id,
            record.id,
            SessionStatus.ERROR,
            sources={SessionStatus.STARTING, SessionStatus.READY},
            ended_at=self.now(),
            message=message,
            error_code=code,
            **self.claim(),
        )
        if failed:
            log.warning("session %s failed: %s", record.id, message)
            self.watch_teardown(record, message)

    async def _finish_stop(self, record: SessionRecord) -> None:
        await self._stop_host(record.account_id, record.id, STOPPED)
        host_stopped_at = self.now()
        stopped = await self.store.transition(
            record.account_id,
            record.id,
            SessionStatus.STOPPED,
            host_stopped_at=host_stopped_at,
            claimed_by=None,
            claimed_until=None,
        )
        if stopped and record.ended_at is not None:
            self.events.stopped(record.size, host_stopped_at - record.ended_at)
        log.info("session %s stopped", record.id)

    async def _teardown(self, record: SessionRecord, reason: str) -> None:
        await self._stop_host(record.account_id, record.id, reason)
        await self.store.mark_host_stopped(record.account_id, record.id, self.now())

    async def expire(self, record: SessionRecord) -> None:
        """Ready -> Expired once the lease has run out; billing ends at the lease's end."""
        reason = f"The session's lease of {lease_text(record.lease_seconds)} ran out."
        with labelled(record.account_id, record.id):
            expired = await self.store.transition(
                record.account_id,
                record.id,
                SessionStatus.EXPIRED,
                sources={SessionStatus.READY},
                ended_at=record.lease_deadline,
                message=reason,
                **self.claim(),
            )
            if expired:
                if record.lease_deadline is not None:
                    self.events.expired(self.now() - record.lease_deadline)
                log.info("session %s expired", record.id)
                self.watch_teardown(record, reason)

    async def time_out_start(self, record: SessionRecord) -> None:
        timeout = self.settings.start_timeout_seconds
        with labelled(record.account_id, record.id):
            await self._fail(
                record, "StartTimeout", f"The render host was not ready within {timeout:g} s."
            )

    async def check_liveness(self, record: SessionRecord) -> None:
        """A Ready session whose host has died becomes Error, with what happened."""
        if record.backend_state is None or record.backend != self.backend.name:
            return
        with labelled(record.account_id, record.id):
            health = await self.backend.poll(record.backend_state)
            if health.phase in (HostPhase.GONE, HostPhase.FAILED):
                await self._fail(record, "HostFailed", health.message or "The render host died.")

    async def _stop_host(self, account_id: str, session_id: str, reason: str) -> None:
        record = await self.store.get(account_id, session_id)
        if record is None or record.claimed_by != self.replica_id:
            return  # another replica has taken this session's work over: it stops the host
        try:
            if record.backend_state is not None:
                await self.backend.stop(record.backend_state, reason)
            else:
                await self._stop_unrecorded(record, reason)
        except BackendError as exc:
            self.events.backend_error("stop")
            log.error("could not stop the host of session %s: %s", session_id, exc.message)

    async def _stop_unrecorded(self, record: SessionRecord, reason: str) -> None:
        """A session with no recorded host may still have one: a replica that launched it and
        died before recording it. Backends that name hosts after their session find it."""
        stop_unrecorded = getattr(self.backend, "stop_unrecorded", None)
        if stop_unrecorded is None or record.backend != self.backend.name:
            return
        if await stop_unrecorded(record.account_id, record.id, reason):
            log.warning("session %s: stopped a host launched but never recorded", record.id)

    async def _send_deadline(self, record: SessionRecord) -> None:
        if record.backend_state is None or record.lease_deadline is None:
            return
        await self.backend.set_deadline(record.backend_state, record.lease_deadline + self._grace)

    async def resend_deadline(self, record: SessionRecord) -> None:
        await self._send_deadline(record)

    @property
    def _grace(self) -> float:
        return self.settings.host_grace_seconds


def _poll_interval(elapsed: float) -> float:
    for within, interval in _POLL_SCHEDULE:
        if elapsed < within:
            return interval
    return _SLOW_POLL_SECONDS


def _same_settings(existing: SessionRecord, request: CreateSession) -> bool:
    return (
        existing.size == request.size
        and existing.lease_seconds == request.lease_seconds
        and existing.models == request.models
    )


def lease_text(seconds: int) -> str:
    return format_timespan(timedelta(seconds=seconds))


def no_capacity_message(created: Created, size: str) -> str:
    return (
        f"All servers of the requested size ({size}) are in use "
        f"({created.capacity} at most); stop a session or try again later."
    )


def not_longer_message(record: SessionRecord) -> str:
    return (
        f"The new lease must be longer than the current one ({lease_text(record.lease_seconds)}); "
        "a lease is a total since the session became Ready, and can only grow."
    )


def ended_message(record: SessionRecord) -> str:
    return f"The session is {record.status.value}; its lease cannot change."


def new_session_id() -> str:
    return str(uuid.uuid4())
