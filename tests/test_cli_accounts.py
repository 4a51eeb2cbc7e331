"""`renderhub account ...` on the same store a running control plane uses (local mode:
--data-dir). The same commands against a running server: tests/cli/test_accounts_server.py."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from renderhub.status import SessionStatus
from tests.cli import runner
from tests.conftest import ControlPlane, wait_for


async def cli(call: Any, *args: str) -> Any:
    """A command off the event loop: the in-process control plane keeps serving (and
    finishing its own transactions) while it runs."""
    return await asyncio.to_thread(call, *args)


async def _token_status(plane: ControlPlane, account_id: str, key: str) -> int:
    response = await plane.client.get(
        f"/accounts/{account_id}/token", headers={"Authorization": f"Bearer {account_id}:{key}"}
    )
    return response.status_code


def _local(plane: ControlPlane) -> tuple[str, str]:
    return "--data-dir", str(plane.settings.data_dir)


async def test_create_prints_the_account_and_keys_that_work(plane: ControlPlane) -> None:
    account = await cli(runner.ok_json, "account", "create", "--name", "acme", *_local(plane))
    assert {"accountId", "primaryKey", "secondaryKey", "quotas", "activeSessions"} <= set(account)
    assert account["name"] == "acme" and account["disabled"] is False
    assert await _token_status(plane, account["accountId"], account["primaryKey"]) == 200
    assert await _token_status(plane, account["accountId"], account["secondaryKey"]) == 200
    listed = await cli(runner.ok_json, "account", "list", *_local(plane))
    assert account["accountId"] in {row["accountId"] for row in listed}
    table = await cli(runner.ok, "account", "list", *_local(plane))
    assert "acme" in table.stdout
    assert account["accountId"] in table.stdout, "a table in a pipe never folds an id"


async def test_rotating_one_key_keeps_the_other(plane: ControlPlane) -> None:
    account = await cli(runner.ok_json, "account", "create", *_local(plane))
    rotated = await cli(
        runner.ok_json, "account", "rotate-key", account["accountId"], "--key", "secondary",
        *_local(plane),
    )  # fmt: skip
    new_key = rotated["secondaryKey"]
    assert rotated["accountId"] == account["accountId"]
    assert await _token_status(plane, account["accountId"], account["secondaryKey"]) == 401
    assert await _token_status(plane, account["accountId"], new_key) == 200
    assert await _token_status(plane, account["accountId"], account["primaryKey"]) == 200


async def test_delete_is_refused_while_sessions_are_active(plane: ControlPlane) -> None:
    assert (await plane.create("busy")).status_code == 201
    refused = await cli(runner.fails, 5, "account", "delete", plane.account.id, "--yes",
                        *_local(plane))  # fmt: skip
    assert "The account still has 1 active session; stop them first." in refused
    assert await plane.row("busy") is not None
    await plane.client.post(
        f"/accounts/{plane.account.id}/sessions/busy/:stop?api-version=2021-01-01",
        headers=plane.auth,
    )

    async def stopped() -> bool:
        return (await plane.row("busy")).status.value == "Stopped"

    await wait_for(stopped, within=15)
    deleted = await cli(runner.ok, "account", "delete", plane.account.id, "--yes", *_local(plane))
    assert f"Deleted account {plane.account.id}." in deleted.stdout
    assert await plane.row("busy") is None
    assert await _token_status(plane, plane.account.id, plane.account.primary_key) == 401


async def test_delete_asks_first(plane: ControlPlane) -> None:
    declined = await asyncio.to_thread(
        runner.run, "account", "delete", plane.account.id, *_local(plane), stdin="n\n"
    )
    assert declined.exit_code == 1  # click's Abort
    assert await _token_status(plane, plane.account.id, plane.account.primary_key) == 200


async def test_disable_stops_active_sessions_and_enable_takes_it_back(
    plane: ControlPlane,
) -> None:
    assert (await plane.create("running")).status_code == 201
    await plane.wait_status("running", "Ready")
    disabled = await cli(runner.ok_json, "account", "disable", plane.account.id, *_local(plane))
    assert disabled["disabled"] is True and disabled["disabledAt"].endswith("Z")
    assert disabled["stoppedSessions"] == 1
    row = await plane.row("running")
    assert row.status is SessionStatus.STOPPING and row.claimed_by is None
    assert await _token_status(plane, plane.account.id, plane.account.primary_key) == 403
    await plane.scheduler.take_over()  # the server takes the released session and stops it

    async def stopped() -> bool:
        return (await plane.row("running")).status is SessionStatus.STOPPED

    await wait_for(stopped, within=15)
    again = await cli(runner.ok_json, "account", "disable", plane.account.id, *_local(plane))
    assert again["disabledAt"] == disabled["disabledAt"] and again["stoppedSessions"] == 0
    text = await cli(runner.ok, "account", "show", plane.account.id, *_local(plane))
    assert f"since {disabled['disabledAt']}" in text.stdout

    enabled = await cli(runner.ok_json, "account", "enable", plane.account.id, *_local(plane))
    assert enabled["disabled"] is False and enabled["disabledAt"] is None
    assert await _token_status(plane, plane.account.id, plane.account.primary_key) == 200


async def test_rename(plane: ControlPlane) -> None:
    renamed = await cli(
        runner.ok_json, "account", "rename", plane.account.id, "globex", *_local(plane)
    )
    assert renamed["name"] == "globex"
    cleared = await cli(runner.ok_json, "account", "rename", plane.account.id, "", *_local(plane))
    assert cleared["name"] is None
    blank = await cli(runner.fails, 1, "account", "rename", plane.account.id, "  ", *_local(plane))
    assert "'name' must be 1 to 200 characters (or null)." in blank  # as the admin API says
    assert (await cli(runner.ok_json, "account", "show", plane.account.id, *_local(plane)))[
        "name"
    ] is None


async def test_quotas_set_some_keep_the_rest(plane: ControlPlane) -> None:
    account_id = plane.account.id
    quotas = await cli(runner.ok_json, "account", "quota", "show", account_id, *_local(plane))
    assert quotas == {"maxStandardSessions": None, "maxPremiumSessions": None,
                      "maxLeaseMinutes": None, "maxConversions": None}  # fmt: skip
    first = await cli(
        runner.ok_json, "account", "quota", "set", account_id, "--max-standard-sessions", "2",
        "--max-lease-minutes", "240", *_local(plane),
    )  # fmt: skip
    assert first["maxStandardSessions"] == 2 and first["maxLeaseMinutes"] == 240
    second = await cli(
        runner.ok_json, "account", "quota", "set", account_id, "--max-lease-minutes", "none",
        "--max-premium-sessions", "0", *_local(plane),
    )  # fmt: skip
    assert second == {"maxStandardSessions": 2, "maxPremiumSessions": 0,
                      "maxLeaseMinutes": None, "maxConversions": None}  # fmt: skip
    shown = await cli(runner.ok, "account", "quota", "show", account_id, *_local(plane))
    assert "no limit" in shown.stdout
    account = await cli(runner.ok_json, "account", "show", account_id, *_local(plane))
    assert account["quotas"] == second


async def test_bad_quotas_are_usage_errors_and_change_nothing(plane: ControlPlane) -> None:
    account_id = plane.account.id
    await cli(runner.ok, "account", "quota", "set", account_id, "--max-conversions", "3",
              *_local(plane))  # fmt: skip
    for flag, value in (
        ("--max-standard-sessions", "-1"),
        ("--max-premium-sessions", "1.5"),
        ("--max-lease-minutes", "0"),
        ("--max-lease-minutes", "525601"),
        ("--max-conversions", "lots"),
    ):
        message = await cli(runner.fails, 2, "account", "quota", "set", account_id,
                            "--max-conversions", "7", flag, value, *_local(plane))  # fmt: skip
        assert flag in message and repr(value) in message
    none_given = await cli(runner.fails, 2, "account", "quota", "set", account_id, *_local(plane))
    assert "at least one quota" in none_given
    quotas = await cli(runner.ok_json, "account", "quota", "show", account_id, *_local(plane))
    assert quotas["maxConversions"] == 3 and quotas["maxStandardSessions"] is None


async def test_an_unknown_account_is_exit_3_everywhere(plane: ControlPlane) -> None:
    for command in (("show",), ("disable",), ("enable",), ("rename", "n"),
                    ("rotate-key", "--key", "primary"), ("delete", "--yes"),
                    ("quota", "show"), ("quota", "set", "--max-conversions", "1")):  # fmt: skip
        head, *rest = command
        words = [head, "no-such-account", *rest] if head != "quota" else [
            head, rest[0], "no-such-account", *rest[1:]
        ]  # fmt: skip
        message = await cli(runner.fails, 3, "account", *words, *_local(plane))
        assert message.strip().endswith("No account with id 'no-such-account' exists.")


def test_errors_are_one_sentence_not_a_traceback(tmp_path: Path) -> None:
    """In a real process: the exit codes a script sees."""
    environment = {**os.environ, "RENDERHUB_DATA_DIR": str(tmp_path),
                   "RENDERHUB_CONFIG": str(tmp_path / "absent.json")}  # fmt: skip
    environment.pop("RENDERHUB_ADMIN_TOKEN", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "renderhub", *args], capture_output=True,
                              text=True, timeout=60, env=environment, check=False)  # fmt: skip

    result = run("account", "show", "no-such-account")
    assert result.returncode == 3
    assert result.stderr.strip() == "Error: No account with id 'no-such-account' exists."
    bad_flag = run("account", "rotate-key", "x", "--key", "tertiary")
    assert bad_flag.returncode == 2
    assert "Traceback" not in bad_flag.stderr
