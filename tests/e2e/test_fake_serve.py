"""`renderhub serve` with the fake backend (entry point `fake`), as multi-replica tests run it:
its calls reach the journal with the server's pid, and a kill written by the test reaches
the server's liveness check."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from renderhub.testing import journal_kill, read_journal
from tests.conftest import API
from tests.e2e.server import ServerProcess, free_port, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "journal.jsonl"
    monkeypatch.setenv("RENDERHUB_BACKEND", "fake")
    monkeypatch.setenv("RENDERHUB_FAKE_JOURNAL", str(path))
    return path


@pytest.fixture
def server(tmp_path: Path, journal: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "data", free_port())
    try:
        server.start()
        yield server
    finally:
        server.terminate()


def _status(client: httpx.Client, url: str, status: str, within: float = 15.0) -> dict:
    give_up = time.monotonic() + within
    while (body := client.get(url).json())["status"] != status:
        assert time.monotonic() < give_up, f"never {status}; last: {body}"
        time.sleep(0.05)
    return body


def test_serve_runs_on_the_fake_backend_and_journals_its_calls(
    server: ServerProcess, journal: Path
) -> None:
    signed_in = sign_in(server)
    client = signed_in.client
    url = f"/accounts/{signed_in.account_id}/sessions/faked?{API}"
    assert client.put(url, json={"maxLeaseTimeMinutes": 10, "size": "Standard"}).status_code == 201
    _status(client, url, "Ready")
    journal_kill(journal, "faked", account_id=signed_in.account_id, message="Gone in a test.")
    body = _status(client, url, "Error")
    assert body["error"]["code"] == "HostFailed"
    assert body["error"]["message"] == "Gone in a test."
    assert server.process is not None
    ops = [(e["op"], e["session"], e["pid"]) for e in read_journal(journal) if e["op"] != "kill"]
    pid = server.process.pid
    assert ops[0] == ("start", "faked", pid)
    assert ("deadline", "faked", pid) in ops
    assert ops[-1] == ("stop", "faked", pid)
