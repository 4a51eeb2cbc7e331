"""Every session across accounts: list with filters, show, stop."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from renderhub.admin.auth import require_admin
from renderhub.admin.listing import (
    check_parameters,
    decode_cursor,
    one_page,
    parse_choices,
    parse_limit,
)
from renderhub.admin.lookups import account_filter, queries_of
from renderhub.admin.session_json import session_json
from renderhub.api.context import context_of
from renderhub.sizes import SessionSize
from renderhub.status import ACTIVE, SessionStatus
from renderhub.store.admin_queries import Filters

_LIST_PARAMETERS = ("account", "status", "size", "limit", "after")


async def list_sessions(request: Request) -> Response:
    """Newest first; `next` is the `after` of the following page (null on the last one)."""
    await require_admin(request)
    check_parameters(request, _LIST_PARAMETERS)
    query = request.query_params
    limit = parse_limit(query.get("limit"))
    after = decode_cursor(query.get("after"))
    filters = Filters(
        account_id=await account_filter(request, query.get("account")),
        statuses=parse_choices("status", query.get("status"), SessionStatus, ACTIVE),
        sizes=parse_choices("size", query.get("size"), SessionSize),
    )
    records = await queries_of(request).sessions(filters, limit + 1, after)
    now = context_of(request).service.now()
    page, next_after = one_page(records, limit)
    return JSONResponse(
        {"sessions": [session_json(record, now) for record in page], "next": next_after}
    )


async def get_session(request: Request) -> Response:
    await require_admin(request)
    service = context_of(request).service
    record = await service.get(request.path_params["account_id"], request.path_params["session_id"])
    return JSONResponse(session_json(record, service.now()))


async def stop_session(request: Request) -> Response:
    """Stop any account's session; stopping one that has ended changes nothing."""
    await require_admin(request)
    service = context_of(request).service
    record = await service.stop(
        request.path_params["account_id"], request.path_params["session_id"]
    )
    return JSONResponse(session_json(record, service.now()))


_SESSION = "/admin/sessions/{account_id}/{session_id}"

routes: list[BaseRoute] = [
    Route("/admin/sessions", list_sessions, methods=["GET"]),
    Route(f"{_SESSION}:stop", stop_session, methods=["POST"]),
    Route(_SESSION, get_session, methods=["GET"]),
]
