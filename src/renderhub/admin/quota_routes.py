"""Disable, enable, quotas of accounts (before account_routes: its paths end in ':action')."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from renderhub.admin.account_json import account_json, quotas_json
from renderhub.admin.auth import require_admin
from renderhub.admin.quota_bodies import QuotasBody
from renderhub.api.context import context_of, read_body
from renderhub.errors import NotFound
from renderhub.quotas import Quotas
from renderhub.status import SessionStatus
from renderhub.store.accounts import AccountStore
from renderhub.store.records import AccountRecord

_ACCOUNT = "/admin/accounts/{account_id}"


def _accounts(request: Request) -> AccountStore:
    return context_of(request).access.accounts


def _no_such_account(account_id: str) -> NotFound:
    return NotFound(f"No account with id {account_id!r} exists.", target="accountId")


async def _account(request: Request) -> AccountRecord:
    account_id = request.path_params["account_id"]
    record = await _accounts(request).get(account_id)
    if record is None:
        raise _no_such_account(account_id)
    return record


async def _account_body(request: Request) -> dict[str, Any]:
    """The Account JSON of the path's account as it is now."""
    record = await _account(request)
    counts = await _accounts(request).active_counts([record.id])
    return account_json(record, counts.get(record.id))


async def disable(request: Request) -> JSONResponse:
    """Refuse the account's keys and tokens from now on, and stop its active sessions: their
    hosts hold its tokens. Disabling a disabled account changes nothing."""
    await require_admin(request)
    record = await _account(request)
    context = context_of(request)
    if not await _accounts(request).disable(record.id, context.service.now()):
        raise _no_such_account(record.id)
    stopped = 0
    for session in await context.service.list_active(record.id):
        if session.status is not SessionStatus.STOPPING:
            await context.service.stop(record.id, session.id)
            stopped += 1
    return JSONResponse({**await _account_body(request), "stoppedSessions": stopped})


async def enable(request: Request) -> JSONResponse:
    await require_admin(request)
    if not await _accounts(request).enable(request.path_params["account_id"]):
        raise _no_such_account(request.path_params["account_id"])
    return JSONResponse(await _account_body(request))


async def get_quotas(request: Request) -> JSONResponse:
    await require_admin(request)
    return JSONResponse(quotas_json(Quotas.of(await _account(request))))


async def put_quotas(request: Request) -> JSONResponse:
    """Replace every quota (a missing field is null: no limit). A quota lowered below what
    runs now stops nothing; it applies to what is created next."""
    await require_admin(request)
    quotas = (await read_body(request, QuotasBody)).quotas()
    if not await _accounts(request).set_quotas(request.path_params["account_id"], quotas):
        raise _no_such_account(request.path_params["account_id"])
    return JSONResponse(quotas_json(quotas))


routes: list[BaseRoute] = [
    Route(f"{_ACCOUNT}:disable", disable, methods=["POST"]),
    Route(f"{_ACCOUNT}:enable", enable, methods=["POST"]),
    Route(f"{_ACCOUNT}/quotas", get_quotas, methods=["GET"]),
    Route(f"{_ACCOUNT}/quotas", put_quotas, methods=["PUT"]),
]
