"""The client's endpoints: POST /webrtc/offer (signalling), GET /inspector.json and
GET /inspector/history.json (the inspector's figures now, and their last minutes).

All need `Authorization: Bearer <access token>` of the session's account.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import PlainValidator
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from renderhub.errors import BadRequest, PayloadTooLarge
from renderhub.host.stream.auth import ClientAuth
from renderhub.host.stream.inspector import InspectorHistory, inspect
from renderhub.host.stream.streamer import Streamer
from renderhub.validation import WireBody, parse_body

MAX_OFFER_BYTES = 256 * 1024
_NO_STORE = {"Cache-Control": "no-store"}


async def offer(request: Request) -> JSONResponse:
    """POST /webrtc/offer {"sdp": ..., "type": "offer"} -> {"sdp": ..., "type": "answer"}."""
    _auth(request).check(request)
    sdp = _offer_from(await _body(request))
    streamer: Streamer = request.app.state.streamer
    answer = await streamer.connect(sdp)
    return JSONResponse({"sdp": answer, "type": "answer"}, headers=_NO_STORE)


async def inspector(request: Request) -> JSONResponse:
    """GET /inspector.json: the live figures of the stream."""
    _auth(request).check(request)
    return JSONResponse(inspect(request.app.state.streamer), headers=_NO_STORE)


async def inspector_history(request: Request) -> JSONResponse:
    """GET /inspector/history.json?since=T: the samples taken after T (epoch seconds, the last
    sample's `t` the page already has), or all those kept."""
    _auth(request).check(request)
    history: InspectorHistory = request.app.state.inspector_history
    return JSONResponse(history.since(_since(request)), headers=_NO_STORE)


def _since(request: Request) -> float | None:
    raw = request.query_params.get("since")
    if raw is None:
        return None
    try:
        since = float(raw)
    except ValueError:
        since = math.nan
    if not math.isfinite(since):
        raise BadRequest(
            f"since: {raw!r} is not a time (epoch seconds, the `t` of the last sample).",
            target="since",
        )
    return since


def _auth(request: Request) -> ClientAuth:
    auth: ClientAuth = request.app.state.client_auth
    return auth


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_OFFER_BYTES:
        raise PayloadTooLarge(f"An offer may be at most {MAX_OFFER_BYTES:,} bytes.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_OFFER_BYTES:
            raise PayloadTooLarge(f"An offer may be at most {MAX_OFFER_BYTES:,} bytes.")
    return body


def _sdp(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be the offer's session description, as a string")
    return value


def _offer_type(value: Any) -> str:
    if value != "offer":
        raise ValueError('must be "offer": the body is {"sdp": "<offer SDP>", "type": "offer"}')
    return "offer"


class OfferBody(WireBody):
    """POST /webrtc/offer: the browser's RTCSessionDescription of its offer."""

    sdp: Annotated[str, PlainValidator(_sdp)]
    type: Annotated[str, PlainValidator(_offer_type)]


def _offer_from(raw: bytes) -> str:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(
            'The body must be JSON: {"sdp": "<offer SDP>", "type": "offer"}.'
        ) from None
    return parse_body(OfferBody, body).sdp


routes = [
    Route("/webrtc/offer", offer, methods=["POST"]),
    Route("/inspector.json", inspector, methods=["GET"]),
    Route("/inspector/history.json", inspector_history, methods=["GET"]),
]
