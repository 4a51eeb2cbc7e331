"""Serialising a size's admissions on PostgreSQL, where READ COMMITTED alone would let two
replicas each count the other's insert out (SQLite holds its one write lock per statement)."""

from __future__ import annotations

import zlib

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection


def _size_lock_key(size: str) -> int:
    """A stable 31-bit key per size for PostgreSQL's advisory locks."""
    return zlib.crc32(f"renderhub-capacity-{size}".encode()) & 0x7FFFFFFF


async def lock_size(connection: AsyncConnection, size: str) -> None:
    """Hold the size's admission lock until the caller's transaction ends (PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        await connection.execute(select(func.pg_advisory_xact_lock(_size_lock_key(size))))
