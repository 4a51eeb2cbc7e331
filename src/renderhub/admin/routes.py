"""Every route of the operator's side, in matching order: the ':action' routes come before
the routes whose last path parameter would otherwise swallow them."""

from __future__ import annotations

from starlette.routing import BaseRoute

from renderhub.admin import (
    account_routes,
    conversion_routes,
    dashboard_routes,
    metrics_routes,
    quota_routes,
    session_routes,
    usage_routes,
)

routes: list[BaseRoute] = [
    *quota_routes.routes,
    *account_routes.routes,
    *session_routes.routes,
    *conversion_routes.routes,
    *usage_routes.routes,
    *metrics_routes.routes,
    *dashboard_routes.routes,
]
