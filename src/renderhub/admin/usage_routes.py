"""GET /admin/usage: metered Ready time per account, size and period."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
