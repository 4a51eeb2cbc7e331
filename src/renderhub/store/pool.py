"""The warm pools' hosts in the store. A row is reserved (atomically, within the pool's target
and the size's capacity) before its host is started, so replicas never start more than the
target between them; each row is claimed by the replica that watches its host."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, delete, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from renderhub.sizes import SessionSize
from renderhub.status import ACTIVE
from renderhub.store.locks import lock_size
from renderhub.store.schema import pool_hosts, sessions
from renderhub.store.uncancelled import runs_to_completion

_ACTIVE_VALUES = [status.value for status in ACTIVE]


class PoolStatus(StrEnum):
    STARTING = "starting"  # reserved; its host is being started or warming up
    IDLE = "idle"  # warm, waiting for a session


@dataclass(frozen=True, slots=True)
class PoolHostRecord:
    id: str
    size: SessionSize
    backend: str
    status: PoolStatus
    created_at: float
    backend_state: dict[str, Any] | None = None
    hostname: str | None = None
    handshake_port: int | None = None
    inspector_port: int | None = None
    teraflops: float | None = None
    claimed_by: str | None = None
    claimed_until: float | None = None

    @classmethod
    def from_row(cls, row: Any) -> PoolHostRecord:
        values = dict(row._mapping)
        values["size"] = SessionSize(values["size"])
        values["status"] = PoolStatus(values["status"])
        return cls(**values)

    def session_values(self) -> dict[str, Any]:
        """What a session that takes this host records about it."""
        return {
            "backend_state": self.backend_state,
            "hostname": self.hostname,
            "handshake_port": self.handshake_port,
            "inspector_port": self.inspector_port,
            "teraflops": self.teraflops,
        }


def in_use(size: str) -> Any:
    """Hosts of a size that count against its capacity: active sessions plus pool hosts."""
    active = (
        select(func.count())
        .select_from(sessions)
        .where(sessions.c.size == size, sessions.c.status.in_(_ACTIVE_VALUES))
        .scalar_subquery()
    )
    return active + _pool_count(size)


def _pool_count(size: str) -> Any:
    return (
        select(func.count())
        .select_from(pool_hosts)
        .where(pool_hosts.c.size == size)
        .scalar_subquery()
    )


async def take_host(connection: AsyncConnection, size: str) -> PoolHostRecord | None:
    """Within the caller's transaction (which holds the size's lock on PostgreSQL): remove
    one started pool host of the size, idle ones first, and return it."""
    candidate = (
        select(pool_hosts.c.id)
        .where(pool_hosts.c.size == size, pool_hosts.c.hostname.is_not(None))
        .order_by((pool_hosts.c.status == PoolStatus.IDLE.value).desc(), pool_hosts.c.created_at)
        .limit(1)
        .scalar_subquery()
    )
    statement = delete(pool_hosts).where(pool_hosts.c.id == candidate).returning(*pool_hosts.c)
    row = (await connection.execute(statement)).first()
    return None if row is None else PoolHostRecord.from_row(row)


class PoolStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def reserve(
        self, host_id: str, size: SessionSize, backend: str, now: float, target: int,
        capacity: int, claim: dict[str, Any],
    ) -> bool:  # fmt: skip
        """Add a pool row if the size's pool is below `target` and its hosts below
        `capacity`; True if added."""
        values: dict[str, Any] = {
            "id": host_id,
            "size": size.value,
            "backend": backend,
            "status": PoolStatus.STARTING.value,
            "created_at": now,
            **claim,
        }
        columns = list(values)
        source = select(
            *(literal(values[name], pool_hosts.c[name].type) for name in columns)
        ).where(_pool_count(size.value) < target, in_use(size.value) < capacity)
        async with self._engine.begin() as connection:
            await lock_size(connection, size.value)
            result = await connection.execute(insert(pool_hosts).from_select(columns, source))
        return bool(result.rowcount == 1)

    async def attach(self, host_id: str, **values: Any) -> bool:
        return await self._update(host_id, **values)

    async def mark_idle(self, host_id: str) -> bool:
        return await self._update(host_id, status=PoolStatus.IDLE.value)

    async def remove(self, host_id: str) -> bool:
        async with self._engine.begin() as connection:
            result = await connection.execute(delete(pool_hosts).where(pool_hosts.c.id == host_id))
        return bool(result.rowcount == 1)

    async def get(self, host_id: str) -> PoolHostRecord | None:
        rows = await self._select(pool_hosts.c.id == host_id)
        return rows[0] if rows else None

    async def owned(self, replica_id: str) -> list[PoolHostRecord]:
        return await self._select(pool_hosts.c.claimed_by == replica_id)

    async def count(self, size: SessionSize) -> int:
        async with self._engine.connect() as connection:
            value = await connection.scalar(select(_pool_count(size.value)))
        return int(value or 0)

    async def renew_claims(self, replica_id: str, until: float) -> None:
        statement = (
            update(pool_hosts)
            .where(pool_hosts.c.claimed_by == replica_id)
            .values(claimed_until=until)
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    @runs_to_completion
    async def claim_orphans(
        self, replica_id: str, now: float, until: float
    ) -> list[PoolHostRecord]:
        statement = (
            update(pool_hosts)
            .where(or_(pool_hosts.c.claimed_by.is_(None), pool_hosts.c.claimed_until < now))
            .values(claimed_by=replica_id, claimed_until=until)
            .returning(*pool_hosts.c)
        )
        async with self._engine.begin() as connection:
            rows = list(await connection.execute(statement))
        return [PoolHostRecord.from_row(row) for row in rows]

    async def release_claims(self, replica_ids: list[str]) -> None:
        if not replica_ids:
            return
        statement = (
            update(pool_hosts)
            .where(pool_hosts.c.claimed_by.in_(replica_ids))
            .values(claimed_by=None, claimed_until=None)
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def _update(self, host_id: str, **values: Any) -> bool:
        statement = update(pool_hosts).where(pool_hosts.c.id == host_id).values(**values)
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount == 1)

    async def _select(self, *conditions: Any) -> list[PoolHostRecord]:
        async with self._engine.connect() as connection:
            rows = await connection.execute(select(pool_hosts).where(and_(*conditions)))
        return [PoolHostRecord.from_row(row) for row in rows]
