"""Endpoints only the control plane may call, guarded by the host's control token."""

from __future__ import annotations

import hmac
import json
import logging
import math

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from renderhub.errors import BadRequest, Forbidden, Unauthorized
from renderhub.host.state import HostState

log = logging.getLogger(__name__)


def require_control_token(request: Request, expected: str | None) -> None:
    """Raise unless the request carries `Authorization: Bearer <expected>`."""
    if not expected:
        raise Forbidden("This render host has no control token; control endpoints are off.")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise Unauthorized("A control endpoint needs 'Authorization: Bearer <control token>'.")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise Unauthorized("The control token is wrong.")


async def move_deadline(request: Request) -> JSONResponse:
    """POST /control/deadline {"deadline": epoch seconds}: move the hard deadline."""
    state: HostState = request.app.state.host
    require_control_token(request, request.app.state.control_token)
    deadline = _deadline_from(await request.body())
    before = state.deadline.epoch
    state.deadline.move(deadline)
    log.info(
        "deadline moved from %.3f to %.3f (%.1f s from now)",
        before,
        deadline,
        state.deadline.remaining(),
    )
    return JSONResponse({"deadline": deadline})


def _deadline_from(raw: bytes) -> float:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest('The body must be JSON: {"deadline": <epoch seconds>}.') from None
    value = body.get("deadline") if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        value = None
    if value is None or not math.isfinite(value) or value <= 0:
        raise BadRequest("'deadline' must be a positive number of seconds since the epoch.")
    return float(value)


routes = [Route("/control/deadline", move_deadline, methods=["POST"])]
