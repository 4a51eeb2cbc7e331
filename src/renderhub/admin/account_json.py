"""An account as the admin API writes it (docs/admin-api.md, "Account" and "Quotas")."""

from __future__ import annotations

from typing import Any

from renderhub.api.presenters import iso_time
from renderhub.quotas import ActiveCounts, Quotas
from renderhub.sizes import SessionSize
from renderhub.store.records import AccountRecord


def quotas_json(quotas: Quotas) -> dict[str, int | None]:
    return {
        "maxStandardSessions": quotas.max_standard_sessions,
        "maxPremiumSessions": quotas.max_premium_sessions,
        "maxLeaseMinutes": quotas.max_lease_minutes,
        "maxConversions": quotas.max_conversions,
    }


def account_json(record: AccountRecord, counts: ActiveCounts | None = None) -> dict[str, Any]:
    """The Account shape; `counts` None (an account just created) is nothing running."""
    counts = counts or ActiveCounts()
    return {
        "accountId": record.id,
        "name": record.name,
        "created": iso_time(record.created_at),
        "disabled": record.disabled,
        "disabledAt": iso_time(record.disabled_at) if record.disabled_at is not None else None,
        "quotas": quotas_json(Quotas.of(record)),
        "activeSessions": {size.value: counts.sessions.get(size, 0) for size in SessionSize},
        "activeConversions": counts.conversions,
    }
