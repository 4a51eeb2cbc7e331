"""The pages a render host serves to people: the viewer and the inspector."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_PAGES = {
    "/viewer": ("viewer.html", "text/html; charset=utf-8"),
    "/viewer.js": ("viewer.js", "text/javascript; charset=utf-8"),
    "/inspector": ("inspector.html", "text/html; charset=utf-8"),
}


def _page(name: str, media_type: str) -> Callable[[Request], Awaitable[Response]]:
    content = files(__package__).joinpath(name).read_bytes()

    async def endpoint(_request: Request) -> Response:
        return Response(content, media_type=media_type, headers={"Cache-Control": "no-cache"})

    return endpoint


routes = [
    Route(path, _page(name, media), methods=["GET"]) for path, (name, media) in _PAGES.items()
]
