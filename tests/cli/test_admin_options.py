"""Where an operator's command acts: the server (admin API) or the local store, and where the
endpoint, admin token and CA bundle come from."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from renderhub.cli.admin_options import (
    AdminConnection,
    LocalStore,
    resolve_connection,
    resolve_target,
)
from renderhub.client import ConnectionFailed, Unauthorized
from renderhub.client.admin import AdminClient
from renderhub.client.config import ConfigError
from renderhub.client.retries import RetryPolicy
from tests.e2e.server import free_port

TOKEN = "rhadm_" + "a" * 43


def _given(**values: object) -> dict[str, object]:
    names = ("endpoint", "admin_token", "config_path", "ca_bundle", "data_dir")
    return {name: values.get(name) for name in names}


def _config(tmp_path: Path, **values: str) -> Path:
    path = tmp_path / "client.json"
    path.write_text(json.dumps(values))
    return path


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """No variables, and a config path that does not exist (never the user's own file)."""
    return {"RENDERHUB_CONFIG": str(tmp_path / "absent.json")}


def test_nothing_given_is_the_local_store(environ: dict[str, str]) -> None:
    target = resolve_target(_given(), data_dir_given=False, environ=environ)
    assert target == LocalStore(None)


def test_flags_make_it_remote(environ: dict[str, str]) -> None:
    given = _given(endpoint="http://h:1", admin_token=TOKEN)
    target = resolve_target(given, data_dir_given=False, environ=environ)
    assert target == AdminConnection("http://h:1", TOKEN)


def test_flag_over_variable_over_config(tmp_path: Path, environ: dict[str, str]) -> None:
    config = _config(tmp_path, endpoint="http://config:1", adminToken="rhadm_config",
                     caBundle="/config.pem")  # fmt: skip
    environ["RENDERHUB_CONFIG"] = str(config)
    from_config = resolve_target(_given(), data_dir_given=False, environ=environ)
    assert from_config == AdminConnection("http://config:1", "rhadm_config", "/config.pem")
    environ.update(RENDERHUB_ENDPOINT="http://env:1", RENDERHUB_ADMIN_TOKEN="rhadm_env")
    from_env = resolve_target(_given(), data_dir_given=False, environ=environ)
    assert from_env == AdminConnection("http://env:1", "rhadm_env", "/config.pem")
    from_flags = resolve_target(
        _given(endpoint="http://flag:1", admin_token="rhadm_flag", ca_bundle="/flag.pem"),
        data_dir_given=False,
        environ=environ,
    )
    assert from_flags == AdminConnection("http://flag:1", "rhadm_flag", "/flag.pem")


def test_an_endpoint_variable_alone_stays_local(environ: dict[str, str]) -> None:
    """RENDERHUB_ENDPOINT is the session commands' too: without an admin token, local."""
    environ["RENDERHUB_ENDPOINT"] = "http://env:1"
    assert resolve_target(_given(), data_dir_given=False, environ=environ) == LocalStore(None)


def test_data_dir_flag_wins_over_a_token_variable(tmp_path: Path, environ: dict[str, str]) -> None:
    environ.update(RENDERHUB_ENDPOINT="http://env:1", RENDERHUB_ADMIN_TOKEN=TOKEN)
    target = resolve_target(_given(data_dir=tmp_path), data_dir_given=True, environ=environ)
    assert target == LocalStore(tmp_path)


def test_data_dir_with_a_remote_flag_is_a_usage_error(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    for flag in ("endpoint", "admin_token"):
        with pytest.raises(click.UsageError, match="--data-dir"):
            resolve_target(
                _given(data_dir=tmp_path, **{flag: "x"}), data_dir_given=True, environ=environ
            )


def test_missing_token_or_endpoint_says_where_to_give_it(environ: dict[str, str]) -> None:
    with pytest.raises(Unauthorized, match="No admin token for http://h:1"):
        resolve_connection(_given(endpoint="http://h:1"), environ=environ)
    with pytest.raises(ConfigError, match="No endpoint for the admin API"):
        resolve_connection(_given(admin_token=TOKEN), environ=environ)


def test_an_explicit_config_must_exist(tmp_path: Path, environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_target(
            _given(config_path=tmp_path / "nope.json"), data_dir_given=False, environ=environ
        )


async def test_no_server_is_connection_failed() -> None:
    port = free_port()
    async with AdminClient(f"http://127.0.0.1:{port}", TOKEN, retry=RetryPolicy(1)) as admin:
        with pytest.raises(ConnectionFailed, match=f"127.0.0.1:{port}"):
            await admin.list_accounts()
