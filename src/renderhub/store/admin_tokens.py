"""Admin API credentials: random tokens, kept only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from renderhub.store.schema import admin_tokens

ADMIN_TOKEN_PREFIX = "rhadm_"


@dataclass(frozen=True, slots=True)
class AdminTokenRecord:
    id: str
    label: str | None
    created_at: float
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class NewAdminToken:
    """A token as just made: the only moment it exists in clear."""

    id: str
    token: str


def new_admin_token() -> str:
    return ADMIN_TOKEN_PREFIX + secrets.token_urlsafe(32)


def looks_like_admin_token(credential: str) -> bool:
    return credential.startswith(ADMIN_TOKEN_PREFIX)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AdminTokenStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, now: float, label: str | None = None) -> NewAdminToken:
        made = NewAdminToken(str(uuid.uuid4()), new_admin_token())
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(admin_tokens).values(
                    id=made.id, token_hash=_hash(made.token), label=label, created_at=now
                )
            )
        return made

    async def is_valid(self, token: str) -> bool:
        """True for a token that was made here and is not revoked."""
        if not looks_like_admin_token(token):
            return False
        query = select(admin_tokens.c.id).where(
            admin_tokens.c.token_hash == _hash(token), admin_tokens.c.revoked_at.is_(None)
        )
        async with self._engine.connect() as connection:
            return (await connection.execute(query)).first() is not None

    async def revoke(self, token_or_id: str, now: float) -> bool:
        """Revoke one token, named by itself or by its id; False if none such is active."""
        statement = (
            update(admin_tokens)
            .where(
                or_(
                    admin_tokens.c.id == token_or_id,
                    admin_tokens.c.token_hash == _hash(token_or_id),
                ),
                admin_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        async with self._engine.begin() as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def revoke_all(self, now: float) -> int:
        statement = (
            update(admin_tokens).where(admin_tokens.c.revoked_at.is_(None)).values(revoked_at=now)
        )
        async with self._engine.begin() as connection:
            return int((await connection.execute(statement)).rowcount)

    async def list(self) -> list[AdminTokenRecord]:
        query = select(
            admin_tokens.c.id, admin_tokens.c.label, admin_tokens.c.created_at,
            admin_tokens.c.revoked_at,
        ).order_by(admin_tokens.c.created_at)  # fmt: skip
        async with self._engine.connect() as connection:
            rows = await connection.execute(query)
        return [AdminTokenRecord(**row._mapping) for row in rows]

    async def count_active(self) -> int:
        query = select(func.count()).where(admin_tokens.c.revoked_at.is_(None))
        async with self._engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())
