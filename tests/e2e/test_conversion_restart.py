"""SIGKILL a real `renderhub serve` while a conversion runs: its worker ends with it, and the
restarted service takes the conversion up again to Succeeded; one cut short on every attempt
ends Failed with a message. Never Running forever."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from renderhub.conversions.runner import MAX_ATTEMPTS
from tests.conftest import API
from tests.conversions_service.converters import SLOW_SECONDS_ENV
from tests.e2e.server import ServerProcess, free_port, sign_in

pytestmark = pytest.mark.e2e

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    folder = tmp_path / "storage"
    folder.mkdir()
    return folder


@pytest.fixture
def server(tmp_path: Path, storage: Path) -> Iterator[ServerProcess]:
    environment = {
        "RENDERHUB_CONVERTER": "tests.conversions_service.converters:scripted",
        SLOW_SECONDS_ENV: "4",
        "PYTHONPATH": str(REPOSITORY),
    }
    server = ServerProcess(
        tmp_path / "data", free_port(), "--allow-storage", f"{storage.as_uri()}/", env=environment
    )
    yield server
    server.terminate()


def _body(storage: Path) -> dict:
    return {
        "settings": {
            "inputLocation": {
                "storageContainerUri": f"{storage.as_uri()}/input",
                "storageContainerReadListSas": "sp=rl&sig=secret",
                "relativeInputAssetPath": "slow.glb",
            },
            "outputLocation": {
                "storageContainerUri": f"{storage.as_uri()}/output",
                "storageContainerWriteSas": "sp=w&sig=secret",
            },
        }
    }


def _attempt_pids(storage: Path) -> list[int]:
    """The worker process of each attempt so far (the slow converter marks each)."""
    return [int(path.name.split("-")[1]) for path in (storage / "output").glob("attempt-*")]


def _wait_for_attempts(storage: Path, count: int, within: float = 30.0) -> list[int]:
    give_up = time.monotonic() + within
    while time.monotonic() < give_up:
        pids = _attempt_pids(storage)
        if len(pids) >= count:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"attempt {count} did not start within {within} s")


def _wait_gone(pid: int, within: float = 5.0) -> None:
    give_up = time.monotonic() + within
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        if time.monotonic() > give_up:
            raise AssertionError(f"the worker {pid} outlived its control plane")
        time.sleep(0.05)


def _wait_ended(client: httpx.Client, url: str, within: float = 40.0) -> dict:
    give_up = time.monotonic() + within
    body: dict = {}
    while time.monotonic() < give_up:
        body = client.get(url).json()
        if body.get("status") in ("Succeeded", "Failed", "Cancelled"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"{url} did not end within {within} s; last: {body}")


def _attempts(server: ServerProcess, conversion_id: str) -> int:
    with sqlite3.connect(server.data_dir / "renderhub.db") as db:
        (attempts,) = db.execute(
            "SELECT attempts FROM conversions WHERE id = ?", (conversion_id,)
        ).fetchone()
    return int(attempts)


@pytest.mark.parametrize("stop", ["kill", "terminate"])
def test_a_restart_mid_conversion_runs_it_again_to_succeeded(
    server: ServerProcess, storage: Path, stop: str
) -> None:
    """SIGKILL (a crash: the worker notices and ends itself) or SIGTERM (an orderly stop:
    the service kills the worker and hands the conversion back)."""
    server.start()
    signed_in = sign_in(server)
    url = f"/accounts/{signed_in.account_id}/conversions/house?{API}"
    assert signed_in.client.put(url, json=_body(storage)).status_code == 201
    [first] = _wait_for_attempts(storage, 1)
    assert signed_in.client.get(url).json()["status"] == "Running"

    getattr(server, stop)()
    _wait_gone(first)  # no one could record its outcome: it ends with the service
    server.start()
    ended = _wait_ended(signed_in.client, url)
    assert ended["status"] == "Succeeded", ended
    assert ended["output"]["outputAssetUri"].endswith("/output/slow.arrAsset")
    assert (storage / "output" / "slow.arrAsset").exists()
    assert len(_attempt_pids(storage)) == 2 and _attempts(server, "house") == 2


def test_a_conversion_cut_short_on_every_attempt_ends_failed(
    server: ServerProcess, storage: Path
) -> None:
    server.start()
    signed_in = sign_in(server)
    url = f"/accounts/{signed_in.account_id}/conversions/doomed?{API}"
    assert signed_in.client.put(url, json=_body(storage)).status_code == 201
    for attempt in range(1, MAX_ATTEMPTS + 1):
        pids = _wait_for_attempts(storage, attempt)
        server.kill()
        for pid in pids:
            _wait_gone(pid)
        server.start()
    ended = _wait_ended(signed_in.client, url)
    assert ended["status"] == "Failed", ended
    message = ended["error"]["message"]
    assert f"The service restarted {MAX_ATTEMPTS} times during this conversion" in message
    assert not (storage / "output" / "slow.arrAsset").exists()
