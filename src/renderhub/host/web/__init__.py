"""What a render host serves to browsers: the viewer and the inspector pages, and the browser
module (`/sdk/renderhub.js`) that the viewer and other pages connect with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HTML = "text/html; charset=utf-8"
JAVASCRIPT = "text/javascript; charset=utf-8"
NO_CACHE = {"Cache-Control": "no-cache"}
# A module script is fetched in CORS mode: a page of another origin may import the SDK.
SHARED = {**NO_CACHE, "Access-Control-Allow-Origin": "*"}

_PAGES = {
    "/viewer": ("viewer.html", HTML, NO_CACHE),
    "/viewer.js": ("viewer.js", JAVASCRIPT, NO_CACHE),
    "/viewer-panel.js": ("viewer-panel.js", JAVASCRIPT, NO_CACHE),
    "/sdk/renderhub.js": ("renderhub.js", JAVASCRIPT, SHARED),
    "/inspector": ("inspector.html", HTML, NO_CACHE),
}


def _page(
    name: str, media_type: str, headers: dict[str, str]
) -> Callable[[Request], Awaitable[Response]]:
    content = files(__package__).joinpath(name).read_bytes()

    async def endpoint(_request: Request) -> Response:
        return Response(content, media_type=media_type, headers=headers)

    return endpoint


routes = [
    Route(path, _page(name, media, headers), methods=["GET"])
    for path, (name, media, headers) in _PAGES.items()
]
