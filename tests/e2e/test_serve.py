"""`renderhub serve` on its embedded defaults: a first account, printed once, ready to use."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import ServerProcess, free_port, renderhub

pytestmark = pytest.mark.e2e


def _banner_account(log: Path) -> tuple[str, str] | None:
    text = log.read_text()
    account = re.search(r"account id:\s+(\S+)", text)
    key = re.search(r"primary key:\s+(\S+)", text)
    return (account[1], key[1]) if account and key else None


def test_first_start_creates_one_account_and_prints_it(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", free_port())
    log = tmp_path / f"server-{server.port}.log"
    try:
        server.start()
        printed = _banner_account(log)
        assert printed is not None, log.read_text()
        account_id, key = printed
        response = httpx.get(
            f"{server.url}/accounts/{account_id}/token",
            headers={"Authorization": f"Bearer {account_id}:{key}"},
        )
        assert response.status_code == 200
        assert (server.data_dir / "models" / "samples" / "cube.glb").is_file()
        server.terminate()
        log.write_text("")
        server.start()
        assert _banner_account(log) is None, "a second start must not create another account"
    finally:
        server.terminate()
    listed = renderhub("account", "list", "--output", "json", data_dir=server.data_dir)
    assert [row["accountId"] for row in json.loads(listed.stdout)] == [account_id]
