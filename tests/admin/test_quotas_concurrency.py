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
from renderhub.sizes import SessionSize
from renderhub.status import SessionStatus
from tests.conftest import ControlPlane, make_settings, running_control_plane, stop_all_hosts
from tests.conversions_service.api import body, storage_root, url
from tests.conversions_service.converters import SLOW_SECONDS_ENV
from tests.postgres import create_database, drop_database

CREATES = 20
QUOTA = 3
WARM = 5  # more warm hosts than the quota: the creates race on the pooled path


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
        warm_standard=WARM,
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


async def test_concurrent_creates_taking_warm_hosts_admit_exactly_the_quota(
    plane: ControlPlane,
) -> None:
    await set_quotas(plane, maxStandardSessions=QUOTA)
    assert await wait_for_pool(plane, WARM)
    responses = await asyncio.gather(*(plane.create(f"w{index}") for index in range(CREATES)))
    assert Counter(r.status_code for r in responses) == {201: QUOTA, 429: CREATES - QUOTA}
    rows = await plane.context.service.store.with_status(set(SessionStatus))
    assert len(rows) == QUOTA and all(row.hostname is not None for row in rows)  # warm hosts
    assert await plane.scheduler.pool._store.count(SessionSize.STANDARD) == WARM - QUOTA


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


async def test_a_create_over_the_quota_leaves_the_warm_pool_as_it_was(tmp_path: Path) -> None:
    """The pooled path (a warm host taken) counts the account's sessions too; a refusal
    puts the host back."""
    settings = make_settings(tmp_path / "data", warm_standard=2, capacity_standard=10)
    async with running_control_plane(settings, ManualClock()) as plane:
        try:
            await set_quotas(plane, maxStandardSessions=1)
            pool = plane.scheduler.pool
            await pool.maintain()
            store = pool._store
            assert await wait_for_pool(plane, 2)
            assert (await plane.create("warm")).status_code == 201
            assert (await plane.row("warm")).hostname is not None  # a warm host, taken
            assert await store.count(SessionSize.STANDARD) == 1  # and not refilled yet
            over = await plane.create("over")
            assert over.status_code == 429, over.text
            assert await store.count(SessionSize.STANDARD) == 1  # the refusal took none
            assert await plane.row("over") is None
        finally:
            await stop_all_hosts(plane)


async def wait_for_pool(plane: ControlPlane, hosts: int) -> bool:
    """Run the pool's upkeep until `hosts` warm hosts are started (assignable)."""
    for _ in range(100):
        records = await plane.scheduler.pool._store.owned(plane.context.service.replica_id)
        if sum(record.hostname is not None for record in records) == hosts:
            return True
        await plane.scheduler.pool.maintain()
        await asyncio.sleep(0.02)
    return False
