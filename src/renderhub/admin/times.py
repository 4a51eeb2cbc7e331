"""How the admin API writes a moment: ISO 8601 in UTC with a `Z`, as the Account shape does
(renderhub.admin.account_json) and the session APIs do."""

from __future__ import annotations

from renderhub.api.presenters import iso_time


def utc_time(epoch: float | None) -> str | None:
    """`2026-12-02T14:05:00.000Z` for an epoch time; None (a moment not reached yet) stays
    None."""
    return None if epoch is None else iso_time(epoch)
