"""/metrics of the control plane, and the hosts' metrics through it."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
