"""GET /admin/dashboard and its static files (/admin/static/...).

None of them needs the admin token: the page holds no data. It asks for the token (or takes
it from `#token=`), keeps it in the tab's sessionStorage and reads everything it shows from
the admin API with it. Its policy lets it run only its own scripts and talk only to this
server, so nothing but the admin API ever sees the token."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from renderhub.web_vendor import (
    CSS,
    HTML,
    JAVASCRIPT,
    TOKEN_PAGE,
    packaged_file,
    page_token_route,
    uplot_routes,
)

_WEB = "renderhub.admin"

routes: list[BaseRoute] = [
    Route("/admin/dashboard", packaged_file(_WEB, "web/dashboard.html", HTML, TOKEN_PAGE)),
    Route("/admin/static/dashboard.js", packaged_file(_WEB, "web/dashboard.js", JAVASCRIPT)),
    Route("/admin/static/dashboard.css", packaged_file(_WEB, "web/dashboard.css", CSS)),
    *uplot_routes("/admin/static/uplot"),
    page_token_route("/admin/static/page_token.js"),
]
