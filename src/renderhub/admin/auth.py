"""The admin API's credential check: an admin token, never an account's access token."""

from __future__ import annotations

from starlette.requests import Request

from renderhub.api.context import bearer_credential
from renderhub.errors import Forbidden, Unauthorized
from renderhub.store.admin_tokens import AdminTokenStore

ACCOUNT_TOKEN_REFUSED = (
    "An account's access token cannot be used on the admin API; use an admin token."
)


def admin_tokens_of(request: Request) -> AdminTokenStore:
    store: AdminTokenStore = request.app.state.admin_tokens
    return store


async def require_admin(request: Request) -> None:
    """Pass with a valid admin token; 401 without one (or with a bad one), 403 for an
    account's access token (a JWT: three dot-separated parts)."""
    credential = bearer_credential(request)
    if await admin_tokens_of(request).is_valid(credential):
        return
    if credential.count(".") == 2:
        raise Forbidden(ACCOUNT_TOKEN_REFUSED)
    raise Unauthorized("The admin token is not valid (unknown or revoked).")
