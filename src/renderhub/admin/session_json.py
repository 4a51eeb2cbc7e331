"""A session as the admin API writes it (docs/admin-api.md, "Session"): every account's
sessions in one shape, with where its host runs and how much of its lease is left."""

from __future__ import annotations

from typing import Any

from renderhub.admin.times import utc_time
from renderhub.status import SessionStatus
from renderhub.store.records import SessionRecord


def session_json(record: SessionRecord, now: float) -> dict[str, Any]:
    return {
        "accountId": record.account_id,
        "sessionId": record.id,
        "size": record.size.value,
        "status": record.status.value,
        "created": utc_time(record.created_at),
        "ready": utc_time(record.ready_at),
        "ended": utc_time(record.ended_at),
        "leaseMinutes": record.lease_seconds // 60,
        "leaseEnds": utc_time(record.lease_deadline),
        "leaseLeftSeconds": lease_left_seconds(record, now),
        "host": host_address(record),
        "backend": record.backend,
        "message": record.message,
        "errorCode": record.error_code,
        "polygons": record.polygons,
        "inspector": inspector_url(record),
    }


def lease_left_seconds(record: SessionRecord, now: float) -> float | None:
    """Seconds until the lease ends, while the session holds one (Ready); never negative."""
    if record.status is not SessionStatus.READY or record.lease_deadline is None:
        return None
    return round(max(0.0, record.lease_deadline - now), 3)


def host_address(record: SessionRecord) -> str | None:
    """`hostname:handshake port` once a host is assigned."""
    if record.hostname is None or record.handshake_port is None:
        return None
    return f"{record.hostname}:{record.handshake_port}"


def inspector_url(record: SessionRecord) -> str | None:
    """The host's inspector page, while the host may still be running (not after the end)."""
    if record.hostname is None or record.inspector_port is None or record.status.is_terminal:
        return None
    return f"http://{record.hostname}:{record.inspector_port}/"
