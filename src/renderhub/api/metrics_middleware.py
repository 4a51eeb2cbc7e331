"""Counting API requests for /metrics: by route template (never the raw path, whose ids
would make a series per session), method and status, with the time each took."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from renderhub.metrics.control_plane import ControlPlaneMetrics

UNMATCHED = "unmatched"  # the route of a request no route took (a 404)


class RequestMetricsMiddleware:
    """Sits inside the correlation middleware: by the time the answer is sent, Starlette's
    router has put the route it chose in the scope."""

    def __init__(self, app: ASGIApp, metrics: ControlPlaneMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless an answer starts: an unhandled error becomes a 500 outside

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.request_served(route_template(scope), scope["method"], status, elapsed)


def route_template(scope: Scope) -> str:
    """The path template of the route that took the request ('/accounts/{account_id}/...')."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    return template if isinstance(template, str) else UNMATCHED
