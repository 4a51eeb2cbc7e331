"""What a render host serves to browsers: the viewer and the inspector pages (the inspector's
charts drawn with the vendored uPlot, under /static/uplot/), and the browser module
(`/sdk/renderhub.js`) that the viewer and other pages connect with."""

from __future__ import annotations

from starlette.routing import Route

from renderhub.web_vendor import (
    CSS,
    HTML,
    JAVASCRIPT,
    NO_CACHE,
    TOKEN_PAGE,
    packaged_file,
    page_token_route,
    uplot_routes,
)

# A module script is fetched in CORS mode: a page of another origin may import the SDK.
SHARED = {**NO_CACHE, "Access-Control-Allow-Origin": "*"}

_PAGES = {
    "/viewer": ("viewer.html", HTML, NO_CACHE),
    "/viewer.js": ("viewer.js", JAVASCRIPT, NO_CACHE),
    "/viewer-panel.js": ("viewer-panel.js", JAVASCRIPT, NO_CACHE),
    "/sdk/renderhub.js": ("renderhub.js", JAVASCRIPT, SHARED),
    "/inspector": ("inspector.html", HTML, TOKEN_PAGE),
    # The inspector port's root, as in ARR (and the admin API's `inspector` link); the same
    # relative paths resolve from here.
    "/": ("inspector.html", HTML, TOKEN_PAGE),
    "/inspector.js": ("inspector.js", JAVASCRIPT, NO_CACHE),
    "/inspector.css": ("inspector.css", CSS, NO_CACHE),
}

routes = [
    *(
        Route(path, packaged_file(__package__, name, media, headers), methods=["GET"])
        for path, (name, media, headers) in _PAGES.items()
    ),
    *uplot_routes("/static/uplot"),
    page_token_route("/static/page_token.js"),
]
