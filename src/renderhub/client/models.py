"""What the client hands back: typed sessions, the same for both API generations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from renderhub.sizes import SessionSize
from renderhub.status import SessionStatus
from renderhub.timespan import parse_timespan


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    status: SessionStatus
    size: SessionSize
    max_lease: timedelta
    elapsed: timedelta
    creation_time: datetime | None = None
    hostname: str | None = None
    handshake_port: int | None = None
    inspector_port: int | None = None
    teraflops: float | None = None
    error_code: str | None = None
    message: str | None = None

    @property
    def viewer_url(self) -> str | None:
        """The page a person opens to see the session (add '#token=<access token>')."""
        if self.status is not SessionStatus.READY or not self.hostname:
            return None
        return f"http://{_host(self.hostname)}:{self.handshake_port}/viewer"

    @property
    def inspector_url(self) -> str | None:
        if self.status is not SessionStatus.READY or not self.hostname:
            return None
        return f"http://{_host(self.hostname)}:{self.handshake_port}/inspector"

    @classmethod
    def from_2021(cls, body: dict[str, Any]) -> Session:
        error = body.get("error") or {}
        created = body.get("creationTime")
        return cls(
            id=body["id"],
            status=SessionStatus(body["status"]),
            size=SessionSize.parse(body["size"]),
            max_lease=timedelta(minutes=body.get("maxLeaseTimeMinutes") or 0),
            elapsed=timedelta(minutes=body.get("elapsedTimeMinutes") or 0),
            creation_time=datetime.fromisoformat(created.replace("Z", "+00:00"))
            if created
            else None,
            hostname=body.get("hostname"),
            handshake_port=body.get("handshakePort"),
            inspector_port=body.get("arrInspectorPort"),
            teraflops=body.get("teraflops"),
            error_code=error.get("code"),
            message=error.get("message"),
        )

    @classmethod
    def from_v1(cls, body: dict[str, Any]) -> Session:
        return cls(
            id=body["sessionId"],
            status=SessionStatus(body["sessionStatus"]),
            size=SessionSize.parse(body.get("sessionSize") or "Standard"),
            max_lease=parse_timespan(body["sessionMaxLeaseTime"]),
            elapsed=parse_timespan(body["sessionElapsedTime"]),
            hostname=body.get("sessionHostname"),
            handshake_port=body.get("handshakePort"),
            inspector_port=body.get("arrInspectorPort"),
            message=body.get("message"),
        )

    def to_json(self) -> dict[str, Any]:
        """A plain JSON object, for `--output json`."""
        return {
            "id": self.id,
            "status": self.status.value,
            "size": self.size.value,
            "maxLeaseTimeMinutes": int(self.max_lease.total_seconds() // 60),
            "elapsedTimeMinutes": int(self.elapsed.total_seconds() // 60),
            "creationTime": self.creation_time.isoformat() if self.creation_time else None,
            "hostname": self.hostname,
            "handshakePort": self.handshake_port,
            "arrInspectorPort": self.inspector_port,
            "teraflops": self.teraflops,
            "errorCode": self.error_code,
            "message": self.message,
            "viewerUrl": self.viewer_url,
        }


def _host(hostname: str) -> str:
    return f"[{hostname}]" if ":" in hostname else hostname
