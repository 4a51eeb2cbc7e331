"""renderhub.client.admin.AdminClient against a running server: the typed helpers for
sessions and conversions across accounts (the account helpers run under every `renderhub
account` command), paging, and the server's refusals as the client's typed errors."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from renderhub.client import BadRequest, Conflict, NotFound, Unauthorized
from renderhub.client.admin import AdminClient
from tests.conftest import API
from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.e2e


async def _ready(client: httpx.AsyncClient, url: str) -> None:
    give_up = time.monotonic() + 15
    while (await client.get(url)).json()["status"] != "Ready":
        assert time.monotonic() < give_up, f"{url} did not become Ready"
        await asyncio.sleep(0.1)


async def test_sessions_across_accounts_paged_stopped_and_refused(
    server: ServerProcess, admin_token: str
) -> None:
    async with AdminClient(server.url, admin_token) as admin:
        created = await admin.create_account("paged", quotas={"maxStandardSessions": 2})
        account_id = created["accountId"]
        key = {"Authorization": f"Bearer {account_id}:{created['primaryKey']}"}
        async with httpx.AsyncClient(base_url=server.url) as plain:
            answer = await plain.get(f"/accounts/{account_id}/token", headers=key)
        headers = {"Authorization": f"Bearer {answer.json()['AccessToken']}"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers) as sessions:
            for name in ("first", "second"):
                url = f"/accounts/{account_id}/sessions/{name}?{API}"
                body = {"maxLeaseTimeMinutes": 10, "size": "Standard"}
                assert (await sessions.put(url, json=body)).is_success
                await _ready(sessions, url)

        page = await admin.list_sessions(account=account_id, status="active", limit=1)
        assert [item["sessionId"] for item in page["sessions"]] == ["second"]  # newest first
        assert page["next"]
        every = [item async for item in admin.iter_sessions(account=account_id, limit=1)]
        assert [item["sessionId"] for item in every] == ["second", "first"]
        shown = await admin.get_session(account_id, "first")
        assert shown["status"] == "Ready" and shown["accountId"] == account_id

        with pytest.raises(Conflict, match="still has 2 active sessions"):
            await admin.delete_account(account_id)
        stopped = await admin.stop_session(account_id, "first")
        assert stopped["status"] in ("Stopping", "Stopped")
        with pytest.raises(NotFound):
            await admin.get_session(account_id, "no-such-session")
        with pytest.raises(BadRequest, match="maxStandardSessions"):
            await admin.set_quotas(account_id, {"maxStandardSessions": -1})
        assert (await admin.get_quotas(account_id))["maxStandardSessions"] == 2
        assert (await admin.list_conversions(account=account_id)) == {
            "conversions": [],
            "next": None,
        }
        assert [item async for item in admin.iter_conversions(account=account_id)] == []


async def test_a_wrong_token_is_unauthorized(server: ServerProcess) -> None:
    async with AdminClient(server.url, "rhadm_" + "y" * 43) as admin:
        with pytest.raises(Unauthorized, match="admin token is not valid") as refused:
            await admin.list_accounts()
        assert refused.value.status == 401
