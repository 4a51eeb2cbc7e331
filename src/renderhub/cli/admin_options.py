"""Where an operator's command acts: a running server through its admin API, or the server's
own store on this machine (as `renderhub serve` finds it: --data-dir, RENDERHUB_DATA_DIR,
RENDERHUB_DATABASE_URL).

The rule, in order:
1. --data-dir together with --endpoint, --admin-token, --config or --ca-bundle: a usage error.
2. --endpoint or --admin-token given: the server.
3. --data-dir given: the local store.
4. an admin token in RENDERHUB_ADMIN_TOKEN or the client config's `adminToken`: the server.
5. otherwise: the local store.

Each value comes from its flag, else its variable, else the client config file (--config, else
RENDERHUB_CONFIG, else ~/.config/renderhub/client.json): the endpoint (RENDERHUB_ENDPOINT,
`endpoint`), the admin token (RENDERHUB_ADMIN_TOKEN, `adminToken`) and the CA bundle
(RENDERHUB_CA_BUNDLE, `caBundle`, else REQUESTS_CA_BUNDLE)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from renderhub.cli.client_options import one_sentence_errors
from renderhub.cli.common import data_dir_option
from renderhub.client.admin import AdminClient
from renderhub.client.config import DEFAULT_CONFIG, ConfigError, read_config
from renderhub.client.errors import Unauthorized

F = TypeVar("F", bound=Callable[..., Any])

REMOTE_FLAGS = ("endpoint", "admin_token", "config_path", "ca_bundle")
_FLAG_NAMES = {
    "endpoint": "--endpoint",
    "admin_token": "--admin-token",
    "config_path": "--config",
    "ca_bundle": "--ca-bundle",
}


@dataclass(frozen=True, slots=True)
class AdminConnection:
    """A running server's admin API and the admin token to use it with."""

    endpoint: str
    admin_token: str
    ca_bundle: str | None = None

    def client(self) -> AdminClient:
        return AdminClient(self.endpoint, self.admin_token, self.ca_bundle)


@dataclass(frozen=True, slots=True)
class LocalStore:
    """The server's store, opened here (None: the data dir from the environment or default)."""

    data_dir: Path | None


Target = AdminConnection | LocalStore


def admin_options(command: F) -> F:
    """--endpoint, --admin-token, --config and --ca-bundle: how to reach the admin API."""
    options = [
        click.option("--endpoint", help="The server's URL: act through its admin API "
                     "[env: RENDERHUB_ENDPOINT, with an admin token]."),
        click.option("--admin-token", help="An admin token (rhadm_...) "
                     "[env: RENDERHUB_ADMIN_TOKEN]."),
        click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="RenderHub client config [default: ~/.config/renderhub/client.json]."),
        click.option("--ca-bundle", help="CA certificate(s) to trust [env: RENDERHUB_CA_BUNDLE]."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def target_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--data-dir and the admin API's options, resolved (by the rule above) into one
    `target` argument: an AdminConnection or a LocalStore."""

    @functools.wraps(command)
    def resolved(**options: Any) -> Any:
        given = {name: options.pop(name) for name in (*REMOTE_FLAGS, "data_dir")}
        with one_sentence_errors():
            target = resolve_target(given, data_dir_given=_data_dir_on_command_line())
        return command(target=target, **options)

    return data_dir_option(admin_options(resolved))


def _data_dir_on_command_line() -> bool:
    context = click.get_current_context(silent=True)
    if context is None:
        return False
    return context.get_parameter_source("data_dir") is ParameterSource.COMMANDLINE


def resolve_target(
    given: Mapping[str, Any],
    *,
    data_dir_given: bool,
    environ: Mapping[str, str] = os.environ,
) -> Target:
    """The server or the local store, for the flags in `given` (None where not given:
    endpoint, admin_token, config_path, ca_bundle, data_dir)."""
    remote_flags = [_FLAG_NAMES[name] for name in REMOTE_FLAGS if given.get(name)]
    if data_dir_given and remote_flags:
        raise click.UsageError(
            f"--data-dir opens the server's store here, {remote_flags[0]} goes through a "
            "running server's admin API: give one or the other."
        )
    if data_dir_given:
        return LocalStore(given.get("data_dir"))
    if given.get("endpoint") or given.get("admin_token"):
        return resolve_connection(given, environ=environ)
    sources = _sources(given, environ)
    if sources.get("admin_token"):
        return resolve_connection(given, environ=environ)
    return LocalStore(given.get("data_dir"))


def resolve_connection(
    given: Mapping[str, Any], *, environ: Mapping[str, str] = os.environ
) -> AdminConnection:
    """The admin API's endpoint, token and CA bundle: flag > variable > config file.
    ConfigError (exit 2) without an endpoint, Unauthorized (exit 4) without a token."""
    values = _sources(given, environ)
    endpoint = values.get("endpoint")
    if not endpoint:
        raise ConfigError(
            "No endpoint for the admin API: pass --endpoint, set RENDERHUB_ENDPOINT or put "
            '"endpoint" in the client config (or use --data-dir for the store on this machine).'
        )
    token = values.get("admin_token")
    if not token:
        raise Unauthorized(
            f"No admin token for {endpoint}: pass --admin-token, set RENDERHUB_ADMIN_TOKEN or "
            'put "adminToken" in the client config (the server wrote one to '
            "<data dir>/admin-token at its first start)."
        )
    return AdminConnection(str(endpoint), str(token), values.get("ca_bundle") or None)


def _sources(given: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Endpoint, admin token and CA bundle merged: config file, then variables, then flags."""
    config_path = given.get("config_path")
    path = config_path or _path(environ.get("RENDERHUB_CONFIG")) or DEFAULT_CONFIG.expanduser()
    config = read_config(Path(path), required=config_path is not None)
    variables = {
        "endpoint": environ.get("RENDERHUB_ENDPOINT"),
        "admin_token": environ.get("RENDERHUB_ADMIN_TOKEN"),
        "ca_bundle": environ.get("RENDERHUB_CA_BUNDLE"),
    }
    merged: dict[str, Any] = {}
    for name in ("endpoint", "admin_token", "ca_bundle"):
        for value in (given.get(name), variables[name], config.get(name)):
            if value:
                merged[name] = value
                break
    if not merged.get("ca_bundle") and environ.get("REQUESTS_CA_BUNDLE"):
        merged["ca_bundle"] = environ["REQUESTS_CA_BUNDLE"]  # as the account commands do
    return merged


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
