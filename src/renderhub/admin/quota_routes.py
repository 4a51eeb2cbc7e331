"""Disable, enable, quotas of accounts (before account_routes: its paths end in ':action')."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
