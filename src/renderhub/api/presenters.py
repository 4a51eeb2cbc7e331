"""How a session is written on the wire, in each API generation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from renderhub.api.errors import error_object
from renderhub.status import SessionStatus
from renderhub.store.records import SessionRecord
from renderhub.timespan import format_timespan


def iso_time(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def session_2021(record: SessionRecord, now: float) -> dict[str, Any]:
    """The 2021-01-01 session object (Stopping reads as Stopped there)."""
    status = record.status.as_2021()
    body: dict[str, Any] = {
        "id": record.id,
        "size": record.size.value,
        "status": status.value,
        "creationTime": iso_time(record.created_at),
        "maxLeaseTimeMinutes": record.lease_seconds // 60,
        "error": _error_2021(record),
    }
    if record.ready_at is not None:
        body["elapsedTimeMinutes"] = int(record.elapsed_seconds(now) // 60)
    if status is not SessionStatus.STARTING and record.hostname:
        body["hostname"] = record.hostname
        body["handshakePort"] = record.handshake_port
        body["arrInspectorPort"] = record.inspector_port
        if record.teraflops is not None:
            body["teraflops"] = record.teraflops
    return body


def _error_2021(record: SessionRecord) -> dict[str, Any] | None:
    if record.status is not SessionStatus.ERROR:
        return None
    return error_object(
        record.error_code or "SessionFailed", record.message or "The session failed."
    )


def properties_v1(record: SessionRecord, now: float) -> dict[str, Any]:
    """The v1 'session properties' object."""
    body: dict[str, Any] = {
        "message": record.message,
        "sessionElapsedTime": format_timespan(timedelta(seconds=record.elapsed_seconds(now))),
        "sessionHostname": record.hostname if record.status is not SessionStatus.STARTING else None,
        "sessionId": record.id,
        "sessionMaxLeaseTime": format_timespan(timedelta(seconds=record.lease_seconds)),
        "sessionSize": record.size.value,
        "sessionStatus": record.status.value,
    }
    if record.status is not SessionStatus.STARTING and record.hostname:
        body["handshakePort"] = record.handshake_port
        body["arrInspectorPort"] = record.inspector_port
    return body
