"""What every client command shares: where the service is and whose account (flags over
`RENDERHUB_*` over config files), and errors as one sentence with an exit code by kind.

Exit codes: 0 done; 1 other error; 2 bad usage; 3 no such session or conversion; 4
credentials refused; 5 conflict; 6 quota or capacity; 7 service unreachable; 8 the session
failed or did not become Ready in time, or the conversion failed or did not end in time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from renderhub.client import (
    ClientError,
    Conflict,
    ConnectionFailed,
    ConversionFailed,
    NotFound,
    QuotaExceeded,
    RenderHubClient,
    SessionFailed,
    Unauthorized,
    WaitTimedOut,
)
from renderhub.client.config import (
    ClientSettings,
    ConfigError,
    load_client_settings,
    parse_lease,
)

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES: dict[type[ClientError], int] = {
    NotFound: 3,
    Unauthorized: 4,
    Conflict: 5,
    QuotaExceeded: 6,
    ConnectionFailed: 7,
    SessionFailed: 8,
    ConversionFailed: 8,
    WaitTimedOut: 8,
    ConfigError: 2,
}


class CommandFailed(click.ClickException):
    """One sentence on stderr, and an exit code that tells a script what went wrong."""


# click reads exit_code from the class: one subclass per code.
_FAILURES: dict[int, type[CommandFailed]] = {
    code: type(f"CommandFailed{code}", (CommandFailed,), {"exit_code": code})
    for code in {1, *EXIT_CODES.values()}
}


def command_failed(message: str, exit_code: int = 1) -> CommandFailed:
    return _FAILURES[exit_code](message)


@contextmanager
def one_sentence_errors() -> Iterator[None]:
    """Any client error becomes one line on stderr and the exit code of its kind."""
    try:
        yield
    except ClientError as error:
        code = next((c for kind, c in EXIT_CODES.items() if isinstance(error, kind)), 1)
        raise command_failed(error.message, code) from error


def lease_value(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> timedelta | None:
    """click callback: a --lease flag's text as a timedelta."""
    if value is None:
        return None
    try:
        return parse_lease(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


_FILE = click.Path(dir_okay=False, path_type=Path)


def connection_options(command: F) -> F:
    """Where the service is and whose account, which session API, and the output format."""
    return output_option(service_options(api_option(command)))


def api_option(command: F) -> F:
    return click.option(
        "--api", "api_version", type=click.Choice(["2021-01-01", "v1"]), default="2021-01-01",
        show_default=True, help="Which session API to speak.",
    )(command)  # fmt: skip


def output_option(command: F) -> F:
    return click.option(
        "--output", type=click.Choice(["table", "json"]), default="table", show_default=True,
        help="Human-readable, or JSON for scripts.",
    )(command)  # fmt: skip


def service_options(command: F) -> F:
    """Where the service is and whose account: flags win over RENDERHUB_* and config files."""
    options = [
        click.option("--endpoint", help="Service URL [env: RENDERHUB_ENDPOINT]."),
        click.option("--account-id", help="[env: RENDERHUB_ACCOUNT_ID]"),
        click.option("--account-key", help="[env: RENDERHUB_ACCOUNT_KEY]"),
        click.option("--region", help="A region name mapped to an endpoint in the config file."),
        click.option("--config", "config_path", type=_FILE,
                     help="RenderHub client config [default: ~/.config/renderhub/client.json]."),
        click.option("--arrconfig", "arrconfig_path", type=_FILE,
                     help="ARR's arrconfig.json, used as it is [env: RENDERHUB_ARRCONFIG]."),
        click.option("--ca-bundle", help="CA certificate(s) to trust [env: RENDERHUB_CA_BUNDLE]."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def make_client(options: dict[str, Any]) -> tuple[RenderHubClient, ClientSettings]:
    """The client for the connection options (taken out of `options`), and the settings."""
    flags = {name: options.pop(name) for name in _CONNECTION_FLAGS}
    settings = load_client_settings(
        flags, config_path=options.pop("config_path"), arrconfig_path=options.pop("arrconfig_path")
    )
    client = RenderHubClient(
        settings.endpoint,
        settings.account_id,
        settings.account_key,
        sts_endpoint=settings.sts_endpoint,
        api_version=options.pop("api_version", "2021-01-01"),
        verify=_verify(settings.ca_bundle),
    )
    return client, settings


_CONNECTION_FLAGS = ("endpoint", "account_id", "account_key", "region", "ca_bundle")


def _verify(ca_bundle: str | None) -> Any:
    if not ca_bundle:
        return True
    import ssl

    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"The CA bundle {ca_bundle} cannot be used: {error}.") from error
