"""The 2021-01-01 conversion API (Azure's SDKs: begin_asset_conversion and friends)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from renderhub.api.context import (
    authorize,
    authorize_account,
    base_url,
    context_of,
    read_json,
)
from renderhub.api.conversion_bodies import CreateConversionBody, conversion_2021
from renderhub.api.operations import answers_as_listed
from renderhub.api.paging import decode_skip_token, next_link
from renderhub.api.versions import check_api_version
from renderhub.conversions.jobs import ConversionJob
from renderhub.conversions.service import CreateOutcome
from renderhub.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, RenderHubError
from renderhub.quotas import Quotas
from renderhub.sessions.requests import check_session_id
from renderhub.settings import Settings
from renderhub.storage.locations import check_input_location, check_output_location
from renderhub.store.records import AccountRecord
from renderhub.validation import parse_body

_PREFIX = "/accounts/{account_id}/conversions"
# How soon a client should look again at a conversion that has not ended.
RETRY_AFTER_SECONDS = 5


async def _begin(
    request: Request, impossible_id: type[RenderHubError] = BadRequest
) -> tuple[AccountRecord, str]:
    """The account (authorized) and conversion id of a conversion route. Conversion ids follow
    the rules of session ids; an id no conversion could have is `impossible_id` (a create's
    400, a get's 404: the get lists no 400)."""
    check_api_version(request)
    account = await authorize_account(request, request.path_params["account_id"])
    conversion_id = request.path_params["conversion_id"]
    try:
        return account, check_session_id(conversion_id)
    except BadRequest:
        raise impossible_id(
            "A conversion id is 1 to 256 characters: letters, digits, '-' and '_'.",
            target="conversionId",
        ) from None


def _check_locations(settings: Settings, job: ConversionJob) -> None:
    """Refuse, naming the field, containers the operator did not allow (nothing is allowed
    by default), blob containers without a SAS, and prefixes or paths that escape, before
    anything is recorded: nothing here reaches an address nobody allowed."""
    check_input_location(job.input, settings.allow_storage)
    check_output_location(job.output, settings.allow_storage)


async def _read_body(request: Request) -> dict[str, Any]:
    """The JSON body; one too large is a 400 here, the only client error a create lists."""
    try:
        return await read_json(request)
    except PayloadTooLarge as exc:
        raise BadRequest(exc.message) from None


@answers_as_listed("RemoteRendering_CreateConversion")
async def create(request: Request) -> Response:
    account, conversion_id = await _begin(request)
    context = context_of(request)
    job = parse_body(CreateConversionBody, await _read_body(request)).job(conversion_id)
    _check_locations(context.settings, job)
    created = await context.conversions.create(account.id, job, Quotas.of(account))
    if created.outcome is CreateOutcome.OTHER_EXISTS:
        raise Conflict(
            f"A conversion with id {conversion_id!r} already exists with other settings; "
            "use a new id for a new conversion."
        )
    status = 201 if created.outcome is CreateOutcome.CREATED else 200
    return JSONResponse(conversion_2021(created.record), status_code=status)


@answers_as_listed("RemoteRendering_GetConversion")
async def get_conversion(request: Request) -> Response:
    account, conversion_id = await _begin(request, impossible_id=NotFound)
    record = await context_of(request).conversions.get(account.id, conversion_id)
    headers = {} if record.status.is_final else {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return JSONResponse(conversion_2021(record), headers=headers)


@answers_as_listed("RemoteRendering_ListConversions")
async def list_conversions(request: Request) -> Response:
    version = check_api_version(request)
    account_id = await authorize(request, request.path_params["account_id"])
    context = context_of(request)
    after = decode_skip_token(request.query_params.get("skipToken"))
    page_size = context.settings.page_size
    records = await context.conversions.list_page(account_id, page_size + 1, after)
    body: dict[str, Any] = {"conversions": [conversion_2021(r) for r in records[:page_size]]}
    if len(records) > page_size:
        last = records[page_size - 1]
        path = f"/accounts/{quote(account_id)}/conversions"
        body["@nextLink"] = next_link(base_url(request), path, version, last.created_at, last.id)
    return JSONResponse(body)


routes = [
    Route(_PREFIX, list_conversions, methods=["GET"]),
    Route(f"{_PREFIX}/{{conversion_id}}", create, methods=["PUT"]),
    Route(f"{_PREFIX}/{{conversion_id}}", get_conversion, methods=["GET"]),
]
