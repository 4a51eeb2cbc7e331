"""Every conversion across accounts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from renderhub.admin.auth import require_admin
from renderhub.admin.conversion_json import conversion_json
from renderhub.admin.listing import (
    check_parameters,
    decode_cursor,
    one_page,
    parse_choices,
    parse_limit,
)
from renderhub.admin.lookups import account_filter, queries_of
from renderhub.status import ConversionStatus
from renderhub.store.admin_queries import Filters

_LIST_PARAMETERS = ("account", "status", "limit", "after")
# `status=active`: the conversions that have not ended.
_NOT_ENDED = frozenset(status for status in ConversionStatus if not status.is_final)


async def list_conversions(request: Request) -> Response:
    """Newest first; `next` is the `after` of the following page (null on the last one)."""
    await require_admin(request)
    check_parameters(request, _LIST_PARAMETERS)
    query = request.query_params
    limit = parse_limit(query.get("limit"))
    after = decode_cursor(query.get("after"))
    filters = Filters(
        account_id=await account_filter(request, query.get("account")),
        statuses=parse_choices("status", query.get("status"), ConversionStatus, _NOT_ENDED),
    )
    records = await queries_of(request).conversions(filters, limit + 1, after)
    page, next_after = one_page(records, limit)
    return JSONResponse(
        {"conversions": [conversion_json(record) for record in page], "next": next_after}
    )


routes: list[BaseRoute] = [Route("/admin/conversions", list_conversions, methods=["GET"])]
