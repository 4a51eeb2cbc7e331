"""Every session across accounts: list with filters, show, stop."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
