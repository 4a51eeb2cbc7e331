"""Sessions and conversions across accounts, for the operator: filtered, newest first, and
keyset-paged on (created_at, account, id) so a page never repeats or skips an item while
others are created."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, Table, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from renderhub.sizes import SessionSize
from renderhub.store.records import ConversionRecord, SessionRecord
from renderhub.store.schema import conversions, sessions

# (created_at, account_id, id) of the last item of the page before.
Cursor = tuple[float, str, str]


@dataclass(frozen=True, slots=True)
class Filters:
    """What a listing keeps; None keeps everything."""

    account_id: str | None = None
    statuses: Collection[StrEnum] | None = None
    sizes: Collection[SessionSize] | None = None


class AdminQueries:
    """Read-only listings across accounts. `reader`, where given (SQLite), serves reads on
    the event loop; see renderhub.store.database.open_reader."""

    def __init__(self, engine: AsyncEngine, reader: Engine | None = None) -> None:
        self._engine = engine
        self._reader = reader

    async def sessions(
        self, filters: Filters, limit: int, after: Cursor | None = None
    ) -> list[SessionRecord]:
        query = _page(sessions, filters, limit, after)
        if filters.sizes is not None:
            query = query.where(sessions.c.size.in_([size.value for size in filters.sizes]))
        return [SessionRecord.from_row(row) for row in await self._rows(query)]

    async def conversions(
        self, filters: Filters, limit: int, after: Cursor | None = None
    ) -> list[ConversionRecord]:
        query = _page(conversions, filters, limit, after)
        return [ConversionRecord.from_row(row) for row in await self._rows(query)]

    async def _rows(self, query: Any) -> list[Any]:
        if self._reader is not None:
            with self._reader.connect() as connection:
                return list(connection.execute(query))
        async with self._engine.connect() as connection:
            return list(await connection.execute(query))


def _page(table: Table, filters: Filters, limit: int, after: Cursor | None) -> Any:
    """Newest first, after the cursor, with the account and status filters."""
    key = (table.c.created_at, table.c.account_id, table.c.id)
    query = select(table).order_by(*(column.desc() for column in key)).limit(limit)
    if filters.account_id is not None:
        query = query.where(table.c.account_id == filters.account_id)
    if filters.statuses is not None:
        query = query.where(table.c.status.in_([status.value for status in filters.statuses]))
    if after is not None:
        query = query.where(tuple_(*key) < tuple_(*after))
    return query
