"""HTTPS with the development certificate, as Azure's SDK needs it."""

from __future__ import annotations

import re
import signal
import ssl
import time
from pathlib import Path

import httpx
import pytest

from renderhub.cli.serve import GRACEFUL_SHUTDOWN_SECONDS
from tests.e2e.server import ServerProcess, free_port

pytestmark = pytest.mark.e2e


def test_self_signed_https_serves_the_token_route(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", free_port(), "--tls-self-signed")
    try:
        server.url = server.url.replace("http://", "https://")
        certificate = server.data_dir / "tls" / "dev-cert.pem"
        server.start(verify=False)
        log = (tmp_path / f"server-{server.port}.log").read_text()
        account_id = re.search(r"account id:\s+(\S+)", log)[1]  # type: ignore[index]
        key = re.search(r"primary key:\s+(\S+)", log)[1]  # type: ignore[index]
        assert str(certificate) in log
        for host in ("localhost", "127.0.0.1"):
            url = server.url.replace("127.0.0.1", host)
            response = httpx.get(
                f"{url}/accounts/{account_id}/token",
                headers={"Authorization": f"Bearer {account_id}:{key}"},
                verify=ssl.create_default_context(cafile=str(certificate)),
            )
            assert response.status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.url}/healthz", verify=True)  # not trusted by default
    finally:
        server.terminate()


def test_an_idle_https_client_does_not_hold_the_service_at_sigterm(tmp_path: Path) -> None:
    """A client that keeps its connection open and never answers the TLS close (as Azure's
    SDK clients do until closed) must not keep `renderhub serve` running after SIGTERM."""
    server = ServerProcess(tmp_path / "data", free_port(), "--tls-self-signed")
    server.url = server.url.replace("http://", "https://")
    with httpx.Client(verify=False) as idle:
        try:
            server.start(verify=False)
            assert idle.get(f"{server.url}/healthz").status_code == 200  # kept alive
            assert server.process is not None
            asked = time.monotonic()
            server.process.terminate()
            code = server.process.wait(timeout=GRACEFUL_SHUTDOWN_SECONDS + 5)
            assert time.monotonic() - asked < GRACEFUL_SHUTDOWN_SECONDS + 2
            # uvicorn re-raises the SIGTERM it caught once its shutdown is done
            assert code == -signal.SIGTERM, "it stopped by itself, not killed"
        finally:
            server.terminate()
