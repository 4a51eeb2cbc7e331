"""The Secure Token Service route: an account id and key in, a 24-hour access token out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from renderhub.api.context import bearer_credential, context_of
from renderhub.errors import NotFound, Unauthorized

_WRONG = "The account id or key is not valid."


async def get_token(request: Request) -> JSONResponse:
    if request.path_params["accounts"].lower() != "accounts":
        raise NotFound("There is no such resource.")
    context = context_of(request)
    account_id = request.path_params["account_id"].lower()
    claimed_id, _, key = bearer_credential(request).partition(":")
    if claimed_id.lower() != account_id or not key:
        raise Unauthorized(_WRONG)
    token = await context.access.token_for_key(account_id, key)
    if token is None:
        raise Unauthorized(_WRONG)
    return JSONResponse({"AccessToken": token})


routes = [Route("/{accounts}/{account_id}/token", get_token, methods=["GET"])]
