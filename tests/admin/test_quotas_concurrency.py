"""Concurrent creates at a quota admit exactly the quota, on SQLite and on PostgreSQL: the
account's count and the insert are one transaction (under the size's lock for sessions, the
account's row lock for conversions)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from renderhub.clock import ManualClock
from renderhub.status import SessionStatus
from tests.conftest import ControlPlane, make_settings, running_control_plane, stop_all_hosts
from tests.conversions_service.api import body, storage_root, url
from tests.conversions_service.converters import SLOW_SECONDS_ENV
from tests.postgres import create_database, drop_database

CREATES = 20
QUOTA = 3


@pytest.fixture(params=["sqlite", "postgresql"])
async def plane(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ControlPlane]:
    """A control plane on either database whose capacity is far above the quota, and whose
    conversions take long enough that none ends while the test runs."""
    monkeypatch.setenv(SLOW_SECONDS_ENV, "60")
    database: dict[str, str] = {}
    if request.param == "postgresql":
        admin_url = request.getfixturevalue("postgres_admin_url")  # the server; a fresh database:
        database["database_url"] = await create_database(admin_url)
    settings = make_settings(
        tmp_path / "data",
        converter="tests.conversions_service.converters:scripted",
        allow_storage=[f"{storage_root(tmp_path)}/"],
        conversion_concurrency=1,
        capacity_standard=CREATES * 2,
        **database,
    )
    async with running_control_plane(settings, ManualClock()) as control_plane:
        try:
            yield control_plane
        finally:
            await stop_all_hosts(control_plane)
    if database:
        await drop_database(admin_url, database["database_url"])


async def set_quotas(plane: ControlPlane, **quotas: int) -> None:
    url = f"/admin/accounts/{plane.account.id}/quotas"
    response = await plane.client.put(url, json=quotas, headers=plane.admin_auth)
    assert response.status_code == 200, response.text


async def test_concurrent_session_creates_admit_exactly_the_quota(plane: ControlPlane) -> None:
    await set_quotas(plane, maxStandardSessions=QUOTA)
    responses = await asyncio.gather(*(plane.create(f"s{index}") for index in range(CREATES)))
    assert Counter(r.status_code for r in responses) == {201: QUOTA, 429: CREATES - QUOTA}
    admitted = sorted(f"s{index}" for index, r in enumerate(responses) if r.status_code == 201)
    rows = await plane.context.service.store.with_status(set(SessionStatus))
    assert sorted(row.id for row in rows) == admitted  # the refused left no row


async def test_concurrent_conversion_creates_admit_exactly_the_quota(
    plane: ControlPlane, tmp_path: Path
) -> None:
    await set_quotas(plane, maxConversions=QUOTA)
    payload = body(tmp_path, "slow.glb")
    responses = await asyncio.gather(
        *(
            plane.client.put(url(plane, f"c{index}"), json=payload, headers=plane.auth)
            for index in range(CREATES)
        )
    )
    assert Counter(r.status_code for r in responses) == {201: QUOTA, 429: CREATES - QUOTA}
    admitted = sorted(f"c{index}" for index, r in enumerate(responses) if r.status_code == 201)
    records = await plane.context.conversions.list_page(plane.account.id, 100)
    assert sorted(record.id for record in records) == admitted
