"""Metered Ready time in the store: one `usage` row per session that became Ready.

The rows are written only by the session store, inside the transaction that moves a session
into Ready (`open_interval`) or out of it (`close_interval`), so the row and the status can
never disagree: a crash loses nothing and a restart counts nothing twice. `UsageStore` reads
them for reports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from renderhub.sizes import SessionSize
from renderhub.store.records import UsageInterval
from renderhub.store.schema import usage


async def open_interval(
    connection: AsyncConnection, account_id: str, session_id: str, size: str, ready_at: float
) -> None:
    """Start metering a session that has just become Ready (in the same transaction)."""
    await connection.execute(
        insert(usage).values(
            account_id=account_id,
            session_id=session_id,
            ready_at=ready_at,
            size=size,
            ended_at=None,
        )
    )


async def close_interval(
    connection: AsyncConnection, account_id: str, session_id: str, ready_at: float, ended_at: float
) -> None:
    """Stop metering a session that has just left Ready (in the same transaction). An interval
    already closed stays as it is."""
    await connection.execute(
        update(usage)
        .where(
            usage.c.account_id == account_id,
            usage.c.session_id == session_id,
            usage.c.ready_at == ready_at,
            usage.c.ended_at.is_(None),
        )
        .values(ended_at=ended_at)
    )


class UsageStore:
    """Reads metered intervals (on the async engine: a report may read many rows, which must
    not block the event loop)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def overlapping(
        self,
        since: float,
        until: float,
        *,
        account_id: str | None = None,
        size: SessionSize | None = None,
    ) -> list[UsageInterval]:
        """Every interval with Ready time in [since, until) (open ones included), in the
        order they began."""
        query = (
            select(usage)
            .where(
                usage.c.ready_at < until,
                or_(usage.c.ended_at.is_(None), usage.c.ended_at > since),
            )
            .order_by(usage.c.ready_at, usage.c.account_id, usage.c.session_id)
        )
        if account_id is not None:
            query = query.where(usage.c.account_id == account_id)
        if size is not None:
            query = query.where(usage.c.size == size.value)
        return [_interval(row) for row in await self._rows(query)]

    async def of_session(self, account_id: str, session_id: str) -> list[UsageInterval]:
        """A session's intervals (at most one: a session becomes Ready once)."""
        query = select(usage).where(
            usage.c.account_id == account_id, usage.c.session_id == session_id
        )
        return [_interval(row) for row in await self._rows(query)]

    async def _rows(self, query: Any) -> list[Any]:
        async with self._engine.connect() as connection:
            return list(await connection.execute(query))


def _interval(row: Any) -> UsageInterval:
    return UsageInterval(
        account_id=row.account_id,
        session_id=row.session_id,
        size=SessionSize(row.size),
        ready_at=float(row.ready_at),
        ended_at=None if row.ended_at is None else float(row.ended_at),
    )
