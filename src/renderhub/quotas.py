"""Per-account quotas and what counts against them: the vocabulary shared by the store, the
services that enforce the quotas and the admin API that sets them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from renderhub.errors import Forbidden, RenderHubError, TooManyRequests
from renderhub.sizes import SessionSize

# What a quota may be set to (docs/admin-api.md): beyond these a value is a typo, not a plan.
MAX_SESSIONS_LIMIT = 10_000
LEASE_MINUTES_RANGE = (1, 525_600)  # a year
MAX_CONVERSIONS_LIMIT = 1_000


class HasQuotas(Protocol):
    """Anything carrying the four quota values (an AccountRecord)."""

    @property
    def max_standard_sessions(self) -> int | None: ...
    @property
    def max_premium_sessions(self) -> int | None: ...
    @property
    def max_lease_minutes(self) -> int | None: ...
    @property
    def max_conversions(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Quotas:
    """An account's limits; None is no limit (the service's capacity per size still applies)."""

    max_standard_sessions: int | None = None
    max_premium_sessions: int | None = None
    max_lease_minutes: int | None = None
    max_conversions: int | None = None

    @classmethod
    def of(cls, record: HasQuotas) -> Quotas:
        """The quotas an account record carries."""
        return cls(
            max_standard_sessions=record.max_standard_sessions,
            max_premium_sessions=record.max_premium_sessions,
            max_lease_minutes=record.max_lease_minutes,
            max_conversions=record.max_conversions,
        )

    def limit_for(self, size: SessionSize) -> int | None:
        """The most sessions of `size` the account may have at once."""
        if size is SessionSize.PREMIUM:
            return self.max_premium_sessions
        return self.max_standard_sessions

    def columns(self) -> dict[str, int | None]:
        """The quotas as the accounts table's column values (same names)."""
        return {
            "max_standard_sessions": self.max_standard_sessions,
            "max_premium_sessions": self.max_premium_sessions,
            "max_lease_minutes": self.max_lease_minutes,
            "max_conversions": self.max_conversions,
        }


NO_QUOTAS = Quotas()


def _no_sessions() -> dict[SessionSize, int]:
    return {size: 0 for size in SessionSize}


@dataclass(frozen=True, slots=True)
class ActiveCounts:
    """What an account runs now: sessions Starting, Ready or Stopping per size, and
    conversions not yet ended."""

    sessions: dict[SessionSize, int] = field(default_factory=_no_sessions)
    conversions: int = 0


ACCOUNT_DISABLED = "The account is disabled."
# How soon a create refused at a quota may be tried again: a session or conversion of the
# account has to end first, which takes a while.
QUOTA_RETRY_AFTER_SECONDS = 30


def _at_once(limit: int, thing: str) -> str:
    return f"{limit} {thing}{'' if limit == 1 else 's'} at once"


def over_quota(limit: int, thing: str) -> RenderHubError:
    """A create refused at a quota of `limit` `thing`s at once: 429 while one may end (the
    retry can work), 403 where the quota is 0 (no retry can)."""
    if limit == 0:
        return Forbidden(f"The account's quota of {_at_once(0, thing)} allows none.")
    return TooManyRequests(
        f"The account's quota of {_at_once(limit, thing)} is reached.",
        retry_after=QUOTA_RETRY_AFTER_SECONDS,
    )


def sessions_over_quota(quotas: Quotas, size: SessionSize) -> RenderHubError:
    return over_quota(quotas.limit_for(size) or 0, f"{size.value} session")


def conversions_over_quota(quotas: Quotas) -> RenderHubError:
    return over_quota(quotas.max_conversions or 0, "conversion")


def check_lease(quotas: Quotas, lease_seconds: int) -> None:
    """Refuse (403: retrying cannot help) a lease beyond the account's quota."""
    limit = quotas.max_lease_minutes
    if limit is not None and lease_seconds > limit * 60:
        raise Forbidden(f"The account's quota allows leases of at most {limit} minutes.")
