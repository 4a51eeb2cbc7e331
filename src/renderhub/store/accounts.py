"""Accounts and their two keys, kept only as SHA-256 hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from renderhub.store.records import AccountRecord
from renderhub.store.schema import accounts, sessions


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


class AccountStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def create(self, now: float, name: str | None = None) -> NewAccount:
        account = NewAccount(str(uuid.uuid4()), new_account_key(), new_account_key())
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(accounts).values(
                    id=account.id,
                    name=name,
                    primary_key_hash=hash_key(account.primary_key),
                    secondary_key_hash=hash_key(account.secondary_key),
                    created_at=now,
                )
            )
        return account

    async def get(self, account_id: str) -> AccountRecord | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(select(accounts).where(accounts.c.id == account_id))
            ).first()
        return AccountRecord(**row._mapping) if row else None

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

    async def delete(self, account_id: str) -> bool:
        async with self._engine.begin() as connection:
            await connection.execute(delete(sessions).where(sessions.c.account_id == account_id))
            result = await connection.execute(delete(accounts).where(accounts.c.id == account_id))
        return result.rowcount == 1
