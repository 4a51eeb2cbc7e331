"""Quotas through the admin API and as the session and conversion APIs enforce them: over a
quota nothing is created, and the answer names the quota (429 with Retry-After while
retrying can help, 403 where it cannot)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from renderhub.clock import ManualClock
from renderhub.status import SessionStatus
from tests.conftest import (
    API,
    ControlPlane,
    make_settings,
    running_control_plane,
    stop_all_hosts,
    wait_for,
)
from tests.conversions_service.api import body, storage_root, url, wait_ended

NO_QUOTAS = {
    "maxStandardSessions": None,
    "maxPremiumSessions": None,
    "maxLeaseMinutes": None,
    "maxConversions": None,
}


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    """A control plane that also runs conversions (the test converters, under tmp_path)."""
    settings = make_settings(
        tmp_path / "data",
        converter="tests.conversions_service.converters:scripted",
        allow_storage=[f"{storage_root(tmp_path)}/"],
        conversion_concurrency=1,
        capacity_standard=20,
        capacity_premium=5,
    )
    async with running_control_plane(settings, ManualClock()) as control_plane:
        try:
            yield control_plane
        finally:
            await stop_all_hosts(control_plane)


def quotas_url(plane: ControlPlane, account_id: str | None = None) -> str:
    return f"/admin/accounts/{account_id or plane.account.id}/quotas"


async def set_quotas(plane: ControlPlane, **quotas: Any) -> None:
    response = await plane.client.put(quotas_url(plane), json=quotas, headers=plane.admin_auth)
    assert response.status_code == 200, response.text
    assert response.json() == {**NO_QUOTAS, **quotas}


async def session_ids(plane: ControlPlane) -> list[str]:
    return sorted(r.id for r in await plane.context.service.store.with_status(set(SessionStatus)))


def assert_refused(
    response: httpx.Response, status: int, message: str, retry_after: bool = False
) -> None:
    assert response.status_code == status, response.text
    code = {403: "Forbidden", 429: "TooManyRequests"}[status]
    assert response.json() == {"error": {"code": code, "message": message}}
    assert ("Retry-After" in response.headers) is retry_after


# -- the admin API's quota routes ---------------------------------------------------------------


async def test_quotas_are_read_and_replaced_whole(plane: ControlPlane) -> None:
    read = await plane.client.get(quotas_url(plane), headers=plane.admin_auth)
    assert read.status_code == 200 and read.json() == NO_QUOTAS
    await set_quotas(plane, maxStandardSessions=2, maxPremiumSessions=0, maxLeaseMinutes=240)
    await set_quotas(plane, maxConversions=1)  # a missing field is null: no limit
    read = await plane.client.get(quotas_url(plane), headers=plane.admin_auth)
    assert read.json() == {**NO_QUOTAS, "maxConversions": 1}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"maxStandardSessions": -1}, "maxStandardSessions"),
        ({"maxPremiumSessions": 0.5}, "maxPremiumSessions"),
        ({"maxLeaseMinutes": "240"}, "maxLeaseMinutes"),
        ({"maxLeaseMinutes": 0}, "maxLeaseMinutes"),
        ({"maxConversions": 10**12}, "maxConversions"),
        ({"maxConversion": 1}, "maxConversion"),
    ],
)
async def test_a_bad_quota_is_a_400_naming_the_field_and_changes_nothing(
    plane: ControlPlane, payload: dict[str, Any], field: str
) -> None:
    await set_quotas(plane, maxStandardSessions=3)
    response = await plane.client.put(quotas_url(plane), json=payload, headers=plane.admin_auth)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BadRequest" and error["target"] == field and field in error["message"]
    read = await plane.client.get(quotas_url(plane), headers=plane.admin_auth)
    assert read.json() == {**NO_QUOTAS, "maxStandardSessions": 3}


async def test_quota_routes_need_an_admin_token_and_a_known_account(plane: ControlPlane) -> None:
    unknown = quotas_url(plane, "00000000-0000-0000-0000-000000000000")
    for method in ("GET", "PUT"):
        missing = await plane.client.request(method, unknown, json={}, headers=plane.admin_auth)
        assert missing.status_code == 404, missing.text
        assert missing.json()["error"]["code"] == "NotFound"
        anonymous = await plane.client.request(method, quotas_url(plane), json={})
        assert anonymous.status_code == 401
        with_account_token = await plane.client.request(
            method, quotas_url(plane), json={"maxConversions": 0}, headers=plane.auth
        )
        assert with_account_token.status_code == 403
    assert (await plane.client.get(quotas_url(plane), headers=plane.admin_auth)).json() == (
        NO_QUOTAS
    )


# -- sessions at once ------------------------------------------------------------------------


async def test_the_2021_api_admits_sessions_up_to_the_quota(plane: ControlPlane) -> None:
    await set_quotas(plane, maxStandardSessions=2, maxPremiumSessions=0)
    assert (await plane.create("s1")).status_code == 201
    assert (await plane.create("s2")).status_code == 201
    over = await plane.create("s3")
    assert_refused(
        over, 429, "The account's quota of 2 Standard sessions at once is reached.", True
    )
    assert over.headers["Retry-After"].isdigit()
    none = await plane.create("p1", size="Premium")
    assert_refused(none, 403, "The account's quota of 0 Premium sessions at once allows none.")
    assert await session_ids(plane) == ["s1", "s2"]  # nothing else was created

    retry = await plane.create("s1")  # a client's retry counts itself: still the same session
    assert retry.status_code == 200, retry.text
    other = await plane.create("s2", maxLeaseTimeMinutes=20)
    assert other.status_code == 409

    # Another account is not limited by this one's quota.
    account, token = await plane.new_account()
    elsewhere = await plane.client.put(
        plane.sessions_url("s3", account.id),
        json={"maxLeaseTimeMinutes": 10, "size": "Standard"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert elsewhere.status_code == 201, elsewhere.text

    stop = f"/accounts/{plane.account.id}/sessions/s1/:stop?{API}"
    assert (await plane.client.post(stop, headers=plane.auth)).status_code == 204
    await wait_for(lambda: _status_is(plane, "s1", SessionStatus.STOPPED))  # not Stopping
    assert (await plane.create("s3")).status_code == 201  # a session ended: room again


async def test_the_v1_api_admits_sessions_up_to_the_quota(plane: ControlPlane) -> None:
    await set_quotas(plane, maxStandardSessions=1, maxPremiumSessions=0)
    create = f"/v1/accounts/{plane.account.id}/sessions/create"
    payload = {"size": "Standard", "maxLeaseTime": "0:10:0"}
    first = await plane.client.post(create, json=payload, headers=plane.auth)
    assert first.status_code == 202, first.text
    over = await plane.client.post(create, json=payload, headers=plane.auth)
    assert_refused(over, 429, "The account's quota of 1 Standard session at once is reached.", True)
    premium = {"size": "Premium", "maxLeaseTime": "0:10:0"}
    none = await plane.client.post(create, json=premium, headers=plane.auth)
    assert_refused(none, 403, "The account's quota of 0 Premium sessions at once allows none.")
    assert await session_ids(plane) == [first.json()["sessionId"]]


async def test_a_quota_lowered_below_what_runs_stops_nothing(plane: ControlPlane) -> None:
    for session_id in ("a", "b", "c"):
        assert (await plane.create(session_id)).status_code == 201
    await set_quotas(plane, maxStandardSessions=1)
    over = await plane.create("d")
    assert_refused(over, 429, "The account's quota of 1 Standard session at once is reached.", True)
    listed = await plane.client.get(plane.sessions_url(), headers=plane.auth)
    assert sorted(s["id"] for s in listed.json()["sessions"]) == ["a", "b", "c"]


async def test_capacity_still_applies_under_a_larger_quota(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", capacity_standard=1)
    async with running_control_plane(settings, ManualClock()) as plane:
        await set_quotas(plane, maxStandardSessions=5)
        assert (await plane.create("a")).status_code == 201
        full = await plane.create("b")
        assert full.status_code == 429 and "All servers" in full.json()["error"]["message"]


# -- leases ------------------------------------------------------------------------------------


async def test_a_lease_beyond_the_quota_is_refused_on_create_and_on_update(
    plane: ControlPlane,
) -> None:
    await set_quotas(plane, maxLeaseMinutes=30)
    message = "The account's quota allows leases of at most 30 minutes."
    assert_refused(await plane.create("long", maxLeaseTimeMinutes=31), 403, message)
    v1_create = f"/v1/accounts/{plane.account.id}/sessions/create"
    long_v1 = {"size": "Standard", "maxLeaseTime": "0:30:01"}
    assert_refused(
        await plane.client.post(v1_create, json=long_v1, headers=plane.auth), 403, message
    )
    assert await session_ids(plane) == []

    assert (await plane.create("ok", maxLeaseTimeMinutes=30)).status_code == 201
    patch = await plane.client.patch(
        plane.sessions_url("ok"), json={"maxLeaseTimeMinutes": 31}, headers=plane.auth
    )
    assert_refused(patch, 403, message)
    v1_patch = f"/v1/accounts/{plane.account.id}/sessions/ok"
    patched = await plane.client.patch(v1_patch, json={"maxLeaseTime": "1:0:0"}, headers=plane.auth)
    assert_refused(patched, 403, message)
    assert (await plane.row("ok")).lease_seconds == 30 * 60  # unchanged

    await set_quotas(plane, maxLeaseMinutes=60)
    patch = await plane.client.patch(
        plane.sessions_url("ok"), json={"maxLeaseTimeMinutes": 60}, headers=plane.auth
    )
    assert patch.status_code == 200, patch.text
    assert (await plane.row("ok")).lease_seconds == 60 * 60


# -- conversions at once -----------------------------------------------------------------------


async def put_conversion(plane: ControlPlane, conversion_id: str, tmp_path: Path) -> httpx.Response:
    payload = body(tmp_path, "slow.glb")
    return await plane.client.put(url(plane, conversion_id), json=payload, headers=plane.auth)


async def conversion_ids(plane: ControlPlane) -> list[str]:
    records = await plane.context.conversions.list_page(plane.account.id, 100)
    return [record.id for record in records]


async def test_conversions_are_admitted_up_to_the_quota(
    plane: ControlPlane, tmp_path: Path
) -> None:
    await set_quotas(plane, maxConversions=1)
    assert (await put_conversion(plane, "first", tmp_path)).status_code == 201
    over = await put_conversion(plane, "second", tmp_path)
    assert_refused(over, 429, "The account's quota of 1 conversion at once is reached.", True)
    assert (await put_conversion(plane, "first", tmp_path)).status_code == 200  # a retry
    assert await conversion_ids(plane) == ["first"]

    await set_quotas(plane, maxConversions=0)
    none = await put_conversion(plane, "third", tmp_path)
    assert_refused(none, 403, "The account's quota of 0 conversions at once allows none.")

    await set_quotas(plane, maxConversions=1)
    assert (await wait_ended(plane, "first"))["status"] == "Succeeded"
    assert (await put_conversion(plane, "second", tmp_path)).status_code == 201
    assert await conversion_ids(plane) == ["first", "second"]
    await wait_ended(plane, "second")


async def test_the_account_json_counts_what_runs(plane: ControlPlane, tmp_path: Path) -> None:
    """What the quotas count, as the store reports it to the admin API."""
    assert (await plane.create("a")).status_code == 201
    assert (await plane.create("b", size="Premium")).status_code == 201
    assert (await put_conversion(plane, "c", tmp_path)).status_code == 201
    counts = await plane.context.access.accounts.active_counts([plane.account.id])
    active = counts[plane.account.id]
    assert {size.value: n for size, n in active.sessions.items()} == {
        "Standard": 1,
        "Premium": 1,
    }
    assert active.conversions == 1
    await wait_for(lambda: _ended(plane, "c"), within=30)


async def _ended(plane: ControlPlane, conversion_id: str) -> bool:
    record = await plane.context.conversions.get(plane.account.id, conversion_id)
    return record.status.is_final


async def _status_is(plane: ControlPlane, session_id: str, status: SessionStatus) -> bool:
    return bool((await plane.row(session_id)).status is status)
