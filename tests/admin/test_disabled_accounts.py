"""Disabling an account: its keys and every token already issued are refused at once (403
"The account is disabled."), on every replica; its active sessions are stopped; nothing of
another account changes. Enabling it gives everything back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from renderhub.clock import ManualClock
from renderhub.status import SessionStatus
from renderhub.testing import FakeBackend
from tests.conftest import API, ControlPlane, make_settings
from tests.replicas.test_shared_store import replicas

DISABLED = {"error": {"code": "Forbidden", "message": "The account is disabled."}}


async def sts(plane: ControlPlane, account_id: str, key: str) -> httpx.Response:
    credential = {"Authorization": f"Bearer {account_id}:{key}"}
    return await plane.client.get(f"/accounts/{account_id}/token", headers=credential)


async def admin_post(plane: ControlPlane, action: str, account_id: str | None = None) -> Any:
    path = f"/admin/accounts/{account_id or plane.account.id}:{action}"
    response = await plane.client.post(path, headers=plane.admin_auth)
    assert response.status_code == 200, response.text
    return response.json()


def account_calls(plane: ControlPlane) -> list[tuple[str, str, Any]]:
    """One call of each kind an account's token makes: both session APIs, conversions."""
    account = plane.account.id
    v1 = f"/v1/accounts/{account}/sessions"
    return [
        ("GET", plane.sessions_url(), None),
        ("GET", plane.sessions_url("ready1"), None),
        ("PUT", plane.sessions_url("new"), {"maxLeaseTimeMinutes": 10, "size": "Standard"}),
        ("PATCH", plane.sessions_url("ready1"), {"maxLeaseTimeMinutes": 20}),
        ("POST", f"/accounts/{account}/sessions/ready1/:stop?{API}", None),
        ("GET", v1, None),
        ("POST", f"{v1}/create", {"size": "Standard", "maxLeaseTime": "0:10:0"}),
        ("GET", f"{v1}/ready1/properties", None),
        ("PATCH", f"{v1}/ready1", {"maxLeaseTime": "0:20:0"}),
        ("DELETE", f"{v1}/ready1", None),
        ("GET", f"/accounts/{account}/conversions?{API}", None),
        ("GET", f"/accounts/{account}/conversions/c1?{API}", None),
        ("PUT", f"/accounts/{account}/conversions/c1?{API}", {"settings": {}}),
    ]


async def test_disabling_refuses_keys_and_tokens_and_stops_the_sessions(
    plane: ControlPlane,
) -> None:
    for session_id in ("ready1", "ready2"):
        assert (await plane.create(session_id)).status_code == 201
        await plane.wait_status(session_id, "Ready")
    other, other_token = await plane.new_account()
    other_auth = {"Authorization": f"Bearer {other_token}"}
    other_url = plane.sessions_url("theirs", other.id)
    created = await plane.client.put(
        other_url, json={"maxLeaseTimeMinutes": 10, "size": "Standard"}, headers=other_auth
    )
    assert created.status_code == 201

    disabled = await admin_post(plane, "disable")
    assert disabled["accountId"] == plane.account.id and disabled["disabled"] is True
    assert disabled["disabledAt"].endswith("Z") and disabled["stoppedSessions"] == 2
    for session_id in ("ready1", "ready2"):
        record = await plane.row(session_id)
        assert record.status in (SessionStatus.STOPPING, SessionStatus.STOPPED)

    for method, path, payload in account_calls(plane):
        response = await plane.client.request(method, path, json=payload, headers=plane.auth)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json() == DISABLED, (method, path)
    sts_right = await sts(plane, plane.account.id, plane.account.primary_key)
    assert sts_right.status_code == 403 and sts_right.json() == DISABLED
    sts_wrong = await sts(plane, plane.account.id, "not-the-key")
    assert sts_wrong.status_code == 401  # a wrong key learns nothing about the account
    assert await plane.row("new") is None  # the refused create made nothing
    assert (await plane.row("ready1")).lease_seconds == 600  # the refused PATCH changed nothing

    # Another account carries on.
    theirs = await plane.client.get(other_url, headers=other_auth)
    assert theirs.status_code == 200 and theirs.json()["status"] in ("Starting", "Ready")

    again = await admin_post(plane, "disable")  # changes nothing
    assert again["stoppedSessions"] == 0 and again["disabledAt"] == disabled["disabledAt"]

    enabled = await admin_post(plane, "enable")
    assert enabled["disabled"] is False and enabled["disabledAt"] is None
    assert enabled["quotas"]["maxStandardSessions"] is None
    assert (await sts(plane, plane.account.id, plane.account.secondary_key)).status_code == 200
    listed = await plane.client.get(plane.sessions_url(), headers=plane.auth)
    assert listed.status_code == 200, listed.text  # the token issued before works again
    assert (await plane.create("after")).status_code == 201


async def test_disable_and_enable_need_an_admin_token_and_a_known_account(
    plane: ControlPlane,
) -> None:
    for action in ("disable", "enable"):
        path = f"/admin/accounts/{plane.account.id}:{action}"
        assert (await plane.client.post(path)).status_code == 401
        assert (await plane.client.post(path, headers=plane.auth)).status_code == 403
        unknown = f"/admin/accounts/00000000-0000-0000-0000-000000000000:{action}"
        missing = await plane.client.post(unknown, headers=plane.admin_auth)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"
    record = await plane.context.access.accounts.get(plane.account.id)
    assert record is not None and not record.disabled
    assert (await plane.client.get(plane.sessions_url(), headers=plane.auth)).status_code == 200


async def test_a_disabled_account_is_refused_at_once_on_every_replica(
    tmp_path: Path, postgres_url: str
) -> None:
    settings = [
        make_settings(tmp_path / f"replica{index}", database_url=postgres_url) for index in range(2)
    ]
    async with replicas(2, settings, ManualClock(), FakeBackend()) as (first, second):
        account = await first.context.access.create_account()
        auth = {"Authorization": f"Bearer {first.context.access.issue(account.id)}"}
        listing = f"/accounts/{account.id}/sessions?{API}"
        assert (await second.client.get(listing, headers=auth)).status_code == 200
        admin = await first.app.state.admin_tokens.create(0.0, "tests")
        disable = f"/admin/accounts/{account.id}:disable"
        headers = {"Authorization": f"Bearer {admin.token}"}
        assert (await first.client.post(disable, headers=headers)).status_code == 200
        refused = await second.client.get(listing, headers=auth)
        assert refused.status_code == 403 and refused.json() == DISABLED
        enable = f"/admin/accounts/{account.id}:enable"
        assert (await second.client.post(enable, headers=headers)).status_code == 200
        assert (await first.client.get(listing, headers=auth)).status_code == 200
