"""`renderhub account ...` against a running `renderhub serve` (fake backend) through its admin
API, with the admin token it wrote to `<data dir>/admin-token` at its first start: every
command, the same output as on the local store, and refusals (exit codes, nothing changed)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli import runner
from tests.cli.conftest import sts as _sts
from tests.conftest import API
from tests.e2e.server import ServerProcess, free_port

pytestmark = pytest.mark.e2e


def _account(remote: dict[str, str | None], *flags: str) -> dict[str, Any]:
    created: dict[str, Any] = runner.ok_json("account", "create", *flags, env=remote)
    return created


def test_every_account_command_through_the_server(
    server: ServerProcess, remote: dict[str, str | None]
) -> None:
    created = _account(remote, "--name", "acme", "--max-standard-sessions", "1")
    account_id = created["accountId"]
    assert created["quotas"]["maxStandardSessions"] == 1
    assert _sts(server, account_id, created["primaryKey"]).status_code == 200

    listed = runner.ok_json("account", "list", env=remote)
    assert account_id in [row["accountId"] for row in listed]
    assert "acme" in runner.ok("account", "list", env=remote).stdout
    shown = runner.ok("account", "show", account_id, env=remote).stdout
    assert "acme" in shown and "Standard sessions:  0 active (quota: 1)" in shown

    assert runner.ok_json("account", "rename", account_id, "globex", env=remote)["name"] == "globex"
    rotated = runner.ok_json("account", "rotate-key", account_id, "--key", "primary", env=remote)
    assert _sts(server, account_id, created["primaryKey"]).status_code == 401
    assert _sts(server, account_id, rotated["primaryKey"]).status_code == 200
    assert _sts(server, account_id, created["secondaryKey"]).status_code == 200

    quotas = runner.ok_json("account", "quota", "set", account_id, "--max-lease-minutes", "60",
                            "--max-conversions", "0", env=remote)  # fmt: skip
    assert quotas == {"maxStandardSessions": 1, "maxPremiumSessions": None,
                      "maxLeaseMinutes": 60, "maxConversions": 0}  # fmt: skip
    assert runner.ok_json("account", "quota", "show", account_id, env=remote) == quotas

    deleted = runner.ok("account", "delete", account_id, "--yes", env=remote)
    assert f"Deleted account {account_id}." in deleted.stdout
    gone = runner.fails(3, "account", "show", account_id, env=remote)
    assert f"No account with id '{account_id}' exists." in gone
    assert _sts(server, account_id, rotated["primaryKey"]).status_code == 401


def test_the_same_output_on_the_server_and_on_its_store(
    server: ServerProcess, remote: dict[str, str | None]
) -> None:
    account_id = _account(remote, "--name", "same", "--max-conversions", "2")["accountId"]
    local = ("--data-dir", str(server.data_dir))
    for command in (("account", "show", account_id), ("account", "quota", "show", account_id),
                    ("account", "list")):  # fmt: skip
        assert runner.ok_json(*command, env=remote) == runner.ok_json(*command, *local)
        assert runner.ok(*command, env=remote).stdout == runner.ok(*command, *local).stdout


def test_disable_through_the_server_stops_sessions_and_refuses_the_keys(
    server: ServerProcess, remote: dict[str, str | None]
) -> None:
    created = _account(remote)
    account_id, key = created["accountId"], created["primaryKey"]
    token = _sts(server, account_id, key).json()["AccessToken"]
    url = f"/accounts/{account_id}/sessions/doomed?{API}"
    admin_url = f"/admin/sessions/{account_id}/doomed"
    with (
        _client(server, token) as sessions,
        _client(server, remote["RENDERHUB_ADMIN_TOKEN"]) as admin,
    ):
        assert sessions.put(url, json={"maxLeaseTimeMinutes": 10, "size": "Standard"}).is_success
        _wait_status(sessions, url, "Ready")

        disabled = runner.ok_json("account", "disable", account_id, env=remote)
        assert disabled["disabled"] is True and disabled["stoppedSessions"] == 1
        assert sessions.get(url).status_code == 403, "its tokens are refused at once"
        _wait_status(admin, admin_url, "Stopped")
    refused = _sts(server, account_id, key)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "The account is disabled."
    text = runner.ok("account", "disable", account_id, env=remote).stdout
    assert "Stopped 0 sessions." in text

    assert runner.ok_json("account", "enable", account_id, env=remote)["disabled"] is False
    assert _sts(server, account_id, key).status_code == 200


def _client(server: ServerProcess, token: str | None) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})


def _wait_status(client: httpx.Client, url: str, status: str) -> None:
    give_up = time.monotonic() + 15
    while client.get(url).json().get("status") != status:
        assert time.monotonic() < give_up, f"{url} did not reach {status}"
        time.sleep(0.1)


def test_wrong_missing_or_revoked_admin_tokens_are_exit_4(
    server: ServerProcess, remote: dict[str, str | None]
) -> None:
    before = runner.ok_json("account", "list", env=remote)
    wrong = {**remote, "RENDERHUB_ADMIN_TOKEN": "rhadm_" + "x" * 43}
    message = runner.fails(4, "account", "create", env=wrong)
    assert "The admin token is not valid (unknown or revoked)." in message
    missing = runner.fails(4, "account", "list", "--endpoint", server.url)
    assert f"No admin token for {server.url}" in missing

    created = _account(remote)
    jwt = _sts(server, created["accountId"], created["primaryKey"]).json()["AccessToken"]
    refused = runner.fails(4, "account", "list", "--endpoint", server.url, "--admin-token", jwt)
    assert "An account's access token cannot be used on the admin API" in refused

    made = runner.ok_json("admin", "token", "create", "--data-dir", str(server.data_dir))
    mine = {**remote, "RENDERHUB_ADMIN_TOKEN": made["token"]}
    assert runner.ok_json("account", "show", created["accountId"], env=mine)
    runner.ok("admin", "token", "revoke", made["id"], "--data-dir", str(server.data_dir))
    revoked = runner.fails(4, "account", "show", created["accountId"], env=mine)
    assert "The admin token is not valid" in revoked
    after = [row["accountId"] for row in runner.ok_json("account", "list", env=remote)]
    assert after == [row["accountId"] for row in before] + [created["accountId"]]


def test_bad_values_change_nothing(server: ServerProcess, remote: dict[str, str | None]) -> None:
    created = _account(remote, "--name", "steady", "--max-premium-sessions", "1")
    account_id = created["accountId"]
    negative = runner.fails(2, "account", "quota", "set", account_id,
                            "--max-premium-sessions", "-3", env=remote)  # fmt: skip
    assert "'-3' is not a whole number from 0 to 10,000" in negative
    blank = runner.fails(1, "account", "rename", account_id, "   ", env=remote)
    assert "'name' must be 1 to 200 characters (or null)." in blank  # the server's 400 sentence
    unchanged = runner.ok_json("account", "show", account_id, env=remote)
    assert unchanged["name"] == "steady" and unchanged["quotas"]["maxPremiumSessions"] == 1
    both = runner.fails(2, "account", "list", "--endpoint", server.url,
                        "--data-dir", str(server.data_dir))  # fmt: skip
    assert "give one or the other" in both


def test_the_client_config_file_names_the_server(
    server: ServerProcess, remote: dict[str, str | None], tmp_path: Path
) -> None:
    config = tmp_path / "client.json"
    config.write_text(json.dumps({"endpoint": server.url,
                                  "adminToken": remote["RENDERHUB_ADMIN_TOKEN"]}))  # fmt: skip
    listed = runner.ok_json("account", "list", "--config", str(config))
    assert listed == runner.ok_json("account", "list", env=remote)


def test_no_server_is_exit_7() -> None:
    message = runner.fails(7, "account", "list", "--endpoint", f"http://127.0.0.1:{free_port()}",
                           "--admin-token", "rhadm_" + "x" * 43)  # fmt: skip
    assert "Could not connect to http://127.0.0.1:" in message


def test_https_with_the_servers_certificate(tmp_path: Path) -> None:
    """--ca-bundle trusts a self-signed server; without it the certificate is refused (7)."""
    server = ServerProcess(tmp_path / "data", free_port(), "--tls-self-signed",
                           env={"RENDERHUB_BACKEND": "fake"})  # fmt: skip
    server.url = server.url.replace("http://", "https://")
    try:
        server.start(verify=False)
        token = (server.data_dir / "admin-token").read_text().strip()
        remote = {"RENDERHUB_ENDPOINT": server.url, "RENDERHUB_ADMIN_TOKEN": token}
        certificate = str(server.data_dir / "tls" / "dev-cert.pem")
        listed = runner.ok_json("account", "list", "--ca-bundle", certificate, env=remote)
        assert [row["name"] for row in listed] == ["first account"]
        untrusted = runner.fails(7, "account", "list", env=remote)
        assert "certificate" in untrusted.lower()
    finally:
        server.terminate()
