"""Conversions in the store. Every change of state is one conditional UPDATE (or INSERT), so
several control-plane replicas sharing a database never run or finish a conversion twice.

A conversion is NotStarted until a replica claims it: the claim and the move to Running are
one UPDATE. The running replica renews its claim; when the replica dies the claim lapses (or
is released), and another replica (or the same one restarted) takes the conversion up again
from the start, up to a number of attempts, after which it fails."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, literal, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from renderhub.conversions.jobs import ConversionOutcome, ConversionStatus
from renderhub.store.records import ConversionRecord
from renderhub.store.schema import accounts, conversions
from renderhub.store.uncancelled import runs_to_completion

_RUNNING = ConversionStatus.RUNNING.value
_NOT_STARTED = ConversionStatus.NOT_STARTED.value
_FINAL_VALUES = [status.value for status in ConversionStatus if status.is_final]


def _key(account_id: str, conversion_id: str) -> Any:
    return and_(conversions.c.account_id == account_id, conversions.c.id == conversion_id)


def _claim_free(now: float) -> Any:
    """No replica holds the conversion: never claimed, released, or the claim lapsed."""
    return or_(conversions.c.claimed_by.is_(None), conversions.c.claimed_until < now)


def _not_ended_in_account(account_id: str) -> Any:
    return (
        select(func.count())
        .select_from(conversions)
        .where(conversions.c.account_id == account_id, conversions.c.status.not_in(_FINAL_VALUES))
        .scalar_subquery()
    )


def _insert_below(record: ConversionRecord, limit: int) -> Any:
    """INSERT the record if its account has fewer than `limit` conversions not ended."""
    values = record.columns()
    columns = list(values)
    source = select(*(literal(values[name], conversions.c[name].type) for name in columns)).where(
        _not_ended_in_account(record.account_id) < limit
    )
    return insert(conversions).from_select(columns, source)


async def _lock_account(connection: AsyncConnection, account_id: str) -> None:
    """Serialise the account's conversion creates on PostgreSQL, where READ COMMITTED alone
    would let two of them each count the other out (SQLite holds its one write lock for the
    INSERT ... SELECT)."""
    if connection.dialect.name == "postgresql":
        await connection.execute(
            select(accounts.c.id).where(accounts.c.id == account_id).with_for_update()
        )


class ConversionStore:
    """Conversions in the store. `reader`, where given (SQLite), serves reads on the event
    loop; see renderhub.store.database.open_reader."""

    def __init__(self, engine: AsyncEngine, reader: Engine | None = None) -> None:
        self._engine = engine
        self._reader = reader

    async def insert(self, record: ConversionRecord, *, limit: int | None = None) -> bool:
        """Insert a new conversion; False when the account already has one with that id, or
        (with `limit`) already has `limit` conversions not ended. The count and the insert
        are one statement (SQLite) under a lock of the account's row (PostgreSQL), so
        concurrent creates never admit more than `limit`."""
        try:
            async with self._engine.begin() as connection:
                if limit is None:
                    await connection.execute(insert(conversions).values(**record.columns()))
                    return True
                await _lock_account(connection, record.account_id)
                result = await connection.execute(_insert_below(record, limit))
        except IntegrityError:
            return False
        return bool(result.rowcount == 1)

    async def get(self, account_id: str, conversion_id: str) -> ConversionRecord | None:
        rows = await self._rows(select(conversions).where(_key(account_id, conversion_id)))
        return ConversionRecord.from_row(rows[0]) if rows else None

    async def list_page(
        self, account_id: str, limit: int, after: tuple[float, str] | None = None
    ) -> list[ConversionRecord]:
        """The account's conversions, oldest first, keyset-paged after (created_at, id)."""
        query = (
            select(conversions)
            .where(conversions.c.account_id == account_id)
            .order_by(conversions.c.created_at, conversions.c.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(conversions.c.created_at, conversions.c.id) > tuple_(*after))
        return await self._fetch(query)

    # -- running: claims, starts, outcomes ---------------------------------------------------

    async def claim_new(
        self, replica_id: str, now: float, until: float, limit: int
    ) -> list[ConversionRecord]:
        """Claim up to `limit` NotStarted conversions, oldest first, and mark them Running."""
        waiting = and_(conversions.c.status == _NOT_STARTED, _claim_free(now))
        return await self._claim(waiting, replica_id, now, until, limit)

    async def take_over(
        self, replica_id: str, now: float, until: float, limit: int, max_attempts: int
    ) -> list[ConversionRecord]:
        """Claim up to `limit` Running conversions that no replica holds any more (theirs died
        or restarted) and have attempts left; they start again from the beginning."""
        abandoned = and_(
            conversions.c.status == _RUNNING,
            _claim_free(now),
            conversions.c.attempts < max_attempts,
        )
        return await self._claim(abandoned, replica_id, now, until, limit)

    @runs_to_completion
    async def _claim(
        self, condition: Any, replica_id: str, now: float, until: float, limit: int
    ) -> list[ConversionRecord]:
        """One conditional UPDATE: two replicas racing for a conversion cannot both win it (the
        loser re-checks `condition` on the row and finds it claimed)."""
        if limit <= 0:
            return []
        oldest = (
            select(conversions.c.account_id, conversions.c.id)
            .where(condition)
            .order_by(conversions.c.created_at, conversions.c.id)
            .limit(limit)
        )
        statement = (
            update(conversions)
            .where(tuple_(conversions.c.account_id, conversions.c.id).in_(oldest), condition)
            .values(
                status=_RUNNING,
                started_at=now,
                attempts=conversions.c.attempts + 1,
                claimed_by=replica_id,
                claimed_until=until,
            )
            .returning(*conversions.columns)
        )
        async with self._engine.begin() as connection:
            rows = list(await connection.execute(statement))
        return [ConversionRecord.from_row(row) for row in rows]

    @runs_to_completion
    async def fail_exhausted(
        self, now: float, max_attempts: int, outcome: ConversionOutcome
    ) -> list[ConversionRecord]:
        """End with `outcome` (a failure) the Running conversions no replica holds that have
        used all their attempts (each cut short by a restart): never left Running forever."""
        statement = (
            update(conversions)
            .where(
                conversions.c.status == _RUNNING,
                _claim_free(now),
                conversions.c.attempts >= max_attempts,
            )
            .values(
                status=outcome.status.value,
                error_code=outcome.error_code,
                error_message=outcome.error_message,
                ended_at=now,
                claimed_by=None,
                claimed_until=None,
            )
            .returning(*conversions.columns)
        )
        async with self._engine.begin() as connection:
            rows = list(await connection.execute(statement))
        return [ConversionRecord.from_row(row) for row in rows]

    async def finish(
        self,
        record: ConversionRecord,
        replica_id: str,
        outcome: ConversionOutcome,
        now: float,
    ) -> bool:
        """Record how an attempt ended, if the conversion is still Running, still this
        replica's and still on that attempt. True if this call recorded it."""
        statement = (
            update(conversions)
            .where(
                _key(record.account_id, record.id),
                conversions.c.status == _RUNNING,
                conversions.c.claimed_by == replica_id,
                conversions.c.attempts == record.attempts,
            )
            .values(
                status=outcome.status.value,
                output_asset_uri=outcome.output_asset_uri,
                error_code=outcome.error_code,
                error_message=outcome.error_message,
                ended_at=now,
                claimed_by=None,
                claimed_until=None,
            )
        )
        return await self._execute(statement)

    async def renew_claims(
        self, replica_id: str, until: float, keys: list[tuple[str, str]]
    ) -> None:
        """Renew this replica's claims on the conversions it is running, given as (account
        id, conversion id): one whose run ended without its outcome recorded lapses."""
        statement = (
            update(conversions)
            .where(
                conversions.c.claimed_by == replica_id,
                conversions.c.status == _RUNNING,
                tuple_(conversions.c.account_id, conversions.c.id).in_(keys),
            )
            .values(claimed_until=until)
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def release_claims(self, replica_ids: list[str]) -> int:
        """Free the claims of replicas that are gone (or shutting down), for others to take."""
        if not replica_ids:
            return 0
        statement = (
            update(conversions)
            .where(conversions.c.claimed_by.in_(replica_ids))
            .values(claimed_by=None, claimed_until=None)
        )
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return int(result.rowcount)

    async def purge_ended_before(self, moment: float) -> int:
        statement = delete(conversions).where(
            conversions.c.status.in_(_FINAL_VALUES),
            conversions.c.ended_at.is_not(None),
            conversions.c.ended_at < moment,
        )
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return int(result.rowcount)

    async def _fetch(self, query: Any) -> list[ConversionRecord]:
        return [ConversionRecord.from_row(row) for row in await self._rows(query)]

    async def _rows(self, query: Any) -> list[Any]:
        if self._reader is not None:
            with self._reader.connect() as connection:
                return list(connection.execute(query))
        async with self._engine.connect() as connection:
            return list(await connection.execute(query))

    async def _execute(self, statement: Any) -> bool:
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount == 1)
