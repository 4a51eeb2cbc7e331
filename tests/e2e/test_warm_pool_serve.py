"""Warm pools with real hosts: `renderhub serve` keeps a host warm, a create takes it (the
same process serves the session), the pool refills, a SIGKILL of the control plane leaks
nothing (the warm host is re-adopted), and a restart without a pool stops it."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import API
from tests.e2e.server import ServerProcess, free_port, sign_in

pytestmark = pytest.mark.e2e


def _pool_pids(data_dir: Path, status: str = "idle") -> list[int]:
    with sqlite3.connect(data_dir / "renderhub.db") as db:
        rows = db.execute(
            "SELECT backend_state FROM pool_hosts WHERE status = ?", (status,)
        ).fetchall()
    return [int(json.loads(state)["pid"]) for (state,) in rows if state]


def _session_pid(data_dir: Path, session_id: str) -> int:
    with sqlite3.connect(data_dir / "renderhub.db") as db:
        (state,) = db.execute(
            "SELECT backend_state FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
    return int(json.loads(state)["pid"])


def _until(check: object, within: float = 30.0) -> object:
    give_up = time.monotonic() + within
    while time.monotonic() < give_up:
        result = check()  # type: ignore[operator]
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    data_dir = tmp_path / "data"
    yield data_dir
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "host" in cmdline and str(data_dir) in " ".join(cmdline):
            process.kill()


def test_a_warm_host_serves_the_next_session_and_nothing_leaks(data_dir: Path) -> None:
    warm = ServerProcess(data_dir, free_port(), env={"RENDERHUB_WARM_STANDARD": "1"})
    warm.start()
    try:
        [pooled] = _until(lambda: _pool_pids(data_dir))  # type: ignore[misc]
        signed_in = sign_in(warm)
        url = f"/accounts/{signed_in.account_id}/sessions/warm?{API}"
        body = {"maxLeaseTimeMinutes": 30, "size": "Standard", "models": ["samples/cube.glb"]}
        assert signed_in.client.put(url, json=body).status_code == 201
        _until(lambda: signed_in.client.get(url).json()["status"] == "Ready")
        assert _session_pid(data_dir, "warm") == pooled  # the warm host took the session
        [refill] = _until(lambda: _pool_pids(data_dir))  # type: ignore[misc]
        assert refill != pooled

        warm.kill()  # SIGKILL: the warm host and the session's host run on
        assert _alive(refill) and _alive(pooled)
        warm.start()
        assert _until(lambda: _pool_pids(data_dir)) == [refill]  # re-adopted, not replaced
        assert signed_in.client.get(url).json()["status"] == "Ready"
    finally:
        warm.terminate()

    cold = ServerProcess(data_dir, free_port(), env={"RENDERHUB_WARM_STANDARD": "0"})
    cold.start()
    try:
        _until(lambda: not _alive(refill))  # the pool is gone: its host is stopped
        assert _pool_pids(data_dir) == []
        assert _alive(pooled)  # the session's host is not the pool's
    finally:
        cold.terminate()
