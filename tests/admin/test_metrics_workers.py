"""`renderhub serve --workers 2`: each worker counts what it answers, and a scrape, whichever
worker answers it, adds up both (prometheus_client's multiprocess mode, in a directory under
the data dir that a start empties)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.admin.metrics_helpers import parse, value
from tests.e2e.server import ServerProcess, free_port

pytestmark = pytest.mark.e2e

HEALTHZ = {"route": "/healthz", "method": "GET", "status": "200"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    environment = {"RENDERHUB_BACKEND": "fake", "RENDERHUB_METRICS_PUBLIC": "true"}
    server = ServerProcess(tmp_path / "data", free_port(), "--workers", "2", env=environment)
    try:
        server.start()
        yield server
    finally:
        server.terminate()


def _counting_pids(directory: Path) -> set[str]:
    """The processes that counted something (prometheus_client names its files by pid)."""
    return {path.stem.rsplit("_", 1)[-1] for path in directory.glob("*.db")}


def test_a_scrape_adds_up_every_worker(server: ServerProcess) -> None:
    directory = server.data_dir / "metrics" / str(server.port)
    started = parse(httpx.get(f"{server.url}/metrics").text)  # the start's own checks
    sent = int(value(started, "renderhub_api_requests_total", **HEALTHZ))
    give_up = time.monotonic() + 30
    while sent < 30 or len(_counting_pids(directory)) < 2:  # until both workers answered some
        assert httpx.get(f"{server.url}/healthz").status_code == 200  # a new connection each
        sent += 1
        assert time.monotonic() < give_up, f"one worker answered all {sent} requests"
    for _ in range(6):  # whichever worker answers the scrape
        response = httpx.get(f"{server.url}/metrics")
        assert response.status_code == 200
        samples = parse(response.text)
        assert value(samples, "renderhub_api_requests_total", **HEALTHZ) == sent
        assert value(samples, "renderhub_sessions", status="Ready", size="Standard") == 0

    before_restart = _counting_pids(directory)
    server.terminate()
    server.start()  # a restart counts from zero again (but for the start's own checks)
    fresh = parse(httpx.get(f"{server.url}/metrics").text)
    assert value(fresh, "renderhub_api_requests_total", **HEALTHZ) < sent
    assert not _counting_pids(directory) & before_restart
