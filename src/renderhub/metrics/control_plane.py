"""What the control plane counts as it runs: sessions becoming Ready and stopping, leases
expired late, API requests, the backend's failures, hosts that did not answer a scrape.

Each app has its own registry (not prometheus_client's global one), so apps in one process
(the in-process tests) never count into each other. With several API workers, each counts in
prometheus_client's multiprocess files (see renderhub.metrics.workers) and a scrape adds all
of them up."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from renderhub.metrics.workers import multiprocess_dir
from renderhub.sizes import SessionSize

# The backend's operations whose failures are counted (renderhub.sessions.events).
BACKEND_OPERATIONS = ("start", "assign", "stop", "start-idle")
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# A warm host is Ready in tens of milliseconds, a cold one in seconds; the start timeout
# is minutes.
READY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300)
STOP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60)
# The scheduler wakes at the deadline: late by milliseconds, unless it was busy or down.
LATENESS_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ControlPlaneMetrics:
    """The control plane's metrics. It is the session service's SessionEvents observer."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.ready_seconds = Histogram(
            "renderhub_session_ready_seconds",
            "From a session's create to Ready (its host started and its models loaded).",
            ["size"],
            buckets=READY_BUCKETS,
            registry=registry,
        )
        self.stop_seconds = Histogram(
            "renderhub_session_stop_seconds",
            "From a session's stop (Stopping) to its host being down (Stopped).",
            ["size"],
            buckets=STOP_BUCKETS,
            registry=registry,
        )
        self.expiry_lateness = Histogram(
            "renderhub_lease_expiry_lateness_seconds",
            "How long after its lease's end a session was expired.",
            buckets=LATENESS_BUCKETS,
            registry=registry,
        )
        self.requests = Counter(
            "renderhub_api_requests",
            "API requests answered, by route (its template: no ids), method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "renderhub_api_request_duration_seconds",
            "Time to answer an API request, by route template and method.",
            ["route", "method"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.backend_errors = Counter(
            "renderhub_backend_errors",
            "Operations the backend failed (start, assign, stop, start-idle of a warm host).",
            ["operation"],
            registry=registry,
        )
        self.host_scrape_failures = Counter(
            "renderhub_host_scrape_failures",
            "Render hosts that did not answer a scrape of /admin/hosts/metrics.",
            registry=registry,
        )
        for size in SessionSize:
            self.ready_seconds.labels(size.value)
            self.stop_seconds.labels(size.value)
        for operation in BACKEND_OPERATIONS:
            self.backend_errors.labels(operation)

    # -- renderhub.sessions.events.SessionEvents ---------------------------------------------

    def became_ready(self, size: SessionSize, seconds: float) -> None:
        self.ready_seconds.labels(size.value).observe(max(0.0, seconds))

    def stopped(self, size: SessionSize, seconds: float) -> None:
        self.stop_seconds.labels(size.value).observe(max(0.0, seconds))

    def expired(self, lateness_seconds: float) -> None:
        self.expiry_lateness.observe(max(0.0, lateness_seconds))

    def backend_error(self, operation: str) -> None:
        self.backend_errors.labels(operation).inc()

    # -- the API -----------------------------------------------------------------------------

    def request_served(self, route: str, method: str, status: int, seconds: float) -> None:
        """One answered request. `route` is a template or a fixed word, never a raw path."""
        method = method if method in HTTP_METHODS else "OTHER"
        self.requests.labels(route, method, str(status)).inc()
        self.request_seconds.labels(route, method).observe(seconds)

    def exposition(self, extra: Iterable[Metric] = ()) -> bytes:
        """Prometheus's text format: what this process counted (or, with several workers,
        all of them together), then the `extra` metric families (read from the store)."""
        return generate_latest(_Joined(self._counted(), extra))

    def _counted(self) -> Collector:
        directory = multiprocess_dir()
        if directory is None:
            return self.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
        return registry


class _Joined(Collector):
    """A collector yielding another's families, then some more."""

    def __init__(self, first: Collector, more: Iterable[Metric]) -> None:
        self._first = first
        self._more = list(more)

    def collect(self) -> Iterator[Metric]:
        yield from self._first.collect()
        yield from self._more


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def exposition_of(families: Iterable[Metric]) -> bytes:
    """Metric families in Prometheus's text format (CONTENT_TYPE_LATEST)."""
    return generate_latest(_Families(families))
