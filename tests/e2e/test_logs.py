"""`renderhub serve --log-format json` with a real host (the local backend): every log line
is one JSON object; a request's lines carry its MS-CV, account and session, and so do the lines
of the work it starts; the host logs JSON too; health checks of the host, /healthz and metrics
scrapes add no lines."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from renderhub.store.admin_tokens import AdminTokenStore
from renderhub.store.database import migrate, open_engine
from tests.e2e.server import free_port, sign_in

pytestmark = pytest.mark.e2e

HEALTH_INTERVAL_SECONDS = 0.25
API = "api-version=2021-01-01"
VECTOR = "AbCdEfGhIjKlMnOpQrStUv.7"  # a client's MS-CV; the service extends it


@dataclass
class JsonServer:
    """`renderhub serve --log-format json`: its log lines (stderr) apart from its banner."""

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    stderr_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lines(self) -> list[str]:
        return self.stderr_path.read_text().splitlines()

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]


def admin_token(data_dir: Path) -> str:
    async def make() -> str:
        engine = open_engine(f"sqlite+aiosqlite:///{data_dir / 'renderhub.db'}")
        try:
            await migrate(engine)
            return (await AdminTokenStore(engine).create(time.time(), "logs test")).token
        finally:
            await engine.dispose()

    data_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(make())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[JsonServer]:
    data_dir, port = tmp_path / "data", free_port()
    stderr_path = tmp_path / "stderr.log"
    environment = {
        **os.environ,
        "RENDERHUB_BACKEND": "local",
        "RENDERHUB_HEALTH_INTERVAL_SECONDS": str(HEALTH_INTERVAL_SECONDS),
    }
    command = [sys.executable, "-m", "renderhub", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--log-format", "json"]
    with (tmp_path / "stdout.log").open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=environment)
    running = JsonServer(data_dir, port, process, stderr_path)
    try:
        _wait_healthy(running)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_healthy(server: JsonServer) -> None:
    give_up = time.monotonic() + 30
    while time.monotonic() < give_up:
        assert server.process.poll() is None, server.stderr_path.read_text()
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError("renderhub serve did not answer in time")


def _wait_ready(client: httpx.Client, url: str) -> int:
    """Poll the session until it is Ready; return how many GETs that took."""
    give_up = time.monotonic() + 60
    polls = 0
    while True:
        body: dict[str, Any] = client.get(url).json()
        polls += 1
        if body["status"] == "Ready":
            return polls
        assert body["status"] == "Starting", body
        assert time.monotonic() < give_up, body
        time.sleep(0.2)


def _wait_logged(server: JsonServer, start: str, count: int) -> None:
    """Wait until `count` lines start with `start` (a request's line is written just after
    its answer is sent)."""
    give_up = time.monotonic() + 10
    while True:
        logged = [e for e in server.entries() if e["message"].startswith(start)]
        if len(logged) >= count:
            return
        assert time.monotonic() < give_up, f"{len(logged)} of {count} lines {start!r}"
        time.sleep(0.05)


def test_json_lines_name_the_request_and_health_checks_add_none(
    server: JsonServer, tmp_path: Path
) -> None:
    token = admin_token(server.data_dir)
    signed_in = sign_in(server)  # type: ignore[arg-type]  # it reads .url and .data_dir
    client, account_id = signed_in.client, signed_in.account_id
    url = f"/accounts/{account_id}/sessions/logged?{API}"
    body = {"maxLeaseTimeMinutes": 10, "size": "Standard", "models": ["samples/cube.glb"]}
    created = client.put(url, json=body, headers={"MS-CV": VECTOR})
    assert created.status_code == 201, created.text
    assert created.headers["ms-cv"] == VECTOR + ".0"
    polls = _wait_ready(client, url)
    _wait_logged(server, f"GET /accounts/{account_id}/sessions/logged ", polls)

    # The host is checked every 0.25 s: a dozen checks, health checks of the control plane,
    # and scrapes of the host's metrics through the admin API add no line.
    before = server.lines()
    admin = {"Authorization": f"Bearer {token}"}
    for _ in range(5):
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        proxied = httpx.get(
            f"{server.url}/admin/sessions/{account_id}/logged/metrics", headers=admin
        )
        assert proxied.status_code == 200, proxied.text
        assert httpx.get(f"{server.url}/metrics", headers=admin).status_code == 200
    time.sleep(12 * HEALTH_INTERVAL_SECONDS)  # a wait for nothing to happen
    assert server.lines() == before

    stopped = client.post(f"/accounts/{account_id}/sessions/logged/:stop?{API}")
    assert stopped.status_code == 204

    entries = server.entries()  # every line is one JSON object
    for entry in entries:
        assert set(entry) >= {"time", "level", "logger", "message", "cv", "account", "session"}
        assert entry["time"].endswith("Z")
    create_line = next(e for e in entries if e["message"].startswith("PUT /accounts/"))
    assert create_line["cv"] == VECTOR + ".0"
    assert create_line["account"] == account_id and create_line["session"] == "logged"
    assert create_line["logger"] == "renderhub.access" and create_line["level"] == "INFO"
    # The work the create started (bringing the host up) logs with the create's labels.
    ready_line = next(e for e in entries if e["message"].startswith("session logged ready"))
    assert ready_line["cv"] == VECTOR + ".0"
    assert ready_line["account"] == account_id and ready_line["session"] == "logged"
    token_line = next(e for e in entries if e["message"].startswith("GET /Accounts/"))
    assert token_line["account"] == account_id and token_line["session"] is None
    assert not any("/healthz" in e["message"] or "/metrics" in e["message"] for e in entries)
    assert not any("/health" in e["message"] for e in entries), "no line per host check"

    host_logs = list((server.data_dir / "hosts").rglob("*.log"))
    assert len(host_logs) == 1, host_logs
    host_lines = [json.loads(line) for line in host_logs[0].read_text().splitlines()]
    assert host_lines
    assert {(e["account"], e["session"]) for e in host_lines} == {(account_id, "logged")}
