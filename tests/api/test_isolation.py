"""Accounts are walled off: a token of account A never reads, changes, stops or lists a session
of account B, in either API generation. B's account path answers 403; B's session id on A's
own path answers 404 exactly as an id that never existed. Session ids are per account."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from renderhub.status import SessionStatus
from tests.conftest import API, ControlPlane, wait_for


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def v1(account_id: str, rest: str = "") -> str:
    return f"/v1/accounts/{account_id}/sessions{rest}"


def v2021(account_id: str, rest: str = "") -> str:
    return f"/accounts/{account_id}/sessions{rest}?{API}"


def every_route(account_id: str, session_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, url, body) for each route of both generations, aimed at one session."""
    return [
        ("GET", v2021(account_id, f"/{session_id}"), None),
        ("PATCH", v2021(account_id, f"/{session_id}"), {"maxLeaseTimeMinutes": 30}),
        ("POST", v2021(account_id, f"/{session_id}/:stop"), None),
        ("GET", v2021(account_id), None),
        ("GET", v1(account_id, f"/{session_id}/properties"), None),
        ("PATCH", v1(account_id, f"/{session_id}"), {"maxLeaseTime": "0:30:0"}),
        ("DELETE", v1(account_id, f"/{session_id}"), None),
        ("GET", v1(account_id), None),
    ]


def creations(account_id: str, session_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Ways to create a session in an account, including a retry of an existing one's PUT."""
    return [
        (
            "PUT",
            v2021(account_id, f"/{session_id}"),
            {"maxLeaseTimeMinutes": 10, "size": "Standard"},
        ),
        (
            "PUT",
            v2021(account_id, f"/{session_id}"),
            {"maxLeaseTimeMinutes": 99, "size": "Premium"},
        ),
        ("PUT", v2021(account_id, "/new-one"), {"maxLeaseTimeMinutes": 10, "size": "Standard"}),
        ("POST", v1(account_id, "/create"), {"maxLeaseTime": "0:10:0", "size": "standard"}),
    ]


def expect_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    where = f"{response.request.method} {response.request.url}"
    assert response.status_code == status, f"{where}: {response.text}"
    assert response.headers.get("ms-cv"), where
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["message"], f"{where}: {error}"
    assert set(error) <= {"code", "message", "target"} and None not in error.values(), error
    return error


async def send(
    plane: ControlPlane, method: str, url: str, token: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await plane.client.request(method, url, headers=bearer(token), json=body)


async def wait_ready(plane: ControlPlane, account_id: str, token: str, session_id: str) -> None:
    async def ready() -> bool:
        response = await send(plane, "GET", v2021(account_id, f"/{session_id}"), token)
        assert response.status_code == 200, response.text
        return bool(response.json()["status"] == "Ready")

    await wait_for(ready, within=15.0)


async def all_rows(plane: ControlPlane) -> list[Any]:
    records = await plane.context.service.store.with_status(set(SessionStatus))
    return sorted(records, key=lambda record: (record.account_id, record.id))


async def test_a_token_never_reaches_another_accounts_sessions(plane: ControlPlane) -> None:
    a, a_token = plane.account, plane.token
    b, b_token = await plane.new_account()
    put = await send(
        plane,
        "PUT",
        v2021(b.id, "/b-session"),
        b_token,
        {"maxLeaseTimeMinutes": 10, "size": "Standard"},
    )
    assert put.status_code == 201, put.text
    created = await send(
        plane, "POST", v1(b.id, "/create"), b_token, {"maxLeaseTime": "0:10:0", "size": "standard"}
    )
    assert created.status_code == 202, created.text
    b_ids = ["b-session", created.json()["sessionId"]]
    for session_id in b_ids:
        await wait_ready(plane, b.id, b_token, session_id)
    before = await all_rows(plane)
    assert [(r.account_id, r.status) for r in before] == [(b.id, SessionStatus.READY)] * 2

    for session_id in b_ids:
        # A's token on B's account path: 403, whatever the route, whatever the spelling.
        for path_id in (b.id, b.id.upper()):
            for method, url, body in every_route(path_id, session_id) + creations(
                path_id, session_id
            ):
                response = await send(plane, method, url, a_token, body)
                error = expect_error(response, 403, "Forbidden")
                assert session_id not in error["message"]

        # A's token on A's own path with B's id: 404, word for word as for an id never used.
        never = "never-existed"
        for (method, url, body), (_, never_url, _) in zip(
            every_route(a.id, session_id), every_route(a.id, never), strict=True
        ):
            response = await send(plane, method, url, a_token, body)
            if "/sessions?" in url or url.endswith("/sessions"):  # a list: A's own, empty
                assert response.status_code == 200, response.text
                assert response.json()["sessions"] == []
                continue
            assert response.status_code == 404, f"{method} {url}: {response.text}"
            unknown = await send(plane, method, never_url, a_token, body)
            assert response.json() == _with_id(unknown.json(), never, session_id)

    # Nothing of B's changed, and nothing was created in A.
    assert await all_rows(plane) == before
    for session_id in b_ids:
        body = (await send(plane, "GET", v2021(b.id, f"/{session_id}"), b_token)).json()
        assert body["status"] == "Ready" and body["maxLeaseTimeMinutes"] == 10
        properties = await send(plane, "GET", v1(b.id, f"/{session_id}/properties"), b_token)
        assert properties.json()["sessionStatus"] == "Ready"
        assert properties.json()["sessionMaxLeaseTime"] == "00:10:00"
    b_list = (await send(plane, "GET", v2021(b.id), b_token)).json()["sessions"]
    assert sorted(s["id"] for s in b_list) == sorted(b_ids)
    b_list_v1 = (await send(plane, "GET", v1(b.id), b_token)).json()["sessions"]
    assert sorted(s["sessionId"] for s in b_list_v1) == sorted(b_ids)


def _with_id(body: Any, old: str, new: str) -> Any:
    """`body` with every mention of session id `old` replaced by `new`."""
    if isinstance(body, dict):
        return {key: _with_id(value, old, new) for key, value in body.items()}
    if isinstance(body, list):
        return [_with_id(value, old, new) for value in body]
    return body.replace(old, new) if isinstance(body, str) else body


@pytest.mark.parametrize("whose", ["other-account", "unknown-account"])
async def test_another_account_path_is_forbidden_even_without_sessions(
    plane: ControlPlane, whose: str
) -> None:
    """No session needed: the account check comes first, and an account that does not exist
    reads the same as one that does (no way to probe for account ids)."""
    if whose == "other-account":
        other, _ = await plane.new_account()
        account_id = other.id
    else:
        account_id = str(uuid.uuid4())
    messages = set()
    for method, url, body in every_route(account_id, "s1") + creations(account_id, "s1"):
        messages.add(
            expect_error(await send(plane, method, url, plane.token, body), 403, "Forbidden")[
                "message"
            ]
        )
    assert len(messages) == 1
    assert await all_rows(plane) == []


async def test_the_same_session_id_lives_independently_in_two_accounts(
    plane: ControlPlane,
) -> None:
    a, a_token = plane.account, plane.token
    b, b_token = await plane.new_account()
    a_url, b_url = v2021(a.id, "/shared"), v2021(b.id, "/shared")
    a_body = {"maxLeaseTimeMinutes": 10, "size": "Standard"}
    b_body = {"maxLeaseTimeMinutes": 20, "size": "Standard"}
    first = await send(plane, "PUT", a_url, a_token, a_body)
    assert first.status_code == 201, first.text
    second = await send(plane, "PUT", b_url, b_token, b_body)  # other settings, no 409
    assert second.status_code == 201, second.text
    # Each account's idempotency and conflicts concern its own session only.
    assert (await send(plane, "PUT", b_url, b_token, b_body)).status_code == 200
    expect_error(await send(plane, "PUT", a_url, a_token, b_body), 409, "Conflict")
    await wait_ready(plane, a.id, a_token, "shared")
    await wait_ready(plane, b.id, b_token, "shared")
    b_before = await plane.row("shared", b.id)
    assert b_before is not None and b_before.lease_seconds == 20 * 60

    # A extends and stops its own 'shared'; B's is untouched.
    extended = await send(plane, "PATCH", a_url, a_token, {"maxLeaseTimeMinutes": 30})
    assert extended.status_code == 200 and extended.json()["maxLeaseTimeMinutes"] == 30
    assert (await send(plane, "POST", v2021(a.id, "/shared/:stop"), a_token)).status_code == 204
    assert (await send(plane, "GET", a_url, a_token)).json()["status"] == "Stopped"
    assert await plane.row("shared", b.id) == b_before
    b_now = (await send(plane, "GET", b_url, b_token)).json()
    assert b_now["status"] == "Ready" and b_now["maxLeaseTimeMinutes"] == 20
    assert b_now["hostname"] and b_now["handshakePort"] != extended.json()["handshakePort"]
    assert (await send(plane, "GET", v2021(a.id), a_token)).json()["sessions"] == []
    b_list = (await send(plane, "GET", v1(b.id), b_token)).json()["sessions"]
    assert [s["sessionId"] for s in b_list] == ["shared"]
    assert b_list[0]["sessionStatus"] == "Ready"

    # And the other way round: B stopping its 'shared' leaves A's record as it was.
    async def a_stopped() -> Any:
        record = await plane.row("shared", a.id)
        return record if record.status is SessionStatus.STOPPED else None

    a_before = await wait_for(a_stopped)
    assert (await send(plane, "DELETE", v1(b.id, "/shared"), b_token)).status_code == 204
    assert (await plane.row("shared", b.id)).status in (
        SessionStatus.STOPPING,
        SessionStatus.STOPPED,
    )
    assert await plane.row("shared", a.id) == a_before
