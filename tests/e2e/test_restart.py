"""Kill the control plane at any moment: nothing is lost, and living hosts are re-adopted."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import psutil
import pytest

from renderhub.backends.local import LocalBackend
from renderhub.clock import ManualClock
from tests.conftest import API, make_settings, running_control_plane, stop_all_hosts, wait_for
from tests.e2e.server import ServerProcess, free_port, sign_in
from tests.hosts import host_pids

pytestmark = pytest.mark.e2e


def _host_pid(data_dir: Path, session_id: str) -> int:
    with sqlite3.connect(data_dir / "renderhub.db") as db:
        (state,) = db.execute(
            "SELECT backend_state FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
    return int(json.loads(state)["pid"])


def _poll(client: httpx.Client, url: str, status: str, within: float = 20.0) -> dict:
    give_up = time.monotonic() + within
    body: dict = {}
    while time.monotonic() < give_up:
        body = client.get(url).json()
        if body.get("status") == status:
            return body
        time.sleep(0.05)
    raise AssertionError(f"{url} never reached {status}; last: {body}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, free_port())
    yield server
    server.terminate()
    for session_id in ("alive", "starting"):
        for pid in host_pids(session_id):
            psutil.Process(pid).kill()


def test_sigkill_mid_session_loses_nothing(server: ServerProcess) -> None:
    server.start()
    signed_in = sign_in(server)
    account_id, client = signed_in.account_id, signed_in.client
    alive_url = f"/accounts/{account_id}/sessions/alive?{API}"
    body = {"maxLeaseTimeMinutes": 30, "size": "Standard", "models": ["samples/cube.glb"]}
    assert client.put(alive_url, json=body).status_code == 201
    before = _poll(client, alive_url, "Ready")
    pid = _host_pid(server.data_dir, "alive")

    starting_url = f"/accounts/{account_id}/sessions/starting?{API}"
    assert client.put(starting_url, json=body).status_code == 201
    server.kill()
    assert psutil.pid_exists(pid), "a host must outlive its control plane"

    server.start()
    after = client.get(alive_url).json()  # the token from before the crash still works
    assert after["status"] == "Ready"
    assert after["handshakePort"] == before["handshakePort"]
    assert _host_pid(server.data_dir, "alive") == pid, "re-adopted, not restarted"
    health = httpx.get(f"http://127.0.0.1:{after['handshakePort']}/health")
    assert health.status_code == 200
    _poll(client, starting_url, "Ready")

    stop = client.delete(f"/v1/accounts/{account_id}/sessions/alive/")
    assert stop.status_code == 204
    properties_url = f"/v1/accounts/{account_id}/sessions/alive/properties"
    give_up = time.monotonic() + 15
    while client.get(properties_url).json()["sessionStatus"] != "Stopped":
        assert time.monotonic() < give_up, "stop did not finish"
        time.sleep(0.05)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_lease_that_ran_out_while_down_expires_on_restart(tmp_path: Path) -> None:
    clock = ManualClock()
    settings = make_settings(tmp_path / "data")
    async with running_control_plane(settings, clock, backend=LocalBackend(settings)) as first:
        await first.create("overdue", maxLeaseTimeMinutes=1, models=["samples/cube.glb"])
        await first.create("dies", maxLeaseTimeMinutes=60, models=["samples/cube.glb"])
        await first.wait_status("overdue", "Ready")
        await first.wait_status("dies", "Ready")
        account_id = first.account.id
    # The control plane is down: its hosts run on; one of them dies meanwhile.
    [overdue_pid] = host_pids("overdue")
    [dying_pid] = host_pids("dies")
    psutil.Process(dying_pid).kill()

    async def killed() -> bool:
        try:
            return psutil.Process(dying_pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    await wait_for(killed, within=10)
    clock.advance(timedelta(minutes=2))

    async with running_control_plane(settings, clock, backend=LocalBackend(settings)) as second:
        try:
            expired = await second.row("overdue", account_id)
            assert expired.status.value == "Expired"
            assert expired.ended_at == expired.ready_at + 60
            died = await second.row("dies", account_id)
            assert died.status.value == "Error"
            assert "stopped unexpectedly" in died.message

            async def overdue_host_gone() -> bool:
                try:
                    return psutil.Process(overdue_pid).status() == psutil.STATUS_ZOMBIE
                except psutil.NoSuchProcess:
                    return True

            await wait_for(overdue_host_gone, within=15)
        finally:
            await stop_all_hosts(second)
