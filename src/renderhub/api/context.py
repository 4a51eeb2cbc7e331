"""What every route needs: the service, the token tools, and the edge checks (auth, bodies)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

import json5
from pydantic import BaseModel
from starlette.requests import Request

from renderhub.conversions.service import ConversionService
from renderhub.errors import BadRequest, Forbidden, PayloadTooLarge, Unauthorized
from renderhub.quotas import ACCOUNT_DISABLED
from renderhub.sessions.access import AccessService
from renderhub.sessions.service import SessionService
from renderhub.settings import Settings
from renderhub.store.records import AccountRecord
from renderhub.tokens import TokenVerifier
from renderhub.validation import parse_body

MAX_BODY_BYTES = 64 * 1024
BodyT = TypeVar("BodyT", bound=BaseModel)


@dataclass(slots=True)
class ApiContext:
    settings: Settings
    service: SessionService
    access: AccessService
    verifier: TokenVerifier
    conversions: ConversionService


def context_of(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


def bearer_credential(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthorized("An 'Authorization: Bearer <token>' header is required.")
    return credential.strip()


async def authorize(request: Request, account_id: str) -> str:
    """Check the access token, that it belongs to the account in the path, and that the
    account is not disabled; the account's id."""
    return (await authorize_account(request, account_id)).id


async def authorize_account(request: Request, account_id: str) -> AccountRecord:
    """`authorize`, returning the account (its quotas). The account is read on every call (one
    keyed read), so disabling it refuses its tokens at once, on every replica."""
    context = context_of(request)
    claims = context.verifier.verify(bearer_credential(request))
    if claims.account_id.lower() != account_id.lower():
        raise Forbidden("The access token does not grant access to this account.")
    account = await context.access.accounts.get(claims.account_id)
    if account is None:
        raise Unauthorized("The access token's account no longer exists.")
    if account.disabled:
        raise Forbidden(ACCOUNT_DISABLED)
    return account


async def read_body(request: Request, model: type[BodyT], *, lenient: bool = False) -> BodyT:
    """The request's JSON body parsed as `model` (see renderhub.api.bodies): a BadRequest
    naming the field otherwise (413 for a body over MAX_BODY_BYTES). The 2021-01-01 routes
    re-answer these with the codes their operations list (renderhub.api.operations)."""
    return parse_body(model, await read_json(request, lenient=lenient))


async def read_json(request: Request, *, lenient: bool = False) -> dict[str, Any]:
    """The request's JSON object, at most MAX_BODY_BYTES. `lenient` also takes the v1
    documentation's single-quoted bodies."""
    raw = await _read_limited(request)
    if not raw.strip():
        raise BadRequest("The request needs a JSON body.")
    try:
        text = raw.decode("utf-8")
        body = json5.loads(text) if lenient else json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadRequest(f"The body is not valid JSON: {_first_line(exc)}") from exc
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


async def _read_limited(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        # isascii(): isdigit() also takes digits such as '²' that int() rejects.
        if not (declared.isascii() and declared.isdigit()):
            raise BadRequest("The Content-Length header is not a number.")
        digits = declared.lstrip("0") or "0"  # int() refuses strings of over 4300 digits
        if len(digits) > 18 or int(digits) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def base_url(request: Request) -> str:
    configured = context_of(request).settings.public_url
    if configured:
        return configured.rstrip("/")
    return str(request.base_url).rstrip("/")
