"""The protocol as its own documents show it: the seed's PowerShell examples sent as raw HTTP
(single-quoted bodies included), and every 2021-01-01 operation as the spec's examples."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from renderhub.testing import Behaviour
from tests.conftest import ControlPlane, wait_for

EXAMPLES = Path(__file__).parent / "spec_examples"
CV = re.compile(r"^[A-Za-z0-9+/]{22}(\.[0-9]+)+$")


def example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return loaded


@pytest.mark.parametrize("slash", ["", "/"])
async def test_seed_powershell_walk(plane: ControlPlane, slash: str) -> None:
    client, account_id = plane.client, plane.account.id
    # Invoke-WebRequest -Uri ".../accounts/$accountId/token" -Method Get -ContentType ...
    token_response = await client.get(
        f"/accounts/{account_id}/token",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {account_id}:{plane.account.primary_key}",
        },
    )
    assert token_response.status_code == 200
    auth = {"Authorization": f"Bearer {token_response.json()['AccessToken']}"}
    sessions = f"/v1/accounts/{account_id}/sessions"

    created = await client.post(
        f"{sessions}/create{slash}",
        content="{ 'maxLeaseTime': '4:0:0', 'models': [], 'size': 'standard' }",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert created.status_code == 202
    assert CV.match(created.headers["MS-CV"])
    session_id = created.json()["sessionId"]
    assert str(uuid.UUID(session_id)) == session_id
    assert created.headers["Location"].endswith(f"{sessions}/{session_id}")

    updated = await client.patch(
        f"{sessions}/{session_id}{slash}",
        content="{ 'maxLeaseTime': '5:0:0' }",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert updated.status_code == 200
    assert updated.content == b""

    listed = await client.get(f"{sessions}{slash}", headers=auth)
    assert listed.status_code == 200
    assert [s["sessionId"] for s in listed.json()["sessions"]] == [session_id]

    async def ready_or_error() -> dict[str, Any] | None:
        response = await client.get(f"{sessions}/{session_id}/properties{slash}", headers=auth)
        body: dict[str, Any] = response.json()
        return body if body["sessionStatus"].lower() in ("ready", "error") else None

    properties = await wait_for(ready_or_error, within=15)
    assert properties["sessionStatus"] == "Ready"
    assert properties["sessionMaxLeaseTime"] == "05:00:00"
    assert properties["sessionSize"] == "Standard"
    assert properties["message"] is None
    assert re.match(r"^\d\d:\d\d:\d\d$", properties["sessionElapsedTime"])
    assert properties["sessionHostname"]
    assert {
        "message", "sessionElapsedTime", "sessionHostname", "sessionId",
        "sessionMaxLeaseTime", "sessionSize", "sessionStatus",
    } <= set(properties)  # fmt: skip

    stopped = await client.delete(f"{sessions}/{session_id}{slash}", headers=auth)
    assert stopped.status_code == 204
    assert stopped.content == b""
    assert CV.match(stopped.headers["MS-CV"])


def _same_shape(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    assert set(actual) == set(expected), (sorted(actual), sorted(expected))
    for key, value in expected.items():
        if value is not None:
            assert isinstance(actual[key], type(value)), (key, actual[key], value)


async def test_spec_examples_walk(plane: ControlPlane) -> None:
    client, account_id = plane.client, plane.account.id
    create = example("CreateSession")
    session_id = create["parameters"]["session_id"]
    url = f"/accounts/{account_id}/sessions/{session_id}"
    query = {"api-version": create["parameters"]["api-version"]}
    # Held Starting until the create's examples are walked (the retry's too), then Ready.
    plane.backend.script(session_id, Behaviour.NEVER_READY)

    created = await client.put(
        url, params=query, json=create["parameters"]["body"], headers=plane.auth
    )
    assert created.status_code == 201
    _same_shape(created.json(), create["responses"]["201"]["body"])
    assert created.json()["status"] == "Starting"
    retried = await client.put(
        url, params=query, json=create["parameters"]["body"], headers=plane.auth
    )
    assert retried.status_code == 200
    _same_shape(retried.json(), create["responses"]["200"]["body"])
    conflict = await client.put(
        url, params=query, json={"maxLeaseTimeMinutes": 61, "size": "Standard"}, headers=plane.auth
    )
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == create["responses"]["409"]["body"]["error"]["code"]
    bad = await client.put(url, params=query, json={"size": "Standard"}, headers=plane.auth)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == create["responses"]["400"]["body"]["error"]["code"]

    plane.backend.script(session_id, Behaviour.READY)
    got = await plane.wait_status(session_id, "Ready")
    _same_shape(got, example("GetSession")["responses"]["200"]["body"])
    assert 49152 <= got["handshakePort"] <= 65534 and 49152 <= got["arrInspectorPort"] <= 65534

    update = example("UpdateSession")
    updated = await client.patch(
        url,
        params={"api-version": update["parameters"]["api-version"]},
        json=update["parameters"]["body"],
        headers=plane.auth,
    )
    assert updated.status_code == 200
    _same_shape(updated.json(), update["responses"]["200"]["body"])
    assert updated.json()["maxLeaseTimeMinutes"] == 72
    shorter = await client.patch(
        url, params=query, json={"maxLeaseTimeMinutes": 10}, headers=plane.auth
    )
    assert shorter.status_code == 422
    assert shorter.json()["error"]["code"] == update["responses"]["422"]["body"]["error"]["code"]

    listed = await client.get(f"/accounts/{account_id}/sessions", params=query, headers=plane.auth)
    assert listed.status_code == 200
    [listed_session] = listed.json()["sessions"]
    _same_shape(listed_session, example("ListSessions")["responses"]["200"]["body"]["sessions"][1])

    stopped = await client.post(f"{url}/:stop", params=query, headers=plane.auth)
    assert stopped.status_code == 204
    assert stopped.content == b""
    gone = await client.post(
        f"/accounts/{account_id}/sessions/nope/:stop", params=query, headers=plane.auth
    )
    assert gone.status_code == 404


async def test_unauthorized_answers_as_the_spec_shows(plane: ControlPlane) -> None:
    expected = example("GetSession")["responses"]["401"]["headers"]["WWW-Authenticate"]
    response = await plane.client.get(
        plane.sessions_url("any"), headers={"Authorization": "Bearer not-a-token"}
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == expected
    assert response.json()["error"]["code"] == "Unauthorized"
    assert CV.match(response.headers["MS-CV"])


async def test_ms_cv_extends_the_clients_vector(plane: ControlPlane) -> None:
    response = await plane.client.get(
        plane.sessions_url(), headers={**plane.auth, "MS-CV": "dKEFmka2kkSlDmp/af+sOw.4"}
    )
    assert response.headers["MS-CV"] == "dKEFmka2kkSlDmp/af+sOw.4.0"
