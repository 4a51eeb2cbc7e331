"""Each 2021-01-01 operation answers only with the status codes the official document lists for
it: the table in renderhub.api.operations is the document's, and a walk of every operation
with many kinds of bad input gets nothing else back."""

from __future__ import annotations

import inspect
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from renderhub.api.openapi.document import official_2021
from renderhub.api.operations import OPERATIONS_2021, Operation, as_listed, operation_at
from renderhub.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    RenderHubError,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from renderhub.settings import Settings
from tests.conftest import API, ControlPlane, make_settings

WALKED = list(OPERATIONS_2021.values())

STORAGE = "https://example.blob.core.windows.net/"
VALID_BODY: dict[str, dict[str, Any]] = {
    "RemoteRendering_CreateSession": {"maxLeaseTimeMinutes": 10, "size": "Standard"},
    "RemoteRendering_UpdateSession": {"maxLeaseTimeMinutes": 20},
    "RemoteRendering_CreateConversion": {
        "settings": {
            "inputLocation": {
                "storageContainerUri": f"{STORAGE}input",
                "storageContainerReadListSas": "sv=2023-11-03&sp=rl&sig=abc",
                "relativeInputAssetPath": "box.glb",
            },
            "outputLocation": {
                "storageContainerUri": f"{STORAGE}out",
                "storageContainerWriteSas": "?sv=2023-11-03&sp=w&sig=abc",
            },
        }
    },
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The walk's valid conversion bodies name containers under an allowed prefix."""
    return make_settings(tmp_path / "data", allow_storage=[STORAGE])


def test_the_table_is_the_official_documents() -> None:
    document = official_2021()
    listed = {
        operation["operationId"]: (
            method.upper(),
            path,
            frozenset(map(int, operation["responses"])),
        )
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    ours = {op.operation_id: (op.method, op.path, op.codes) for op in OPERATIONS_2021.values()}
    assert ours == listed


@pytest.mark.parametrize(
    ("operation_id", "error", "status"),
    [
        ("RemoteRendering_UpdateSession", Conflict("The session has ended."), 422),
        ("RemoteRendering_CreateSession", Conflict("Other settings."), 409),
        ("RemoteRendering_ListSessions", BadRequest("Bad skipToken."), 403),
        ("RemoteRendering_GetSession", BadRequest("Bad api-version."), 403),
        ("RemoteRendering_UpdateSession", BadRequest("Not JSON."), 422),
        ("RemoteRendering_CreateSession", NotFound("No session could have it."), 400),
        ("RemoteRendering_StopSession", NotFound("No session could have it."), 404),
        ("RemoteRendering_CreateSession", PayloadTooLarge("Too large."), 400),
        ("RemoteRendering_UpdateSession", PayloadTooLarge("Too large."), 422),
        ("RemoteRendering_StopSession", UnsupportedMediaType("Not JSON."), 403),
        ("RemoteRendering_GetSession", ServiceUnavailable("Database.", retry_after=5), 429),
        ("RemoteRendering_ListSessions", ServiceUnavailable("No Retry-After of its own."), 429),
    ],
)
def test_other_codes_become_the_closest_listed_one(
    operation_id: str, error: RenderHubError, status: int
) -> None:
    error.target = "field"
    answered = as_listed(OPERATIONS_2021[operation_id], error)
    assert answered.status_code == status
    assert (answered.message, answered.target) == (error.message, "field")
    if status == 429:  # a 429 always says when to try again
        assert answered.headers() == {"Retry-After": "5"} and answered.code == "TooManyRequests"
    else:
        assert answered.headers() == error.headers()


def test_requests_are_told_apart_by_their_encoded_path() -> None:
    assert operation_at("POST", "/accounts/a/sessions/a%2Fb/:stop").operation_id == (  # type: ignore[union-attr]
        "RemoteRendering_StopSession"
    )
    assert operation_at("GET", "/accounts/a%2Fsessions") is None
    assert operation_at("DELETE", "/accounts/a/sessions/s") is None


# -- the walk ----------------------------------------------------------------------------------


def _url(operation: Operation, account_id: str, resource_id: str, query: str | None) -> str:
    path = operation.path.format(
        account_id=account_id, session_id=resource_id, conversion_id=resource_id
    )
    return f"{path}?{query}" if query is not None else path


async def _big_stream() -> AsyncIterator[bytes]:
    for _ in range(40):
        yield b" " * 4096


def _bad_requests(
    plane: ControlPlane, operation: Operation, other_token: str, ended: str
) -> list[tuple[str, dict[str, Any]]]:
    """(label, keyword arguments for _send) for every kind of bad input we know."""
    valid = VALID_BODY.get(operation.operation_id)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("no-auth", {"headers": {}}),
        ("basic-auth", {"headers": {"Authorization": "Basic Zm9vOmJhcg=="}}),
        ("garbage-token", {"headers": {"Authorization": "Bearer x.y.z"}}),
        ("other-account-token", {"headers": {"Authorization": f"Bearer {other_token}"}}),
        ("other-account-path", {"account_id": "00000000-0000-0000-0000-000000000000"}),
        ("no-api-version", {"query": None}),
        ("old-api-version", {"query": "api-version=2019-12-02"}),
        ("junk-query", {"query": f"{API}&skipToken=%%%"}),
        ("skip-token", {"query": f"{API}&skipToken=bm90IGpzb24"}),
        ("unknown-id", {"resource_id": "nobody"}),
        ("long-id", {"resource_id": "a" * 257}),
        ("dotted-id", {"resource_id": "a.b"}),
        ("encoded-slash-id", {"resource_id": "a%2Fb"}),
        ("unicode-id", {"resource_id": "sessi%C3%B6n"}),
        ("ended", {"resource_id": ended}),
        ("text-plain", {"content": b"hello", "content_type": "text/plain"}),
    ]
    if valid is not None:
        cases += [
            ("empty-body", {"content": b""}),
            ("not-json", {"content": b"{"}),
            ("json-list", {"content": b"[]"}),
            ("json-null", {"content": b"null"}),
            ("single-quotes", {"content": b"{'maxLeaseTimeMinutes': 10}"}),
            ("huge-body", {"content": b'{"x": "' + b"x" * 100_000 + b'"}'}),
            ("huge-stream", {"content": _big_stream()}),
            ("lying-length", {"content": b"{}", "length": "100000000"}),
            ("bad-length", {"content": b"{}", "length": "ten"}),
            ("unknown-field", {"json": {**valid, "modles": []}}),
            ("empty-object", {"json": {}}),
            *(
                (f"{name}={value!r}", {"json": {**valid, name: value}})
                for name in valid
                for value in ("5", 5.5, True, None, [], {}, -1, 10**20, "")
            ),
            ("bad-models", {"json": {**valid, "models": ["http://example.com/x.glb"]}}),
        ]
    return cases


async def _send(
    plane: ControlPlane,
    operation: Operation,
    *,
    account_id: str | None = None,
    resource_id: str = "walked",
    query: str | None = API,
    headers: dict[str, str] | None = None,
    content: Any = None,
    content_type: str = "application/json",
    length: str | None = None,
    json: Any = None,
) -> httpx.Response:
    url = _url(operation, account_id or plane.account.id, resource_id, query)
    sent = dict(plane.auth if headers is None else headers)
    body = VALID_BODY.get(operation.operation_id)
    if json is not None or (content is None and body is not None):
        content = _json_bytes(json if json is not None else body)
    if content is not None:
        sent["Content-Type"] = content_type
    if length is not None:
        sent["Content-Length"] = length
    return await plane.client.request(operation.method, url, headers=sent, content=content)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


async def test_every_operation_answers_bad_input_with_listed_codes(plane: ControlPlane) -> None:
    assert (await plane.create("ready")).status_code == 201
    assert (await plane.create("ended")).status_code == 201
    await plane.wait_status("ended", "Ready")
    stop_url = f"/accounts/{plane.account.id}/sessions/ended/:stop?{API}"
    stop = await plane.client.post(stop_url, headers=plane.auth)
    assert stop.status_code == 204
    _, other_token = await plane.new_account()
    seen: Counter[int] = Counter()
    for operation in WALKED:
        for label, kwargs in _bad_requests(plane, operation, other_token, "ended"):
            response = await _send(plane, operation, **kwargs)
            where = f"{operation.operation_id} {label}: {response.status_code} {response.text}"
            assert response.status_code in operation.codes, where
            if response.status_code >= 400:
                error = response.json()["error"]
                assert error["code"] and error["message"], where
                assert None not in error.values(), where
            if response.status_code == 429:
                assert response.headers["Retry-After"].isdigit(), where
            seen[response.status_code] += 1
    # The walk reached every kind of refusal (a walk that only met 401s would prove nothing).
    assert {400, 401, 403, 404, 422} <= set(seen), seen


async def test_an_unreachable_database_is_a_429_with_retry_after(
    plane: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's driver failing (as tests/replicas/test_database_outage.py does for real
    with PostgreSQL) is answered with each operation's 429 on 2021 routes, 503 on v1."""

    async def unreachable(*_args: Any, **_kwargs: Any) -> Any:
        raise ConnectionRefusedError("connection refused")

    stores = (plane.context.service.store, plane.context.conversions.store)
    with monkeypatch.context() as patch:  # undone before the fixture's teardown uses the store
        for store in stores:
            for name in dir(store):
                if not name.startswith("_") and inspect.iscoroutinefunction(getattr(store, name)):
                    patch.setattr(store, name, unreachable)
        for operation in WALKED:
            response = await _send(plane, operation)
            assert response.status_code == 429, (operation.operation_id, response.text)
            assert response.headers["Retry-After"] == "5"
            assert "database" in response.json()["error"]["message"]
        v1 = await plane.client.get(f"/v1/accounts/{plane.account.id}/sessions", headers=plane.auth)
        assert v1.status_code == 503 and v1.headers["Retry-After"] == "5", v1.text
