"""Accounts: create, list, show, rename, rotate a key, delete."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from renderhub.admin.account_json import account_json
from renderhub.admin.auth import require_admin
from renderhub.admin.bodies import CreateAccount, RenameAccount, RotateKey
from renderhub.api.context import context_of, read_body
from renderhub.errors import Conflict, NotFound
from renderhub.quotas import ActiveCounts
from renderhub.store.accounts import AccountStore
from renderhub.store.records import AccountRecord


def accounts_of(request: Request) -> AccountStore:
    return context_of(request).access.accounts


async def _account(request: Request) -> AccountRecord:
    """The account the path names; a 404 when there is none."""
    account_id = request.path_params["account_id"]
    record = await accounts_of(request).get(account_id)
    if record is None:
        raise NotFound(f"No account with id {account_id!r} exists.")
    return record


async def _shown(request: Request, record: AccountRecord) -> dict[str, Any]:
    counts = await accounts_of(request).active_counts([record.id])
    return account_json(record, counts.get(record.id))


async def list_accounts(request: Request) -> Response:
    """Every account, oldest first, with what each runs now."""
    await require_admin(request)
    store = accounts_of(request)
    records = await store.list()
    counts = await store.active_counts()
    shown = [account_json(record, counts.get(record.id)) for record in records]
    return JSONResponse({"accounts": shown})


async def create_account(request: Request) -> Response:
    """A new account; its keys are in this answer only (the store keeps their hashes)."""
    await require_admin(request)
    body = await read_body(request, CreateAccount)
    context = context_of(request)
    now = context.service.now()
    made = await accounts_of(request).create(now, body.name, body.quota_values())
    record = await accounts_of(request).get(made.id)
    assert record is not None  # just made; accounts are deleted only by id, not by chance
    shown = account_json(record, ActiveCounts())
    shown.update(primaryKey=made.primary_key, secondaryKey=made.secondary_key)
    return JSONResponse(shown, status_code=201)


async def get_account(request: Request) -> Response:
    await require_admin(request)
    return JSONResponse(await _shown(request, await _account(request)))


async def rename_account(request: Request) -> Response:
    await require_admin(request)
    record = await _account(request)
    body = await read_body(request, RenameAccount)
    if body.changes_name() and not await accounts_of(request).rename(record.id, body.name):
        raise NotFound(f"No account with id {record.id!r} exists.")
    return JSONResponse(await _shown(request, await _account(request)))


async def rotate_key(request: Request) -> Response:
    """A new key in the slot asked for; the other key keeps working."""
    await require_admin(request)
    record = await _account(request)
    body = await read_body(request, RotateKey)
    key = await accounts_of(request).rotate_key(record.id, body.slot)
    if key is None:
        raise NotFound(f"No account with id {record.id!r} exists.")
    return JSONResponse({"accountId": record.id, f"{body.slot.value}Key": key})


async def delete_account(request: Request) -> Response:
    """Delete an account that runs nothing (its sessions' and conversions' records go with
    it; its metered usage stays)."""
    await require_admin(request)
    record = await _account(request)
    store = accounts_of(request)
    counts = (await store.active_counts([record.id])).get(record.id)
    if counts is not None:
        _refuse_while_running(counts)
    if not await store.delete(record.id):  # it started something (or went) since the count
        await _account(request)
        raise Conflict("The account has just started a session or conversion; stop it first.")
    return Response(status_code=204)


def _refuse_while_running(counts: ActiveCounts) -> None:
    sessions = sum(counts.sessions.values())
    if sessions:
        raise Conflict(
            f"The account still has {_count(sessions, 'active session')}; stop them first."
        )
    if counts.conversions:
        raise Conflict(
            f"The account still has {_count(counts.conversions, 'active conversion')}; "
            "wait for them to end first."
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


_ACCOUNT = "/admin/accounts/{account_id}"

routes: list[BaseRoute] = [
    Route("/admin/accounts", list_accounts, methods=["GET"]),
    Route("/admin/accounts", create_account, methods=["POST"]),
    Route(f"{_ACCOUNT}/keys:rotate", rotate_key, methods=["POST"]),
    Route(_ACCOUNT, get_account, methods=["GET"]),
    Route(_ACCOUNT, rename_account, methods=["PATCH"]),
    Route(_ACCOUNT, delete_account, methods=["DELETE"]),
]
