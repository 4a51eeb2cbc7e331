"""Azure's own Python SDK (azure-mixedreality-remoterendering) against RenderHub, unchanged:
start, get, update, list and stop, over HTTPS with the development certificate."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import ServerProcess, free_port

azure = pytest.importorskip("azure.mixedreality.remoterendering")
from azure.core.credentials import AzureKeyCredential  # noqa: E402

pytestmark = pytest.mark.e2e


@pytest.fixture
def https_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, str]]:
    server = ServerProcess(tmp_path / "data", free_port(), "--tls-self-signed")
    server.url = server.url.replace("http://", "https://").replace("127.0.0.1", "localhost")
    try:
        server.start(verify=False)
        banner = (tmp_path / f"server-{server.port}.log").read_text()
        account_id = re.search(r"account id:\s+(\S+)", banner)[1]  # type: ignore[index]
        key = re.search(r"primary key:\s+(\S+)", banner)[1]  # type: ignore[index]
        # What the README tells an SDK user to do with the development certificate.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.data_dir / "tls" / "dev-cert.pem"))
        yield server.url, account_id, key
    finally:
        server.terminate()


def test_the_azure_sdk_runs_a_session(https_server: tuple[str, str, str]) -> None:
    url, account_id, key = https_server
    client = azure.RemoteRenderingClient(
        endpoint=url,
        account_id=account_id,
        account_domain="renderhub.local",
        credential=AzureKeyCredential(key),
        authentication_endpoint_url=url,
        polling_interval=0.2,
    )
    poller = client.begin_rendering_session(
        session_id="sdk-session", size=azure.RenderingSessionSize.STANDARD, lease_time_minutes=20
    )
    session = poller.result(timeout=60)
    assert session.status == azure.RenderingSessionStatus.READY
    assert session.hostname and 49152 <= session.handshake_port <= 65534
    assert session.teraflops and session.teraflops > 0

    fetched = client.get_rendering_session(session_id="sdk-session")
    assert fetched.lease_time_minutes == 20
    updated = client.update_rendering_session(session_id="sdk-session", lease_time_minutes=30)
    assert updated.lease_time_minutes == 30
    assert [s.id for s in client.list_rendering_sessions()] == ["sdk-session"]
    client.stop_rendering_session(session_id="sdk-session")
    assert client.get_rendering_session(session_id="sdk-session").status == (
        azure.RenderingSessionStatus.STOPPED
    )
