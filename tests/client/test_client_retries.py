"""Retries and token renewal, against httpx's MockTransport (the code around the network)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
import pytest

from renderhub.client import ConnectionFailed, QuotaExceeded, RenderHubClient, RetryPolicy
from renderhub.client.auth import AccountKeyAuth

ACCOUNT = "11111111-2222-3333-4444-555555555555"
FAST = RetryPolicy(attempts=3, backoff_seconds=0.0)


def _token(exp: float) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
    return f"header.{payload}.signature"


class Service:
    """Answers like RenderHub; `script` gives the answers to session calls in turn."""

    def __init__(self, *script: httpx.Response | Exception, exp: float = 4e9) -> None:
        self.script = list(script)
        self.token_calls = 0
        self.session_calls = 0
        self.exp = exp

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            self.token_calls += 1
            return httpx.Response(200, json={"AccessToken": _token(self.exp)})
        self.session_calls += 1
        answer = self.script.pop(0) if self.script else _session_response()
        if isinstance(answer, Exception):
            raise answer
        return answer


def _session_response() -> httpx.Response:
    return httpx.Response(
        200, json={"id": "s", "status": "Ready", "size": "Standard", "maxLeaseTimeMinutes": 5}
    )


def _client(service: Service, version: str = "2021-01-01") -> RenderHubClient:
    return RenderHubClient(
        "http://renderhub.test", ACCOUNT, "key", api_version=version,  # type: ignore[arg-type]
        retry=FAST, transport=httpx.MockTransport(service),
    )  # fmt: skip


def test_429_is_retried_after_the_time_the_service_asks() -> None:
    busy = httpx.Response(
        429,
        headers={"Retry-After": "0"},
        json={"error": {"code": "TooManyRequests", "message": "busy"}},
    )
    service = Service(busy, busy)
    assert _client(service).get_session("s").id == "s"
    assert service.session_calls == 3


def test_429_past_the_last_attempt_is_a_quota_error() -> None:
    busy = httpx.Response(
        429,
        headers={"Retry-After": "0"},
        json={
            "error": {
                "code": "TooManyRequests",
                "message": "All servers of the requested size (Standard) are in use",
            }
        },
    )
    with pytest.raises(QuotaExceeded, match="All servers") as raised:
        _client(Service(busy, busy, busy)).get_session("s")
    assert raised.value.retry_after == 0


def test_connection_errors_are_retried() -> None:
    refused = httpx.ConnectError("connection refused")
    service = Service(refused, refused)
    assert _client(service).get_session("s").id == "s"


def test_a_request_that_may_have_arrived_is_not_repeated_unless_idempotent() -> None:
    service = Service(httpx.ReadError("reset"))
    with pytest.raises(ConnectionFailed, match="failed"):
        _client(service, "v1").create_session(lease=timedelta(minutes=5))  # v1 create is a POST
    assert service.session_calls == 1
    again = Service(httpx.ReadError("reset"))
    assert _client(again).get_session("s").id == "s"  # a GET may be repeated
    assert again.session_calls == 2


def test_unreachable_service_is_one_sentence() -> None:
    client = RenderHubClient("http://127.0.0.1:9", ACCOUNT, "key", retry=FAST)
    with pytest.raises(ConnectionFailed, match=r"Could not connect to http://127.0.0.1:9"):
        client.get_session("s")


def test_token_is_renewed_before_it_expires() -> None:
    now = [1_000_000.0]
    service = Service(exp=now[0] + 3600)
    auth = AccountKeyAuth("http://renderhub.test", ACCOUNT, "key", clock=lambda: now[0])
    http = httpx.Client(
        base_url="http://renderhub.test", auth=auth, transport=httpx.MockTransport(service)
    )
    http.get("/accounts/x/sessions")
    http.get("/accounts/x/sessions")
    assert service.token_calls == 1
    now[0] += 3600 - 14 * 60  # inside the last 15 minutes
    http.get("/accounts/x/sessions")
    assert service.token_calls == 2


def test_a_rejected_token_is_fetched_again_once() -> None:
    rejected = httpx.Response(401, json={"error": {"code": "Unauthorized", "message": "expired"}})
    service = Service(rejected)
    assert _client(service).get_session("s").id == "s"
    assert service.token_calls == 2
