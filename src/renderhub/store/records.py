"""Plain records read from the store; the rest of the code never sees SQL rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from renderhub.conversions.jobs import (
    ConversionJob,
    ConversionStatus,
    InputLocation,
    OutputLocation,
)
from renderhub.sizes import SessionSize
from renderhub.status import SessionStatus


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: str
    name: str | None
    primary_key_hash: str
    secondary_key_hash: str
    created_at: float
    disabled_at: float | None = None
    max_standard_sessions: int | None = None  # quotas: None is no limit
    max_premium_sessions: int | None = None
    max_lease_minutes: int | None = None
    max_conversions: int | None = None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


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


@dataclass(frozen=True, slots=True)
class ConversionRecord:
    account_id: str
    id: str
    input: InputLocation
    output: OutputLocation
    status: ConversionStatus
    created_at: float
    attempts: int = 0
    error_code: str | None = None
    error_message: str | None = None
    output_asset_uri: str | None = None
    started_at: float | None = None
    ended_at: float | None = None
    claimed_by: str | None = None
    claimed_until: float | None = None

    @classmethod
    def from_row(cls, row: Any) -> ConversionRecord:
        values = dict(row._mapping)
        location = InputLocation(
            storage_container_uri=values.pop("input_container_uri"),
            relative_input_asset_path=values.pop("input_relative_path"),
            blob_prefix=values.pop("input_blob_prefix"),
            sas=values.pop("input_sas"),
        )
        destination = OutputLocation(
            storage_container_uri=values.pop("output_container_uri"),
            output_asset_filename=values.pop("output_asset_filename"),
            blob_prefix=values.pop("output_blob_prefix"),
            sas=values.pop("output_sas"),
        )
        values["status"] = ConversionStatus(values["status"])
        return cls(input=location, output=destination, **values)

    def columns(self) -> dict[str, Any]:
        """The record as the conversions table's column values."""
        return {
            "account_id": self.account_id,
            "id": self.id,
            "input_container_uri": self.input.storage_container_uri,
            "input_relative_path": self.input.relative_input_asset_path,
            "input_blob_prefix": self.input.blob_prefix,
            "input_sas": self.input.sas,
            "output_container_uri": self.output.storage_container_uri,
            "output_asset_filename": self.output.output_asset_filename,
            "output_blob_prefix": self.output.blob_prefix,
            "output_sas": self.output.sas,
            "status": self.status.value,
            "created_at": self.created_at,
            "attempts": self.attempts,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "output_asset_uri": self.output_asset_uri,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "claimed_by": self.claimed_by,
            "claimed_until": self.claimed_until,
        }

    def same_settings(self, other: ConversionRecord) -> bool:
        """Whether `other` asks for the same conversion (a client's retry of the create)."""
        return self.input == other.input and self.output == other.output

    def job(self) -> ConversionJob:
        return ConversionJob(conversion_id=self.id, input=self.input, output=self.output)


@dataclass(frozen=True, slots=True)
class UsageInterval:
    """One session's time in Ready: what usage is metered on. `ended_at` is None while the
    session is still Ready."""

    account_id: str
    session_id: str
    size: SessionSize
    ready_at: float
    ended_at: float | None
