"""The Quotas body of the admin API: every field optional (missing is null, no limit), each a
whole number within the limits docs/admin-api.md gives; anything else is a 400 naming it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, PlainValidator

from renderhub.quotas import (
    LEASE_MINUTES_RANGE,
    MAX_CONVERSIONS_LIMIT,
    MAX_SESSIONS_LIMIT,
    Quotas,
)
from renderhub.validation import WireBody


def _limit(low: int, high: int, unit: str) -> PlainValidator:
    """null, or a whole JSON number of `unit` from `low` to `high`."""

    def validate(value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"must be null or a whole number of {unit} from {low} to {high:,}")
        return value

    return PlainValidator(validate)


SessionLimit = Annotated[int | None, _limit(0, MAX_SESSIONS_LIMIT, "sessions")]
LeaseLimit = Annotated[int | None, _limit(*LEASE_MINUTES_RANGE, "minutes")]
ConversionLimit = Annotated[int | None, _limit(0, MAX_CONVERSIONS_LIMIT, "conversions")]


class QuotasBody(WireBody):
    max_standard_sessions: SessionLimit = Field(None, alias="maxStandardSessions")
    max_premium_sessions: SessionLimit = Field(None, alias="maxPremiumSessions")
    max_lease_minutes: LeaseLimit = Field(None, alias="maxLeaseMinutes")
    max_conversions: ConversionLimit = Field(None, alias="maxConversions")

    def quotas(self) -> Quotas:
        return Quotas(
            max_standard_sessions=self.max_standard_sessions,
            max_premium_sessions=self.max_premium_sessions,
            max_lease_minutes=self.max_lease_minutes,
            max_conversions=self.max_conversions,
        )
