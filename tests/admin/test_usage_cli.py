"""`renderhub usage` on the server's store: the same figures as GET /admin/usage, exactly, as
a table (h:mm:ss and a total row), as JSON (the API's) and as CSV."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from renderhub.cli.main import cli
from renderhub.clock import ManualClock
from renderhub.settings import Settings
from tests.admin.usage_helpers import PRICES, SCENARIO_START, play_scenario, stop, stored_status
from tests.conftest import ControlPlane, make_settings

WINDOW = ["--since", "2026-12-01", "--until", "2026-12-03T00:00:00Z"]
PRICE_ENV = {
    "RENDERHUB_PRICE_STANDARD_HOUR": "2.5",
    "RENDERHUB_PRICE_PREMIUM_HOUR": "12",
    "RENDERHUB_PRICE_CURRENCY": "EUR",
    "RENDERHUB_ADMIN_TOKEN": None,
    "RENDERHUB_ENDPOINT": None,
    "COLUMNS": "200",
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SCENARIO_START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", **PRICES)


async def _run(*arguments: str) -> Result:
    """The command in a thread (it runs its own event loop), as a shell would run it."""
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, cli, ["usage", *arguments], env=PRICE_ENV, catch_exceptions=False
    )


async def _settled_scenario(plane: ControlPlane) -> Any:
    """The scenario with its last Ready session stopped at 01:00, so that the command (on the
    system clock) and the API (on the manual one) meter the same closed intervals."""
    scenario = await play_scenario(plane)
    await stop(plane, "open")
    await stored_status(plane, "open", "Stopped")
    return scenario


async def test_json_is_the_apis_report(plane: ControlPlane) -> None:
    await _settled_scenario(plane)
    data_dir = str(plane.settings.data_dir)
    result = await _run("--data-dir", data_dir, *WINDOW, "--output", "json")
    assert result.exit_code == 0, result.output
    params = {"since": "2026-12-01", "until": "2026-12-03T00:00:00Z"}
    api = await plane.client.get("/admin/usage", params=params, headers=plane.admin_auth)
    assert json.loads(result.output) == api.json()
    monthly = await _run("--data-dir", data_dir, *WINDOW, "--by", "month", "--output", "json")
    body = json.loads(monthly.output)
    assert [row["period"] for row in body["rows"]] == ["2026-12"] * 3
    assert body["total"]["seconds"] == 10800.0 + 11700.0 + 1830.125


async def test_csv_has_a_header_and_one_line_per_row(plane: ControlPlane) -> None:
    scenario = await _settled_scenario(plane)
    first, second = scenario.first, scenario.second
    result = await _run("--data-dir", str(plane.settings.data_dir), *WINDOW, "--output", "csv")
    assert result.exit_code == 0, result.output
    rows = [
        f"2026-12-01,{first},Premium,7200.000,2.000000,24.000000",
        f"2026-12-01,{first},Standard,9000.000,2.500000,6.250000",
        f"2026-12-02,{first},Premium,3600.000,1.000000,12.000000",
        f"2026-12-02,{first},Standard,2700.000,0.750000,1.875000",
        f"2026-12-02,{second},Standard,1830.125,0.508368,1.270920",
    ]
    by_period_account_size = sorted(rows, key=lambda line: line.split(",")[:3])
    assert result.output.splitlines() == [
        "period,account,size,seconds,hours,cost",
        *by_period_account_size,
    ]


async def test_the_table_shows_durations_and_a_total_row(plane: ControlPlane) -> None:
    scenario = await _settled_scenario(plane)
    result = await _run("--data-dir", str(plane.settings.data_dir), *WINDOW)
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.replace("│", " ").split()) for line in result.output.splitlines()]
    assert f"2026-12-01 {scenario.first} Premium 2:00:00 2.000000 24.000000" in lines
    assert f"2026-12-01 {scenario.first} Standard 2:30:00 2.500000 6.250000" in lines
    assert f"2026-12-02 {scenario.second} Standard 0:30:30.125 0.508368 1.270920" in lines
    total_seconds = 10800.0 + 11700.0 + 1830.125  # 6:45:30.125
    assert f"Total 6:45:30.125 {total_seconds / 3600:.6f} 45.395920" in lines
    assert "Cost (EUR)" in result.output
    assert "Standard 2.5 EUR/h, Premium 12 EUR/h" in result.output


async def test_a_bad_date_is_one_sentence_naming_the_option(tmp_path: Path) -> None:
    result = await _run("--data-dir", str(tmp_path), "--since", "2026-13-01")
    assert result.exit_code == 1
    assert "since: '2026-13-01' is not a date (use ISO 8601" in result.output
    week = await _run("--data-dir", str(tmp_path), "--by", "week")
    assert week.exit_code == 2
    assert "'week' is not one of 'day', 'month'" in week.output
