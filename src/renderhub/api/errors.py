"""The one error body both APIs write, and the handlers that produce it."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from renderhub.errors import RenderHubError, ServiceUnavailable

log = logging.getLogger(__name__)

ERROR_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "UnprocessableEntity",
    429: "TooManyRequests",
    500: "InternalServerError",
}


def error_body(code: str, message: str, target: str | None = None) -> dict[str, Any]:
    """The protocol's error body: `{"error": {...}}` around `error_object`."""
    return {"error": error_object(code, message, target)}


def error_object(
    code: str,
    message: str,
    target: str | None = None,
    details: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One error object. `target` and `details` appear only when there is something in them:
    the official document types them as a string and a list, and strict clients reject `null`
    (so there is never an `innerError: null` either)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    if target:
        error["target"] = target
    return error


def error_response(exc: RenderHubError) -> JSONResponse:
    return JSONResponse(
        error_body(exc.code, exc.message, exc.target),
        status_code=exc.status_code,
        headers=exc.headers(),
    )


async def handle_renderhub_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RenderHubError)
    return error_response(exc)


def store_unavailable(exc: Exception) -> ServiceUnavailable:
    """The error for a database that is unreachable (a driver or socket error): 503 with
    Retry-After, so that clients retry; nothing was changed. The scheduler retries on its own.
    (The 2021-01-01 routes answer it as their listed 429: see renderhub.api.operations.)"""
    log.error("the store is unavailable: %s", exc)
    return ServiceUnavailable(
        "The service's database is unreachable; try again in a few seconds.", retry_after=5
    )


async def handle_store_unavailable(_request: Request, exc: Exception) -> Response:
    return error_response(store_unavailable(exc))


async def handle_http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {
        404: "There is no such resource.",
        405: "This resource does not support that method.",
    }
    message = messages.get(exc.status_code, str(exc.detail))
    return JSONResponse(
        error_body(ERROR_CODES.get(exc.status_code, "BadRequest"), message),
        status_code=exc.status_code,
        headers=dict(exc.headers or {}),
    )


INTERNAL_ERROR = error_body(
    "InternalServerError",
    "An internal server error occurred; quote the MS-CV header when reporting it.",
)
