"""GET /admin/usage on a control plane with a manual clock: sessions made Ready, stopped,
expired and failed around midnight; the report's seconds are exact, by day and by month, per
account and size; bad values are 400s naming the parameter; only an admin token gets in."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from renderhub.clock import ManualClock
from renderhub.settings import Settings
from tests.admin.usage_helpers import PRICES, SCENARIO_START, play_scenario, stop
from tests.conftest import ControlPlane, make_settings

USAGE = "/admin/usage"
DAYS = {"since": "2026-12-01", "until": "2026-12-03"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SCENARIO_START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", **PRICES)


async def _usage(plane: ControlPlane, **params: str) -> dict[str, Any]:
    response = await plane.client.get(USAGE, params=params, headers=plane.admin_auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _figures(seconds: float, price: float) -> dict[str, float]:
    return {
        "seconds": round(seconds, 3),
        "hours": round(seconds / 3600, 6),
        "cost": round(seconds / 3600 * price, 6),
    }


async def test_the_report_holds_each_sessions_ready_time_exactly(plane: ControlPlane) -> None:
    scenario = await play_scenario(plane)
    body = await _usage(plane, **DAYS)
    price = {"Standard": 2.5, "Premium": 12.0}
    assert body["rows"] == [
        {"period": period, "accountId": account, "size": size} | _figures(seconds, price[size])
        for (period, account, size), seconds in sorted(scenario.expected.items())
    ]
    first, second = scenario.first, scenario.second
    totals = {
        (first, "Premium"): 10800.0,
        (first, "Standard"): 9000.0 + 2700.0,
        (second, "Standard"): 1830.125,
    }
    assert body["totals"] == [
        {"accountId": account, "size": size} | _figures(seconds, price[size])
        for (account, size), seconds in sorted(totals.items())
    ]
    assert body["total"] == {
        "seconds": 10800.0 + 11700.0 + 1830.125,
        "hours": round((10800.0 + 11700.0 + 1830.125) / 3600, 6),
        "cost": round(3.0 * 12.0 + (11700.0 + 1830.125) / 3600 * 2.5, 6),
    }
    assert body["since"] == "2026-12-01T00:00:00Z"
    assert body["until"] == "2026-12-03T00:00:00Z"
    assert (body["by"], body["currency"], body["prices"]) == (
        "day",
        "EUR",
        {"Standard": 2.5, "Premium": 12.0},
    )


async def test_an_open_interval_grows_with_the_clock_and_ends_at_its_stop(
    plane: ControlPlane,
) -> None:
    scenario = await play_scenario(plane)
    key = ("2026-12-02", scenario.first, "Premium")
    assert _seconds(await _usage(plane, **DAYS), key) == 3600.0
    plane.clock.advance(timedelta(minutes=10))
    assert _seconds(await _usage(plane, **DAYS), key) == 4200.0
    await stop(plane, "open")
    plane.clock.advance(timedelta(minutes=60))
    assert _seconds(await _usage(plane, **DAYS), key) == 4200.0


async def test_by_month_account_size_and_a_window_inside_a_day(plane: ControlPlane) -> None:
    scenario = await play_scenario(plane)
    first, second = scenario.first, scenario.second
    monthly = await _usage(plane, since="2026-11-01", until="2027-01-01", by="month")
    rows = [(r["period"], r["accountId"], r["size"], r["seconds"]) for r in monthly["rows"]]
    assert rows == sorted(  # by period, account id (random UUIDs), size
        [
            ("2026-12", first, "Premium", 10800.0),
            ("2026-12", first, "Standard", 11700.0),
            ("2026-12", second, "Standard", 1830.125),
        ]
    )
    only_second = await _usage(plane, **DAYS, account=second)
    assert [row["accountId"] for row in only_second["rows"]] == [second]
    premium = await _usage(plane, **DAYS, size="premium")
    assert premium["total"]["seconds"] == 10800.0
    # 23:00 to 00:20:00.5 +01:00, i.e. 23:00 to 23:20:00.5 UTC.
    window = await _usage(plane, since="2026-12-01T23:00:00Z", until="2026-12-02T00:20:00.5+01:00")
    assert window["until"] == "2026-12-01T23:20:00.500000Z"
    # stopped: 23:00-23:20:00.5 (it stopped at 23:30); open: the same 1200.5 s.
    assert [(r["size"], r["seconds"]) for r in window["rows"]] == [
        ("Premium", 1200.5),
        ("Standard", 1200.5),
    ]


async def test_the_default_is_this_month_until_now(plane: ControlPlane) -> None:
    scenario = await play_scenario(plane)
    body = await _usage(plane)
    assert (body["since"], body["until"]) == ("2026-12-01T00:00:00Z", "2026-12-02T01:00:00Z")
    assert body["total"]["seconds"] == sum(scenario.expected.values())


@pytest.mark.parametrize(
    ("params", "target", "words"),
    [
        ({"since": "2026-13-01"}, "since", "since: '2026-13-01' is not a date (use ISO 8601, e.g."),
        ({"until": "tomorrow"}, "until", "until: 'tomorrow' is not a date"),
        ({"since": "2026-12-03", "until": "2026-12-02"}, "since", "is not before until"),
        ({"since": "2010-01-01", "until": "2026-12-02"}, "since", "more than 10 years"),
        ({"by": "hour"}, "by", "by: 'hour' is not a period (use day or month)."),
        ({"account": "acme"}, "account", "account: 'acme' is not an account id (a UUID)."),
        ({"size": "Large"}, "size", "size: 'Large' is not a session size"),
    ],
)
async def test_a_bad_value_is_a_400_naming_it(
    plane: ControlPlane, params: dict[str, str], target: str, words: str
) -> None:
    response = await plane.client.get(USAGE, params=params, headers=plane.admin_auth)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["target"]) == ("BadRequest", target)
    assert words in error["message"]


async def test_only_an_admin_token_gets_the_report(plane: ControlPlane) -> None:
    bare = await plane.client.get(USAGE)
    assert bare.status_code == 401
    assert bare.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    wrong = await plane.client.get(USAGE, headers={"Authorization": "Bearer rhadm_nope"})
    assert wrong.status_code == 401
    account = await plane.client.get(USAGE, headers=plane.auth)
    assert account.status_code == 403
    assert "use an admin token" in account.json()["error"]["message"]
    # The credential is checked before the query: a bad query without one is still a 401.
    assert (await plane.client.get(USAGE, params={"since": "x"})).status_code == 401
    assert (await plane.client.get(USAGE, headers=plane.admin_auth)).status_code == 200


def _seconds(body: dict[str, Any], key: tuple[str, str, str]) -> float:
    period, account, size = key
    [row] = [
        r
        for r in body["rows"]
        if (r["period"], r["accountId"], r["size"]) == (period, account, size)
    ]
    seconds: float = row["seconds"]
    return seconds
