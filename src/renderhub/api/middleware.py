"""The outermost layer of the API: correlation vectors on every response, request logging,
trailing-slash tolerance for v1, and a last-resort 500 that never shows a traceback."""

from __future__ import annotations

import json
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from renderhub.api.correlation import extend_vector
from renderhub.api.errors import ERROR_CODES, INTERNAL_ERROR, error_body
from renderhub.api.operations import operation_at
from renderhub.logs import correlation_vector

log = logging.getLogger("renderhub.access")


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
            elapsed_ms = (time.perf_counter() - started) * 1000
            if log.isEnabledFor(logging.DEBUG) or status >= 500:
                log.log(
                    logging.ERROR if status >= 500 else logging.DEBUG,
                    "%s %s -> %d in %.1f ms",
                    scope["method"], scope["path"], status, elapsed_ms,
                )  # fmt: skip


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
