"""The registry of control-plane replicas sharing one store.

Each replica registers at start, beats a heartbeat while it runs and deregisters on an orderly
shutdown. A replica that died leaves its row behind: one on this machine is known dead at once
(its process is gone), one elsewhere once its heartbeat is older than the claim time."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import psutil
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from renderhub.store.schema import replicas


@dataclass(frozen=True, slots=True)
class ReplicaRecord:
    id: str
    hostname: str
    pid: int
    process_started_at: float
    started_at: float
    heartbeat_at: float

    def is_dead_here(self, hostname: str) -> bool:
        """True when this replica ran on this machine and its process is gone."""
        if self.hostname != hostname:
            return False
        try:
            process = psutil.Process(self.pid)
            same = abs(process.create_time() - self.process_started_at) < 1.0
            return not same or process.status() == psutil.STATUS_ZOMBIE
        except psutil.Error:
            return True  # no such process (or none of ours): the replica is gone


def this_process() -> tuple[str, int, float]:
    """(hostname, pid, process start time) of the running process."""
    pid = os.getpid()
    return socket.gethostname(), pid, psutil.Process(pid).create_time()


class ReplicaStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def register(self, replica_id: str, now: float) -> None:
        hostname, pid, process_started_at = this_process()
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(replicas).values(
                    id=replica_id,
                    hostname=hostname,
                    pid=pid,
                    process_started_at=process_started_at,
                    started_at=now,
                    heartbeat_at=now,
                )
            )

    async def heartbeat(self, replica_id: str, now: float) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(replicas).where(replicas.c.id == replica_id).values(heartbeat_at=now)
            )

    async def all(self) -> list[ReplicaRecord]:
        async with self._engine.connect() as connection:
            rows = await connection.execute(select(replicas))
        return [ReplicaRecord(**row._mapping) for row in rows]

    async def remove(self, replica_ids: list[str]) -> None:
        if not replica_ids:
            return
        async with self._engine.begin() as connection:
            await connection.execute(delete(replicas).where(replicas.c.id.in_(replica_ids)))
