"""Plain records read from the store; the rest of the code never sees SQL rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from renderhub.sizes import SessionSize
from renderhub.status import SessionStatus


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: str
    name: str | None
    primary_key_hash: str
    secondary_key_hash: str
    created_at: float


@dataclass(frozen=True, slots=True)
class SessionRecord:
    account_id: str
    id: str
    size: SessionSize
    status: SessionStatus
    lease_seconds: int
    models: list[str]
    created_at: float
    start_deadline: float
    backend: str
    ready_at: float | None = None
    lease_deadline: float | None = None
    ended_at: float | None = None
    message: str | None = None
    error_code: str | None = None
    backend_state: dict[str, Any] | None = None
    hostname: str | None = None
    handshake_port: int | None = None
    inspector_port: int | None = None
    teraflops: float | None = None
    polygons: int | None = None
    claimed_by: str | None = None
    claimed_until: float | None = None
    host_stopped_at: float | None = None

    @classmethod
    def from_row(cls, row: Any) -> SessionRecord:
        values = dict(row._mapping)
        values["size"] = SessionSize(values["size"])
        values["status"] = SessionStatus(values["status"])
        return cls(**values)

    def elapsed_seconds(self, now: float) -> float:
        """Time spent Ready: from ready_at to the end (or to now while still running)."""
        if self.ready_at is None:
            return 0.0
        end = self.ended_at if self.ended_at is not None else now
        return max(0.0, end - self.ready_at)
