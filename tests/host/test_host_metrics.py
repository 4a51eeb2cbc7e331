"""A real host process's /metrics: only with its control token (an account's token is refused),
parsed with prometheus_client's parser, its figures those the host measures (scene, memory,
frames and timings while a client watches); and its JSON log lines."""

# The streaming tests' fixtures (keys, loopback-only ICE, viewers) are imported, so their
# names come back as the tests' parameters.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from renderhub.host.metrics import ACCOUNT_TOKEN_REFUSED
from tests.admin.metrics_helpers import Samples, parse, value
from tests.host.host_testing import CONTROL_TOKEN, HostProcess, SpawnHost
from tests.host.stream.conftest import ACCOUNT, Keys, keys, loopback_ice, make_viewer  # noqa: F401
from tests.host.stream.host_processes import write_public_key
from tests.host.stream.peers import Viewer


def start(spawn_host: SpawnHost, keys: Keys, tmp_path: Path, model: str) -> HostProcess:
    public_key = write_public_key(keys, tmp_path)
    args = ("--public-key", str(public_key), "--account-id", ACCOUNT)
    args += ("--ice-address", "127.0.0.1", "--log-format", "json")
    host = spawn_host(model, args=args)
    host.wait_for("ready", timeout=30)
    return host


def scrape(host: HostProcess) -> Samples:
    response = host.client.get("/metrics", headers={"Authorization": f"Bearer {CONTROL_TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


@pytest.mark.e2e
def test_a_host_serves_its_metrics_to_the_control_plane_only(
    spawn_host: SpawnHost, keys: Keys, tmp_path: Path
) -> None:
    host = start(spawn_host, keys, tmp_path, "samples/cube.glb")

    missing = host.client.get("/metrics")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "Unauthorized"
    wrong = host.client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    for token in (keys.token(), keys.token("another-account")):
        refused = host.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403
        assert refused.json()["error"] == {"code": "Forbidden", "message": ACCOUNT_TOKEN_REFUSED}

    samples = scrape(host)
    assert value(samples, "renderhub_host_phase", phase="ready") == 1
    assert value(samples, "renderhub_host_phase", phase="loading") == 0
    assert value(samples, "renderhub_host_polygons") == 12
    assert value(samples, "renderhub_host_polygon_limit") == 20_000_000
    assert value(samples, "renderhub_host_models_loaded") == 1
    assert value(samples, "renderhub_host_clients_connected") == 0
    assert value(samples, "renderhub_host_frames_sent_total") == 0
    assert value(samples, "renderhub_host_frame_rate") == 0
    assert value(samples, "renderhub_host_memory_rss_bytes", process="host") > 50e6
    deadline = value(samples, "renderhub_host_deadline_timestamp_seconds")
    assert time.time() < deadline < time.time() + 61

    lines = host.log().splitlines()
    assert lines, "the host logs its start"
    for line in lines:
        entry = json.loads(line)
        assert set(entry) >= {"time", "level", "logger", "message", "cv", "account", "session"}
        assert entry["session"] == "test-session" and entry["account"] == ACCOUNT
        assert entry["cv"] is None and entry["time"].endswith("Z")
    assert not any("/metrics" in line or "/health" in line for line in lines)


@pytest.mark.e2e
async def test_a_watched_host_reports_its_frames_timings_bitrate_and_round_trip(
    spawn_host: SpawnHost,
    keys: Keys,
    tmp_path: Path,
    make_viewer: Callable[..., Viewer],
) -> None:
    host = start(spawn_host, keys, tmp_path, "samples/torus-knot.glb")
    viewer = make_viewer(codec="video/H264")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{host.port}", timeout=10) as http:
        give_up = time.monotonic() + 30
        while (response := await viewer.connect(http, keys.token())).status_code == 503:
            assert time.monotonic() < give_up, "the renderer did not start in 30 s"
            await asyncio.sleep(0.1)  # the renderer is starting
        assert response.status_code == 200, response.text
        await viewer.picture()

        async def streaming() -> Samples:
            give_up = time.monotonic() + 15
            while True:
                samples = await asyncio.to_thread(scrape, host)
                measured = {
                    "renderhub_host_bitrate_bits_per_second",
                    "renderhub_host_round_trip_seconds",
                }
                if measured <= {name for name, _ in samples}:
                    return samples
                assert time.monotonic() < give_up, f"no bitrate or round trip yet: {samples}"
                await asyncio.sleep(0.2)

        samples = await streaming()
    assert value(samples, "renderhub_host_clients_connected") == 1
    assert value(samples, "renderhub_host_frames_sent_total") >= viewer.frames > 0
    assert value(samples, "renderhub_host_frames_rendered_total") > 0
    assert value(samples, "renderhub_host_frame_rate") > 0
    assert value(samples, "renderhub_host_bitrate_bits_per_second") > 0
    assert 0 <= value(samples, "renderhub_host_round_trip_seconds") < 1  # on loopback
    assert value(samples, "renderhub_host_polygons") == 18_432
    assert value(samples, "renderhub_host_polygons_rendered") == 18_432
    for step in ("render", "frame", "encode", "send"):
        for quantile in ("0.5", "0.95"):
            seconds = value(samples, "renderhub_host_step_seconds", step=step, quantile=quantile)
            assert 0 <= seconds < 5, (step, quantile, seconds)
    assert value(samples, "renderhub_host_step_seconds", step="render", quantile="0.5") > 0
    assert value(samples, "renderhub_host_memory_rss_bytes", process="renderer") > 0


@pytest.mark.e2e
def test_a_pooled_hosts_json_lines_name_its_pool_then_its_session(
    spawn_host: SpawnHost, keys: Keys, tmp_path: Path
) -> None:
    public_key = write_public_key(keys, tmp_path)
    args = ("--public-key", str(public_key), "--log-format", "json")
    host = spawn_host(pooled=True, args=args)
    host.wait_for("idle", timeout=60)
    idle_lines = len(host.log().splitlines())
    body = {
        "sessionId": "pooled-session",
        "accountId": ACCOUNT,
        "models": ["samples/cube.glb"],
        "deadline": time.time() + 60,
        "polygonLimit": None,
    }
    control = {"Authorization": f"Bearer {CONTROL_TOKEN}"}
    assert host.client.post("/control/assign", json=body, headers=control).status_code == 202
    host.wait_for("ready", timeout=30)
    entries = [json.loads(line) for line in host.log().splitlines()]
    before, after = entries[:idle_lines], entries[idle_lines:]
    assert before and after
    assert {(e["pool"], e["account"], e["session"]) for e in before} == {("test-pool", None, None)}
    assert {(e["pool"], e["account"], e["session"]) for e in after} == {
        ("test-pool", ACCOUNT, "pooled-session")
    }
