"""GET /openapi.json and GET /api: the API document and its page, open to anyone (they describe
the API; they hold nothing of any account)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from renderhub.api.context import base_url, context_of
from renderhub.api.openapi.document import Document, build_document
from renderhub.api.openapi.page import render_page


def _document(request: Request) -> Document:
    return build_document(base_url(request), context_of(request).settings.max_lease_minutes)


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(_document(request))


async def api_page(request: Request) -> HTMLResponse:
    return HTMLResponse(render_page(_document(request)))


routes = [
    Route("/openapi.json", openapi_json, methods=["GET"]),
    Route("/api", api_page, methods=["GET"]),
]
