"""The control plane's ASGI application: the routes of every API, and the life of the
service behind them (store, backend, scheduler, conversion runner), started and stopped with
the app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from renderhub import __version__
from renderhub.admin import routes as admin_routes
from renderhub.api import conversions_2021, host_models, sessions_2021, sessions_v1, sts
from renderhub.api.context import ApiContext
from renderhub.api.errors import (
    handle_http_exception,
    handle_renderhub_error,
    handle_store_unavailable,
)
from renderhub.api.metrics_middleware import RequestMetricsMiddleware
from renderhub.api.middleware import CorrelationMiddleware
from renderhub.api.openapi import routes as openapi_routes
from renderhub.backends.base import Backend, load_backend, open_backend
from renderhub.clock import Clock, SystemClock
from renderhub.conversions.executors import executor_for
from renderhub.conversions.runner import ConversionRunner
from renderhub.conversions.service import ConversionService
from renderhub.errors import RenderHubError
from renderhub.metrics.control_plane import ControlPlaneMetrics
from renderhub.metrics.store_figures import StoreReader
from renderhub.sessions.access import AccessService
from renderhub.sessions.pool import WarmPool
from renderhub.sessions.scheduler import Scheduler
from renderhub.sessions.service import SessionService
from renderhub.sessions.tasks import TaskOwner
from renderhub.settings import Settings
from renderhub.store.accounts import AccountStore
from renderhub.store.admin_tokens import AdminTokenStore
from renderhub.store.conversions import ConversionStore
from renderhub.store.database import UNAVAILABLE, migrate, open_engine, open_reader
from renderhub.store.keys import shared_signing_key
from renderhub.store.pool import PoolStore
from renderhub.store.replicas import ReplicaStore
from renderhub.store.sessions import SessionStore
from renderhub.store.usage import UsageStore
from renderhub.tokens import TokenIssuer, TokenVerifier


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    backend: Backend | None = None,
    run_scheduler: bool = True,
) -> Starlette:
    """Build the app. Tests pass a manual clock and may drive the scheduler themselves."""
    clock = clock or SystemClock()
    metrics = ControlPlaneMetrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = open_engine(settings.database)
        await migrate(engine)
        reader = open_reader(settings.database)
        signing_key = await shared_signing_key(
            engine, settings.signing_key_path, clock.now().timestamp()
        )
        chosen_backend = backend or load_backend(settings)
        await open_backend(chosen_backend)
        tasks = TaskOwner()
        service = SessionService(
            SessionStore(engine, reader), chosen_backend, settings, clock, tasks, events=metrics
        )
        conversion_store = ConversionStore(engine, reader)
        runner = ConversionRunner(
            conversion_store, executor_for(settings), settings, clock, tasks, service.replica_id
        )
        scheduler = Scheduler(
            service,
            ReplicaStore(engine),
            WarmPool(service, PoolStore(engine)),
            conversions=runner,
        )
        service.wake_scheduler = scheduler.wake
        app.state.context = ApiContext(
            settings=settings,
            service=service,
            access=AccessService(
                AccountStore(engine, reader), TokenIssuer(signing_key, clock), clock
            ),
            verifier=TokenVerifier(signing_key.public_key(), clock),
            conversions=ConversionService(conversion_store, clock, runner.wake),
        )
        app.state.admin_tokens = AdminTokenStore(engine)
        app.state.usage = UsageStore(engine)
        app.state.store_figures = StoreReader(engine)
        app.state.scheduler = scheduler
        app.state.conversion_runner = runner
        if run_scheduler:
            tasks.spawn(scheduler.run(), key="scheduler")
        tasks.spawn(runner.run(), key="conversion-runner")
        try:
            yield
        finally:
            await tasks.aclose()
            await scheduler.resign()
            await chosen_backend.aclose()
            await engine.dispose()
            if reader is not None:
                reader.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            *openapi_routes.routes,
            *sts.routes,
            *sessions_v1.routes,
            *sessions_2021.routes,
            *conversions_2021.routes,
            *host_models.routes,
            *admin_routes.routes,
        ],
        middleware=[
            Middleware(CorrelationMiddleware),
            Middleware(RequestMetricsMiddleware, metrics=metrics),
        ],
        exception_handlers={
            RenderHubError: handle_renderhub_error,
            HTTPException: handle_http_exception,
            **dict.fromkeys(UNAVAILABLE, handle_store_unavailable),
        },
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    return app
