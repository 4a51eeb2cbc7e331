"""`renderhub admin token create|list|revoke` on the store a running control plane uses: a
token made by the command opens the admin API at once, and is refused at once when revoked."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from click.testing import Result

from renderhub.store.admin_tokens import AdminTokenStore
from renderhub.store.database import open_engine
from tests.cli import runner
from tests.conftest import ControlPlane


async def _in_thread(call: Any, *args: str) -> Any:
    """A command off the event loop: the in-process control plane keeps serving meanwhile."""
    return await asyncio.to_thread(call, *args)


async def _admin_status(plane: ControlPlane, token: str) -> int:
    response = await plane.client.get(
        "/admin/sessions", headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


async def test_a_made_token_works_until_revoked_by_its_id(plane: ControlPlane) -> None:
    data_dir = str(plane.settings.data_dir)
    made = await _in_thread(
        runner.ok_json, "admin", "token", "create", "--label", "ci", "--data-dir", data_dir
    )
    assert set(made) == {"token", "id"}
    assert made["token"].startswith("rhadm_")
    assert await _admin_status(plane, made["token"]) == 200

    listed = await _in_thread(runner.ok_json, "admin", "token", "list", "--data-dir", data_dir)
    mine = next(row for row in listed if row["id"] == made["id"])
    assert mine["label"] == "ci" and mine["revoked"] is None
    assert mine["created"].endswith("Z")
    table: Result = await _in_thread(runner.ok, "admin", "token", "list", "--data-dir", data_dir)
    assert "ci" in table.stdout and made["id"] in table.stdout
    assert made["token"] not in table.stdout + str(listed), "a listing never shows a token"

    revoked = await _in_thread(
        runner.ok, "admin", "token", "revoke", made["id"], "--data-dir", data_dir
    )
    assert "Revoked" in revoked.stdout
    assert await _admin_status(plane, made["token"]) == 401
    assert await _admin_status(plane, plane.admin_token) == 200, "the others keep working"
    listed = await _in_thread(runner.ok_json, "admin", "token", "list", "--data-dir", data_dir)
    assert next(row for row in listed if row["id"] == made["id"])["revoked"] is not None


async def test_text_output_shows_the_token_once_and_revoke_takes_the_token_itself(
    plane: ControlPlane,
) -> None:
    data_dir = str(plane.settings.data_dir)
    made = await _in_thread(runner.ok, "admin", "token", "create", "--data-dir", data_dir)
    token = next(word for word in made.stdout.split() if word.startswith("rhadm_"))
    assert "shown only now" in made.stdout
    assert await _admin_status(plane, token) == 200
    await _in_thread(runner.ok, "admin", "token", "revoke", token, "--data-dir", data_dir)
    assert await _admin_status(plane, token) == 401
    again = await _in_thread(
        runner.fails, 3, "admin", "token", "revoke", token, "--data-dir", data_dir
    )
    assert "No active admin token" in again


async def test_revoke_all(plane: ControlPlane) -> None:
    data_dir = str(plane.settings.data_dir)
    made = await _in_thread(runner.ok_json, "admin", "token", "create", "--data-dir", data_dir)
    revoked = await _in_thread(
        runner.ok, "admin", "token", "revoke", "--all", "--data-dir", data_dir
    )
    assert "Revoked 2 admin tokens." in revoked.stdout  # the plane's own and this one
    assert await _admin_status(plane, made["token"]) == 401
    assert await _admin_status(plane, plane.admin_token) == 401


async def test_revoke_needs_one_token_or_all_and_changes_nothing_otherwise(
    plane: ControlPlane,
) -> None:
    data_dir = str(plane.settings.data_dir)
    for args in ((), ("some-id", "--all")):
        message = await _in_thread(
            runner.fails, 2, "admin", "token", "revoke", *args, "--data-dir", data_dir
        )
        assert "or pass --all" in message
    missing = await _in_thread(
        runner.fails, 3, "admin", "token", "revoke", "no-such-id", "--data-dir", data_dir
    )
    assert "No active admin token has that value or id." in missing
    assert await _admin_status(plane, plane.admin_token) == 200


async def test_tokens_on_a_postgresql_store(postgres_url: str, tmp_path: Path) -> None:
    """RENDERHUB_DATABASE_URL names the server's store, as `renderhub serve` reads it."""
    env = {"RENDERHUB_DATABASE_URL": postgres_url, "RENDERHUB_DATA_DIR": str(tmp_path)}
    made = await asyncio.to_thread(runner.ok_json, "admin", "token", "create", env=env)
    engine = open_engine(postgres_url)
    try:
        tokens = AdminTokenStore(engine)
        assert await tokens.is_valid(made["token"])
        await asyncio.to_thread(runner.ok, "admin", "token", "revoke", made["id"], env=env)
        assert not await tokens.is_valid(made["token"])
        assert [record.id for record in await tokens.list()] == [made["id"]]
    finally:
        await engine.dispose()
