"""The client reads the service's error body in either shape: today's (no null fields) and the
one older RenderHub versions wrote (details: [], target: null, innerError: null)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from renderhub.client.errors import BadRequest, NotFound, QuotaExceeded, error_from_response

OLD_SHAPE = {"details": [], "target": None, "innerError": None}


@pytest.mark.parametrize("extra", [{}, {"target": "maxLeaseTimeMinutes"}, OLD_SHAPE])
@pytest.mark.parametrize(
    ("status", "kind"), [(400, BadRequest), (404, NotFound), (422, BadRequest)]
)
def test_either_shape_gives_the_code_and_message(
    status: int, kind: type[Exception], extra: dict[str, Any]
) -> None:
    body = {"error": {"code": "Some", "message": "What went wrong.", **extra}}
    error = error_from_response(httpx.Response(status, json=body, headers={"MS-CV": "cv.1"}))
    assert isinstance(error, kind)
    assert (error.message, error.code, error.status) == ("What went wrong.", "Some", status)
    assert error.correlation_vector == "cv.1"


def test_a_429_keeps_its_retry_after() -> None:
    body = {"error": {"code": "TooManyRequests", "message": "The database is unreachable."}}
    response = httpx.Response(429, json=body, headers={"Retry-After": "5"})
    error = error_from_response(response)
    assert isinstance(error, QuotaExceeded) and error.retry_after == 5.0
