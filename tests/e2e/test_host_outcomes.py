"""What real hosts report reaches a client through a real `renderhub serve`: a model that does
not load, models over the polygon limit, a host killed under a Ready session, a stopped
session's host gone. The in-process tier checks the control plane's handling of each with
the fake backend; this checks the real host's words and processes get there."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psutil
import pytest

from renderhub.client import RenderHubClient, SessionFailed
from renderhub.status import SessionStatus
from tests.e2e.server import ServerProcess, create_account, free_port
from tests.hosts import host_pids

pytestmark = pytest.mark.e2e

MODELS = {"huge": "samples/cube.glb", "broken": "broken.glb", "doomed": "samples/cube.glb"}


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerProcess]:
    monkeypatch.setenv("RENDERHUB_STANDARD_POLYGON_LIMIT", "10")  # the cube has 12
    server = ServerProcess(tmp_path / "data", free_port())
    try:
        server.start()
        yield server
    finally:
        server.terminate()
        for session_id in MODELS:
            for pid in host_pids(session_id):
                psutil.Process(pid).kill()


def _wait_gone(session_id: str, within: float = 15.0) -> None:
    give_up = time.monotonic() + within
    while host_pids(session_id):
        assert time.monotonic() < give_up, f"the host of {session_id} outlived its session"
        time.sleep(0.05)


def test_real_hosts_outcomes_reach_the_client(server: ServerProcess) -> None:
    account = create_account(server.data_dir)
    (server.data_dir / "models" / "broken.glb").write_bytes(b"this is not a glb file")
    keys = (server.url, account["accountId"], account["primaryKey"])
    with RenderHubClient(*keys) as client, RenderHubClient(*keys, api_version="v1") as v1:
        for session_id, model in MODELS.items():
            client.create_session(session_id, lease=timedelta(minutes=10), models=[model])

        with pytest.raises(SessionFailed, match=r"is Error: Could not load model 'broken\.glb'"):
            client.wait_until_ready("broken", timeout=60, interval=0.1)
        assert client.get_session("broken").error_code == "ModelLoadFailed"
        _wait_gone("broken")

        client.wait_until_ready("huge", timeout=60, interval=0.1)
        message = v1.get_session("huge").message or ""
        assert "12 polygons, more than the Standard size's limit of 10" in message
        assert "checkerboard" in message
        client.stop_session("huge")
        _wait_gone("huge")

        client.wait_until_ready("doomed", timeout=60, interval=0.1)
        [pid] = host_pids("doomed")
        psutil.Process(pid).kill()
        give_up = time.monotonic() + 15
        while (doomed := client.get_session("doomed")).status is SessionStatus.READY:
            assert time.monotonic() < give_up, "the host's death was not noticed"
            time.sleep(0.1)
        assert doomed.status is SessionStatus.ERROR and doomed.error_code == "HostFailed"
        assert "stopped unexpectedly (killed by signal 9)" in (doomed.message or "")
