"""Runs conversions: claims them from the store, at most `conversion_concurrency` at once per
replica, runs each apart from the API process (an executor: worker process or Ray task) and
records its outcome.

The store is the truth. A conversion is claimed and marked Running in one conditional UPDATE;
its outcome is recorded only while it is still this replica's, on the same attempt. The
runner renews the claims of the conversions it is running (only those), so a conversion whose
replica died, restarted, or lost its outcome to a store outage is taken up again (from the
start) once the claim lapses or is released, up to MAX_ATTEMPTS; after that it fails with a
message. The runner sleeps until a create (or a finished conversion, or the scheduler's
take-over scan) wakes it, or until its claims need renewing."""

from __future__ import annotations

import asyncio
import logging

from renderhub.clock import Clock, monotonic
from renderhub.conversions import outcomes
from renderhub.conversions.executors import Executor, limits_of
from renderhub.conversions.jobs import ConversionOutcome
from renderhub.sessions.tasks import TaskOwner
from renderhub.settings import Settings
from renderhub.store.conversions import ConversionStore
from renderhub.store.database import UNAVAILABLE
from renderhub.store.records import ConversionRecord

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


class ConversionRunner:
    def __init__(
        self,
        store: ConversionStore,
        executor: Executor,
        settings: Settings,
        clock: Clock,
        tasks: TaskOwner,
        replica_id: str,
    ) -> None:
        self._store = store
        self._executor = executor
        self._settings = settings
        self._clock = clock
        self._tasks = tasks
        self.replica_id = replica_id
        self._running: set[tuple[str, str]] = set()
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        renew_every = self._settings.claim_seconds / 3
        next_renewal = 0.0
        due = True  # the first pass takes up what the store already holds
        while True:
            self._wakeup.clear()
            try:
                if monotonic() >= next_renewal:
                    next_renewal = monotonic() + renew_every
                    await self.renew()
                if due:
                    await self.fill()
                due = False
            except UNAVAILABLE as exc:
                log.warning("the store is unavailable (%s); conversions wait", exc)
            except Exception:
                log.exception("starting conversions failed; retrying")
            # An idle runner writes nothing: it fills again when woken, or after a failure.
            due = await _woken_within(self._wakeup, renew_every) or due

    async def fill(self) -> list[ConversionRecord]:
        """Fail what restarts cut short too often, then start abandoned and new conversions
        while this replica has room; return those started."""
        now = self._now()
        exhausted = outcomes.restarted_too_often(MAX_ATTEMPTS)
        for record in await self._store.fail_exhausted(now, MAX_ATTEMPTS, exhausted):
            log.warning("conversion %s failed after %d attempts", record.id, record.attempts)
        until = now + self._settings.claim_seconds
        room = self._settings.conversion_concurrency - len(self._running)
        started = await self._store.take_over(self.replica_id, now, until, room, MAX_ATTEMPTS)
        if started:
            log.info("took up %d conversion(s) a restart cut short", len(started))
        started += await self._store.claim_new(self.replica_id, now, until, room - len(started))
        for record in started:
            self._start(record)
        return started

    async def renew(self) -> None:
        """Keep the claims of the conversions this replica runs (and only those) fresh."""
        if self._running:
            until = self._now() + self._settings.claim_seconds
            await self._store.renew_claims(self.replica_id, until, sorted(self._running))

    async def release(self, replica_ids: list[str]) -> int:
        """Free the claims of replicas that are gone, so that their conversions run again."""
        released = await self._store.release_claims(replica_ids)
        if released:
            self.wake()
        return released

    async def purge(self, before: float) -> int:
        return await self._store.purge_ended_before(before)

    def _start(self, record: ConversionRecord) -> None:
        key = (record.account_id, record.id)
        if key in self._running:
            # Its claim lapsed while an earlier attempt still runs here (the store was out
            # for a while): that attempt's outcome will not be recorded, and this claim,
            # not renewed, lapses in turn and the conversion runs again.
            log.warning("conversion %s: claimed again while it still runs here", record.id)
            return
        self._running.add(key)
        self._tasks.spawn(self._run(record), key=f"conversion:{key[0]}/{key[1]}")

    async def _run(self, record: ConversionRecord) -> None:
        try:
            log.info("conversion %s: attempt %d starts", record.id, record.attempts)
            outcome = await self._execute(record)
            if await self._store.finish(record, self.replica_id, outcome, self._now()):
                log.info("conversion %s: %s", record.id, outcome.status.value)
            else:
                log.warning("conversion %s: no longer this replica's; outcome dropped", record.id)
        finally:
            self._running.discard((record.account_id, record.id))
            self.wake()

    async def _execute(self, record: ConversionRecord) -> ConversionOutcome:
        job = record.job()
        try:
            outcome = await self._executor.run(job, limits_of(self._settings))
        except Exception as exc:
            log.exception("conversion %s could not be run", record.id)
            outcome = outcomes.converter_raised(exc)
        return outcomes.without_secrets(outcome, job)

    def _now(self) -> float:
        return self._clock.now().timestamp()


async def _woken_within(event: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True
