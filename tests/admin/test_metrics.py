"""The control plane's /metrics, in-process (real store, fake hosts, manual clock): parsed with
prometheus_client's own parser, its counters, gauges and histograms move as sessions come
and go, requests are counted by route template, and it takes the admin token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from renderhub.backends.base import BackendState
from renderhub.clock import ManualClock
from renderhub.metrics.control_plane import READY_BUCKETS
from renderhub.settings import Settings
from renderhub.store.schema import usage
from renderhub.testing import Behaviour, FakeBackend
from tests.admin.metrics_helpers import create, scrape, sessions, stop, stored
from tests.conftest import ControlPlane, make_settings, running_control_plane, stop_all_hosts
from tests.conftest import wait_for as wait_until
from tests.conversions_service.api import body, conversion_plane, put, wait_ended

# -- credential -------------------------------------------------------------------------------


async def test_metrics_take_the_admin_token(plane: ControlPlane) -> None:
    missing = await plane.client.get("/metrics")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert missing.json()["error"]["code"] == "Unauthorized"
    garbage = await plane.client.get("/metrics", headers={"Authorization": "Bearer rhadm_nope"})
    assert garbage.status_code == 401
    account = await plane.client.get("/metrics", headers=plane.auth)
    assert account.status_code == 403
    assert "admin token" in account.json()["error"]["message"]
    assert (await plane.client.get("/metrics", headers=plane.admin_auth)).status_code == 200


@pytest.fixture
async def public_plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    settings = make_settings(tmp_path / "data", metrics_public=True)
    async with running_control_plane(settings, ManualClock()) as control_plane:
        yield control_plane


async def test_public_metrics_need_no_token(public_plane: ControlPlane) -> None:
    response = await public_plane.client.get("/metrics")
    assert response.status_code == 200
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert "renderhub_sessions" in names


# -- sessions ---------------------------------------------------------------------------------


async def test_every_series_exists_from_the_first_scrape(plane: ControlPlane) -> None:
    first = await scrape(plane)
    for status in ("Starting", "Ready", "Stopping", "Stopped", "Expired", "Error"):
        for size in ("Standard", "Premium"):
            assert sessions(first, status, size) == 0
    for status in ("NotStarted", "Running", "Cancelled", "Failed", "Succeeded"):
        assert first.value("renderhub_conversions", status=status) == 0
    for operation in ("start", "assign", "stop", "start-idle"):
        assert first.value("renderhub_backend_errors_total", operation=operation) == 0
    for size in ("Standard", "Premium"):
        assert first.value("renderhub_ready_seconds_total", size=size) == 0
        assert first.value("renderhub_session_ready_seconds_count", size=size) == 0
    assert first.value("renderhub_host_scrape_failures_total") == 0
    assert first.types["renderhub_sessions"] == "gauge"
    assert first.types["renderhub_session_ready_seconds"] == "histogram"
    assert first.types["renderhub_api_requests"] == "counter"


async def test_sessions_by_status_follow_sessions_as_they_come_and_go(
    plane: ControlPlane,
) -> None:
    plane.backend.script("loading", Behaviour.NEVER_READY)
    await create(plane, "loading")
    await create(plane, "first")
    await create(plane, "second")
    await plane.wait_status("first", "Ready")
    await plane.wait_status("second", "Ready")
    running = await scrape(plane)
    assert sessions(running, "Starting") == 1
    assert sessions(running, "Ready") == 2
    assert sessions(running, "Ready", "Premium") == 0

    await stop(plane, "first")
    await stored(plane, "first", "Stopped")
    # Past the lease of "second", and the start timeout of "loading".
    plane.clock.advance(timedelta(minutes=10, seconds=1))
    await plane.scheduler.tick()
    await stored(plane, "second", "Expired")
    await stored(plane, "loading", "Error")
    ended = await scrape(plane)
    assert sessions(ended, "Ready") == 0
    assert sessions(ended, "Starting") == 0
    assert sessions(ended, "Stopped") == 1
    assert sessions(ended, "Expired") == 1
    assert sessions(ended, "Error") == 1


async def test_create_to_ready_is_timed_on_the_sessions_clock(plane: ControlPlane) -> None:
    plane.backend.script("slow", Behaviour.NEVER_READY)
    await create(plane, "slow")

    async def polled() -> bool:
        return bool(plane.backend.starts)

    await wait_until(polled)
    plane.clock.advance(timedelta(seconds=7))
    plane.backend.script("slow", Behaviour.READY)  # it finishes loading 7 s after the create
    await plane.wait_status("slow", "Ready")
    after = await scrape(plane)
    histogram = "renderhub_session_ready_seconds"
    assert after.value(f"{histogram}_count", size="Standard") == 1
    assert after.value(f"{histogram}_sum", size="Standard") == pytest.approx(7.0)
    assert after.value(f"{histogram}_bucket", size="Standard", le="5.0") == 0
    assert after.value(f"{histogram}_bucket", size="Standard", le="10.0") == 1
    assert after.value(f"{histogram}_count", size="Premium") == 0
    assert READY_BUCKETS[-1] > 7.0


async def test_lease_expiry_lateness_is_measured_from_the_lease_end(plane: ControlPlane) -> None:
    await create(plane, "leased", maxLeaseTimeMinutes=10)
    await plane.wait_status("leased", "Ready")
    plane.clock.advance(timedelta(minutes=10, seconds=3))
    await plane.scheduler.tick()
    await stored(plane, "leased", "Expired")
    after = await scrape(plane)
    assert after.value("renderhub_lease_expiry_lateness_seconds_count") == 1
    assert after.value("renderhub_lease_expiry_lateness_seconds_sum") == pytest.approx(3.0)
    assert after.value("renderhub_lease_expiry_lateness_seconds_bucket", le="2.5") == 0
    assert after.value("renderhub_lease_expiry_lateness_seconds_bucket", le="5.0") == 1


class SlowStoppingBackend(FakeBackend):
    """Fake hosts that take `stop_seconds` of the manual clock to go down."""

    def __init__(self, settings: Settings, clock: ManualClock, stop_seconds: float) -> None:
        super().__init__(settings)
        self.clock = clock
        self.stop_seconds = stop_seconds

    async def stop(self, state: BackendState, reason: str | None = None) -> None:
        self.clock.advance(timedelta(seconds=self.stop_seconds))
        await super().stop(state, reason)


async def test_stop_duration_runs_from_stopping_to_the_host_down(
    settings: Settings, clock: ManualClock
) -> None:
    backend = SlowStoppingBackend(settings, clock, stop_seconds=4.0)
    async with running_control_plane(settings, clock, backend=backend) as plane:
        try:
            await create(plane, "stopped")
            await plane.wait_status("stopped", "Ready")
            await stop(plane, "stopped")
            await stored(plane, "stopped", "Stopped")
            after = await scrape(plane)
        finally:
            await stop_all_hosts(plane)
    assert after.value("renderhub_session_stop_seconds_count", size="Standard") == 1
    assert after.value("renderhub_session_stop_seconds_sum", size="Standard") == pytest.approx(4)
    assert after.value("renderhub_session_stop_seconds_bucket", size="Standard", le="2.0") == 0
    assert after.value("renderhub_session_stop_seconds_bucket", size="Standard", le="5.0") == 1


async def test_backend_errors_are_counted_by_operation(plane: ControlPlane) -> None:
    plane.backend.script("nowhere", Behaviour.LAUNCH_FAILS, message="No room for a host.")
    await create(plane, "nowhere")
    await plane.wait_status("nowhere", "Error")
    after = await scrape(plane)
    assert after.value("renderhub_backend_errors_total", operation="start") == 1
    assert after.value("renderhub_backend_errors_total", operation="stop") == 0
    assert sessions(after, "Error") == 1


# -- usage ------------------------------------------------------------------------------------


async def test_ready_seconds_add_up_the_metered_intervals_at_each_scrape(
    plane: ControlPlane,
) -> None:
    now = plane.clock.now().timestamp()
    rows = [  # what metering writes: one closed interval of 100 s, one still open for 50 s
        {"account_id": "a", "session_id": "closed", "ready_at": now - 500, "ended_at": now - 400},
        {"account_id": "a", "session_id": "open", "ready_at": now - 50, "ended_at": None},
    ]
    rows = [{**row, "size": "Standard"} for row in rows]
    premium = {"account_id": "b", "session_id": "p", "size": "Premium", "ended_at": now}
    engine = plane.context.service.store._engine
    async with engine.begin() as connection:
        await connection.execute(insert(usage), [*rows, {**premium, "ready_at": now - 3600}])
    first = await scrape(plane)
    assert first.value("renderhub_ready_seconds_total", size="Standard") == pytest.approx(150)
    assert first.value("renderhub_ready_seconds_total", size="Premium") == pytest.approx(3600)
    assert first.value("renderhub_ready_sessions_total", size="Standard") == 2
    assert first.types["renderhub_ready_seconds"] == "counter"
    plane.clock.advance(timedelta(seconds=10))  # the open interval grows; the others do not
    later = await scrape(plane)
    assert later.value("renderhub_ready_seconds_total", size="Standard") == pytest.approx(160)
    assert later.value("renderhub_ready_seconds_total", size="Premium") == pytest.approx(3600)


async def test_ready_seconds_follow_a_real_sessions_metering(plane: ControlPlane) -> None:
    await create(plane, "metered")
    await plane.wait_status("metered", "Ready")
    plane.clock.advance(timedelta(seconds=40))
    assert (await scrape(plane)).value("renderhub_ready_seconds_total", size="Standard") == 40
    await stop(plane, "metered")
    await stored(plane, "metered", "Stopped")
    plane.clock.advance(timedelta(seconds=100))  # stopped: its Ready time no longer grows
    after = await scrape(plane)
    assert after.value("renderhub_ready_seconds_total", size="Standard") == 40
    assert after.value("renderhub_ready_sessions_total", size="Standard") == 1


async def test_the_store_figures_read_the_same_on_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    settings = make_settings(tmp_path / "data", database_url=postgres_url)
    async with running_control_plane(settings, ManualClock()) as plane:
        try:
            await create(plane, "on-postgres")
            await plane.wait_status("on-postgres", "Ready")
            now = plane.clock.now().timestamp()
            rows = [
                {"ready_at": now - 30, "ended_at": now - 10, "session_id": "closed"},
                {"ready_at": now - 5, "ended_at": None, "session_id": "open"},
            ]
            engine = plane.context.service.store._engine
            async with engine.begin() as connection:
                await connection.execute(
                    insert(usage), [{**row, "account_id": "a", "size": "Premium"} for row in rows]
                )
            after = await scrape(plane)
        finally:
            await stop_all_hosts(plane)
    assert sessions(after, "Ready") == 1
    assert after.value("renderhub_ready_seconds_total", size="Premium") == pytest.approx(25)
    assert after.value("renderhub_ready_sessions_total", size="Premium") == 2
    assert after.value("renderhub_conversions", status="Running") == 0


# -- requests ---------------------------------------------------------------------------------


async def test_requests_are_counted_by_route_template_and_status(plane: ControlPlane) -> None:
    await create(plane, "counted")
    await plane.wait_status("counted", "Ready")
    for _ in range(3):
        await plane.get("counted")
    missing = await plane.client.get(plane.sessions_url("no-such-session"), headers=plane.auth)
    assert missing.status_code == 404
    assert (await plane.client.get("/no/such/route")).status_code == 404
    after = await scrape(plane)
    route = "/accounts/{account_id}/sessions/{session_id}"
    requests = "renderhub_api_requests_total"
    assert after.value(requests, route=route, method="GET", status="200") >= 3
    assert after.value(requests, route=route, method="GET", status="404") == 1
    assert after.value(requests, route=route, method="PUT", status="201") == 1
    assert after.value(requests, route="unmatched", method="GET", status="404") == 1
    duration = "renderhub_api_request_duration_seconds"
    assert after.value(f"{duration}_count", route=route, method="GET") >= 4
    assert after.value(f"{duration}_sum", route=route, method="GET") > 0
    labels = after.label_values()
    assert not any("counted" in value or "no-such" in value for value in labels), labels
    assert not any(plane.account.id in value for value in labels)


async def test_a_method_nobody_uses_is_counted_as_other(plane: ControlPlane) -> None:
    response = await plane.client.request("BREW", "/healthz")
    assert response.status_code == 405
    after = await scrape(plane)
    assert (
        after.value("renderhub_api_requests_total", route="/healthz", method="OTHER", status="405")
        == 1
    )


async def test_two_apps_in_one_process_count_apart(plane: ControlPlane, tmp_path: Path) -> None:
    await plane.client.get("/healthz")
    other_settings = make_settings(tmp_path / "other")
    async with running_control_plane(other_settings, ManualClock()) as other:
        fresh = await scrape(other)
    ours = await scrape(plane)
    healthz = {"route": "/healthz", "method": "GET", "status": "200"}
    assert ours.value("renderhub_api_requests_total", **healthz) == 1
    assert ("renderhub_api_requests_total", frozenset(healthz.items())) not in fresh.samples


# -- conversions ------------------------------------------------------------------------------


async def test_conversions_by_status_are_read_from_the_store(tmp_path: Path) -> None:
    async with conversion_plane(tmp_path) as plane:
        assert (await put(plane, "house", body(tmp_path))).status_code == 201
        assert (await put(plane, "broken", body(tmp_path, model="fail.glb"))).status_code == 201
        assert (await wait_ended(plane, "house"))["status"] == "Succeeded"
        assert (await wait_ended(plane, "broken"))["status"] == "Failed"
        after = await scrape(plane)
    assert after.value("renderhub_conversions", status="Succeeded") == 1
    assert after.value("renderhub_conversions", status="Failed") == 1
    assert after.value("renderhub_conversions", status="Running") == 0
