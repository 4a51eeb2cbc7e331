"""The hosts' metrics through the admin API, on real hosts (the local backend): one session's
host proxied as it is, every live host in one text labelled by account and session, a host
that does not answer skipped and counted, and 404 where a session has no live host."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from renderhub.backends.local import LocalBackend
from renderhub.clock import ManualClock
from tests.admin.metrics_helpers import Samples, create, parse, scrape, stop, stored, value
from tests.conftest import ControlPlane, make_settings, running_control_plane, stop_all_hosts


@pytest.fixture
async def real_plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    settings = make_settings(tmp_path / "data", backend="local", host_grace_seconds=30.0)
    backend = LocalBackend(settings)
    async with running_control_plane(settings, ManualClock(), backend=backend) as plane:
        try:
            yield plane
        finally:
            await stop_all_hosts(plane)


def session_metrics_url(plane: ControlPlane, session_id: str) -> str:
    return f"/admin/sessions/{plane.account.id}/{session_id}/metrics"


async def host_samples(plane: ControlPlane, url: str) -> Samples:
    response = await plane.client.get(url, headers=plane.admin_auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


@pytest.mark.e2e
async def test_hosts_metrics_through_the_admin_api(real_plane: ControlPlane) -> None:
    plane = real_plane
    await asyncio.gather(create(plane, "alpha"), create(plane, "beta"))
    await plane.wait_status("alpha", "Ready", within=60)
    await plane.wait_status("beta", "Ready", within=60)

    # One session's host, as the host serves it, with the admin token only.
    url = session_metrics_url(plane, "alpha")
    assert (await plane.client.get(url)).status_code == 401
    refused = await plane.client.get(url, headers=plane.auth)
    assert refused.status_code == 403
    alpha = await host_samples(plane, url)
    assert value(alpha, "renderhub_host_polygons") == 12
    assert value(alpha, "renderhub_host_phase", phase="ready") == 1
    assert not any(dict(labels).get("session") for _, labels in alpha)

    # Every live host in one text, each series labelled with its account and session.
    hosts_url = "/admin/hosts/metrics"
    assert (await plane.client.get(hosts_url)).status_code == 401
    assert (await plane.client.get(hosts_url, headers=plane.auth)).status_code == 403
    both = await host_samples(plane, hosts_url)
    for session_id in ("alpha", "beta"):
        mine = {"account": plane.account.id, "session": session_id}
        assert value(both, "renderhub_host_polygons", **mine) == 12
        assert value(both, "renderhub_host_up", **mine) == 1
        assert value(both, "renderhub_host_memory_rss_bytes", process="host", **mine) > 0
    response = await plane.client.get(hosts_url, headers=plane.admin_auth)
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    assert families["renderhub_host_frames_sent"].type == "counter"
    assert len(families["renderhub_host_polygons"].samples) == 2

    # A host that died (its session not yet noticed: the scheduler is off) is skipped.
    beta = await plane.row("beta")
    os.kill(beta.backend_state["pid"], signal.SIGKILL)
    assert (await scrape(plane)).value("renderhub_host_scrape_failures_total") == 0
    left = await host_samples(plane, hosts_url)
    dead = {"account": plane.account.id, "session": "beta"}
    assert value(left, "renderhub_host_up", **dead) == 0
    assert ("renderhub_host_polygons", frozenset(dead.items())) not in left
    alive = {"account": plane.account.id, "session": "alpha"}
    assert value(left, "renderhub_host_polygons", **alive) == 12
    assert (await scrape(plane)).value("renderhub_host_scrape_failures_total") == 1
    gone = await plane.client.get(session_metrics_url(plane, "beta"), headers=plane.admin_auth)
    assert gone.status_code == 503
    assert "did not answer" in gone.json()["error"]["message"]
    assert (await scrape(plane)).value("renderhub_host_scrape_failures_total") == 2

    # An ended session has no live host.
    await stop(plane, "alpha")
    await stored(plane, "alpha", "Stopped")
    ended = await plane.client.get(url, headers=plane.admin_auth)
    assert ended.status_code == 404
    assert ended.json()["error"]["code"] == "NotFound"
