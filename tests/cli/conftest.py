"""One running `renderhub serve` (fake backend) for the tests of this package that ask for
it, and the environment that points the commands at it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.server import ServerProcess, free_port


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("cli-server") / "data"
    server = ServerProcess(data_dir, free_port(), env={"RENDERHUB_BACKEND": "fake"})
    try:
        server.start()
        yield server
    finally:
        server.terminate()


@pytest.fixture(scope="package")
def admin_token(server: ServerProcess) -> str:
    """The token the server wrote at its first start."""
    return (server.data_dir / "admin-token").read_text().strip()


@pytest.fixture(scope="package")
def remote(server: ServerProcess, admin_token: str) -> dict[str, str | None]:
    """The environment that sends the commands to the server (RENDERHUB_* variables)."""
    return {"RENDERHUB_ENDPOINT": server.url, "RENDERHUB_ADMIN_TOKEN": admin_token}


def sts(server: ServerProcess, account_id: str, key: str) -> httpx.Response:
    """The server's STS answer for an account key."""
    return httpx.get(
        f"{server.url}/accounts/{account_id}/token",
        headers={"Authorization": f"Bearer {account_id}:{key}"},
    )
