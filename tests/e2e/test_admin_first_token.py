"""`renderhub serve` on a store without an admin token makes one, writes it to
`<data dir>/admin-token` (0600) and names the file in its banner, never the token itself."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import ServerProcess, free_port

pytestmark = pytest.mark.e2e


def _admin_status(server: ServerProcess, token: str) -> int:
    response = httpx.get(
        f"{server.url}/admin/accounts", headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


def _labels(data_dir: Path) -> list[str]:
    """The labels of every admin token in the server's store."""
    with sqlite3.connect(data_dir / "renderhub.db") as connection:
        return [row[0] for row in connection.execute("SELECT label FROM admin_tokens")]


def test_first_start_writes_an_admin_token_and_a_second_start_keeps_it(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", free_port(), env={"RENDERHUB_BACKEND": "fake"})
    log = tmp_path / f"server-{server.port}.log"
    token_file = server.data_dir / "admin-token"
    try:
        server.start()
        assert token_file.is_file()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert token.startswith("rhadm_") and len(token) == len("rhadm_") + 43
        banner = log.read_text()
        assert str(token_file) in banner
        assert token not in banner
        assert _admin_status(server, token) == 200
        assert _admin_status(server, token[:-1] + ("A" if token[-1] != "A" else "B")) == 401

        server.terminate()
        log.write_text("")
        server.start()
        assert token_file.read_text().strip() == token
        assert "admin-token" not in log.read_text()
        assert _admin_status(server, token) == 200
        assert list(server.data_dir.glob(".admin-token*")) == []
        assert _labels(server.data_dir) == ["first start"]
    finally:
        server.terminate()
