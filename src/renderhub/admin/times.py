"""How the admin API writes a moment: ISO 8601 in UTC with a `Z`, to the second."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_time(epoch: float | None) -> str | None:
    """`2026-12-02T14:05:00Z` for an epoch time; None stays None (a moment not reached yet)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
