"""/metrics of the control plane, and the hosts' metrics through it (docs/admin-api.md).

The control plane's metrics take the admin token unless RENDERHUB_METRICS_PUBLIC is set (for a
scraper on a trusted network). A host's metrics are the operator's: only the control plane
holds the host's control token, so they are reached here, with the admin token."""

from __future__ import annotations

import logging

from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from renderhub.admin.auth import require_admin
from renderhub.api.context import context_of
from renderhub.backends.host_http import HostHttp
from renderhub.errors import BackendError, NotFound, ServiceUnavailable
from renderhub.metrics.control_plane import ControlPlaneMetrics, exposition_of
from renderhub.metrics.hosts import (
    LIVE_STATUSES,
    SCRAPE_TIMEOUT_SECONDS,
    host_target,
    scrape_host,
    scrape_hosts,
)
from renderhub.metrics.store_figures import StoreReader

log = logging.getLogger(__name__)


def _metrics(request: Request) -> ControlPlaneMetrics:
    metrics: ControlPlaneMetrics = request.app.state.metrics
    return metrics


async def control_plane_metrics(request: Request) -> Response:
    """GET /metrics: what this control plane counted, and the store's figures now."""
    context = context_of(request)
    if not context.settings.metrics_public:
        await require_admin(request)
    store: StoreReader = request.app.state.store_figures
    figures = await store.read(context.service.now())
    body = _metrics(request).exposition(figures.families())
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def session_metrics(request: Request) -> Response:
    """GET /admin/sessions/{account_id}/{session_id}/metrics: the host's own text."""
    await require_admin(request)
    account_id = request.path_params["account_id"]
    session_id = request.path_params["session_id"]
    record = await context_of(request).service.store.get(account_id, session_id)
    target = host_target(record) if record is not None else None
    if target is None:
        raise NotFound(f"Session {session_id!r} of account {account_id!r} has no live render host.")
    hosts = HostHttp(SCRAPE_TIMEOUT_SECONDS)
    try:
        text = await scrape_host(target, hosts)
    except BackendError as exc:
        _metrics(request).host_scrape_failures.inc()
        raise ServiceUnavailable(f"Session {session_id!r}: {exc.message}") from exc
    finally:
        await hosts.aclose()
    return Response(text, media_type=CONTENT_TYPE_LATEST)


async def hosts_metrics(request: Request) -> Response:
    """GET /admin/hosts/metrics: every live host's metrics, labelled account and session."""
    await require_admin(request)
    context = context_of(request)
    records = await context.service.store.with_status(LIVE_STATUSES)
    targets = [target for record in records if (target := host_target(record)) is not None]
    hosts = HostHttp(SCRAPE_TIMEOUT_SECONDS)
    try:
        scrape = await scrape_hosts(targets, hosts, context.settings.health_concurrency)
    finally:
        await hosts.aclose()
    if scrape.failed:
        _metrics(request).host_scrape_failures.inc(len(scrape.failed))
        names = ", ".join(f"{each.account_id}/{each.session_id}" for each in scrape.failed)
        log.warning(
            "%d render host(s) did not answer a metrics scrape: %s", len(scrape.failed), names
        )
    return Response(exposition_of(scrape.families), media_type=CONTENT_TYPE_LATEST)


routes: list[BaseRoute] = [
    Route("/metrics", control_plane_metrics, methods=["GET"]),
    Route("/admin/hosts/metrics", hosts_metrics, methods=["GET"]),
    Route("/admin/sessions/{account_id}/{session_id}/metrics", session_metrics, methods=["GET"]),
]
