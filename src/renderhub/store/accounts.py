"""Accounts and their two keys, kept only as SHA-256 hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from renderhub.quotas import ActiveCounts, Quotas
from renderhub.sizes import SessionSize
from renderhub.status import ACTIVE, ConversionStatus
from renderhub.store.records import AccountRecord
from renderhub.store.schema import accounts, conversions, sessions

_ACTIVE_SESSIONS = [status.value for status in ACTIVE]
_ENDED_CONVERSIONS = [status.value for status in ConversionStatus if status.is_final]


class KeySlot(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"


@dataclass(frozen=True, slots=True)
class NewAccount:
    """An account as just created: the only moment its keys exist in clear."""

    id: str
    primary_key: str
    secondary_key: str


def new_account_key() -> str:
    """256 random bits, base64 like Azure's account keys."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str, record: AccountRecord) -> bool:
    digest = hash_key(key)
    primary = hmac.compare_digest(digest, record.primary_key_hash)
    secondary = hmac.compare_digest(digest, record.secondary_key_hash)
    return primary or secondary


_GET = select(accounts).where(accounts.c.id == bindparam("account_id"))
_GET_COLUMNS = [column.name for column in _GET.selected_columns]


class AccountStore:
    """Accounts in the store. `reader`, where given (SQLite), serves `get` on the event loop:
    every call of the session and conversion APIs reads its account (see
    renderhub.store.database.open_reader)."""

    def __init__(self, engine: AsyncEngine, reader: Engine | None = None) -> None:
        self._engine = engine
        self._reader = reader
        self._get_sql: str | None = None

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def create(
        self, now: float, name: str | None = None, quotas: Quotas | None = None
    ) -> NewAccount:
        account = NewAccount(str(uuid.uuid4()), new_account_key(), new_account_key())
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(accounts).values(
                    id=account.id,
                    name=name,
                    primary_key_hash=hash_key(account.primary_key),
                    secondary_key_hash=hash_key(account.secondary_key),
                    created_at=now,
                    **(quotas or Quotas()).columns(),
                )
            )
        return account

    async def get(self, account_id: str) -> AccountRecord | None:
        """One keyed read, made on every API call (so a disabled account is refused at once,
        on every replica)."""
        if self._reader is not None:
            return self._read_on_loop(account_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(_GET, {"account_id": account_id})).first()
        return AccountRecord(**row._mapping) if row else None

    def _read_on_loop(self, account_id: str) -> AccountRecord | None:
        """SQLite's fast path: SQLAlchemy compiles the statement once, and the row comes
        through the DBAPI cursor, without SQLAlchemy's per-execution work. This read is on
        every request: ~20 µs this way, ~45 µs through Connection.execute, ~90 µs building
        the statement each time (bench/control_plane.py: GET throughput)."""
        assert self._reader is not None
        if self._get_sql is None:
            self._get_sql = str(_GET.compile(dialect=self._reader.dialect))
        with self._reader.connect() as connection:
            cursor = connection.connection.cursor()
            try:
                cursor.execute(self._get_sql, (account_id,))
                row = cursor.fetchone()
            finally:
                cursor.close()
        return AccountRecord(**dict(zip(_GET_COLUMNS, row, strict=True))) if row else None

    async def list(self) -> list[AccountRecord]:
        async with self._engine.connect() as connection:
            rows = await connection.execute(select(accounts).order_by(accounts.c.created_at))
        return [AccountRecord(**row._mapping) for row in rows]

    async def count(self) -> int:
        async with self._engine.connect() as connection:
            return int((await connection.execute(select(func.count(accounts.c.id)))).scalar_one())

    async def rotate_key(self, account_id: str, slot: KeySlot) -> str | None:
        """Replace one key; the other keeps working. None if there is no such account."""
        key = new_account_key()
        column = f"{slot.value}_key_hash"
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(accounts).where(accounts.c.id == account_id).values({column: hash_key(key)})
            )
        return key if result.rowcount == 1 else None

    async def rename(self, account_id: str, name: str | None) -> bool:
        """Give the account a new name (None: no name). False if there is no such account."""
        return await self._update(account_id, name=name)

    async def disable(self, account_id: str, now: float) -> bool:
        """Refuse the account's keys and tokens from now on. False if there is no such
        account; disabling a disabled account keeps its first `disabled_at`."""
        statement = (
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(disabled_at=func.coalesce(accounts.c.disabled_at, now))
        )
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return result.rowcount == 1

    async def enable(self, account_id: str) -> bool:
        """Take the account's keys and tokens again. False if there is no such account."""
        return await self._update(account_id, disabled_at=None)

    async def set_quotas(self, account_id: str, quotas: Quotas) -> bool:
        """Replace every quota of the account. False if there is no such account."""
        return await self._update(account_id, **quotas.columns())

    async def active_counts(
        self, account_ids: Collection[str] | None = None
    ) -> dict[str, ActiveCounts]:
        """What each account runs now (every account, or only `account_ids`): sessions
        Starting, Ready or Stopping per size, conversions not ended. Accounts running nothing
        are present with zeros."""
        ids = await self._account_ids(account_ids)
        sessions_by: dict[str, dict[SessionSize, int]] = {
            account_id: {size: 0 for size in SessionSize} for account_id in ids
        }
        conversions_by: dict[str, int] = dict.fromkeys(ids, 0)
        async with self._engine.connect() as connection:
            for account_id, size, count in await connection.execute(_session_counts(account_ids)):
                if account_id in sessions_by:
                    sessions_by[account_id][SessionSize(size)] = int(count)
            for account_id, count in await connection.execute(_conversion_counts(account_ids)):
                if account_id in conversions_by:
                    conversions_by[account_id] = int(count)
        return {
            account_id: ActiveCounts(sessions_by[account_id], conversions_by[account_id])
            for account_id in ids
        }

    async def _account_ids(self, account_ids: Collection[str] | None) -> Sequence[str]:
        query = select(accounts.c.id)
        if account_ids is not None:
            query = query.where(accounts.c.id.in_(list(account_ids)))
        async with self._engine.connect() as connection:
            return (await connection.execute(query)).scalars().all()

    async def _update(self, account_id: str, **values: Any) -> bool:
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(accounts).where(accounts.c.id == account_id).values(**values)
            )
        return result.rowcount == 1

    async def delete(self, account_id: str) -> bool:
        """Delete the account (its sessions' and conversions' records go with it) only while
        it runs nothing: False when there is no such account or it has an active session or
        conversion. The check and the delete are one statement, after a lock of the account's
        row on PostgreSQL, which a create in flight holds too (its foreign key)."""
        async with self._engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    select(accounts.c.id).where(accounts.c.id == account_id).with_for_update()
                )
            result = await connection.execute(
                delete(accounts).where(accounts.c.id == account_id, _runs_nothing(account_id))
            )
            deleted = result.rowcount == 1
            if deleted:  # as the foreign key cascades, where foreign keys are enforced
                await connection.execute(
                    delete(sessions).where(sessions.c.account_id == account_id)
                )
        return deleted


def _runs_nothing(account_id: str) -> Any:
    active_sessions = select(sessions.c.id).where(
        sessions.c.account_id == account_id, sessions.c.status.in_(_ACTIVE_SESSIONS)
    )
    active_conversions = select(conversions.c.id).where(
        conversions.c.account_id == account_id, conversions.c.status.not_in(_ENDED_CONVERSIONS)
    )
    return ~active_sessions.exists() & ~active_conversions.exists()


def _session_counts(account_ids: Collection[str] | None) -> Any:
    query = (
        select(sessions.c.account_id, sessions.c.size, func.count())
        .where(sessions.c.status.in_(_ACTIVE_SESSIONS))
        .group_by(sessions.c.account_id, sessions.c.size)
    )
    if account_ids is not None:
        query = query.where(sessions.c.account_id.in_(list(account_ids)))
    return query


def _conversion_counts(account_ids: Collection[str] | None) -> Any:
    query = (
        select(conversions.c.account_id, func.count())
        .where(conversions.c.status.not_in(_ENDED_CONVERSIONS))
        .group_by(conversions.c.account_id)
    )
    if account_ids is not None:
        query = query.where(conversions.c.account_id.in_(list(account_ids)))
    return query
