"""`renderhub session ...`: sessions from a terminal or a script, over the client library.
Exit codes: see renderhub.cli.client_options."""

from __future__ import annotations

import json
import time
import webbrowser
from typing import Any

import click
from rich.console import Console
from rich.table import Column, Table

from renderhub.cli.client_options import (
    command_failed,
    connection_options,
    lease_value,
    make_client,
    one_sentence_errors,
)
from renderhub.client import RenderHubClient, Session
from renderhub.timespan import format_timespan


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
@click.option("--lease", callback=lease_value, help="Lease: 4h, 90m, 240 (minutes) or 4:0:0.")
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
        client, settings = make_client(options)
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
        client, _ = make_client(options)
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
        client, _ = make_client(options)
        with client:
            _print_session(client.get_session(session_id), options["output"], client.auth.token)


@session.command()
@connection_options
@click.argument("session_id")
@click.option(
    "--lease", callback=lease_value, required=True, help="The new total lease: 5h, 300, 5:0:0."
)
def extend(session_id: str, **options: Any) -> None:
    """Extend a session's lease (a new total since it became Ready)."""
    lease = options.pop("lease")
    with one_sentence_errors():
        client, _ = make_client(options)
        with client:
            _print_session(client.extend_session(session_id, lease), options["output"])


@session.command()
@connection_options
@click.argument("session_id")
def stop(session_id: str, **options: Any) -> None:
    """Stop a session (irrevocable)."""
    with one_sentence_errors():
        client, _ = make_client(options)
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
        client, _ = make_client(options)
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
