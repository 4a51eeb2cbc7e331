"""`renderhub session ...`: sessions from a terminal or a script, over the client library.

Exit codes: 0 done; 1 other error; 2 bad usage; 3 no such session; 4 credentials refused;
5 conflict; 6 quota or capacity; 7 service unreachable; 8 the session failed or did not
become Ready in time."""

from __future__ import annotations

import json
import time
import webbrowser
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Column, Table

from renderhub.client import (
    ClientError,
    Conflict,
    ConnectionFailed,
    NotFound,
    QuotaExceeded,
    RenderHubClient,
    Session,
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
from renderhub.timespan import format_timespan

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES: dict[type[ClientError], int] = {
    NotFound: 3,
    Unauthorized: 4,
    Conflict: 5,
    QuotaExceeded: 6,
    ConnectionFailed: 7,
    SessionFailed: 8,
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


def _lease(_ctx: click.Context, _param: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_lease(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


_FILE = click.Path(dir_okay=False, path_type=Path)


def connection_options(command: F) -> F:
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
        click.option("--api", "api_version", type=click.Choice(["2021-01-01", "v1"]),
                     default="2021-01-01", show_default=True, help="Which session API to speak."),
        click.option("--output", type=click.Choice(["table", "json"]), default="table",
                     show_default=True, help="Human-readable, or JSON for scripts."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def _client(options: dict[str, Any]) -> tuple[RenderHubClient, ClientSettings]:
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
        api_version=options.pop("api_version"),
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


def _print_session(session: Session, output: str, token: str | None = None) -> None:
    if output == "json":
        click.echo(json.dumps(session.to_json(), indent=2))
        return
    rows = {
        "id": session.id,
        "status": session.status.value,
        "size": session.size.value,
        "lease": format_timespan(session.max_lease),
        "elapsed": format_timespan(session.elapsed),
        "host": f"{session.hostname}:{session.handshake_port}" if session.hostname else "-",
        "message": session.message or "",
        "viewer": _viewer(session, token) or "",
    }
    for label, value in rows.items():
        if value:
            click.echo(f"{label + ':':<9}{value}")


def _viewer(session: Session, token: str | None) -> str | None:
    if session.viewer_url is None:
        return None
    return f"{session.viewer_url}#token={token}" if token else session.viewer_url


@click.group()
def session() -> None:
    """Start, list, extend, stop and view rendering sessions."""


@session.command()
@connection_options
@click.option("--size", type=click.Choice(["standard", "premium"], case_sensitive=False),
              help="Session size [default: from the config, else standard].")  # fmt: skip
@click.option("--lease", callback=_lease, help="Lease: 4h, 90m, 240 (minutes) or 4:0:0.")
@click.option(
    "--model", "models", multiple=True, metavar="URL", help="A model to load (repeatable)."
)
@click.option("--id", "session_id", help="Session id (2021 API; default: a new UUID).")
@click.option(
    "--wait", is_flag=True, help="Wait until Ready, showing progress; print the viewer URL."
)
@click.option(
    "--timeout", type=float, default=600.0, show_default=True, help="Seconds --wait waits."
)
def start(**options: Any) -> None:
    """Start a session."""
    with one_sentence_errors():
        client, settings = _client(options)
        with client:
            created = client.create_session(
                options["session_id"],
                size=options["size"] or settings.size,
                lease=options["lease"] or settings.lease,
                models=list(options["models"]),
            )
            if options["wait"]:
                created = _wait(client, created.id, options["timeout"], options["output"])
            _print_session(created, options["output"], client.auth.token)


def _wait(client: RenderHubClient, session_id: str, timeout: float, output: str) -> Session:
    console = Console(stderr=True)
    started = time.monotonic()
    if output == "json" or not console.is_terminal:
        return client.wait_until_ready(session_id, timeout=timeout)
    with console.status(f"Session {session_id} is starting…") as status:

        def progress(current: Session) -> None:
            elapsed = time.monotonic() - started
            status.update(
                f"Session {session_id} is {current.status.value.lower()}… {elapsed:.0f} s"
            )

        return client.wait_until_ready(session_id, timeout=timeout, progress=progress)


@session.command(name="list")
@connection_options
def list_sessions(**options: Any) -> None:
    """List the active sessions."""
    with one_sentence_errors():
        client, _ = _client(options)
        with client:
            sessions = list(client.list_sessions())
    if options["output"] == "json":
        click.echo(json.dumps([s.to_json() for s in sessions], indent=2))
        return
    table = Table("Status", "Size", "Lease", "Elapsed", "Host")
    # The id is what the next command needs: fold it in a narrow terminal, never cut it.
    table.columns.insert(0, Column("Session", overflow="fold"))
    for item in sessions:
        host = f"{item.hostname}:{item.handshake_port}" if item.hostname else "-"
        table.add_row(item.id, item.status.value, item.size.value, format_timespan(item.max_lease),
                      format_timespan(item.elapsed), host)  # fmt: skip
    Console().print(table if sessions else "No active sessions.")


@session.command()
@connection_options
@click.argument("session_id")
def show(session_id: str, **options: Any) -> None:
    """Show one session."""
    with one_sentence_errors():
        client, _ = _client(options)
        with client:
            _print_session(client.get_session(session_id), options["output"], client.auth.token)


@session.command()
@connection_options
@click.argument("session_id")
@click.option(
    "--lease", callback=_lease, required=True, help="The new total lease: 5h, 300, 5:0:0."
)
def extend(session_id: str, **options: Any) -> None:
    """Extend a session's lease (a new total since it became Ready)."""
    lease = options.pop("lease")
    with one_sentence_errors():
        client, _ = _client(options)
        with client:
            _print_session(client.extend_session(session_id, lease), options["output"])


@session.command()
@connection_options
@click.argument("session_id")
def stop(session_id: str, **options: Any) -> None:
    """Stop a session (irrevocable)."""
    with one_sentence_errors():
        client, _ = _client(options)
        with client:
            client.stop_session(session_id)
            stopped = client.get_session(session_id)
    if options["output"] == "json":
        click.echo(json.dumps(stopped.to_json(), indent=2))
    else:
        click.echo(f"Session {session_id} is {stopped.status.value}.")


@session.command(name="open")
@connection_options
@click.argument("session_id")
def open_viewer(session_id: str, **options: Any) -> None:
    """Open a Ready session's viewer in the browser (and print its URL)."""
    with one_sentence_errors():
        client, _ = _client(options)
        with client:
            current = client.get_session(session_id)
            url = _viewer(current, client.auth.token)
    if url is None:
        raise command_failed(f"Session {session_id} is {current.status.value}; it has no viewer.")
    if options["output"] == "json":
        click.echo(json.dumps({"id": session_id, "viewerUrl": url}))
        return
    opened = webbrowser.open(url)
    click.echo(url if opened else f"No browser here; open this URL in one:\n{url}")
