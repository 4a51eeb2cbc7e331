"""The dashboard page and its static files."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
