"""Accounts: create, list, show, rename, rotate a key, delete."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
