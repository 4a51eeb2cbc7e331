"""A real `renderhub serve` process for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def renderhub(
    *args: str, data_dir: Path, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a `renderhub` command to completion."""
    return subprocess.run(
        [sys.executable, "-m", "renderhub", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(environment or {})},
    )


class ServerProcess:
    def __init__(
        self, data_dir: Path, port: int, *extra: str, env: dict[str, str] | None = None
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.extra = extra
        self.env = env or {}
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, within: float = 30.0, verify: bool = True) -> None:
        log = open(self.data_dir.parent / f"server-{self.port}.log", "ab")  # noqa: SIM115
        environment = {**os.environ, "RENDERHUB_HEALTH_INTERVAL_SECONDS": "0.5", **self.env}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "renderhub", "serve", "--port", str(self.port),
             "--data-dir", str(self.data_dir), *self.extra],
            stdout=log, stderr=subprocess.STDOUT, env=environment,
        )  # fmt: skip
        give_up = time.monotonic() + within
        while time.monotonic() < give_up:
            if self.process.poll() is not None:
                raise AssertionError(f"renderhub serve exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1, verify=verify).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError("renderhub serve did not answer in time")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def create_account(data_dir: Path) -> dict[str, str]:
    result = renderhub("account", "create", "--output", "json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    account: dict[str, str] = json.loads(result.stdout)
    return account


@dataclass(frozen=True)
class SignedIn:
    account_id: str
    token: str
    client: httpx.Client  # sends the token with every request


def sign_in(server: ServerProcess) -> SignedIn:
    """A new account on the server's store, an access token from its STS, and a client."""
    account = create_account(server.data_dir)
    account_id = account["accountId"]
    token = httpx.get(
        f"{server.url}/Accounts/{account_id}/token",
        headers={"Authorization": f"Bearer {account_id}:{account['primaryKey']}"},
    ).json()["AccessToken"]
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
    return SignedIn(account_id, token, client)
