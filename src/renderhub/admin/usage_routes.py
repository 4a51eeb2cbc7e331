"""GET /admin/usage: metered Ready time per account, size and period."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from renderhub.admin.auth import require_admin
from renderhub.admin.usage import Prices, report_from
from renderhub.admin.usage_query import parse_usage_query
from renderhub.api.context import context_of
from renderhub.store.usage import UsageStore


def usage_store_of(request: Request) -> UsageStore:
    store: UsageStore = request.app.state.usage
    return store


async def get_usage(request: Request) -> JSONResponse:
    await require_admin(request)
    context = context_of(request)
    now = context.service.clock.now()
    query = parse_usage_query(request.query_params.multi_items(), now)
    report = await report_from(usage_store_of(request), query, now, Prices.of(context.settings))
    return JSONResponse(report.json())


routes: list[BaseRoute] = [Route("/admin/usage", get_usage, methods=["GET"])]
