"""What the admin routes look up in the store: the cross-account listings, and an account
named in a filter (an unknown one is a 404, not an empty list that hides a typo)."""

from __future__ import annotations

from starlette.requests import Request

from renderhub.api.context import context_of
from renderhub.errors import NotFound
from renderhub.store.admin_queries import AdminQueries


def queries_of(request: Request) -> AdminQueries:
    return AdminQueries(context_of(request).access.accounts.engine)


async def account_filter(request: Request, account_id: str | None) -> str | None:
    """The `account` parameter, checked to name an account; None when absent."""
    if account_id is None:
        return None
    if await context_of(request).access.accounts.get(account_id) is None:
        raise NotFound(f"account: no account with id {account_id!r} exists.", target="account")
    return account_id
