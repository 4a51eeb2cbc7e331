"""What the usage tests share: sessions brought to Ready, stopped, and their metered rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from renderhub.store.records import UsageInterval
from renderhub.store.usage import UsageStore
from tests.conftest import API, ControlPlane, wait_for


async def make_ready(plane: ControlPlane, session_id: str, **body: Any) -> dict[str, Any]:
    response = await plane.create(session_id, models=["samples/cube.glb"], **body)
    assert response.status_code == 201, response.text
    return await plane.wait_status(session_id, "Ready")


async def stop(plane: ControlPlane, session_id: str) -> None:
    url = f"/accounts/{plane.account.id}/sessions/{session_id}/:stop?{API}"
    response = await plane.client.post(url, headers=plane.auth)
    assert response.status_code in (200, 202, 204), response.text


async def stored_status(plane: ControlPlane, session_id: str, *statuses: str) -> Any:
    """Wait for one of `statuses` in the store; the session's row."""

    async def reached() -> Any:
        row = await plane.row(session_id)
        return row if row.status.value in statuses else None

    return await wait_for(reached, within=15)


async def metered(plane: ControlPlane, session_id: str) -> list[UsageInterval]:
    store: UsageStore = plane.app.state.usage
    return await store.of_session(plane.account.id, session_id)


# -- one day boundary, three ways out of Ready, two accounts, two sizes -----------------------

SCENARIO_START = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
SCENARIO_END = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
PRICES = {"price_standard_hour": 2.5, "price_premium_hour": 12.0, "price_currency": "EUR"}


@dataclass
class Scenario:
    """What happened, and each (period, account, size)'s Ready seconds, worked out by hand."""

    first: str
    second: str
    expected: dict[tuple[str, str, str], float]


async def play_scenario(plane: ControlPlane) -> Scenario:
    """From 22:00 to 01:00 UTC on a manual clock that starts at SCENARIO_START:

    - `stopped` (Standard) Ready 22:00, stopped 23:30: 5400 s on Dec 1;
    - `open` (Premium) Ready 22:00 and still Ready at 01:00: 7200 s + 3600 s;
    - `leased` (Standard, 60 min) Ready 23:30, expired by a late tick at 01:00: metered to its
      lease end, 00:30: 1800 s + 1800 s;
    - `doomed` (Standard) Ready 23:30, its host dies, failed at 00:15: 1800 s + 900 s;
    - `other` (Standard, a second account) Ready 00:15, stopped 00:45:30.125: 1830.125 s."""
    assert plane.clock.now() == SCENARIO_START
    await make_ready(plane, "stopped", maxLeaseTimeMinutes=120)
    await make_ready(plane, "open", size="Premium", maxLeaseTimeMinutes=240)
    plane.clock.advance(timedelta(minutes=90))
    await stop(plane, "stopped")
    await stored_status(plane, "stopped", "Stopped")
    await make_ready(plane, "leased", maxLeaseTimeMinutes=60)
    await make_ready(plane, "doomed", maxLeaseTimeMinutes=120)
    plane.clock.advance(timedelta(minutes=45))  # 00:15
    plane.backend.kill("doomed", message="The host was killed by signal 9.")
    await plane.scheduler.tick()
    await stored_status(plane, "doomed", "Error")
    second, second_token = await plane.new_account()
    other = plane.sessions_url("other", second.id)
    body = {"maxLeaseTimeMinutes": 60, "size": "Standard", "models": ["samples/cube.glb"]}
    headers = {"Authorization": f"Bearer {second_token}"}
    assert (await plane.client.put(other, json=body, headers=headers)).status_code == 201

    async def other_ready() -> bool:
        row = await plane.row("other", second.id)
        return row.status.value == "Ready"

    await wait_for(other_ready)
    plane.clock.advance(timedelta(minutes=30, seconds=30, milliseconds=125))  # 00:45:30.125
    stop_url = f"/accounts/{second.id}/sessions/other/:stop?{API}"
    assert (await plane.client.post(stop_url, headers=headers)).status_code == 204
    plane.clock.advance(timedelta(minutes=14, seconds=29, milliseconds=875))  # 01:00
    await plane.scheduler.tick()
    await stored_status(plane, "leased", "Expired")
    assert plane.clock.now() == SCENARIO_END
    first = plane.account.id
    return Scenario(
        first,
        second.id,
        {
            ("2026-12-01", first, "Premium"): 7200.0,
            ("2026-12-01", first, "Standard"): 5400.0 + 1800.0 + 1800.0,
            ("2026-12-02", first, "Premium"): 3600.0,
            ("2026-12-02", first, "Standard"): 1800.0 + 900.0,
            ("2026-12-02", second.id, "Standard"): 1830.125,
        },
    )
