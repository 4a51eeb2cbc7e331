"""The 2021-01-01 session API (Azure's SDKs and the current scripts)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from renderhub.api.bodies import CreateSessionSettings, UpdateSessionSettings
from renderhub.api.context import authorize, authorize_account, base_url, context_of, read_body
from renderhub.api.operations import answers_as_listed
from renderhub.api.paging import decode_skip_token, next_link
from renderhub.api.presenters import session_2021
from renderhub.api.versions import check_api_version
from renderhub.errors import (
    BadRequest,
    CapacityExhausted,
    Conflict,
    NotFound,
    UnprocessableEntity,
)
from renderhub.quotas import Quotas
from renderhub.sessions.requests import CreateSession, check_session_id
from renderhub.sessions.service import (
    CreateOutcome,
    ExtendOutcome,
    ended_message,
    no_capacity_message,
    not_longer_message,
)
from renderhub.store.records import AccountRecord

_PREFIX = "/accounts/{account_id}/sessions"


async def _begin(request: Request) -> tuple[AccountRecord, str]:
    """The account (authorized) and session id of a session route. An id no session could have
    names no session: a NotFound (re-answered as a 400 on create, whose document lists no 404)."""
    check_api_version(request)
    account = await authorize_account(request, request.path_params["account_id"])
    try:
        session_id = check_session_id(request.path_params["session_id"])
    except BadRequest as exc:
        raise NotFound(exc.message, target=exc.target) from None
    return account, session_id


@answers_as_listed("RemoteRendering_CreateSession")
async def create(request: Request) -> Response:
    account, session_id = await _begin(request)
    context = context_of(request)
    body = await read_body(request, CreateSessionSettings)
    minutes = body.max_lease_time_minutes
    max_minutes = context.settings.max_lease_minutes
    if not 0 <= minutes <= max_minutes:
        raise BadRequest(
            f"'maxLeaseTimeMinutes' must be between 0 and {max_minutes}.",
            target="maxLeaseTimeMinutes",
        )
    session = CreateSession(
        session_id=session_id,
        size=body.size,
        lease_seconds=minutes * 60,
        models=[
            s.url
            for s in context.settings.model_policy.check_all(
                list(body.models), require_local_files=True
            )
        ],
    )
    created = await context.service.create(
        account.id, session, idempotent=True, quotas=Quotas.of(account)
    )
    if created.outcome is CreateOutcome.NO_CAPACITY:
        raise CapacityExhausted(no_capacity_message(created, session.size.value))
    if created.outcome is CreateOutcome.OTHER_EXISTS or created.record is None:
        raise Conflict(f"A session with id {session_id!r} already exists with other settings.")
    status = 201 if created.outcome is CreateOutcome.CREATED else 200
    return JSONResponse(session_2021(created.record, context.service.now()), status_code=status)


@answers_as_listed("RemoteRendering_GetSession")
async def get_session(request: Request) -> Response:
    account, session_id = await _begin(request)
    service = context_of(request).service
    record = await service.get(account.id, session_id)
    return JSONResponse(session_2021(record, service.now()))


@answers_as_listed("RemoteRendering_UpdateSession")
async def update(request: Request) -> Response:
    """Every refusal of a readable request is a 422 here: the document lists no 400 or 409."""
    account, session_id = await _begin(request)
    context = context_of(request)
    body = await read_body(request, UpdateSessionSettings)
    minutes = body.max_lease_time_minutes
    max_minutes = context.settings.max_lease_minutes
    if not 0 < minutes <= max_minutes:
        raise UnprocessableEntity(
            f"'maxLeaseTimeMinutes' must be longer than the current lease and at most "
            f"{max_minutes}.",
            target="maxLeaseTimeMinutes",
        )
    extended = await context.service.extend(
        account.id, session_id, minutes * 60, Quotas.of(account)
    )
    if extended.outcome is ExtendOutcome.NOT_LONGER:
        raise UnprocessableEntity(not_longer_message(extended.record), target="maxLeaseTimeMinutes")
    if extended.outcome is ExtendOutcome.ENDED:
        raise UnprocessableEntity(ended_message(extended.record))
    return JSONResponse(session_2021(extended.record, context.service.now()))


@answers_as_listed("RemoteRendering_StopSession")
async def stop(request: Request) -> Response:
    account, session_id = await _begin(request)
    await context_of(request).service.stop(account.id, session_id)
    return Response(status_code=204)


@answers_as_listed("RemoteRendering_ListSessions")
async def list_sessions(request: Request) -> Response:
    version = check_api_version(request)
    account_id = await authorize(request, request.path_params["account_id"])
    context = context_of(request)
    after = decode_skip_token(request.query_params.get("skipToken"))
    page_size = context.settings.page_size
    records = await context.service.list_active(account_id, page_size + 1, after)
    now = context.service.now()
    # A Stopping session reads as Stopped here, and lists show only active sessions; paging
    # still counts it, so a page may come out short (the SDK follows @nextLink regardless).
    listed = [r for r in records[:page_size] if r.status.as_2021().is_active]
    body: dict[str, Any] = {"sessions": [session_2021(r, now) for r in listed]}
    if len(records) > page_size:
        last = records[page_size - 1]
        path = f"/accounts/{quote(account_id)}/sessions"
        body["@nextLink"] = next_link(base_url(request), path, version, last.created_at, last.id)
    return JSONResponse(body)


routes = [
    Route(_PREFIX, list_sessions, methods=["GET"]),
    Route(f"{_PREFIX}/{{session_id}}/:stop", stop, methods=["POST"]),
    Route(f"{_PREFIX}/{{session_id}}", create, methods=["PUT"]),
    Route(f"{_PREFIX}/{{session_id}}", get_session, methods=["GET"]),
    Route(f"{_PREFIX}/{{session_id}}", update, methods=["PATCH"]),
]
