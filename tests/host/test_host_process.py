"""Real `renderhub host` processes on loopback: loading, limits, downloads, deadline, signals."""

from __future__ import annotations

import functools
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.host.host_testing import CONTROL_TOKEN, ModelServer, SpawnHost, host_command, wait_until

pytestmark = pytest.mark.e2e


def test_a_host_loads_a_sample_and_reports_ready(spawn_host: SpawnHost) -> None:
    host = spawn_host("samples/torus-knot.glb", "samples/cube.glb")

    body = host.wait_for("ready")

    assert body["sessionId"] == "test-session"
    assert body["polygons"] == 18_432 + 12
    assert body["polygonLimit"] == 20_000_000
    assert body["overLimit"] is False
    assert body["message"] is None
    assert [m["url"] for m in body["models"]] == ["samples/torus-knot.glb", "samples/cube.glb"]
    assert isinstance(body["loadSeconds"], float)


def test_every_inherited_socket_serves_the_app(tmp_path: Path, models_dir: Path) -> None:
    first, second = (socket.create_server(("127.0.0.1", 0)) for _ in range(2))
    command = host_command(models_dir, time.time() + 60, "samples/gear.stl")
    command += ["--listen-fd", str(first.fileno()), "--listen-fd", str(second.fileno())]
    with first, second:
        process = subprocess.Popen(
            command, pass_fds=[first.fileno(), second.fileno()], stderr=subprocess.DEVNULL
        )
        ports = [first.getsockname()[1], second.getsockname()[1]]
    try:
        for port in ports:
            url = f"http://127.0.0.1:{port}/health"
            body = wait_until(functools.partial(_ready_body, url), 15, f"ready on {url}")
            assert body["polygons"] == 768
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


def _ready_body(url: str) -> dict[str, Any] | None:
    body = httpx.get(url, timeout=10).json()
    return body if body["status"] == "ready" else None


def test_bind_and_port_zero_logs_the_port(tmp_path: Path, models_dir: Path) -> None:
    log_path = tmp_path / "host.log"
    command = [*host_command(models_dir, time.time() + 60), "--bind", "127.0.0.1", "--port", "0"]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, stderr=log_file)
    try:
        found = wait_until(
            lambda: re.search(r"listening on 127\.0\.0\.1:(\d+)", log_path.read_text()),
            15,
            "the listening line",
        )
        url = f"http://127.0.0.1:{found.group(1)}/health"
        body = wait_until(lambda: _ready_body(url), 15, "ready")
        assert body["polygons"] == 0
        assert body["models"] == []
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("broken.glb", r"^Could not load model 'broken\.glb': it is not a valid GLB file \(.+"),
        ("samples/gone.obj", r"^Could not load model 'samples/gone\.obj': .*gone\.obj does not"),
        ("file:///etc/passwd.stl", r"^Model 'file:///etc/passwd\.stl' is outside .*--allow-models"),
        ("samples/cube.fbx", r"^Model 'samples/cube\.fbx' has an unsupported type; supported: "),
    ],
    ids=["corrupt", "missing", "disallowed", "unsupported"],
)
def test_a_loading_error_is_reported_as_500(
    spawn_host: SpawnHost, models_dir: Path, model: str, expected: str
) -> None:
    (models_dir / "broken.glb").write_bytes(b"glTF\x02\x00\x00\x00" + b"\xff" * 64)
    host = spawn_host("samples/cube.glb", model)

    body = host.wait_for("error")

    assert host.health().status_code == 500
    assert body["sessionId"] == "test-session"
    assert re.search(expected, str(body["message"])), body["message"]
    assert host.process.poll() is None, "the host keeps running after a loading error"


def test_over_the_polygon_limit_is_ready_with_a_message(spawn_host: SpawnHost) -> None:
    host = spawn_host("samples/sphere.obj", args=("--polygon-limit", "1000"))

    body = host.wait_for("ready")

    assert body["polygons"] == 1280
    assert body["polygonLimit"] == 1000
    assert body["overLimit"] is True
    assert body["message"] == (
        "The models have 1,280 polygons, more than the Standard size's limit of 1,000; "
        "a checkerboard is shown in their place. Use a Premium session for models this large."
    )


def test_a_model_is_downloaded_over_http(spawn_host: SpawnHost, model_server: ModelServer) -> None:
    url = f"{model_server.url}/samples/terrain.ply"
    host = spawn_host(url, args=("--allow-models", f"{model_server.url}/"))

    body = host.wait_for("ready")

    assert body["models"] == [{"url": url, "polygons": 18_050, "bytes": 382_405}]


def test_a_too_large_download_fails_clearly(
    spawn_host: SpawnHost, model_server: ModelServer
) -> None:
    url = f"{model_server.url}/samples/torus-knot.glb"
    args = ("--allow-models", f"{model_server.url}/", "--max-model-bytes", "100000")
    host = spawn_host(url, args=args)

    body = host.wait_for("error")

    assert body["message"] == (
        f"Could not download model {url!r}: it is larger than the limit of 100,000 bytes."
    )


def test_the_deadline_moves_and_the_host_exits_when_it_passes(spawn_host: SpawnHost) -> None:
    host = spawn_host("samples/cube.glb")
    host.wait_for("ready")
    later = time.time() + 3600

    refused = host.client.post(
        "/control/deadline", json={"deadline": 1.0}, headers={"Authorization": "Bearer nope"}
    )
    moved = host.client.post(
        "/control/deadline",
        json={"deadline": later},
        headers={"Authorization": f"Bearer {CONTROL_TOKEN}"},
    )

    assert refused.status_code == 401
    assert moved.status_code == 200
    assert host.health().json()["deadline"] == pytest.approx(later)

    soon = time.time() + 1
    host.client.post(
        "/control/deadline",
        json={"deadline": soon},
        headers={"Authorization": f"Bearer {CONTROL_TOKEN}"},
    )
    assert host.wait_exit(timeout=6) == 0
    assert time.time() >= soon
    assert "deadline reached" in host.log()


def test_the_host_exits_by_itself_at_its_first_deadline(spawn_host: SpawnHost) -> None:
    host = spawn_host("samples/cube.glb", deadline_in=1.5)
    deadline = time.time() + 1.5

    assert host.wait_exit(timeout=7) == 0
    assert time.time() >= deadline - 0.1
    assert "deadline reached" in host.log()


def test_sigterm_stops_a_ready_host_quickly(spawn_host: SpawnHost) -> None:
    host = spawn_host("samples/cube.glb")
    host.wait_for("ready")

    host.process.send_signal(signal.SIGTERM)

    # Exits by itself (code 0) well within the control plane's stop timeout (10 s) after
    # which it would be killed; how fast exactly is bench material, not a test's.
    assert host.wait_exit(timeout=5) == 0
    assert "SIGTERM received" in host.log()


def test_sigterm_stops_a_host_stuck_downloading(
    spawn_host: SpawnHost, model_server: ModelServer
) -> None:
    host = spawn_host(
        f"{model_server.url}/stall.glb", args=("--allow-models", f"{model_server.url}/")
    )
    host.wait_for("loading")

    host.process.send_signal(signal.SIGTERM)

    # Exits by itself (code 0) well within the control plane's stop timeout (10 s) after
    # which it would be killed; how fast exactly is bench material, not a test's.
    assert host.wait_exit(timeout=5) == 0


def test_a_bad_command_line_is_a_usage_error(models_dir: Path) -> None:
    command = [sys.executable, "-m", "renderhub", "host", "--session-id", "s", "--size", "Standard"]
    command += ["--models-dir", str(models_dir), "--port", "0"]

    result = subprocess.run(command, capture_output=True, text=True, timeout=30)

    assert result.returncode == 2
    assert "Missing option '--deadline'" in result.stderr
