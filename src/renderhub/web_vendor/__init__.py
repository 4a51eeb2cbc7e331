"""Browser code of others that RenderHub's pages use, vendored by `tools/vendor-uplot` (its
version and checksums in uplot/VERSION) and served from the package by the control plane and
by every host: the pages load nothing from the network, so they work on machines without it.

Also what every RenderHub page server shares: serving a file of the package, and the headers
of a page that holds a token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HTML = "text/html; charset=utf-8"
JAVASCRIPT = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
NO_CACHE = {"Cache-Control": "no-cache"}
# A page that holds a token (the dashboard, the inspector) runs only its own scripts and talks
# only to the server that served it: the token goes nowhere else.
TOKEN_PAGE = {
    **NO_CACHE,
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

Endpoint = Callable[[Request], Awaitable[Response]]

# uPlot (MIT): the time series charts of the dashboard and of the hosts' inspector.
_UPLOT = {"uPlot.iife.min.js": JAVASCRIPT, "uPlot.min.css": CSS}


def packaged_file(
    package: str, name: str, media_type: str, headers: Mapping[str, str] = NO_CACHE
) -> Endpoint:
    """An endpoint answering with the file `name` (a path inside `package`), read once now:
    a missing file fails at import, not on the first request."""
    content = files(package).joinpath(name).read_bytes()
    fixed = dict(headers)

    async def endpoint(_request: Request) -> Response:
        return Response(content, media_type=media_type, headers=fixed)

    return endpoint


def uplot_routes(prefix: str) -> list[Route]:
    """GET `prefix`/uPlot.iife.min.js and `prefix`/uPlot.min.css."""
    return [
        Route(
            f"{prefix}/{name}", packaged_file(__package__, f"uplot/{name}", media), methods=["GET"]
        )
        for name, media in _UPLOT.items()
    ]


def page_token_route(path: str) -> Route:
    """GET `path`: page_token.js, how a page takes its token from `#token=` or the tab."""
    return Route(path, packaged_file(__package__, "page_token.js", JAVASCRIPT), methods=["GET"])
