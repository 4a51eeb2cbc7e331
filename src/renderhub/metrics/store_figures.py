"""Figures the store holds, read at each scrape: sessions by status and size, conversions by
status, and the metered Ready time by size. Read from the store rather than counted in memory,
they are right however many replicas or workers there are, and across restarts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from renderhub.sizes import SessionSize
from renderhub.status import ConversionStatus, SessionStatus
from renderhub.store.schema import conversions, sessions, usage


@dataclass(frozen=True, slots=True)
class StoreFigures:
    sessions: dict[tuple[str, str], int]  # (status, size) -> sessions
    conversions: dict[str, int]  # status -> conversions
    ready_seconds: dict[str, float]  # size -> seconds Ready, closed and open intervals
    ready_sessions: dict[str, int]  # size -> sessions that became Ready

    def families(self) -> Iterable[Metric]:
        """The figures as Prometheus metric families, every status and size listed (zero
        where there is none), so that each series exists from the first scrape."""
        by_status = GaugeMetricFamily(
            "renderhub_sessions",
            "Sessions in the store by status and size (ended ones until they are purged).",
            labels=["status", "size"],
        )
        for status in SessionStatus:
            for size in SessionSize:
                count = self.sessions.get((status.value, size.value), 0)
                by_status.add_metric([status.value, size.value], count)
        yield by_status
        converting = GaugeMetricFamily(
            "renderhub_conversions",
            "Conversions in the store by status (ended ones until they are purged).",
            labels=["status"],
        )
        for conversion_status in ConversionStatus:
            converting.add_metric(
                [conversion_status.value], self.conversions.get(conversion_status.value, 0)
            )
        yield converting
        seconds = CounterMetricFamily(
            "renderhub_ready_seconds",
            "Metered session time in Ready by size (what usage is billed on), seconds.",
            labels=["size"],
        )
        became_ready = CounterMetricFamily(
            "renderhub_ready_sessions",
            "Sessions that became Ready, by size.",
            labels=["size"],
        )
        for size in SessionSize:
            seconds.add_metric([size.value], self.ready_seconds.get(size.value, 0.0))
            became_ready.add_metric([size.value], self.ready_sessions.get(size.value, 0))
        yield seconds
        yield became_ready


class StoreReader:
    """Reads StoreFigures with three grouped queries (each an index-free scan of a small
    table: ended sessions and conversions are purged after the retention period)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def read(self, now: float) -> StoreFigures:
        """The figures as they are at `now` (open Ready intervals end there)."""
        session_counts = select(sessions.c.status, sessions.c.size, func.count()).group_by(
            sessions.c.status, sessions.c.size
        )
        conversion_counts = select(conversions.c.status, func.count()).group_by(
            conversions.c.status
        )
        ended = func.coalesce(usage.c.ended_at, now)
        spent = case((ended > usage.c.ready_at, ended - usage.c.ready_at), else_=0.0)
        ready_time = select(usage.c.size, func.sum(spent)).group_by(usage.c.size)
        ready_count = select(usage.c.size, func.count()).group_by(usage.c.size)
        async with self._engine.connect() as connection:
            session_rows = (await connection.execute(session_counts)).all()
            conversion_rows = (await connection.execute(conversion_counts)).all()
            time_rows = (await connection.execute(ready_time)).all()
            count_rows = (await connection.execute(ready_count)).all()
        return StoreFigures(
            sessions={(status, size): int(count) for status, size, count in session_rows},
            conversions={status: int(count) for status, count in conversion_rows},
            ready_seconds={size: float(total or 0.0) for size, total in time_rows},
            ready_sessions={size: int(count) for size, count in count_rows},
        )
