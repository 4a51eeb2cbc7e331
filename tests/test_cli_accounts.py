"""`renderhub account ...` against the same store a running control plane uses."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ControlPlane, wait_for


def run_cli(
    *args: str, data_dir: Path | None = None, stdin: str = ""
) -> subprocess.CompletedProcess:
    environment = dict(os.environ)
    if data_dir is not None:
        environment["RENDERHUB_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "renderhub", *args],
        capture_output=True, text=True, timeout=60, env=environment, input=stdin, check=False,
    )  # fmt: skip


async def cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    """run_cli off the event loop: the in-process control plane keeps serving (and finishing
    its own transactions) while the command runs."""
    return await asyncio.to_thread(run_cli, *args, **kwargs)


async def _token_status(plane: ControlPlane, account_id: str, key: str) -> int:
    response = await plane.client.get(
        f"/accounts/{account_id}/token", headers={"Authorization": f"Bearer {account_id}:{key}"}
    )
    return response.status_code


async def test_create_prints_json_keys_that_work(plane: ControlPlane) -> None:
    result = await cli("account", "create", "--output", "json", data_dir=plane.settings.data_dir)
    assert result.returncode == 0, result.stderr
    account = json.loads(result.stdout)
    assert set(account) == {"accountId", "primaryKey", "secondaryKey"}
    assert await _token_status(plane, account["accountId"], account["primaryKey"]) == 200
    assert await _token_status(plane, account["accountId"], account["secondaryKey"]) == 200
    listed = await cli("account", "list", "--output", "json", data_dir=plane.settings.data_dir)
    assert account["accountId"] in {row["accountId"] for row in json.loads(listed.stdout)}


async def test_rotating_one_key_keeps_the_other(plane: ControlPlane) -> None:
    data_dir = plane.settings.data_dir
    created = await cli("account", "create", "--output", "json", data_dir=data_dir)
    account = json.loads(created.stdout)
    rotated = await cli(
        "account", "rotate-key", account["accountId"], "--key", "secondary", "--output", "json",
        "--data-dir", str(data_dir),
    )  # fmt: skip
    assert rotated.returncode == 0, rotated.stderr
    new_key = json.loads(rotated.stdout)["secondaryKey"]
    assert await _token_status(plane, account["accountId"], account["secondaryKey"]) == 401
    assert await _token_status(plane, account["accountId"], new_key) == 200
    assert await _token_status(plane, account["accountId"], account["primaryKey"]) == 200


async def test_delete_is_refused_while_sessions_are_active(plane: ControlPlane) -> None:
    data_dir = plane.settings.data_dir
    assert (await plane.create("busy")).status_code == 201
    refused = await cli("account", "delete", plane.account.id, "--yes", data_dir=data_dir)
    assert refused.returncode != 0
    assert "active sessions" in refused.stderr
    assert await plane.row("busy") is not None
    await plane.client.post(
        f"/accounts/{plane.account.id}/sessions/busy/:stop?api-version=2021-01-01",
        headers=plane.auth,
    )

    async def stopped() -> bool:
        return (await plane.row("busy")).status.value == "Stopped"

    await wait_for(stopped, within=15)
    deleted = await cli("account", "delete", plane.account.id, "--yes", data_dir=data_dir)
    assert deleted.returncode == 0, deleted.stderr
    assert await plane.row("busy") is None
    assert await _token_status(plane, plane.account.id, plane.account.primary_key) == 401


def test_errors_are_one_sentence_not_a_traceback(tmp_path: Path) -> None:
    result = run_cli("account", "show", "no-such-account", data_dir=tmp_path)
    assert result.returncode == 1
    assert "No account with id 'no-such-account'" in result.stderr
    assert "Traceback" not in result.stderr
    bad_flag = run_cli("account", "rotate-key", "x", "--key", "tertiary", data_dir=tmp_path)
    assert bad_flag.returncode == 2
    assert "Traceback" not in bad_flag.stderr
