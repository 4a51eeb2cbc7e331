"""The conversion service: what the API asks of conversions (create, read, list). Running them
is the runner's (renderhub.conversions.runner), woken here when a conversion is created."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from renderhub.clock import Clock
from renderhub.conversions.jobs import ConversionJob, ConversionStatus
from renderhub.errors import NotFound
from renderhub.quotas import NO_QUOTAS, Quotas, conversions_over_quota
from renderhub.store.conversions import ConversionStore
from renderhub.store.records import ConversionRecord


class CreateOutcome(Enum):
    CREATED = "created"
    SAME_EXISTS = "same-exists"  # the same id with the same settings: a client's retry
    OTHER_EXISTS = "other-exists"  # the same id with other settings


@dataclass(frozen=True, slots=True)
class Created:
    outcome: CreateOutcome
    record: ConversionRecord  # the new conversion, or the one that had the id already


class ConversionService:
    def __init__(
        self,
        store: ConversionStore,
        clock: Clock,
        wake_runner: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.wake_runner = wake_runner

    async def create(
        self, account_id: str, job: ConversionJob, quotas: Quotas = NO_QUOTAS
    ) -> Created:
        """Record a conversion as NotStarted for a runner to claim; an existing one with the
        same id is reported as such (a retry when its settings are the same). Beyond the
        account's quota of conversions at once nothing is recorded and its error is raised."""
        record = ConversionRecord(
            account_id=account_id,
            id=job.conversion_id,
            input=job.input,
            output=job.output,
            status=ConversionStatus.NOT_STARTED,
            created_at=self.clock.now().timestamp(),
        )
        if await self.store.insert(record, limit=quotas.max_conversions):
            self.wake_runner()
            return Created(CreateOutcome.CREATED, record)
        existing = await self.store.get(account_id, job.conversion_id)
        if existing is None:  # not inserted, and not there: the account is at its quota
            raise conversions_over_quota(quotas)
        same = existing.same_settings(record)
        return Created(CreateOutcome.SAME_EXISTS if same else CreateOutcome.OTHER_EXISTS, existing)

    async def get(self, account_id: str, conversion_id: str) -> ConversionRecord:
        record = await self.store.get(account_id, conversion_id)
        if record is None:
            raise NotFound(f"No conversion with id {conversion_id!r} exists in this account.")
        return record

    async def list_page(
        self, account_id: str, limit: int, after: tuple[float, str] | None = None
    ) -> list[ConversionRecord]:
        return await self.store.list_page(account_id, limit, after)
