"""Endpoints only the control plane may call, guarded by the host's control token."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import PlainValidator
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from renderhub.errors import BadRequest, Conflict, Forbidden, Unauthorized
from renderhub.host.assignment import Assignment, Deadline, parse_assignment
from renderhub.host.state import HostState
from renderhub.host_protocol import (
    ASSIGN_PATH,
    DEADLINE_PATH,
    MAX_REASON_CHARS,
    SHUTDOWN_PATH,
    STOPPED,
    HealthStatus,
)
from renderhub.validation import WireBody, parse_body

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


class DeadlineBody(WireBody):
    """POST /control/deadline."""

    deadline: Deadline


def _deadline_from(raw: bytes) -> float:
    body = _json(raw, 'The body must be JSON: {"deadline": <epoch seconds>}.')
    return parse_body(DeadlineBody, body).deadline


def _reason(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_REASON_CHARS:
        raise ValueError(f"must be a non-empty string of at most {MAX_REASON_CHARS} characters")
    return value.strip()


class ShutdownBody(WireBody):
    """POST /control/shutdown; the reason is what the client is told."""

    reason: Annotated[str, PlainValidator(_reason)] = STOPPED


def _json(raw: bytes, sentence: str) -> Any:
    """`raw` decoded, or BadRequest(`sentence`) saying what the body should look like."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(sentence) from None


async def shut_down(request: Request) -> JSONResponse:
    """POST /control/shutdown {"reason": "..."}: say goodbye to the client and stop.

    The reason (optional; default "The session was stopped.") is what the client is told.
    Asking again changes nothing: the answer carries the reason that stands."""
    state: HostState = request.app.state.host
    require_control_token(request, request.app.state.control_token)
    reason = state.stop.ask(_reason_from(await request.body()))
    log.info("asked to shut down: %s", reason)
    return JSONResponse({"status": "stopping", "reason": reason}, status_code=202)


def _reason_from(raw: bytes) -> str:
    if not raw.strip():
        return STOPPED
    body = _json(raw, 'The body must be JSON: {"reason": "<for the client>"}.')
    return parse_body(ShutdownBody, body).reason


async def assign(request: Request) -> JSONResponse:
    """POST /control/assign {"sessionId", "accountId", "size"?, "models", "deadline",
    "polygonLimit"}: give a pooled host its session; it loads the models from now on (202).

    409 on a host that is not pooled, or was assigned already; 400 for a bad body."""
    require_control_token(request, request.app.state.control_token)
    assigner: Callable[[Assignment], None] | None = request.app.state.assigner
    if assigner is None:
        raise Conflict(
            "This render host was started for one session; only a pooled host can be assigned."
        )
    assignment = parse_assignment(await request.body())
    assigner(assignment)
    body = {"status": HealthStatus.LOADING.value, "sessionId": assignment.session_id}
    return JSONResponse(body, status_code=202)


routes = [
    Route(ASSIGN_PATH, assign, methods=["POST"]),
    Route(DEADLINE_PATH, move_deadline, methods=["POST"]),
    Route(SHUTDOWN_PATH, shut_down, methods=["POST"]),
]
