"""The host's HTTP app: /health, /control/* and /metrics for the control plane; /webrtc/offer
and /inspector.json for the client."""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from renderhub.errors import (
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    RenderHubError,
)
from renderhub.host import control, metrics, web
from renderhub.host.assignment import Assignment
from renderhub.host.state import HostState
from renderhub.host.stream import routes as stream_routes
from renderhub.host.stream.auth import ClientAuth
from renderhub.host.stream.inspector import InspectorHistory
from renderhub.host.stream.streamer import Streamer
from renderhub.host_protocol import HEALTH_PATH


async def health(request: Request) -> JSONResponse:
    """GET /health: 503 while loading (or warming up), 200 when ready (or idle, for a pooled
    host waiting for its session), 500 when loading failed."""
    state: HostState = request.app.state.host
    status, body = state.health()
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def error_response(error: RenderHubError) -> JSONResponse:
    """The one JSON error body every failure of this app is written as."""
    body = {"error": {"code": error.code, "message": error.message}}
    return JSONResponse(body, status_code=error.status_code, headers=error.headers())


async def _on_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, RenderHubError):
        return error_response(exc)
    if isinstance(exc, HTTPException):
        response = error_response(_from_http(request, exc))
        response.headers.update(exc.headers or {})
        return response
    # Starlette re-raises after this answer, so the server logs the traceback.
    return error_response(InternalServerError("The render host failed to answer."))


def _from_http(request: Request, exc: HTTPException) -> RenderHubError:
    path = request.url.path
    if exc.status_code == 404:
        return NotFound(f"The render host has no {path} endpoint.")
    if exc.status_code == 405:
        return MethodNotAllowed(f"{request.method} is not allowed on {path}.")
    error = RenderHubError(str(exc.detail))
    error.status_code = exc.status_code
    return error


def build_app(
    state: HostState,
    control_token: str | None,
    streamer: Streamer | None = None,
    client_auth: ClientAuth | None = None,
    assigner: Callable[[Assignment], None] | None = None,
    history: InspectorHistory | None = None,
) -> Starlette:
    """The Starlette app serving one host's state.

    Without `client_auth` no client may connect; without `streamer`, one with the default
    settings and no renderer yet. `assigner` takes POST /control/assign (pooled hosts only).
    `history` is the inspector's (its owner takes its samples; default: one nobody fills)."""
    app = Starlette(
        routes=[
            Route(HEALTH_PATH, health, methods=["GET"]),
            *control.routes,
            *metrics.routes,
            *stream_routes.routes,
            *web.routes,
        ],
        exception_handlers={
            RenderHubError: _on_error,
            HTTPException: _on_error,
            Exception: _on_error,
        },
    )
    app.state.host = state
    app.state.control_token = control_token
    app.state.streamer = streamer or Streamer(state)
    app.state.client_auth = client_auth or ClientAuth(None, None)
    app.state.assigner = assigner
    app.state.inspector_history = history or InspectorHistory(app.state.streamer.stats)
    return app
