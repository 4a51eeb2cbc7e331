"""The v1 session API (the original REST API and its PowerShell scripts)."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from renderhub.api.bodies import CreateSessionV1, ExtendSessionV1
from renderhub.api.context import authorize, authorize_account, base_url, context_of, read_body
from renderhub.api.presenters import properties_v1
from renderhub.errors import BadRequest, CapacityExhausted, Conflict
from renderhub.quotas import Quotas
from renderhub.sessions.requests import CreateSession, check_lease_seconds, check_session_id
from renderhub.sessions.service import (
    CreateOutcome,
    ExtendOutcome,
    ended_message,
    new_session_id,
    no_capacity_message,
    not_longer_message,
)

_PREFIX = "/v1/accounts/{account_id}/sessions"


def _lease_seconds(lease: timedelta, max_minutes: int) -> int:
    return check_lease_seconds(int(lease.total_seconds()), max_minutes, field="maxLeaseTime")


async def create(request: Request) -> Response:
    account = await authorize_account(request, request.path_params["account_id"])
    account_id = account.id
    context = context_of(request)
    body = await read_body(request, CreateSessionV1, lenient=True)
    session = CreateSession(
        session_id=new_session_id(),
        size=body.size,
        lease_seconds=_lease_seconds(body.max_lease_time, context.settings.max_lease_minutes),
        models=[
            s.url
            for s in context.settings.model_policy.check_all(
                list(body.models), require_local_files=True
            )
        ],
    )
    created = await context.service.create(
        account_id, session, idempotent=False, quotas=Quotas.of(account)
    )
    if created.outcome is CreateOutcome.NO_CAPACITY:
        raise CapacityExhausted(no_capacity_message(created, session.size.value))
    if created.outcome is not CreateOutcome.CREATED or created.record is None:
        raise Conflict("A session with this id already exists; try again.")  # a uuid collision
    record = created.record
    location = f"{base_url(request)}/v1/accounts/{account_id}/sessions/{record.id}"
    return JSONResponse({"sessionId": record.id}, status_code=202, headers={"Location": location})


async def extend(request: Request) -> Response:
    account = await authorize_account(request, request.path_params["account_id"])
    session_id = check_session_id(request.path_params["session_id"])
    context = context_of(request)
    body = await read_body(request, ExtendSessionV1, lenient=True)
    lease = _lease_seconds(body.max_lease_time, context.settings.max_lease_minutes)
    extended = await context.service.extend(account.id, session_id, lease, Quotas.of(account))
    if extended.outcome is ExtendOutcome.NOT_LONGER:
        raise BadRequest(not_longer_message(extended.record), target="maxLeaseTime")
    if extended.outcome is ExtendOutcome.ENDED:
        raise Conflict(ended_message(extended.record))
    return Response(status_code=200)


async def list_sessions(request: Request) -> Response:
    account_id = await authorize(request, request.path_params["account_id"])
    service = context_of(request).service
    records = await service.list_active(account_id)
    now = service.now()
    return JSONResponse({"sessions": [properties_v1(record, now) for record in records]})


async def properties(request: Request) -> Response:
    account_id = await authorize(request, request.path_params["account_id"])
    session_id = check_session_id(request.path_params["session_id"])
    service = context_of(request).service
    record = await service.get(account_id, session_id)
    return JSONResponse(properties_v1(record, service.now()))


async def stop(request: Request) -> Response:
    account_id = await authorize(request, request.path_params["account_id"])
    session_id = check_session_id(request.path_params["session_id"])
    await context_of(request).service.stop(account_id, session_id)
    return Response(status_code=204)


routes = [
    Route(f"{_PREFIX}/create", create, methods=["POST"]),
    Route(_PREFIX, list_sessions, methods=["GET"]),
    Route(f"{_PREFIX}/{{session_id}}/properties", properties, methods=["GET"]),
    Route(f"{_PREFIX}/{{session_id}}", extend, methods=["PATCH"]),
    Route(f"{_PREFIX}/{{session_id}}", stop, methods=["DELETE"]),
]
