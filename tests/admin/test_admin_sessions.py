"""/admin/sessions: every account's sessions, filtered and paged; one shown; one stopped."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from renderhub.clock import ManualClock
from tests.conftest import (
    ControlPlane,
    make_settings,
    running_control_plane,
    stop_all_hosts,
    wait_for,
)


async def _ready(plane: ControlPlane, session_id: str, **body: Any) -> None:
    response = await plane.create(session_id, models=["samples/cube.glb"], **body)
    assert response.status_code == 201, response.text
    await plane.wait_status(session_id, "Ready")


async def _admin_get(plane: ControlPlane, url: str, status: int = 200) -> Any:
    response = await plane.client.get(url, headers=plane.admin_auth)
    assert response.status_code == status, response.text
    return response.json()


async def _create_other(plane: ControlPlane, session_id: str, size: str = "Standard") -> str:
    """A session of a second account; returns that account's id."""
    account, token = await plane.new_account()
    response = await plane.client.put(
        plane.sessions_url(session_id, account.id),
        json={"maxLeaseTimeMinutes": 10, "size": size},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    return account.id


async def test_a_ready_session_is_shown_with_its_host_and_lease(plane: ControlPlane) -> None:
    await _ready(plane, "shown", maxLeaseTimeMinutes=10)
    plane.clock.advance(timedelta(seconds=90))
    record = await plane.row("shown")
    body = await _admin_get(plane, f"/admin/sessions/{plane.account.id}/shown")
    assert body == {
        "accountId": plane.account.id,
        "sessionId": "shown",
        "size": "Standard",
        "status": "Ready",
        "created": body["created"],
        "ready": body["ready"],
        "ended": None,
        "leaseMinutes": 10,
        "leaseEnds": body["leaseEnds"],
        "leaseLeftSeconds": 510.0,
        "host": f"{record.hostname}:{record.handshake_port}",
        "backend": record.backend,
        "message": None,
        "errorCode": None,
        "polygons": record.polygons,
        "inspector": f"http://{record.hostname}:{record.inspector_port}/",
    }
    assert body["created"].endswith("Z") and body["leaseEnds"].endswith("Z")
    assert body["leaseEnds"] > body["ready"] >= body["created"]


async def test_the_list_spans_accounts_newest_first(plane: ControlPlane) -> None:
    assert (await plane.create("first")).status_code == 201
    plane.clock.advance(timedelta(seconds=1))
    other = await _create_other(plane, "second", "Premium")
    body = await _admin_get(plane, "/admin/sessions")
    listed = [(s["accountId"], s["sessionId"], s["size"]) for s in body["sessions"]]
    assert listed == [(other, "second", "Premium"), (plane.account.id, "first", "Standard")]
    assert body["next"] is None


async def test_filters_by_account_status_and_size(plane: ControlPlane) -> None:
    await _ready(plane, "running")
    assert (await plane.create("stopped")).status_code == 201
    stop = await plane.client.post(
        f"/accounts/{plane.account.id}/sessions/stopped/:stop?api-version=2021-01-01",
        headers=plane.auth,
    )
    assert stop.status_code == 204
    other = await _create_other(plane, "premium", "Premium")
    await wait_for(lambda: _status_is(plane, "premium", "Ready", other))

    async def ids(query: str) -> set[str]:
        body = await _admin_get(plane, f"/admin/sessions?{query}")
        return {session["sessionId"] for session in body["sessions"]}

    assert await ids(f"account={other}") == {"premium"}
    assert await ids(f"account={plane.account.id}") == {"running", "stopped"}
    assert await ids("size=premium") == {"premium"}
    assert await ids("size=Standard,Premium") == {"running", "stopped", "premium"}
    stopped_status = (await plane.row("stopped")).status.value  # Stopping, then Stopped
    assert await ids(f"status={stopped_status}") == {"stopped"}
    assert await ids("status=Ready") == {"running", "premium"}
    assert await ids("status=Expired,Error") == set()
    await wait_for(lambda: _status_is(plane, "stopped", "Stopped"))
    assert await ids("status=active") == {"running", "premium"}
    assert await ids("status=active&size=Standard") == {"running"}


async def _status_is(
    plane: ControlPlane, session_id: str, status: str, account_id: str | None = None
) -> bool:
    return (await plane.row(session_id, account_id)).status.value == status


async def test_pages_follow_next_without_repeats_or_gaps(plane: ControlPlane) -> None:
    """Five sessions created in the same instant: the id breaks the tie."""
    names = [f"s{index}" for index in range(5)]
    for name in names:
        size = "Premium" if name == "s4" else "Standard"
        assert (await plane.create(name, size=size)).status_code == 201
    seen: list[str] = []
    url = "/admin/sessions?limit=2"
    pages = 0
    while True:
        body = await _admin_get(plane, url)
        seen += [session["sessionId"] for session in body["sessions"]]
        pages += 1
        if body["next"] is None:
            break
        assert len(body["sessions"]) == 2
        url = f"/admin/sessions?limit=2&after={body['next']}"
    assert pages == 3
    assert seen == sorted(names, reverse=True)


async def test_stop_ends_any_accounts_session_and_a_second_stop_changes_nothing(
    plane: ControlPlane,
) -> None:
    await _ready(plane, "victim")
    url = f"/admin/sessions/{plane.account.id}/victim:stop"
    response = await plane.client.post(url, headers=plane.admin_auth)
    assert response.status_code == 200, response.text
    assert response.json()["status"] in ("Stopping", "Stopped")
    assert response.json()["ended"] is not None
    await wait_for(lambda: _status_is(plane, "victim", "Stopped"))
    again = await plane.client.post(url, headers=plane.admin_auth)
    assert again.status_code == 200
    assert again.json()["status"] == "Stopped"
    assert again.json()["ended"] == response.json()["ended"]
    assert again.json()["inspector"] is None and again.json()["leaseLeftSeconds"] is None


async def test_unknown_sessions_and_accounts_are_404(plane: ControlPlane) -> None:
    body = await _admin_get(plane, f"/admin/sessions/{plane.account.id}/nothing", 404)
    assert body["error"]["code"] == "NotFound"
    stop = await plane.client.post(
        f"/admin/sessions/{plane.account.id}/nothing:stop", headers=plane.admin_auth
    )
    assert stop.status_code == 404
    assert await plane.row("nothing") is None
    body = await _admin_get(plane, "/admin/sessions?account=no-such-account", 404)
    assert body["error"]["target"] == "account"


@pytest.mark.parametrize(
    ("query", "target"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("limit=2.5", "limit"),
        ("status=Running", "status"),
        ("status=Ready,", "status"),
        ("size=Huge", "size"),
        ("after=garbage!", "after"),
        ("after=WzEsMl0", "after"),
        ("acount=x", "acount"),
        ("limit=1&limit=2", "limit"),
    ],
)
async def test_bad_parameters_are_400_naming_them(
    plane: ControlPlane, query: str, target: str
) -> None:
    body = await _admin_get(plane, f"/admin/sessions?{query}", 400)
    assert body["error"]["code"] == "BadRequest"
    assert body["error"]["target"] == target
    assert target in body["error"]["message"]


async def test_listing_and_paging_on_postgresql(
    tmp_path: Path, postgres_url: str, clock: ManualClock
) -> None:
    """The same keyset paging on PostgreSQL: sessions of two accounts in one instant."""
    settings = make_settings(tmp_path / "data", database_url=postgres_url)
    async with running_control_plane(settings, clock) as plane:
        try:
            for session_id in ("b", "a"):
                assert (await plane.create(session_id)).status_code == 201
            other = await _create_other(plane, "c")
            seen: list[tuple[str, str]] = []
            url = "/admin/sessions?limit=1&status=active"
            while url:
                body = await _admin_get(plane, url)
                seen += [(s["accountId"], s["sessionId"]) for s in body["sessions"]]
                url = f"/admin/sessions?limit=1&status=active&after={body['next']}"
                url = url if body["next"] else ""
            mine = [(plane.account.id, "b"), (plane.account.id, "a")]
            assert seen == sorted([*mine, (other, "c")], reverse=True)
            body = await _admin_get(plane, f"/admin/sessions?account={plane.account.id}")
            assert [s["sessionId"] for s in body["sessions"]] == ["b", "a"]
        finally:
            await stop_all_hosts(plane)
