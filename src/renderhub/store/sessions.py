"""Sessions in the store. Every change of state is one conditional UPDATE (or INSERT), so
several control-plane replicas sharing a database never act twice on the same session."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from sqlalchemy import (
    Engine,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from renderhub.status import ACTIVE, TERMINAL, SessionStatus, sources_of
from renderhub.store.locks import lock_size
from renderhub.store.pool import PoolHostRecord, in_use, take_host
from renderhub.store.records import SessionRecord
from renderhub.store.schema import accounts, sessions
from renderhub.store.uncancelled import runs_to_completion
from renderhub.store.usage import close_interval, open_interval

_ACTIVE_VALUES = [status.value for status in ACTIVE]
_TERMINAL_VALUES = [status.value for status in TERMINAL]
# Work a replica must claim: a session not yet ended, or an ended one whose host still runs.
_HAS_WORK = or_(
    sessions.c.status.in_(_ACTIVE_VALUES),
    and_(
        sessions.c.status.in_(_TERMINAL_VALUES),
        sessions.c.hostname.is_not(None),
        sessions.c.host_stopped_at.is_(None),
    ),
)


class InsertOutcome(Enum):
    INSERTED = "inserted"
    EXISTS = "exists"
    NO_CAPACITY = "no-capacity"
    OVER_QUOTA = "over-quota"  # the account has its quota of sessions of the size
    ACCOUNT_DISABLED = "account-disabled"  # disabled since the caller's token was checked


class _Refused(Exception):
    """Rolls back a create that took a pool host for an account at its quota (or disabled)."""

    def __init__(self, outcome: InsertOutcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome


def _active_in_account(record: SessionRecord) -> Any:
    """How many sessions of the record's size its account has active."""
    return (
        select(func.count())
        .select_from(sessions)
        .where(
            sessions.c.account_id == record.account_id,
            sessions.c.size == record.size.value,
            sessions.c.status.in_(_ACTIVE_VALUES),
        )
        .scalar_subquery()
    )


def _account_enabled(record: SessionRecord) -> Any:
    """The condition that the record's account exists and is not disabled: checked in the
    insert itself, so a create racing a disable never starts a session after it."""
    return exists(
        select(accounts.c.id).where(
            accounts.c.id == record.account_id, accounts.c.disabled_at.is_(None)
        )
    )


def _room_in_account(record: SessionRecord, account_limit: int | None) -> Any:
    """The condition that the record's account may have one more session of its size."""
    room = true() if account_limit is None else _active_in_account(record) < account_limit
    return and_(_account_enabled(record), room)


async def _has_room(
    connection: AsyncConnection, record: SessionRecord, account_limit: int | None
) -> bool:
    room = _room_in_account(record, account_limit)
    return bool((await connection.execute(select(room))).scalar_one())


async def _refusal(connection: AsyncConnection, record: SessionRecord) -> InsertOutcome:
    """Why an insert with no room was refused: the account disabled, or over its quota."""
    enabled = (await connection.execute(select(_account_enabled(record)))).scalar_one()
    return InsertOutcome.OVER_QUOTA if enabled else InsertOutcome.ACCOUNT_DISABLED


def _key(account_id: str, session_id: str) -> Any:
    return and_(sessions.c.account_id == account_id, sessions.c.id == session_id)


_GET = select(sessions).where(
    sessions.c.account_id == bindparam("account_id"), sessions.c.id == bindparam("session_id")
)


async def _meter(
    connection: AsyncConnection, account_id: str, session_id: str, target: SessionStatus, row: Any
) -> None:
    """Open or close the session's usage interval for a change of status just made. Only a
    session that was Ready has a ready_at and an open interval (a Stopping -> Stopped finds
    it closed already, at the stop)."""
    if row.ready_at is None:
        return
    if target is SessionStatus.READY:
        await open_interval(connection, account_id, session_id, row.size, row.ready_at)
    elif row.ended_at is not None:
        await close_interval(connection, account_id, session_id, row.ready_at, row.ended_at)


class SessionStore:
    """Sessions in the store. `reader`, where given (SQLite), serves reads on the event loop;
    see renderhub.store.database.open_reader."""

    def __init__(self, engine: AsyncEngine, reader: Engine | None = None) -> None:
        self._engine = engine
        self._reader = reader

    @runs_to_completion
    async def insert(
        self,
        record: SessionRecord,
        capacity: int,
        *,
        from_pool: bool = False,
        account_limit: int | None = None,
    ) -> tuple[InsertOutcome, PoolHostRecord | None]:
        """Insert the session while its size has room: fewer than `capacity` active sessions
        and pool hosts, and (with `account_limit`) fewer than that many active sessions of the
        size in the record's account. With `from_pool`, take a pool host of the size if there
        is one (its slot becomes the session's) and return it with the outcome.

        The counts and the insert are one transaction under the size's lock (one statement
        on SQLite), so concurrent creates never admit more than either limit."""
        values = {
            column.name: getattr(record, column.name)
            for column in sessions.columns
            if hasattr(record, column.name)
        }
        values["size"] = record.size.value
        values["status"] = record.status.value
        size = record.size.value
        try:
            async with self._engine.begin() as connection:
                await lock_size(connection, size)
                pooled = await take_host(connection, size) if from_pool else None
                if pooled is not None:
                    # The DELETE of take_host holds SQLite's write lock from here on.
                    if not await _has_room(connection, record, account_limit):
                        # Rolled back: the pool host stays in the pool.
                        raise _Refused(await _refusal(connection, record))
                    values.update(pooled.session_values())
                    await connection.execute(insert(sessions).values(**values))
                    return InsertOutcome.INSERTED, pooled
                columns = list(values)
                source = select(
                    *(literal(values[name], sessions.c[name].type) for name in columns)
                ).where(in_use(size) < capacity, _room_in_account(record, account_limit))
                result = await connection.execute(insert(sessions).from_select(columns, source))
                if result.rowcount == 1:
                    return InsertOutcome.INSERTED, None
                if await _has_room(connection, record, account_limit):
                    return InsertOutcome.NO_CAPACITY, None
                return await _refusal(connection, record), None
        except IntegrityError:
            return InsertOutcome.EXISTS, None  # rolled back: a pool host taken stays in the pool
        except _Refused as refused:
            return refused.outcome, None

    async def get(self, account_id: str, session_id: str) -> SessionRecord | None:
        rows = await self._rows(_GET, {"account_id": account_id, "session_id": session_id})
        return SessionRecord.from_row(rows[0]) if rows else None

    async def list_active(
        self, account_id: str, limit: int | None = None, after: tuple[float, str] | None = None
    ) -> list[SessionRecord]:
        """Active sessions of one account, oldest first, keyset-paged after (created_at, id)."""
        query = (
            select(sessions)
            .where(sessions.c.account_id == account_id, sessions.c.status.in_(_ACTIVE_VALUES))
            .order_by(sessions.c.created_at, sessions.c.id)
        )
        if after is not None:
            query = query.where(tuple_(sessions.c.created_at, sessions.c.id) > tuple_(*after))
        if limit is not None:
            query = query.limit(limit)
        return await self._fetch(query)

    async def with_status(self, statuses: Iterable[SessionStatus]) -> list[SessionRecord]:
        values = [status.value for status in statuses]
        return await self._fetch(select(sessions).where(sessions.c.status.in_(values)))

    async def lease_overdue(self, now: float) -> list[SessionRecord]:
        return await self._fetch(
            select(sessions).where(
                sessions.c.status == SessionStatus.READY.value, sessions.c.lease_deadline <= now
            )
        )

    async def start_overdue(self, now: float) -> list[SessionRecord]:
        return await self._fetch(
            select(sessions).where(
                sessions.c.status == SessionStatus.STARTING.value,
                sessions.c.start_deadline <= now,
            )
        )

    async def next_deadline(self) -> float | None:
        """The earliest lease end of a Ready session or start deadline of a Starting one."""
        deadline = case(
            (sessions.c.status == SessionStatus.READY.value, sessions.c.lease_deadline),
            else_=sessions.c.start_deadline,
        )
        query = select(func.min(deadline)).where(
            sessions.c.status.in_([SessionStatus.READY.value, SessionStatus.STARTING.value])
        )
        value = (await self._rows(query))[0][0]
        return float(value) if value is not None else None

    @runs_to_completion
    async def transition(
        self,
        account_id: str,
        session_id: str,
        target: SessionStatus,
        *,
        sources: Iterable[SessionStatus] | None = None,
        **values: Any,
    ) -> bool:
        """Move the session to `target` if its status is one of `sources` (default: every
        status the transition table allows it from). True if this call made the change.

        The session's metered Ready time moves in the same transaction: a move into Ready
        opens its usage interval, a move out of Ready closes it at the session's ended_at."""
        allowed = sources_of(target) if sources is None else frozenset(sources)
        statement = (
            update(sessions)
            .where(
                _key(account_id, session_id),
                sessions.c.status.in_([status.value for status in allowed]),
            )
            .values(status=target.value, **values)
            .returning(sessions.c.size, sessions.c.ready_at, sessions.c.ended_at)
        )
        async with self._engine.begin() as connection:
            moved = (await connection.execute(statement)).first()
            if moved is None:
                return False
            await _meter(connection, account_id, session_id, target, moved)
        return True

    async def mark_ready(self, account_id: str, session_id: str, now: float, **values: Any) -> bool:
        """Starting -> Ready; the lease starts counting now."""
        return await self.transition(
            account_id,
            session_id,
            SessionStatus.READY,
            ready_at=now,
            lease_deadline=sessions.c.lease_seconds + now,
            **values,
        )

    async def attach_host(self, account_id: str, session_id: str, **values: Any) -> bool:
        """Record where the session's host runs, if the session is still Starting."""
        statement = (
            update(sessions)
            .where(
                _key(account_id, session_id),
                sessions.c.status == SessionStatus.STARTING.value,
            )
            .values(**values)
        )
        return await self._execute(statement)

    async def extend(self, account_id: str, session_id: str, lease_seconds: int) -> bool:
        """Set a longer total lease on a Starting or Ready session."""
        statement = (
            update(sessions)
            .where(
                _key(account_id, session_id),
                sessions.c.status.in_([SessionStatus.STARTING.value, SessionStatus.READY.value]),
                sessions.c.lease_seconds < lease_seconds,
            )
            .values(
                lease_seconds=lease_seconds,
                lease_deadline=case(
                    (sessions.c.ready_at.is_(None), None),
                    else_=sessions.c.ready_at + lease_seconds,
                ),
            )
        )
        return await self._execute(statement)

    # -- claims: which replica does a session's work ----------------------------------------

    async def renew_claims(self, replica_id: str, until: float) -> None:
        statement = (
            update(sessions)
            .where(sessions.c.claimed_by == replica_id, _HAS_WORK)
            .values(claimed_until=until)
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    @runs_to_completion
    async def claim_orphans(self, replica_id: str, now: float, until: float) -> list[SessionRecord]:
        """Claim every session with work left whose claim is free or has lapsed; return them.

        One conditional UPDATE: two replicas racing for a session cannot both win it (under
        READ COMMITTED the loser re-checks the lapsed claim and finds it renewed)."""
        statement = (
            update(sessions)
            .where(
                _HAS_WORK,
                or_(sessions.c.claimed_by.is_(None), sessions.c.claimed_until < now),
            )
            .values(claimed_by=replica_id, claimed_until=until)
            .returning(*sessions.columns)
        )
        async with self._engine.begin() as connection:
            rows = list(await connection.execute(statement))
        return [SessionRecord.from_row(row) for row in rows]

    async def release_claims(self, replica_ids: list[str]) -> int:
        """Free the claims of replicas that are gone (or shutting down), for others to take."""
        if not replica_ids:
            return 0
        statement = (
            update(sessions)
            .where(sessions.c.claimed_by.in_(replica_ids))
            .values(claimed_by=None, claimed_until=None)
        )
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return int(result.rowcount)

    async def holds(self, account_id: str, session_id: str, replica_id: str) -> bool:
        """Whether `replica_id` still holds the session's claim (checked before acting)."""
        query = select(sessions.c.claimed_by).where(_key(account_id, session_id))
        rows = await self._rows(query)
        return bool(rows) and rows[0][0] == replica_id

    async def owned_with_work(self, replica_id: str) -> list[SessionRecord]:
        """This replica's sessions that are starting, stopping, or whose host is not stopped."""
        return await self._fetch(
            select(sessions).where(
                sessions.c.claimed_by == replica_id,
                _HAS_WORK,
                sessions.c.status != SessionStatus.READY.value,
            )
        )

    async def owned_ready(self, replica_id: str) -> list[SessionRecord]:
        return await self._fetch(
            select(sessions).where(
                sessions.c.claimed_by == replica_id,
                sessions.c.status == SessionStatus.READY.value,
            )
        )

    async def mark_host_stopped(self, account_id: str, session_id: str, now: float) -> bool:
        statement = (
            update(sessions)
            .where(_key(account_id, session_id), sessions.c.status.in_(_TERMINAL_VALUES))
            .values(host_stopped_at=now, claimed_by=None, claimed_until=None)
        )
        return await self._execute(statement)

    async def purge_ended_before(self, moment: float) -> int:
        statement = delete(sessions).where(
            sessions.c.ended_at.is_not(None),
            sessions.c.ended_at < moment,
            or_(
                *(
                    sessions.c.status == status.value
                    for status in SessionStatus
                    if status.is_terminal
                )
            ),
        )
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return int(result.rowcount)

    async def _fetch(self, query: Any) -> list[SessionRecord]:
        return [SessionRecord.from_row(row) for row in await self._rows(query)]

    async def _rows(self, query: Any, parameters: dict[str, Any] | None = None) -> list[Any]:
        if self._reader is not None:
            with self._reader.connect() as connection:
                return list(connection.execute(query, parameters or {}))
        async with self._engine.connect() as connection:
            return list(await connection.execute(query, parameters or {}))

    async def _execute(self, statement: Any) -> bool:
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount == 1)
