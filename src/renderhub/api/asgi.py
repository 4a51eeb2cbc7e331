"""The entry point uvicorn imports in each worker: settings come from RENDERHUB_* variables."""

from __future__ import annotations

from starlette.applications import Starlette

from renderhub.api.app import create_app
from renderhub.logs import configure_logging
from renderhub.settings import Settings


def app_from_environment() -> Starlette:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
