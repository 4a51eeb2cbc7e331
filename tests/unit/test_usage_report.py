"""The usage report as pure computation: clipping, splitting at UTC days and months, sums
that are exact, prices; and the query's parsing with its 400s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renderhub.admin.usage import (
    MICROS,
    Period,
    Prices,
    UsageQuery,
    _moment_micros,
    build_report,
    to_micros,
)
from renderhub.admin.usage_query import parse_usage_query
from renderhub.errors import BadRequest
from renderhub.sizes import SessionSize
from renderhub.store.records import UsageInterval

STANDARD, PREMIUM = SessionSize.STANDARD, SessionSize.PREMIUM
ACME = "0c6e4a3e-4a5f-4c1b-9d0e-000000000001"
GLOBEX = "0c6e4a3e-4a5f-4c1b-9d0e-000000000002"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def interval(
    begin: str, end: str | None, size: SessionSize = STANDARD, account: str = ACME
) -> UsageInterval:
    ended = None if end is None else at(end).timestamp()
    return UsageInterval(account, f"s-{begin}", size, at(begin).timestamp(), ended)


def test_an_interval_over_midnight_is_split_into_its_days_and_clipped_to_the_query() -> None:
    query = UsageQuery(since=at("2026-12-01T00:00:00"), until=at("2026-12-03T00:00:00"))
    intervals = [
        interval("2026-11-30T23:00:00", "2026-12-01T01:30:00"),  # 1 h 30 inside
        interval("2026-12-01T23:15:00", "2026-12-02T00:45:00", PREMIUM),  # 45 min + 45 min
        interval("2026-12-02T23:59:59.250", "2026-12-03T02:00:00"),  # 0.75 s inside
        interval("2026-12-03T00:00:00", "2026-12-03T05:00:00"),  # outside: until is exclusive
    ]
    report = build_report(intervals, query, at("2026-12-10T00:00:00"), Prices(3.0, 12.0, "EUR"))
    body = report.json()
    assert [(r["period"], r["size"], r["seconds"]) for r in body["rows"]] == [
        ("2026-12-01", "Premium", 2700.0),
        ("2026-12-01", "Standard", 5400.0),
        ("2026-12-02", "Premium", 2700.0),
        ("2026-12-02", "Standard", 0.75),
    ]
    assert body["rows"][1] == {
        "period": "2026-12-01",
        "accountId": ACME,
        "size": "Standard",
        "seconds": 5400.0,
        "hours": 1.5,
        "cost": 4.5,
    }
    assert body["totals"] == [
        {"accountId": ACME, "size": "Premium", "seconds": 5400.0, "hours": 1.5, "cost": 18.0},
        {
            "accountId": ACME,
            "size": "Standard",
            "seconds": 5400.75,
            "hours": 1.500208,
            "cost": 4.500625,
        },
    ]
    assert body["total"] == {"seconds": 10800.75, "hours": 3.000208, "cost": 22.500625}
    assert body["currency"] == "EUR"
    assert body["prices"] == {"Standard": 3.0, "Premium": 12.0}
    assert (body["since"], body["until"], body["by"]) == (
        "2026-12-01T00:00:00Z",
        "2026-12-03T00:00:00Z",
        "day",
    )


def test_an_open_interval_ends_now_and_months_split_at_the_first() -> None:
    query = UsageQuery(
        since=at("2026-01-01T00:00:00"), until=at("2027-01-01T00:00:00"), by=Period.MONTH
    )
    intervals = [
        interval("2026-11-30T22:00:00", None, account=GLOBEX),
        interval("2026-11-15T10:00:00", "2026-11-15T10:00:10"),
    ]
    report = build_report(intervals, query, at("2026-12-01T03:00:00"), Prices())
    assert [(r["period"], r["accountId"], r["seconds"]) for r in report.json()["rows"]] == [
        ("2026-11", ACME, 10.0),
        ("2026-11", GLOBEX, 7200.0),
        ("2026-12", GLOBEX, 10800.0),
    ]
    assert report.json()["total"] == {"seconds": 18010.0, "hours": 5.002778, "cost": 0.0}


def test_account_and_size_filters_keep_only_their_rows() -> None:
    since, until = at("2026-12-01T00:00:00"), at("2026-12-02T00:00:00")
    intervals = [
        interval("2026-12-01T01:00:00", "2026-12-01T02:00:00", STANDARD, ACME),
        interval("2026-12-01T01:00:00", "2026-12-01T03:00:00", PREMIUM, ACME),
        interval("2026-12-01T01:00:00", "2026-12-01T04:00:00", PREMIUM, GLOBEX),
    ]
    now = at("2026-12-05T00:00:00")
    only_premium = build_report(intervals, UsageQuery(since, until, size=PREMIUM), now, Prices())
    assert only_premium.total.micros == 5 * 3600 * MICROS
    only_acme = build_report(intervals, UsageQuery(since, until, account_id=ACME), now, Prices())
    assert only_acme.total.micros == 3 * 3600 * MICROS
    assert {row.account_id for row in only_acme.rows} == {ACME}


def test_an_empty_report_has_zero_totals() -> None:
    query = UsageQuery(since=at("2026-12-01T00:00:00"), until=at("2026-12-02T00:00:00"))
    body = build_report([], query, at("2026-12-05T00:00:00"), Prices()).json()
    assert (body["rows"], body["totals"]) == ([], [])
    assert body["total"] == {"seconds": 0.0, "hours": 0.0, "cost": 0.0}
    assert all(isinstance(value, float) for value in body["total"].values())  # 0.0, never 0


# -- property: totals over any period are the Ready time inside it, exactly -----------------

_BASE = at("2026-10-01T00:00:00")
_SPAN_MICROS = 120 * 86400 * MICROS  # four months, crossing month ends


def _moment(offset: int) -> datetime:
    return _BASE + timedelta(microseconds=offset)


_offsets = st.integers(min_value=0, max_value=_SPAN_MICROS)
_intervals = st.lists(
    st.tuples(
        _offsets,
        st.one_of(st.none(), st.integers(min_value=0, max_value=30 * 86400 * MICROS)),
        st.sampled_from([STANDARD, PREMIUM]),
        st.sampled_from([ACME, GLOBEX]),
    ),
    max_size=12,
)


def _ready_time_inside(intervals: list[UsageInterval], begin: int, end: int, now: int) -> int:
    """The intervals' time within [begin, end), the plain way: one clip per interval."""
    total = 0
    for item in intervals:
        ready = to_micros(item.ready_at)
        ended = now if item.ended_at is None else to_micros(item.ended_at)
        total += max(0, min(ended, end) - max(ready, begin))
    return total


@settings(max_examples=300, deadline=None)
@given(
    raw=_intervals,
    window=st.tuples(_offsets, _offsets),
    now_offset=_offsets,
    by=st.sampled_from(list(Period)),
)
def test_totals_over_any_period_equal_the_ready_time_inside_it(
    raw: list[tuple[int, int | None, SessionSize, str]],
    window: tuple[int, int],
    now_offset: int,
    by: Period,
) -> None:
    intervals = [
        UsageInterval(
            account,
            f"s{number}",
            size,
            _moment(begin).timestamp(),
            None if length is None else _moment(begin + length).timestamp(),
        )
        for number, (begin, length, size, account) in enumerate(raw)
    ]
    since, until = sorted(window)
    if since == until:
        until += 1
    now = _moment(now_offset)
    query = UsageQuery(since=_moment(since), until=_moment(until), by=by)
    report = build_report(intervals, query, now, Prices(3.0, 12.0))
    now_micros = _moment_micros(now)
    since_micros, until_micros = _moment_micros(query.since), _moment_micros(query.until)

    expected = _ready_time_inside(intervals, since_micros, until_micros, now_micros)
    assert report.total.micros == expected
    assert sum(row.amount.micros for row in report.rows) == expected
    assert sum(total.amount.micros for total in report.totals) == expected
    # Each period's rows hold exactly the Ready time inside that period (within the query).
    per_period: dict[str, int] = {}
    for row in report.rows:
        per_period[row.period] = per_period.get(row.period, 0) + row.amount.micros
    for label, micros in per_period.items():
        start = by.start_of(at(label + ("-01" if by is Period.MONTH else "")))
        begin = max(since_micros, _moment_micros(start))
        end = min(until_micros, _moment_micros(by.after(start)))
        assert micros == _ready_time_inside(intervals, begin, end, now_micros)
        assert micros > 0
    # Per account and size too.
    for total in report.totals:
        mine = [i for i in intervals if (i.account_id, i.size) == (total.account_id, total.size)]
        assert total.amount.micros == _ready_time_inside(
            mine, since_micros, until_micros, now_micros
        )


def test_rows_are_ordered_by_period_account_and_size() -> None:
    query = UsageQuery(since=at("2026-12-01T00:00:00"), until=at("2026-12-03T00:00:00"))
    intervals = [
        interval("2026-12-02T01:00:00", "2026-12-02T02:00:00", STANDARD, ACME),
        interval("2026-12-01T05:00:00", "2026-12-01T06:00:00", STANDARD, GLOBEX),
        interval("2026-12-01T07:00:00", "2026-12-01T08:00:00", STANDARD, ACME),
        interval("2026-12-01T09:00:00", "2026-12-01T10:00:00", PREMIUM, GLOBEX),
    ]
    rows = build_report(intervals, query, at("2026-12-05T00:00:00"), Prices()).rows
    assert [(r.period, r.account_id, r.size.value) for r in rows] == [
        ("2026-12-01", ACME, "Standard"),
        ("2026-12-01", GLOBEX, "Premium"),
        ("2026-12-01", GLOBEX, "Standard"),
        ("2026-12-02", ACME, "Standard"),
    ]


# -- parsing the query -----------------------------------------------------------------------

NOW = at("2026-12-02T14:05:00")


def test_the_defaults_are_this_month_until_now_by_day() -> None:
    query = parse_usage_query([], NOW)
    assert (query.since, query.until, query.by) == (at("2026-12-01T00:00:00"), NOW, Period.DAY)
    assert (query.account_id, query.size) == (None, None)


def test_dates_date_times_and_offsets_are_read_as_utc() -> None:
    query = parse_usage_query(
        [
            ("since", "2026-11-01"),
            ("until", "2026-12-01T08:00:00+02:00"),
            ("by", "month"),
            ("account", ACME.upper()),
            ("size", "premium"),
        ],
        NOW,
    )
    assert query.since == at("2026-11-01T00:00:00")
    assert query.until == at("2026-12-01T06:00:00")
    assert (query.by, query.account_id, query.size) == (Period.MONTH, ACME, PREMIUM)
    assert parse_usage_query([("until", "2026-12-01T08:00:00Z")], NOW).until == at(
        "2026-12-01T08:00:00"
    )
    # An offset's '+' that arrived unencoded (a space) still reads as an offset.
    spaced = parse_usage_query([("until", "2026-12-01T08:00:00 02:00")], NOW)
    assert spaced.until == at("2026-12-01T06:00:00")


def test_an_until_at_the_first_of_a_month_reports_the_month_it_closes() -> None:
    query = parse_usage_query([("until", "2026-12-01")], NOW)
    assert (query.since, query.until) == (at("2026-11-01T00:00:00"), at("2026-12-01T00:00:00"))


@pytest.mark.parametrize(
    ("items", "target", "words"),
    [
        ([("since", "2026-13-01")], "since", "since: '2026-13-01' is not a date (use ISO 8601"),
        ([("until", "yesterday")], "until", "until: 'yesterday' is not a date"),
        ([("since", "2026-12-03")], "since", "is not before until"),
        ([("since", "2026-12-01"), ("until", "2026-12-01")], "since", "is not before until"),
        ([("since", "2016-12-01T14:04:59Z")], "since", "more than 10 years"),
        ([("by", "week")], "by", "by: 'week' is not a period (use day or month)"),
        ([("account", "acme")], "account", "account: 'acme' is not an account id"),
        ([("size", "Huge")], "size", "size: 'Huge' is not a session size"),
        ([("by", "day"), ("by", "month")], "by", "by: give it once"),
    ],
)
def test_a_bad_value_is_a_400_naming_the_parameter(
    items: list[tuple[str, str]], target: str, words: str
) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_usage_query(items, NOW)
    assert raised.value.target == target
    assert words in raised.value.message


def test_exactly_ten_years_is_allowed() -> None:
    query = parse_usage_query([("since", "2016-12-02T14:05:00Z")], NOW)
    assert query.until - query.since > timedelta(days=3650)
