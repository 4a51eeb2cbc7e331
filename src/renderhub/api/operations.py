"""The status codes the official 2021-01-01 document lists for each operation, and how any other
answer becomes the closest listed one.

Azure's SDKs and strict clients know only the listed codes: an operation answers with nothing
else. Where another code would be the natural answer, the closest listed one stands in:

- A request the operation cannot read (a malformed or oversized body, an unsupported media
  type, a bad api-version or skipToken) is refused with the operation's own refusal: 400 where
  listed (create), else 422 (update), else 403 (get, stop, list; RFC 9110 15.5.4: the server
  "understood the request but refuses to fulfill it", not only for credentials).
- An update of a session that has ended (409 elsewhere) is 422: its lease cannot change.
- A session or conversion id that none could have is 404 where listed (get, update, stop).
- The database being unreachable (503 elsewhere) is 429 with Retry-After: nothing was changed
  and the same request will work in a few seconds, which is what the document's 429 says ("retry
  the request after the duration given in the Retry-After header"). Its 500 is for failures of
  the service itself and carries no Retry-After; Azure's SDK and RenderHub's client both wait
  for Retry-After on a 429.

A method the document defines for no operation on a path (DELETE on a session) is no operation
at all, so no list applies: it stays 405 with `Allow`, as HTTP requires (RFC 9110 15.5.6) and
as OpenAPI checkers expect. Paths that are no operation's stay 404. The v1 API keeps its own
codes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from renderhub.api.errors import ERROR_CODES, store_unavailable
from renderhub.errors import RenderHubError
from renderhub.store.database import UNAVAILABLE

DEFAULT_RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the official document: its method, path template and listed codes."""

    operation_id: str
    method: str
    path: str
    codes: frozenset[int]

    @property
    def refusal(self) -> int:
        """The listed code for a request this operation cannot read."""
        return next(code for code in (400, 422, 403) if code in self.codes)

    @property
    def unknown_id(self) -> int:
        """The listed code for an id that no resource could have."""
        return 404 if 404 in self.codes else self.refusal

    def matches(self, method: str, raw_path: str) -> bool:
        """Whether a request (its percent-encoded path) is for this operation."""
        return method.upper() == self.method and bool(_template(self.path).fullmatch(raw_path))


def _operation(operation_id: str, method: str, path: str, *codes: int) -> Operation:
    return Operation(operation_id, method, path, frozenset(codes))


_SESSION = "/accounts/{account_id}/sessions/{session_id}"
_CONVERSION = "/accounts/{account_id}/conversions/{conversion_id}"

OPERATIONS_2021 = {
    op.operation_id: op
    for op in (
        _operation("RemoteRendering_CreateSession", "PUT", _SESSION, 200, 201, 400, 401, 403,
                   409, 429, 500),
        _operation("RemoteRendering_GetSession", "GET", _SESSION, 200, 401, 403, 404, 429, 500),
        _operation("RemoteRendering_UpdateSession", "PATCH", _SESSION, 200, 401, 403, 404, 422,
                   429, 500),
        _operation("RemoteRendering_StopSession", "POST", f"{_SESSION}/:stop", 204, 401, 403,
                   404, 429, 500),
        _operation("RemoteRendering_ListSessions", "GET", "/accounts/{account_id}/sessions", 200,
                   401, 403, 429, 500),
        _operation("RemoteRendering_CreateConversion", "PUT", _CONVERSION, 200, 201, 400, 401,
                   403, 409, 429, 500),
        _operation("RemoteRendering_GetConversion", "GET", _CONVERSION, 200, 401, 403, 404, 429,
                   500),
        _operation("RemoteRendering_ListConversions", "GET", "/accounts/{account_id}/conversions",
                   200, 401, 403, 429, 500),
    )
}  # fmt: skip
"""Operation id -> the operation, with the codes the document lists (a test compares them)."""


def operation_at(method: str, raw_path: str) -> Operation | None:
    """The 2021-01-01 operation a request is for, judged by its still-encoded path."""
    return next((op for op in OPERATIONS_2021.values() if op.matches(method, raw_path)), None)


@functools.cache
def _template(path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(path))
    return re.compile(pattern)


class Relisted(RenderHubError):
    """An error re-answered with a listed status; its message and headers stay."""

    def __init__(self, original: RenderHubError, status_code: int) -> None:
        super().__init__(original.message, target=original.target)
        self.status_code = status_code
        self.code = ERROR_CODES[status_code]
        self._headers = original.headers()
        if status_code == 429:  # the document's 429 always says when to try again
            self._headers.setdefault("Retry-After", str(DEFAULT_RETRY_AFTER_SECONDS))

    def headers(self) -> dict[str, str]:
        return self._headers


def as_listed(operation: Operation, error: RenderHubError) -> RenderHubError:
    """`error` as `operation` may answer it: itself when its status is listed, else the closest
    listed status (see the module's docstring)."""
    status = error.status_code
    if status in operation.codes:
        return error
    if status == 409 and 422 in operation.codes:
        closest = 422
    elif status == 503:
        closest = 429
    elif 400 <= status < 500:
        closest = operation.refusal
    else:
        closest = 500
    return Relisted(error, closest)


Handler = Callable[[Request], Awaitable[Response]]


def answers_as_listed(operation_id: str) -> Callable[[Handler], Handler]:
    """Decorate a route of `operation_id` so that each of its errors, the database's being
    unreachable included, is answered with a status the document lists for it."""
    operation = OPERATIONS_2021[operation_id]

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except RenderHubError as error:
                raise as_listed(operation, error) from error
            except UNAVAILABLE as error:
                raise as_listed(operation, store_unavailable(error)) from error

        return answer

    return decorate
