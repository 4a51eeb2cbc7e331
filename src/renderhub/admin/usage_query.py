"""Reading a usage query (since, until, by, account, size) from its text, as GET /admin/usage
and `renderhub usage` both take it: a clear 400 naming the parameter for any bad value."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from renderhub.admin.usage import Period, UsageQuery, iso_z
from renderhub.errors import BadRequest
from renderhub.sizes import SessionSize

PARAMETERS = ("since", "until", "by", "account", "size")
MAX_SPAN_YEARS = 10
_DATE_HINT = "use ISO 8601, e.g. 2026-12-01 or 2026-12-01T08:00:00Z"
# An offset's '+' sent unencoded in a URL arrives as a space: "...T08:00:00 02:00".
_SPACED_OFFSET = re.compile(r"^(.*T.*\d) (\d{2}(:?\d{2})?)$")


def parse_usage_query(items: Iterable[tuple[str, str]], now: datetime) -> UsageQuery:
    """The query from (name, value) pairs; an empty value counts as not given. Defaults:
    until now, since the start of until's month (UTC), by day."""
    given = _single_values(items)
    until = _moment("until", given["until"]) if "until" in given else now
    since = _moment("since", given["since"]) if "since" in given else _month_start_before(until)
    _check_span(since, until)
    return UsageQuery(
        since=since,
        until=until,
        by=_period(given["by"]) if "by" in given else Period.DAY,
        account_id=_account(given["account"]) if "account" in given else None,
        size=_size(given["size"]) if "size" in given else None,
    )


def _single_values(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in items:
        if name not in PARAMETERS or not value.strip():
            continue
        if name in values:
            raise BadRequest(f"{name}: give it once.", target=name)
        values[name] = value.strip()
    return values


def _moment(name: str, text: str) -> datetime:
    """A date (midnight UTC) or a date-time (with Z or an offset; without one, UTC)."""
    spaced = _SPACED_OFFSET.match(text)
    candidate = f"{spaced.group(1)}+{spaced.group(2)}" if spaced else text
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise BadRequest(f"{name}: {text!r} is not a date ({_DATE_HINT}).", target=name) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise BadRequest(f"{name}: {text!r} is out of range.", target=name) from None


def _month_start_before(until: datetime) -> datetime:
    """The start of the month that holds the moment just before `until` (so that an `until`
    on the 1st at midnight reports the month it closes, not an empty span)."""
    start = Period.MONTH.start_of(until)
    if start < until or (start.year == datetime.min.year and start.month == 1):
        return start
    if start.month == 1:
        return start.replace(year=start.year - 1, month=12)
    return start.replace(month=start.month - 1)


def _check_span(since: datetime, until: datetime) -> None:
    if since >= until:
        raise BadRequest(
            f"since: {iso_z(since)} is not before until ({iso_z(until)}).", target="since"
        )
    if until > _years_after(since, MAX_SPAN_YEARS):
        raise BadRequest(
            f"since: {iso_z(since)} is more than {MAX_SPAN_YEARS} years before until "
            f"({iso_z(until)}); ask for at most {MAX_SPAN_YEARS} years at a time.",
            target="since",
        )


def _years_after(moment: datetime, years: int) -> datetime:
    if moment.year + years > datetime.max.year:
        return datetime.max.replace(tzinfo=UTC)
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # February 29th, in a year that has none
        return moment.replace(year=moment.year + years, month=3, day=1)


def _period(text: str) -> Period:
    try:
        return Period(text.lower())
    except ValueError:
        raise BadRequest(f"by: {text!r} is not a period (use day or month).", target="by") from None


def _account(text: str) -> str:
    """An account id (a UUID), written as the store writes it."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise BadRequest(
            f"account: {text!r} is not an account id (a UUID).", target="account"
        ) from None


def _size(text: str) -> SessionSize:
    try:
        return SessionSize.parse(text)
    except BadRequest:
        sizes = " or ".join(size.value for size in SessionSize)
        raise BadRequest(
            f"size: {text!r} is not a session size (use {sizes}).", target="size"
        ) from None
