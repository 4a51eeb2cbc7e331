"""/admin/accounts: create, list, show, rename, rotate a key, delete (refused while the
account runs something). Every refusal changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from renderhub.clock import ManualClock
from renderhub.conversions.jobs import InputLocation, OutputLocation
from renderhub.status import ConversionStatus
from renderhub.store.records import ConversionRecord
from renderhub.store.schema import usage
from tests.conftest import (
    ControlPlane,
    make_settings,
    running_control_plane,
    stop_all_hosts,
    wait_for,
)

NO_LIMITS = {
    "maxStandardSessions": None,
    "maxPremiumSessions": None,
    "maxLeaseMinutes": None,
    "maxConversions": None,
}


async def _admin(
    plane: ControlPlane, method: str, url: str, body: Any = None, status: int = 200
) -> Any:
    response = await plane.client.request(method, url, json=body, headers=plane.admin_auth)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def _token_status(plane: ControlPlane, account_id: str, key: str) -> int:
    response = await plane.client.get(
        f"/accounts/{account_id}/token", headers={"Authorization": f"Bearer {account_id}:{key}"}
    )
    return response.status_code


async def _accounts_table(plane: ControlPlane) -> list[Any]:
    return sorted(await plane.context.access.accounts.list(), key=lambda record: record.id)


async def test_create_shows_the_keys_once_and_they_work(plane: ControlPlane) -> None:
    quotas = {**NO_LIMITS, "maxStandardSessions": 2, "maxConversions": 0}
    made = await _admin(plane, "POST", "/admin/accounts", {"name": "acme", "quotas": quotas}, 201)
    account_id = made["accountId"]
    assert made["name"] == "acme"
    assert made["quotas"] == quotas
    assert made["disabled"] is False and made["disabledAt"] is None
    assert made["activeSessions"] == {"Standard": 0, "Premium": 0}
    assert made["activeConversions"] == 0
    assert made["created"].endswith("Z")
    assert await _token_status(plane, account_id, made["primaryKey"]) == 200
    assert await _token_status(plane, account_id, made["secondaryKey"]) == 200
    shown = await _admin(plane, "GET", f"/admin/accounts/{account_id}")
    assert "primaryKey" not in shown and "secondaryKey" not in shown
    assert shown == {k: v for k, v in made.items() if not k.endswith("Key")}


async def test_create_with_an_empty_body_has_no_name_and_no_limits(plane: ControlPlane) -> None:
    made = await _admin(plane, "POST", "/admin/accounts", {}, 201)
    assert made["name"] is None
    assert made["quotas"] == NO_LIMITS


async def test_the_list_is_oldest_first_with_what_each_runs(plane: ControlPlane) -> None:
    response = await plane.create("running", size="Premium")
    assert response.status_code == 201
    later = await _admin(plane, "POST", "/admin/accounts", {"name": "later"}, 201)
    listed = (await _admin(plane, "GET", "/admin/accounts"))["accounts"]
    assert [account["accountId"] for account in listed] == [plane.account.id, later["accountId"]]
    assert listed[0]["activeSessions"] == {"Standard": 0, "Premium": 1}
    assert listed[1]["activeSessions"] == {"Standard": 0, "Premium": 0}
    shown = await _admin(plane, "GET", f"/admin/accounts/{plane.account.id}")
    assert shown == listed[0]


async def test_rename_and_unname(plane: ControlPlane) -> None:
    url = f"/admin/accounts/{plane.account.id}"
    assert (await _admin(plane, "PATCH", url, {"name": "  renamed  "}))["name"] == "renamed"
    assert (await _admin(plane, "PATCH", url, {}))["name"] == "renamed"
    assert (await _admin(plane, "PATCH", url, {"name": None}))["name"] is None
    assert (await _admin(plane, "GET", url))["name"] is None


@pytest.mark.parametrize("slot", ["primary", "secondary"])
async def test_rotating_a_key_keeps_the_other_working(plane: ControlPlane, slot: str) -> None:
    made = await _admin(plane, "POST", "/admin/accounts", {}, 201)
    account_id = made["accountId"]
    other = "secondary" if slot == "primary" else "primary"
    rotated = await _admin(
        plane, "POST", f"/admin/accounts/{account_id}/keys:rotate", {"key": slot}
    )
    assert set(rotated) == {"accountId", f"{slot}Key"}
    assert rotated["accountId"] == account_id
    assert await _token_status(plane, account_id, made[f"{slot}Key"]) == 401
    assert await _token_status(plane, account_id, rotated[f"{slot}Key"]) == 200
    assert await _token_status(plane, account_id, made[f"{other}Key"]) == 200


async def test_delete_removes_an_idle_account(plane: ControlPlane) -> None:
    made = await _admin(plane, "POST", "/admin/accounts", {"name": "gone"}, 201)
    url = f"/admin/accounts/{made['accountId']}"
    assert await _admin(plane, "DELETE", url, status=204) is None
    await _admin(plane, "GET", url, status=404)
    await _admin(plane, "DELETE", url, status=404)
    assert await _token_status(plane, made["accountId"], made["primaryKey"]) == 401


async def test_delete_is_refused_while_sessions_run(plane: ControlPlane) -> None:
    for session_id in ("one", "two"):
        assert (await plane.create(session_id)).status_code == 201
    before = await _accounts_table(plane)
    body = await _admin(plane, "DELETE", f"/admin/accounts/{plane.account.id}", status=409)
    assert body["error"] == {
        "code": "Conflict",
        "message": "The account still has 2 active sessions; stop them first.",
    }
    assert await _accounts_table(plane) == before
    assert await plane.row("one") is not None


async def test_delete_is_refused_while_a_conversion_runs(plane: ControlPlane) -> None:
    location = InputLocation("https://store.example/c", "m.glb")
    record = ConversionRecord(
        account_id=plane.account.id,
        id="converting",
        input=location,
        output=OutputLocation("https://store.example/c", "m.arrasset"),
        status=ConversionStatus.RUNNING,
        created_at=plane.clock.now().timestamp(),
        claimed_by="another-replica",
        claimed_until=plane.clock.now().timestamp() + 10**9,
    )
    assert await plane.context.conversions.store.insert(record)
    body = await _admin(plane, "DELETE", f"/admin/accounts/{plane.account.id}", status=409)
    assert "1 active conversion;" in body["error"]["message"]
    assert await plane.context.conversions.store.get(plane.account.id, "converting")


async def test_unknown_accounts_are_404(plane: ControlPlane) -> None:
    for method, path, body in [
        ("GET", "", None),
        ("PATCH", "", {"name": "x"}),
        ("DELETE", "", None),
        ("POST", "/keys:rotate", {"key": "primary"}),
    ]:
        answer = await _admin(plane, method, f"/admin/accounts/nobody{path}", body, status=404)
        assert answer["error"]["code"] == "NotFound", (method, path)


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"nmae": "typo"}, "nmae"),
        ({"name": 7}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"quotas": {"maxStandardSessions": -1}}, "quotas.maxStandardSessions"),
        ({"quotas": {"maxLeaseMinutes": 1.5}}, "quotas.maxLeaseMinutes"),
        ({"quotas": {"maxConversions": "2"}}, "quotas.maxConversions"),
        ({"quotas": {"maxSessions": 2}}, "quotas.maxSessions"),
        ({"quotas": 3}, "quotas"),
    ],
)
async def test_bad_create_bodies_are_400_naming_the_field(
    plane: ControlPlane, body: dict[str, Any], target: str
) -> None:
    before = await _accounts_table(plane)
    answer = await _admin(plane, "POST", "/admin/accounts", body, status=400)
    assert answer["error"]["code"] == "BadRequest"
    assert answer["error"]["target"] == target
    assert await _accounts_table(plane) == before


@pytest.mark.parametrize(
    ("path", "body", "target"),
    [
        ("", {"name": "ok", "quotas": {}}, "quotas"),
        ("", {"name": ["x"]}, "name"),
        ("/keys:rotate", {}, "key"),
        ("/keys:rotate", {"key": "tertiary"}, "key"),
        ("/keys:rotate", {"key": "Primary"}, "key"),
        ("/keys:rotate", {"key": "primary", "both": True}, "both"),
    ],
)
async def test_bad_change_bodies_are_400_naming_the_field(
    plane: ControlPlane, path: str, body: dict[str, Any], target: str
) -> None:
    before = await _accounts_table(plane)
    method = "PATCH" if path == "" else "POST"
    url = f"/admin/accounts/{plane.account.id}{path}"
    answer = await _admin(plane, method, url, body, status=400)
    assert answer["error"]["target"] == target
    assert await _accounts_table(plane) == before


async def test_a_body_that_is_not_json_is_400(plane: ControlPlane) -> None:
    response = await plane.client.post(
        "/admin/accounts", content=b"{name:", headers=plane.admin_auth
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"


async def _guarded_delete(plane: ControlPlane) -> None:
    """The store's delete itself refuses an account that runs something (a create that
    lands after the route's count), and keeps the account's metered usage."""
    store = plane.context.access.accounts
    response = await plane.create("metered", models=["samples/cube.glb"])
    assert response.status_code == 201, response.text
    assert not await store.delete(plane.account.id)
    assert await store.get(plane.account.id) is not None
    assert await plane.row("metered") is not None
    await plane.wait_status("metered", "Ready")
    stop = await plane.client.post(
        f"/admin/sessions/{plane.account.id}/metered:stop", headers=plane.admin_auth
    )
    assert stop.status_code == 200

    async def stopped() -> bool:
        return (await plane.row("metered")).status.value == "Stopped"

    await wait_for(stopped)
    assert await store.delete(plane.account.id)
    assert await store.get(plane.account.id) is None
    assert await plane.row("metered") is None
    async with store.engine.connect() as connection:
        kept = await connection.execute(
            select(usage.c.session_id).where(usage.c.account_id == plane.account.id)
        )
        assert list(kept) == [("metered",)]


async def test_the_store_deletes_only_an_account_that_runs_nothing(plane: ControlPlane) -> None:
    await _guarded_delete(plane)


async def test_the_store_deletes_only_an_account_that_runs_nothing_on_postgresql(
    tmp_path: Path, postgres_url: str, clock: ManualClock
) -> None:
    settings = make_settings(tmp_path / "data", database_url=postgres_url)
    async with running_control_plane(settings, clock) as plane:
        try:
            await _guarded_delete(plane)
        finally:
            await stop_all_hosts(plane)
