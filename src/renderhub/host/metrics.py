"""GET /metrics: the host's figures in Prometheus's text format, for the operator (through
the control plane, which holds the host's control token; never for an account's client).

Read at each scrape from what the host measures anyway: the stream's counters and recent
timings (stream/stats.py), the client, the scene, memory, the deadline. Times are seconds and
sizes bytes, as Prometheus names them."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from renderhub.errors import Forbidden
from renderhub.host.control import require_control_token
from renderhub.host.state import Phase
from renderhub.host.stream.inspector import memory
from renderhub.host.stream.stats import StreamStats, Timings
from renderhub.host.stream.streamer import Streamer
from renderhub.host_protocol import METRICS_PATH

ACCOUNT_TOKEN_REFUSED = (
    "An account's access token cannot read the render host's metrics; they are the "
    "operator's (GET /admin/sessions/{accountId}/{sessionId}/metrics on the control plane)."
)


class HostCollector(Collector):
    """The host's metric families, read from its streamer at each collect."""

    def __init__(self, streamer: Streamer) -> None:
        self._streamer = streamer

    def collect(self) -> Iterator[Metric]:
        streamer = self._streamer
        yield _phase(streamer.state.phase)
        yield from _stream(streamer.stats)
        yield _gauge(
            "renderhub_host_clients_connected",
            "Clients connected (a host streams to one at a time).",
            1 if streamer.client is not None and streamer.client.state == "connected" else 0,
        )
        yield from _scene(streamer)
        yield from _memory()
        yield _gauge(
            "renderhub_host_deadline_timestamp_seconds",
            "When the host stops by itself (its lease plus a grace), epoch seconds.",
            streamer.state.deadline.epoch,
        )


def _phase(current: Phase) -> Metric:
    family = GaugeMetricFamily(
        "renderhub_host_phase", "1 for the phase the host is in.", labels=["phase"]
    )
    for phase in Phase:
        family.add_metric([phase.value], 1 if phase is current else 0)
    return family


def _stream(stats: StreamStats) -> Iterator[Metric]:
    yield CounterMetricFamily(
        "renderhub_host_frames_rendered", "Frames rendered.", value=stats.frames_rendered
    )
    yield CounterMetricFamily(
        "renderhub_host_frames_sent", "Frames encoded and sent.", value=stats.frames_sent
    )
    yield _gauge(
        "renderhub_host_frame_rate",
        "Frames sent per second over the last 5 seconds.",
        stats.fps(),
    )
    steps = GaugeMetricFamily(
        "renderhub_host_step_seconds",
        "Time per frame of each step over the last frames (up to 300): render (by the "
        "renderer), frame (begun to handed over), encode, send, input_to_render (a client's "
        "input to the frame showing it).",
        labels=["step", "quantile"],
    )
    timings: dict[str, Timings] = {
        "render": stats.render_ms,
        "frame": stats.frame_ms,
        "encode": stats.encode_ms,
        "send": stats.send_ms,
        "input_to_render": stats.input_to_render_ms,
    }
    for step, timing in timings.items():
        summary = timing.summary()
        for quantile, key in (("0.5", "median"), ("0.95", "p95")):
            value = summary[key]
            if value is not None:
                steps.add_metric([step, quantile], value / 1000)
    yield steps
    bitrate = GaugeMetricFamily(
        "renderhub_host_bitrate_bits_per_second", "The video's bitrate as sent, bits per second."
    )
    if stats.bitrate is not None:
        bitrate.add_metric([], stats.bitrate)
    yield bitrate
    round_trip = GaugeMetricFamily(
        "renderhub_host_round_trip_seconds", "Round trip to the client (RTCP), seconds."
    )
    if stats.rtcp_round_trip_ms is not None:
        round_trip.add_metric([], stats.rtcp_round_trip_ms / 1000)
    yield round_trip


def _scene(streamer: Streamer) -> Iterator[Metric]:
    """Polygons of the scene as it is now (models clients loaded included), or of the
    session's own models before the scene exists."""
    state = streamer.state
    live = streamer.runtime.model if streamer.runtime is not None else state.scene_model
    loaded = GaugeMetricFamily("renderhub_host_polygons", "Polygons loaded in the scene.")
    rendered = GaugeMetricFamily(
        "renderhub_host_polygons_rendered", "Polygons rendered (hidden entities left out)."
    )
    if live is not None:
        loaded.add_metric([], live.polygons_loaded)
        rendered.add_metric([], live.polygons_visible)
    elif state.scene is not None:
        loaded.add_metric([], state.scene.polygons)
    yield loaded
    yield rendered
    limit = GaugeMetricFamily(
        "renderhub_host_polygon_limit", "Most polygons the session's size renders."
    )
    if state.budget.limit is not None:
        limit.add_metric([], state.budget.limit)
    yield limit
    yield _gauge(
        "renderhub_host_models_loaded", "The session's own models loaded.", state.models_loaded
    )


def _memory() -> Iterator[Metric]:
    used = memory()
    family = GaugeMetricFamily(
        "renderhub_host_memory_rss_bytes",
        "Resident memory: the host process, and its children (the renderer).",
        labels=["process"],
    )
    family.add_metric(["host"], used["hostRssBytes"])
    family.add_metric(["renderer"], used["childrenRssBytes"])
    yield family


def _gauge(name: str, documentation: str, value: float) -> Metric:
    return GaugeMetricFamily(name, documentation, value=value)


def check_operator(request: Request) -> None:
    """Pass with the host's control token; 403 for an account's access token (a JWT), 401
    without a credential or with a wrong one."""
    expected: str | None = request.app.state.control_token
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    given = given.strip()
    is_jwt = scheme.lower() == "bearer" and given.count(".") == 2
    if is_jwt and not (expected and hmac.compare_digest(given.encode(), expected.encode())):
        raise Forbidden(ACCOUNT_TOKEN_REFUSED)
    require_control_token(request, expected)


async def host_metrics(request: Request) -> Response:
    check_operator(request)
    streamer: Streamer = request.app.state.streamer
    body = generate_latest(HostCollector(streamer))
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


routes = [Route(METRICS_PATH, host_metrics, methods=["GET"])]
