"""The usage report: metered Ready time per period, account and size, priced per size-hour.

Pure computation over the store's intervals. Moments are counted in whole microseconds (what
a datetime holds, and what an epoch float near today still resolves exactly), so every sum is
exact: the rows of any period add up to the sessions' Ready time in it, and the totals to the
rows. Seconds are rounded to the millisecond only when written out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from renderhub.settings import Settings
from renderhub.sizes import SessionSize
from renderhub.store.records import UsageInterval
from renderhub.store.usage import UsageStore

MICROS = 1_000_000
_MICROS_PER_HOUR = 3600 * MICROS


class Period(StrEnum):
    DAY = "day"
    MONTH = "month"

    def start_of(self, moment: datetime) -> datetime:
        """The start (UTC) of the period holding `moment`."""
        day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return day if self is Period.DAY else day.replace(day=1)

    def after(self, start: datetime) -> datetime:
        """The start of the period after the one starting at `start` (the end of time after
        the last one a datetime holds)."""
        try:
            if self is Period.DAY:
                return start + timedelta(days=1)
            if start.month == 12:
                return start.replace(year=start.year + 1, month=1)
            return start.replace(month=start.month + 1)
        except (OverflowError, ValueError):
            return datetime.max.replace(tzinfo=UTC)

    def label(self, start: datetime) -> str:
        return start.strftime("%Y-%m-%d" if self is Period.DAY else "%Y-%m")


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """What to report on: Ready time in [since, until), per `by`, optionally one account or
    size. `since` and `until` are timezone-aware."""

    since: datetime
    until: datetime
    by: Period = Period.DAY
    account_id: str | None = None
    size: SessionSize | None = None


@dataclass(frozen=True, slots=True)
class Prices:
    """The price of one session-hour per size, in `currency`."""

    standard_hour: float = 0.0
    premium_hour: float = 0.0
    currency: str = "USD"

    @classmethod
    def of(cls, settings: Settings) -> Prices:
        return cls(
            settings.price_standard_hour, settings.price_premium_hour, settings.price_currency
        )

    def per_hour(self, size: SessionSize) -> float:
        return self.standard_hour if size is SessionSize.STANDARD else self.premium_hour


@dataclass(frozen=True, slots=True)
class Amount:
    """Metered time, in whole microseconds, and what it costs."""

    micros: int
    cost: float

    @property
    def seconds(self) -> float:
        return self.micros / MICROS

    @property
    def hours(self) -> float:
        return self.micros / _MICROS_PER_HOUR

    def json(self) -> dict[str, float]:
        return {
            "seconds": round(self.seconds, 3),
            "hours": round(self.hours, 6),
            "cost": round(self.cost, 6),
        }


@dataclass(frozen=True, slots=True)
class UsageRow:
    period: str
    account_id: str
    size: SessionSize
    amount: Amount


@dataclass(frozen=True, slots=True)
class UsageTotal:
    account_id: str
    size: SessionSize
    amount: Amount


@dataclass(frozen=True, slots=True)
class UsageReport:
    query: UsageQuery
    prices: Prices
    rows: list[UsageRow]
    totals: list[UsageTotal]
    total: Amount

    def json(self) -> dict[str, object]:
        """The report as GET /admin/usage answers it (docs/admin-api.md, "Usage")."""
        return {
            "since": iso_z(self.query.since),
            "until": iso_z(self.query.until),
            "by": self.query.by.value,
            "currency": self.prices.currency,
            "prices": {size.value: self.prices.per_hour(size) for size in SessionSize},
            "rows": [
                {"period": row.period, "accountId": row.account_id, "size": row.size.value}
                | row.amount.json()
                for row in self.rows
            ],
            "totals": [
                {"accountId": total.account_id, "size": total.size.value} | total.amount.json()
                for total in self.totals
            ],
            "total": self.total.json(),
        }


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second (or finer where the moment has a fraction)."""
    utc = moment.astimezone(UTC)
    spec = "seconds" if utc.microsecond == 0 else "microseconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def to_micros(epoch_seconds: float) -> int:
    """An epoch moment in whole microseconds (exact for a float made from a datetime)."""
    return round(epoch_seconds * MICROS)


def _moment_micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def report_from(
    store: UsageStore, query: UsageQuery, now: datetime, prices: Prices
) -> UsageReport:
    """The report on the intervals in the store (what both the API and the CLI answer)."""
    intervals = await store.overlapping(
        query.since.timestamp(),
        query.until.timestamp(),
        account_id=query.account_id,
        size=query.size,
    )
    return build_report(intervals, query, now, prices)


def build_report(
    intervals: Iterable[UsageInterval], query: UsageQuery, now: datetime, prices: Prices
) -> UsageReport:
    """Clip each interval to [since, until) (an open one ends at `now`), split it at the
    period boundaries, and sum per (period, account, size), per (account, size) and in all."""
    per_row: dict[tuple[str, str, SessionSize], int] = defaultdict(int)
    since, until = _moment_micros(query.since), _moment_micros(query.until)
    now_micros = _moment_micros(now)
    for interval in intervals:
        if not _selected(interval, query):
            continue
        begin = max(to_micros(interval.ready_at), since)
        ended = now_micros if interval.ended_at is None else to_micros(interval.ended_at)
        end = min(ended, until)
        for label, micros in _split(begin, end, query.by):
            per_row[(label, interval.account_id, interval.size)] += micros
    return _report(per_row, query, prices)


def _selected(interval: UsageInterval, query: UsageQuery) -> bool:
    if query.account_id is not None and interval.account_id != query.account_id:
        return False
    return query.size is None or interval.size is query.size


def _split(begin: int, end: int, by: Period) -> Iterator[tuple[str, int]]:
    """The microseconds of [begin, end) in each period it touches (nothing if it is empty)."""
    if end <= begin:
        return
    start = by.start_of(_EPOCH + timedelta(microseconds=begin))
    while _moment_micros(start) < end:
        following = by.after(start)
        piece = min(end, _moment_micros(following)) - max(begin, _moment_micros(start))
        if piece > 0:
            yield by.label(start), piece
        start = following


def _report(
    per_row: dict[tuple[str, str, SessionSize], int], query: UsageQuery, prices: Prices
) -> UsageReport:
    def priced(micros: int, size: SessionSize) -> Amount:
        return Amount(micros, micros * prices.per_hour(size) / _MICROS_PER_HOUR)

    order = sorted(per_row, key=lambda key: (key[0], key[1], key[2].value))
    rows = [UsageRow(p, a, s, priced(per_row[(p, a, s)], s)) for p, a, s in order]
    per_total: dict[tuple[str, SessionSize], int] = defaultdict(int)
    for row in rows:
        per_total[(row.account_id, row.size)] += row.amount.micros
    totals = [
        UsageTotal(account_id, size, priced(micros, size))
        for (account_id, size), micros in sorted(
            per_total.items(), key=lambda item: (item[0][0], item[0][1].value)
        )
    ]
    total = Amount(sum(t.amount.micros for t in totals), sum((t.amount.cost for t in totals), 0.0))
    return UsageReport(query, prices, rows, totals, total)
