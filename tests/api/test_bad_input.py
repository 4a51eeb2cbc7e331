"""Bad input on every route: the right 4xx, the protocol's error body (with a message that says
what was wrong), an MS-CV header, and a store left exactly as it was.

Most tests need no session: every check runs before a session is looked up or created. Only
the lease tests create (one) session each, on the fake backend.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from renderhub.status import SessionStatus
from renderhub.store.accounts import new_account_key
from renderhub.tokens import TokenIssuer
from tests.conftest import API, ControlPlane

MS_CV = re.compile(r"^[A-Za-z0-9+/]{22}(\.[0-9]+)+$")
INVALID_TOKEN = 'Bearer error="invalid_token"'
TWO_MB = 2 * 1024 * 1024


# -- helpers -----------------------------------------------------------------------------------


def expect_error(
    response: httpx.Response, status: int, code: str, *words: str, where: str = ""
) -> dict[str, Any]:
    """The protocol's error body, an MS-CV header, and a message containing `words`.
    `where` names the route in a failure, for tests that loop over several."""
    request = f"{where} {response.request.method} {response.request.url}"
    assert response.status_code == status, f"{request}: {response.text}"
    assert MS_CV.match(response.headers.get("ms-cv", "")), response.headers
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"], body
    error: dict[str, Any] = body["error"]
    # No null fields (strict clients reject them): target only when there is one, no details.
    assert set(error) in ({"code", "message"}, {"code", "message", "target"}), error
    assert error["code"] == code, error
    assert isinstance(error.get("target", ""), str) and error.get("target") != "", error
    assert isinstance(error["message"], str) and error["message"], error
    for word in words:
        assert word.lower() in error["message"].lower(), f"{request}: {error['message']}"
    return error


def expect_unauthorized(response: httpx.Response, *words: str, where: str = "") -> dict[str, Any]:
    error = expect_error(response, 401, "Unauthorized", *words, where=where)
    assert response.headers.get("www-authenticate") == INVALID_TOKEN, where
    return error


async def rows(plane: ControlPlane) -> list[Any]:
    """Every session in the store, of every account and status."""
    records = await plane.context.service.store.with_status(set(SessionStatus))
    return sorted(records, key=lambda record: (record.account_id, record.id))


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # {a}: account id, {s}: session id
    body: dict[str, Any] | None = None
    v2021: bool = False

    def url(self, account_id: str, session_id: str = "s1", query: str | None = API) -> str:
        path = self.path.format(a=account_id, s=session_id)
        return f"{path}?{query}" if self.v2021 and query is not None else path


V1_CREATE = Call(
    "POST",
    "/v1/accounts/{a}/sessions/create",
    {"maxLeaseTime": "0:10:0", "models": [], "size": "standard"},
)
V1_EXTEND = Call("PATCH", "/v1/accounts/{a}/sessions/{s}", {"maxLeaseTime": "0:20:0"})
V1_LIST = Call("GET", "/v1/accounts/{a}/sessions")
V1_PROPERTIES = Call("GET", "/v1/accounts/{a}/sessions/{s}/properties")
V1_STOP = Call("DELETE", "/v1/accounts/{a}/sessions/{s}")
PUT = Call(
    "PUT", "/accounts/{a}/sessions/{s}", {"maxLeaseTimeMinutes": 10, "size": "Standard"}, True
)
GET = Call("GET", "/accounts/{a}/sessions/{s}", None, True)
PATCH = Call("PATCH", "/accounts/{a}/sessions/{s}", {"maxLeaseTimeMinutes": 20}, True)
STOP = Call("POST", "/accounts/{a}/sessions/{s}/:stop", None, True)
LIST = Call("GET", "/accounts/{a}/sessions", None, True)

ROUTES = {
    "v1-create": V1_CREATE,
    "v1-extend": V1_EXTEND,
    "v1-list": V1_LIST,
    "v1-properties": V1_PROPERTIES,
    "v1-stop": V1_STOP,
    "put": PUT,
    "get": GET,
    "patch": PATCH,
    "stop": STOP,
    "list": LIST,
}
ROUTES_2021 = ["put", "get", "patch", "stop", "list"]
# What each 2021 operation answers to a request it cannot read, from the codes the official
# document lists for it (renderhub.api.operations): create 400, update 422, the others 403.
REFUSAL = {
    "put": (400, "BadRequest"),
    "patch": (422, "UnprocessableEntity"),
    "get": (403, "Forbidden"),
    "stop": (403, "Forbidden"),
    "list": (403, "Forbidden"),
    "v1-create": (400, "BadRequest"),
    "v1-extend": (400, "BadRequest"),
}
BODY_ROUTES = ["v1-create", "v1-extend", "put", "patch"]
SESSION_ROUTES = ["v1-extend", "v1-properties", "v1-stop", "put", "get", "patch", "stop"]


async def send(
    plane: ControlPlane,
    call: Call,
    *,
    account_id: str | None = None,
    session_id: str = "s1",
    query: str | None = API,
    headers: dict[str, Any] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send `call` with the plane's token and the call's valid body unless told otherwise."""
    if "content" not in kwargs and "json" not in kwargs and call.body is not None:
        kwargs["json"] = call.body
    url = call.url(account_id or plane.account.id, session_id, query)
    return await plane.client.request(
        call.method, url, headers=plane.auth if headers is None else headers, **kwargs
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt_part(part: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


# -- authentication on the session routes ------------------------------------------------------

AUTH_CASES = [
    "missing",
    "basic-scheme",
    "empty-bearer",
    "garbage",
    "account-key",
    "other-signing-key",
    "unsigned",
    "tampered",
    "expired",
]


def bad_authorization(plane: ControlPlane, case: str) -> tuple[dict[str, str], str]:
    """Headers for one kind of bad credential, and a word the error message must contain."""
    account = plane.account
    if case == "missing":
        return {}, "authorization"
    if case == "basic-scheme":
        basic = base64.b64encode(f"{account.id}:{account.primary_key}".encode()).decode()
        return {"Authorization": f"Basic {basic}"}, "bearer"
    if case == "empty-bearer":
        return {"Authorization": "Bearer "}, "bearer"
    if case == "garbage":
        return {"Authorization": "Bearer garbage.not-a.token"}, "invalid"
    if case == "account-key":  # the STS credential is not an access token
        return {"Authorization": f"Bearer {account.id}:{account.primary_key}"}, "invalid"
    if case == "other-signing-key":
        token = TokenIssuer(Ed25519PrivateKey.generate(), plane.clock).issue(account.id)
        return {"Authorization": f"Bearer {token}"}, "invalid"
    if case == "unsigned":  # alg 'none' with the real token's claims
        _, payload, _ = plane.token.split(".")
        header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        return {"Authorization": f"Bearer {header}.{payload}."}, "invalid"
    if case == "tampered":  # a later expiry, the original signature
        header, payload, signature = plane.token.split(".")
        claims = _jwt_part(payload)
        claims["exp"] += 86_400 * 365
        forged = f"{header}.{_b64url(json.dumps(claims).encode())}.{signature}"
        return {"Authorization": f"Bearer {forged}"}, "invalid"
    if case == "expired":  # the verifier reads the plane's clock; tokens last 24 h
        plane.clock.advance(timedelta(hours=25))
        return plane.auth, "expired"
    raise AssertionError(case)


@pytest.mark.parametrize("case", AUTH_CASES)
async def test_session_routes_reject_bad_credentials(plane: ControlPlane, case: str) -> None:
    headers, word = bad_authorization(plane, case)
    for route, call in ROUTES.items():
        expect_unauthorized(await send(plane, call, headers=headers), word, where=route)
    assert await rows(plane) == []


async def test_an_expired_token_stays_expired_after_it_was_accepted(plane: ControlPlane) -> None:
    """The verifier caches good tokens; the cache must not outlive the token."""
    assert (await send(plane, LIST)).status_code == 200
    plane.clock.advance(timedelta(hours=24, seconds=1))
    expect_unauthorized(await send(plane, LIST), "expired")


# -- api-version on every 2021 route -----------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        None,
        "api-version=",
        "api-version=2019-02-28-preview",
        "api-version=2021-01-02",
        "api-version=2021-01-01x",
        "api-version=latest",
        "apiversion=2021-01-01",
    ],
)
async def test_2021_routes_need_a_known_api_version(plane: ControlPlane, query: str | None) -> None:
    for route in ROUTES_2021:
        response = await send(plane, ROUTES[route], query=query)
        status, code = REFUSAL[route]
        error = expect_error(response, status, code, "api-version", "2021-01-01", where=route)
        assert error["target"] == "api-version"
    assert await rows(plane) == []


# -- bodies: not JSON, not an object, too large, lying headers ---------------------------------

_NESTED = b"[" * 20_000 + b"]" * 20_000


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", ["json body"]),
        (b" \r\n\t ", ["json body"]),
        (b"{", ["not valid json"]),
        (b'{"size": }', ["not valid json"]),
        (b"\xff\xfe{\x00}\x00", ["not valid json"]),
        (_NESTED, ["not valid json"]),
        (b"[]", ["json object"]),
        (b'"maxLeaseTime"', ["json object"]),
        (b"42", ["json object"]),
        (b"null", ["json object"]),
        (b"true", ["json object"]),
    ],
    ids=[
        "empty",
        "blank",
        "truncated",
        "no-value",
        "not-utf8",
        "nested-20000",
        "list",
        "string",
        "number",
        "null",
        "bool",
    ],
)
async def test_bodies_that_are_not_a_json_object(
    plane: ControlPlane, content: bytes, words: list[str]
) -> None:
    for route in BODY_ROUTES:
        response = await send(plane, ROUTES[route], content=content)
        expect_error(response, *REFUSAL[route], *words, where=route)
    assert await rows(plane) == []


@pytest.mark.parametrize(
    ("content", "word"),
    [
        (b"{'maxLeaseTimeMinutes': 20, 'size': 'Standard'}", "not valid json"),
        (b'{"maxLeaseTimeMinutes": 20, "size": "Standard",}', "not valid json"),
        (b'{maxLeaseTimeMinutes: 20, size: "Standard"}', "not valid json"),
        (b'{"maxLeaseTimeMinutes": NaN, "size": "Standard"}', "whole number"),
        (b'{"maxLeaseTimeMinutes": Infinity, "size": "Standard"}', "whole number"),
    ],
    ids=["single-quotes", "trailing-comma", "bare-keys", "nan", "infinity"],
)
async def test_2021_routes_stay_strict_json(plane: ControlPlane, content: bytes, word: str) -> None:
    for route in ("put", "patch"):
        if route == "patch":  # an update takes no size: leave it out where it can be
            content = content.replace(b', "size": "Standard"', b"")
        response = await send(plane, ROUTES[route], content=content)
        expect_error(response, *REFUSAL[route], word, where=route)
    assert await rows(plane) == []


async def test_v1_reads_single_quoted_bodies(plane: ControlPlane) -> None:
    """The control for the strict test above: v1 reads the body and only then misses the
    session (404), where a syntax error would have been a 400."""
    response = await send(plane, V1_EXTEND, content=b"{ 'maxLeaseTime': '5:0:0' }")
    expect_error(response, 404, "NotFound", "no session")


async def _two_megabytes() -> AsyncIterator[bytes]:
    chunk = b" " * 65_536
    for _ in range(TWO_MB // len(chunk)):
        yield chunk


def _big_body() -> bytes:
    return b'{"maxLeaseTime": "0:10:0", "size": "standard", "pad": "' + b"x" * TWO_MB + b'"}'


@pytest.mark.parametrize(
    ("body", "length", "status"),
    [
        ("2mb", None, 413),
        ("2mb-streamed", None, 413),  # chunked: no Content-Length at all
        ("2mb", "100", 413),
        ("small", str(10 * 1024 * 1024), 413),
        ("small", "1" + "0" * 5000, 413),  # more digits than int() converts by default
        ("small", "abc", 400),
        ("small", "-1", 400),
        ("small", b"\xb2", 400),  # '²': str.isdigit() says yes, int() says no
    ],
    ids=[
        "honest-length",
        "streamed",
        "length-says-100",
        "length-says-10mb",
        "length-huge",
        "length-abc",
        "length-negative",
        "length-superscript-digit",
    ],
)
async def test_body_size_limit_and_lying_content_length(
    plane: ControlPlane, body: str, length: str | bytes | None, status: int
) -> None:
    word = "larger than" if status == 413 else "length"
    for route in BODY_ROUTES:
        # v1 answers 413; a 2021 operation answers with its refusal (no 413 is listed).
        code = "PayloadTooLarge" if status == 413 else "BadRequest"
        expected = (status, code) if route.startswith("v1") else REFUSAL[route]
        content: bytes | AsyncIterator[bytes]
        if body == "2mb":
            content = _big_body()
        elif body == "2mb-streamed":
            content = _two_megabytes()
        else:
            content = json.dumps(ROUTES[route].body).encode()
        headers: dict[str, str | bytes] = {**plane.auth}
        if length is not None:
            headers["Content-Length"] = length
        response = await send(plane, ROUTES[route], headers=headers, content=content)
        expect_error(response, *expected, word, where=route)
    assert await rows(plane) == []


# -- fields of the 2021 API --------------------------------------------------------------------

_BAD_MINUTES = [
    ("10", "whole number"),
    (10.5, "whole number"),
    (10.0, "whole number"),
    (True, "whole number"),
    (None, "whole number"),
    ([10], "whole number"),
    ({"minutes": 10}, "whole number"),
]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, ["maxLeaseTimeMinutes", "required"]),
        ({"size": "Standard"}, ["maxLeaseTimeMinutes", "required"]),
        ({"maxLeaseTimeMinutes": 10}, ["size", "required"]),
        *(({"maxLeaseTimeMinutes": v, "size": "Standard"}, [w]) for v, w in _BAD_MINUTES),
        ({"maxLeaseTimeMinutes": -1, "size": "Standard"}, ["between 0 and 1440"]),
        ({"maxLeaseTimeMinutes": 1441, "size": "Standard"}, ["between 0 and 1440"]),
        ({"maxLeaseTimeMinutes": 10**20, "size": "Standard"}, ["between 0 and 1440"]),
        ({"maxLeaseTimeMinutes": 10, "size": "Huge"}, ["unknown session size", "Standard"]),
        ({"maxLeaseTimeMinutes": 10, "size": ""}, ["unknown session size"]),
        ({"maxLeaseTimeMinutes": 10, "size": None}, ["unknown session size"]),
        ({"maxLeaseTimeMinutes": 10, "size": ["Standard"]}, ["unknown session size"]),
        ({"maxLeaseTimeMinutes": 10, "size": 1}, ["unknown session size"]),
        ({"maxLeaseTimeMinutes": 10, "size": True}, ["unknown session size"]),
    ],
)
async def test_2021_create_rejects_bad_fields(
    plane: ControlPlane, body: dict[str, Any], words: list[str]
) -> None:
    expect_error(await send(plane, PUT, json=body), 400, "BadRequest", *words)
    assert await plane.row("s1") is None
    assert await rows(plane) == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, ["maxLeaseTimeMinutes", "required"]),
        ({"maxLeaseTime": "5:0:0"}, ["maxLeaseTime'", "not a field"]),
        ({"maxLeaseTimeMinutes": 20, "size": "Premium"}, ["'size'", "not a field"]),
        ({"max_lease_time_minutes": 20}, ["max_lease_time_minutes", "not a field"]),
        *(({"maxLeaseTimeMinutes": v}, [w]) for v, w in _BAD_MINUTES),
        ({"maxLeaseTimeMinutes": -1}, ["longer than the current", "1440"]),
        ({"maxLeaseTimeMinutes": 0}, ["longer than the current", "1440"]),
        ({"maxLeaseTimeMinutes": 1441}, ["longer than the current", "1440"]),
        ({"maxLeaseTimeMinutes": 10**20}, ["longer than the current", "1440"]),
    ],
)
async def test_2021_update_rejects_bad_fields_before_looking_up(
    plane: ControlPlane, body: dict[str, Any], words: list[str]
) -> None:
    """Every one a 422: the document lists no 400 for an update."""
    expect_error(await send(plane, PATCH, json=body), 422, "UnprocessableEntity", *words)
    assert await rows(plane) == []


@pytest.mark.parametrize(
    ("route", "extra"),
    [
        ("put", {"modles": []}),
        ("put", {"max_lease_time_minutes": 10}),
        ("put", {"Size": "Premium"}),
        ("put", {"maxLeaseTime": "0:10:0"}),
        ("v1-create", {"modles": []}),
        ("v1-create", {"maxLeaseTimeMinutes": 10}),
        ("patch", {"size": "Premium"}),
        ("v1-extend", {"models": []}),
    ],
)
async def test_unknown_fields_are_refused_by_name(
    plane: ControlPlane, route: str, extra: dict[str, Any]
) -> None:
    """A typo must not create a session without models (or change anything else)."""
    call = ROUTES[route]
    (name,) = extra
    response = await send(plane, call, json={**(call.body or {}), **extra})
    error = expect_error(response, *REFUSAL[route], f"'{name}'", "not a field", where=route)
    assert error["target"] == name
    assert await rows(plane) == []


# -- fields of the v1 API ----------------------------------------------------------------------

_BAD_SPANS = [
    ("-1:0:0", "not a time span"),
    ("99:0:0", "out of range"),
    ("25:00:00", "out of range"),
    ("4:60:0", "out of range"),
    ("0:0:60", "out of range"),
    ("abc", "not a time span"),
    ("1.2.3", "not a time span"),
    ("", "not a time span"),
    ("4", "not a time span"),
    ("4:0:0:0", "not a time span"),
    ("4h", "not a time span"),
    ("99999.00:00:00", "not a time span"),
    ("2.00:00:00", "between 0 and 1440"),
    ("1.00:00:01", "between 0 and 1440"),
    (240, "time span"),
    (4.5, "time span"),
    (True, "time span"),
    (None, "time span"),
    (["4:0:0"], "time span"),
]


@pytest.mark.parametrize(("span", "word"), _BAD_SPANS, ids=[repr(s) for s, _ in _BAD_SPANS])
async def test_v1_rejects_bad_time_spans(plane: ControlPlane, span: object, word: str) -> None:
    for route in ("v1-create", "v1-extend"):
        call = ROUTES[route]
        body = {**(call.body or {}), "maxLeaseTime": span}
        response = await send(plane, call, json=body)
        error = expect_error(response, 400, "BadRequest", word, where=route)
        if isinstance(span, str) and span:
            assert span in error["message"] or "1440" in error["message"]
    assert await rows(plane) == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, ["size", "required"]),
        ({"maxLeaseTime": "4:0:0", "models": []}, ["size", "required"]),
        ({"size": "standard", "models": []}, ["maxLeaseTime", "required"]),
        ({"maxLeaseTime": "4:0:0", "size": "huge"}, ["unknown session size"]),
        ({"maxLeaseTime": "4:0:0", "size": None}, ["unknown session size"]),
        ({"maxLeaseTime": "4:0:0", "size": ["standard"]}, ["unknown session size"]),
        ({"maxLeaseTime": "4:0:0", "size": 5}, ["unknown session size"]),
    ],
)
async def test_v1_create_rejects_missing_and_unknown_fields(
    plane: ControlPlane, body: dict[str, Any], words: list[str]
) -> None:
    expect_error(await send(plane, V1_CREATE, json=body), 400, "BadRequest", *words)
    assert await rows(plane) == []


async def test_v1_extend_needs_a_lease(plane: ControlPlane) -> None:
    response = await send(plane, V1_EXTEND, json={})
    expect_error(response, 400, "BadRequest", "maxLeaseTime", "required")
    response = await send(plane, V1_EXTEND, json={"maxLeaseTimeMinutes": 20})
    expect_error(
        response, 400, "BadRequest", "'maxLeaseTimeMinutes' is not a field", "takes 'maxLeaseTime'."
    )


# -- model URLs --------------------------------------------------------------------------------

_BAD_MODELS: list[tuple[str, object, str]] = [
    ("http-not-allowed", ["http://example.com/cube.glb"], "not allowed"),
    ("https-not-allowed", ["https://example.com/cube.glb"], "not allowed"),
    ("http-no-host", ["http:///cube.glb"], "no host"),
    ("file-url-outside", ["{outside_uri}"], "outside"),
    ("absolute-path-outside", ["{outside}"], "outside"),
    ("dot-dot", ["../outside.glb"], "outside"),
    ("dot-dot-inside-path", ["samples/../../outside.glb"], "outside"),
    ("encoded-dot-dot", ["%2e%2e/outside.glb"], "outside"),
    ("key-file", ["../keys/token-signing.pem"], "outside"),
    ("unsupported-extension", ["samples/readme.txt"], "unsupported type"),
    ("no-extension", ["samples/cube"], "unsupported type"),
    ("missing-file", ["samples/missing.glb"], "does not exist"),
    ("ftp-scheme", ["ftp://example.com/cube.glb"], "unsupported scheme"),
    ("remote-file-host", ["file://fileserver/share/cube.glb"], "remote"),
    ("empty-url", [""], "1 to 2048"),
    ("over-long-url", ["samples/" + "x" * 2048 + ".glb"], "1 to 2048"),
    ("over-long-file-name", ["samples/" + "x" * 300 + ".glb"], "does not exist"),
    ("nul-byte", ["samples/cube.glb\x00.glb"], "not a valid"),
    ("lone-surrogate", ["samples/\ud800.glb"], "not a valid"),
    ("broken-ipv6-host", ["http://[::1/cube.glb"], "not a valid"),
    ("not-a-list", "samples/cube.glb", "must be a list"),
    ("object", {"url": "samples/cube.glb"}, "must be a list"),
    ("list-of-numbers", [1, 2], "must be a list"),
    ("list-of-lists", [["samples/cube.glb"]], "must be a list"),
    ("17-models", ["samples/cube.glb"] * 17, "at most 16"),
]


@pytest.fixture
def model_files(plane: ControlPlane) -> dict[str, str]:
    """Real files, so that the policy (not a missing file) is what refuses them."""
    models_dir = plane.settings.models_dir
    outside = models_dir.parent / "outside.glb"
    shutil.copyfile(models_dir / "samples" / "cube.glb", outside)
    (models_dir / "samples" / "readme.txt").write_text("not a model")
    (models_dir / "samples" / "cube").write_bytes(
        (models_dir / "samples" / "cube.glb").read_bytes()
    )
    return {"outside": str(outside), "outside_uri": outside.as_uri()}


@pytest.mark.parametrize(
    ("models", "word"), [(m, w) for _, m, w in _BAD_MODELS], ids=[n for n, _, _ in _BAD_MODELS]
)
async def test_disallowed_models(
    plane: ControlPlane, model_files: dict[str, str], models: object, word: str
) -> None:
    if isinstance(models, list):
        models = [m.format(**model_files) if isinstance(m, str) else m for m in models]
    for route in ("v1-create", "put"):
        call = ROUTES[route]
        body = json.dumps({**(call.body or {}), "models": models})  # ASCII: keeps a lone surrogate
        response = await send(plane, call, content=body.encode())
        expect_error(response, 400, "BadRequest", word, where=route)
    assert await rows(plane) == []


# -- session ids -------------------------------------------------------------------------------

_BAD_IDS = [
    ("257-chars", "a" * 257),
    ("space", "a b"),
    ("dot", "a.b"),
    ("unicode", "sessi\u00f6n"),
    ("newline", "abc%0A"),
    ("nul", "abc%00"),
    ("plus", "a+b"),
    ("tilde", "a~b"),
    ("star", "%2A"),
    ("colon", "a:b"),
]


@pytest.mark.parametrize("session_id", [i for _, i in _BAD_IDS], ids=[n for n, _ in _BAD_IDS])
async def test_illegal_session_ids(plane: ControlPlane, session_id: str) -> None:
    for route in SESSION_ROUTES:
        response = await send(plane, ROUTES[route], session_id=session_id)
        # No session could have it: 404 where the operation lists one (get, update, stop).
        status, code = (
            (404, "NotFound") if route in ("get", "patch", "stop") else (400, "BadRequest")
        )
        error = expect_error(response, status, code, "session id", "256", where=route)
        assert error["target"] == "sessionId"
    assert await rows(plane) == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("PUT", "/accounts/{a}/sessions/a%2Fb?" + API, 400),
        # An id no session could have: 404 where the operation lists one.
        ("GET", "/accounts/{a}/sessions/a%2Fb?" + API, 404),
        ("PATCH", "/accounts/{a}/sessions/a%2Fb?" + API, 404),
        ("POST", "/accounts/{a}/sessions/a%2fb/:stop?" + API, 404),
        ("GET", "/accounts/{a}%2Fsessions?" + API, 400),
        ("PATCH", "/v1/accounts/{a}/sessions/a%2Fb", 400),
        ("GET", "/v1/accounts/{a}/sessions/a%2Fproperties", 400),
        # v1 tolerates a trailing '/': removing it must not turn '%2F' into a real '/'.
        ("GET", "/v1/accounts/{a}/sessions/a%2Fproperties/", 400),
        ("DELETE", "/v1/accounts/{a}/sessions/a%2Fb/", 400),
        ("POST", "/v1/accounts/{a}%2Fsessions/create/", 400),
    ],
)
async def test_encoded_slash_in_a_path_segment(
    plane: ControlPlane, method: str, path: str, status: int
) -> None:
    url = path.format(a=plane.account.id)
    body = {"maxLeaseTimeMinutes": 20, "maxLeaseTime": "0:20:0", "size": "Standard"}
    response = await plane.client.request(method, url, headers=plane.auth, json=body)
    code = "NotFound" if status == 404 else "BadRequest"
    expect_error(response, status, code, "encoded '/'")
    assert await rows(plane) == []


@pytest.mark.parametrize("route", ["get", "v1-properties"])
async def test_a_256_character_id_is_legal(plane: ControlPlane, route: str) -> None:
    """The control for the 257-character case: a legal id of an absent session is a 404."""
    response = await send(plane, ROUTES[route], session_id="a" * 256)
    expect_error(response, 404, "NotFound", "no session")


@pytest.mark.parametrize("route", ["v1-extend", "v1-properties", "v1-stop", "get", "patch", "stop"])
async def test_unknown_session(plane: ControlPlane, route: str) -> None:
    expect_error(await send(plane, ROUTES[route], session_id="nobody"), 404, "NotFound", "nobody")
    assert await rows(plane) == []


@pytest.mark.parametrize("token", ["notbase64!", "a", _b64url(b"not json"), _b64url(b"[1]")])
async def test_list_rejects_a_skip_token_it_did_not_issue(plane: ControlPlane, token: str) -> None:
    response = await send(plane, LIST, query=f"{API}&skipToken={token}")
    expect_error(response, 403, "Forbidden", "skipToken")  # the document lists no 400 for list


# -- leases that do not extend (one session per API generation) --------------------------------


async def test_2021_update_must_extend_within_the_maximum(plane: ControlPlane) -> None:
    assert (await plane.create("s1", maxLeaseTimeMinutes=10)).status_code == 201
    await plane.wait_status("s1", "Ready")
    before = await plane.row("s1")
    cases: list[tuple[object, int, str]] = [
        (9, 422, "longer than the current"),
        (10, 422, "longer than the current"),
        (0, 422, "longer than the current"),
        (-5, 422, "longer than the current"),
        (1441, 422, "1440"),
        (10**20, 422, "1440"),
        ("20", 422, "whole number"),
        (20.0, 422, "whole number"),
        (None, 422, "whole number"),
    ]
    for minutes, status, word in cases:
        response = await send(plane, PATCH, json={"maxLeaseTimeMinutes": minutes})
        error = expect_error(response, status, "UnprocessableEntity", word)
        assert error["target"] == "maxLeaseTimeMinutes"
        assert await plane.row("s1") == before, minutes
    # The same id with other settings is a conflict, and changes nothing either.
    conflict = await plane.create("s1", maxLeaseTimeMinutes=20)
    expect_error(conflict, 409, "Conflict", "already exists")
    expect_error(await plane.create("s1", size="Premium"), 409, "Conflict", "already exists")
    assert await plane.row("s1") == before
    body = await plane.get("s1")
    assert body["maxLeaseTimeMinutes"] == 10 and body["status"] == "Ready"
    # Once stopped, a lease can no longer change: 422, as the document lists no 409 for update.
    assert (await send(plane, STOP)).status_code == 204
    response = await send(plane, PATCH, json={"maxLeaseTimeMinutes": 20})
    expect_error(response, 422, "UnprocessableEntity", "lease cannot change")
    assert (await plane.row("s1")).lease_seconds == 600


async def test_v1_extend_must_extend_within_the_maximum(plane: ControlPlane) -> None:
    created = await send(plane, V1_CREATE)  # a lease of 0:10:0
    assert created.status_code == 202, created.text
    session_id = created.json()["sessionId"]
    await plane.wait_status(session_id, "Ready")
    before = await plane.row(session_id)
    cases: list[tuple[object, str]] = [
        ("0:05:00", "longer than the current one (00:10:00)"),
        ("0:10:0", "longer than the current one (00:10:00)"),
        ("00:10:00", "longer than the current one (00:10:00)"),
        ("0:0:0", "longer than the current one"),
        ("1.00:00:01", "between 0 and 1440"),
        ("2.00:00:00", "between 0 and 1440"),
        ("25:00:00", "out of range"),
        ("-1:0:0", "not a time span"),
        (600, "time span"),
    ]
    for span, word in cases:
        response = await send(plane, V1_EXTEND, session_id=session_id, json={"maxLeaseTime": span})
        expect_error(response, 400, "BadRequest", word)
        assert await plane.row(session_id) == before, span
    assert (await send(plane, V1_STOP, session_id=session_id)).status_code == 204
    response = await send(plane, V1_EXTEND, session_id=session_id)
    expect_error(response, 409, "Conflict", "lease cannot change")
    assert (await plane.row(session_id)).lease_seconds == 600


# -- unknown routes and wrong methods ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/accounts/{a}"),
        ("GET", "/v2/accounts/{a}/sessions"),
        ("GET", "/v1/accounts/{a}/session"),
        ("GET", "/v1/accounts/{a}/sessions/s1/properties/extra"),
        ("POST", "/accounts/{a}/sessions/s1/stop?" + API),
        ("POST", "/accounts/{a}/sessions/s1/:start?" + API),
        ("GET", "/accounts/{a}/sessions/s1/extra?" + API),
        ("GET", "/acounts/{a}/token"),
        ("GET", "/accounts/{a}/tokens"),
    ],
)
async def test_unknown_routes(plane: ControlPlane, method: str, path: str) -> None:
    url = path.format(a=plane.account.id)
    response = await plane.client.request(method, url, headers=plane.auth)
    expect_error(response, 404, "NotFound", "no such resource")
    assert await rows(plane) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/accounts/{a}/sessions"),
        ("PUT", "/v1/accounts/{a}/sessions/create"),
        ("GET", "/v1/accounts/{a}/sessions/create"),
        ("GET", "/v1/accounts/{a}/sessions/s1"),
        ("POST", "/v1/accounts/{a}/sessions/s1"),
        ("PUT", "/v1/accounts/{a}/sessions/s1/properties"),
        ("DELETE", "/accounts/{a}/sessions/s1?" + API),
        ("POST", "/accounts/{a}/sessions/s1?" + API),
        ("GET", "/accounts/{a}/sessions/s1/:stop?" + API),
        ("POST", "/accounts/{a}/sessions?" + API),
        ("DELETE", "/accounts/{a}/sessions?" + API),
        ("POST", "/accounts/{a}/token"),
        ("PUT", "/Accounts/{a}/token"),
    ],
)
async def test_wrong_methods(plane: ControlPlane, method: str, path: str) -> None:
    url = path.format(a=plane.account.id)
    body = {"maxLeaseTimeMinutes": 10, "maxLeaseTime": "0:10:0", "size": "Standard"}
    response = await plane.client.request(method, url, headers=plane.auth, json=body)
    expect_error(response, 405, "MethodNotAllowed", "does not support")
    assert await rows(plane) == []


# -- the token service -------------------------------------------------------------------------

STS_CASES = [
    "wrong-key",
    "other-accounts-key",
    "unknown-account",
    "header-names-other-account",
    "path-names-other-account",
    "missing-colon",
    "key-only",
    "empty-key",
    "empty-account",
    "access-token",
]


async def sts_credential(plane: ControlPlane, case: str) -> tuple[str, str]:
    """(account id for the path, credential for the header) for one kind of mistake."""
    account = plane.account
    if case in ("other-accounts-key", "header-names-other-account", "path-names-other-account"):
        other, _ = await plane.new_account()
        if case == "other-accounts-key":
            return account.id, f"{account.id}:{other.primary_key}"
        if case == "header-names-other-account":
            return account.id, f"{other.id}:{other.primary_key}"
        return other.id, f"{account.id}:{account.primary_key}"
    unknown = str(uuid.uuid4())
    return {
        "wrong-key": (account.id, f"{account.id}:{new_account_key()}"),
        "unknown-account": (unknown, f"{unknown}:{account.primary_key}"),
        "missing-colon": (account.id, f"{account.id}{account.primary_key}"),
        "key-only": (account.id, account.primary_key),
        "empty-key": (account.id, f"{account.id}:"),
        "empty-account": (account.id, f":{account.primary_key}"),
        "access-token": (account.id, plane.token),
    }[case]


@pytest.mark.parametrize("case", STS_CASES)
@pytest.mark.parametrize("segment", ["accounts", "Accounts"])
async def test_sts_refuses_bad_credentials_without_saying_why(
    plane: ControlPlane, segment: str, case: str
) -> None:
    account = plane.account
    reference = await plane.client.get(
        f"/{segment}/{account.id}/token",
        headers={"Authorization": f"Bearer {account.id}:{new_account_key()}"},
    )
    expected = expect_unauthorized(reference)["message"]
    path_id, credential = await sts_credential(plane, case)
    response = await plane.client.get(
        f"/{segment}/{path_id}/token?api-version=2019-02-28-preview",
        headers={"Authorization": f"Bearer {credential}", "X-MRC-CV": "abcdefghijklmnopqrstuv.1"},
    )
    error = expect_unauthorized(response)
    assert error["message"] == expected
    assert "AccessToken" not in response.text
    secret = credential.partition(":")[2] or credential
    assert secret not in response.text


@pytest.mark.parametrize(
    "authorization", [None, "Basic Zm9vOmJhcg==", "Bearer ", "Bearer", "Token a:b", ""]
)
@pytest.mark.parametrize("segment", ["accounts", "Accounts"])
async def test_sts_needs_a_bearer_header(
    plane: ControlPlane, segment: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await plane.client.get(f"/{segment}/{plane.account.id}/token", headers=headers)
    expect_unauthorized(response, "bearer")


async def test_sts_controls(plane: ControlPlane) -> None:
    """The 401s above are not a broken route: both spellings and both keys work."""
    account = plane.account
    for segment, key in [("accounts", account.primary_key), ("Accounts", account.secondary_key)]:
        response = await plane.client.get(
            f"/{segment}/{account.id}/token",
            headers={"Authorization": f"Bearer {account.id}:{key}"},
        )
        assert response.status_code == 200, response.text
        assert MS_CV.match(response.headers["ms-cv"])
        assert set(response.json()) == {"AccessToken"}


# -- correlation vectors on errors -------------------------------------------------------------


@pytest.mark.parametrize("incoming", ["not a vector", "x" * 500, "abc.1", ""])
async def test_a_junk_correlation_vector_is_replaced(plane: ControlPlane, incoming: str) -> None:
    response = await send(plane, GET, session_id="a.b", headers={**plane.auth, "MS-CV": incoming})
    expect_error(response, 404, "NotFound")  # an id no session could have
    assert response.headers["ms-cv"] != incoming


async def test_a_correlation_vector_is_extended_on_errors(plane: ControlPlane) -> None:
    vector = "abcdefghijklmnopqrstuv.3"
    response = await send(plane, GET, session_id="nobody", headers={**plane.auth, "MS-CV": vector})
    expect_error(response, 404, "NotFound")
    assert response.headers["ms-cv"] == vector + ".0"
