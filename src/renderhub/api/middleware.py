"""The outermost layer of the API: correlation vectors on every response, request logging
(each line, and every line logged while the request is served, names its MS-CV, account and
session), trailing-slash tolerance for v1, and a last-resort 500 that never shows a
traceback."""

from __future__ import annotations

import json
import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from renderhub.api.correlation import extend_vector
from renderhub.api.errors import ERROR_CODES, INTERNAL_ERROR, error_body
from renderhub.api.operations import operation_at
from renderhub.logs import account_label, correlation_vector, session_label

log = logging.getLogger("renderhub.access")

# Polled by load balancers and scrapers (/metrics, a host's through the admin API, all hosts'):
# a line only when they fail.
QUIET_PATHS = re.compile(r"^/healthz$|/metrics$")
# Where a request names an account and a session: the session APIs (v1 and 2021-01-01), the
# token service, conversions (the account only) and the admin API's accounts and sessions.
_ACCOUNT_PATH = re.compile(
    r"^/(?:v1/)?accounts/(?P<account>[^/:]+)(?:/sessions/(?P<session>[^/:]+))?", re.IGNORECASE
)
_ADMIN_PATH = re.compile(
    r"^/admin/(?:accounts/(?P<account>[^/:]+)"
    r"|sessions/(?P<session_account>[^/:]+)(?:/(?P<session>[^/:]+))?)"
)
_V1_CREATE = "create"  # POST /v1/accounts/{id}/sessions/create names no session yet


class CorrelationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"ms-cv") or headers.get(b"x-mrc-cv")
        vector = extend_vector(incoming.decode("latin-1") if incoming else None)
        correlation_vector.set(vector)
        account, session = labels_of(scope["path"])
        account_label.set(account)
        session_label.set(session)
        encoded_vector = vector.encode()
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_vector(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"ms-cv", encoded_vector)]
            await send(message)

        if _has_encoded_slash(scope):  # before _normalise_path, which rewrites raw_path
            await _refuse_encoded_slash(scope, send_with_vector)
            return
        scope = _normalise_path(scope)
        try:
            await self.app(scope, receive, send_with_vector)
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if not response_started:
                await _send_json(send_with_vector, 500, INTERNAL_ERROR)
        finally:
            _log_request(scope, status, (time.perf_counter() - started) * 1000)


def _log_request(scope: Scope, status: int, elapsed_ms: float) -> None:
    """One line per request (at INFO; health checks and scrapes only when they fail)."""
    if status >= 500:
        level = logging.ERROR
    elif QUIET_PATHS.search(scope["path"]):
        level = logging.DEBUG
    else:
        level = logging.INFO
    if log.isEnabledFor(level):
        log.log(level, "%s %s -> %d in %.1f ms", scope["method"], scope["path"], status, elapsed_ms)


def labels_of(path: str) -> tuple[str | None, str | None]:
    """The account and session a request's path names (None where it names none)."""
    match = _ACCOUNT_PATH.match(path)
    if match:
        session = match["session"]
        if session == _V1_CREATE and path.lower().startswith("/v1/"):
            session = None
        return match["account"], session
    match = _ADMIN_PATH.match(path)
    if match:
        return match["account"] or match["session_account"], match["session"]
    return None, None


def _normalise_path(scope: Scope) -> Scope:
    """The official PowerShell scripts add a trailing '/' to v1 routes; serve them the same."""
    path: str = scope["path"]
    if path.startswith("/v1/") and path.endswith("/") and len(path) > 4:
        scope = dict(scope)
        scope["path"] = path.rstrip("/")
        scope["raw_path"] = scope["path"].encode()
    return scope


async def _refuse_encoded_slash(scope: Scope, send: Send) -> None:
    """400, or for a 2021-01-01 operation the status it lists for an id nothing could have
    (404 on get, update and stop: such an id names no session)."""
    operation = operation_at(scope["method"], scope.get("raw_path", b"").decode("latin-1"))
    status = operation.unknown_id if operation else 400
    message = "A path segment may not contain an encoded '/'."
    await _send_json(send, status, error_body(ERROR_CODES[status], message))


def _has_encoded_slash(scope: Scope) -> bool:
    raw = scope.get("raw_path") or b""
    return b"%2f" in raw.lower()


async def _send_json(send: Send, status: int, body: object) -> None:
    payload = json.dumps(body).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": payload})
