"""`renderhub admin token ...`: the admin API's credentials, made, listed and revoked on the
server's own store (--data-dir, RENDERHUB_DATA_DIR or RENDERHUB_DATABASE_URL): whoever can
read that store governs the service anyway, so no token is needed to make one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Column, Table

from renderhub.api.presenters import iso_time
from renderhub.cli.client_options import command_failed
from renderhub.cli.common import data_dir_option, output_option, print_json, run_async
from renderhub.cli.local_store import now, open_store
from renderhub.cli.tables import table_console
from renderhub.store.admin_tokens import AdminTokenRecord, AdminTokenStore, NewAdminToken


@click.group()
def admin() -> None:
    """The operator's own credentials (admin tokens for the admin API)."""


@admin.group()
def token() -> None:
    """Make, list and revoke admin tokens (on the server's store)."""


@token.command()
@click.option("--label", default=None, help="What the token is for (shown by `list`).")
@data_dir_option
@output_option
def create(label: str | None, data_dir: Path | None, output: str) -> None:
    """Make an admin token and print it (shown only now: the store keeps its hash)."""

    async def work() -> NewAdminToken:
        async with open_store(data_dir) as engine:
            return await AdminTokenStore(engine).create(now(), label)

    made = run_async(work)
    if output == "json":
        print_json({"token": made.token, "id": made.id})
        return
    click.echo(f"Admin token: {made.token}")
    click.echo(f"Token id:    {made.id}")
    click.echo("It is shown only now: RenderHub keeps only its hash. Revoke it by its id.")


@token.command()
@click.argument("token_or_id", required=False)
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every admin token.")
@data_dir_option
def revoke(token_or_id: str | None, revoke_all: bool, data_dir: Path | None) -> None:
    """Revoke one admin token (named by itself or by its id), or --all. At once: the next
    admin request with it is refused."""
    if bool(token_or_id) == revoke_all:
        raise click.UsageError("Name one token (its value or its id), or pass --all.")

    async def work() -> int:
        async with open_store(data_dir) as engine:
            store = AdminTokenStore(engine)
            if revoke_all:
                return await store.revoke_all(now())
            assert token_or_id is not None
            return int(await store.revoke(token_or_id.strip(), now()))

    revoked = run_async(work)
    if revoke_all:
        click.echo(f"Revoked {revoked} admin token{'' if revoked == 1 else 's'}.")
    elif revoked:
        click.echo("Revoked the admin token.")
    else:
        raise command_failed("No active admin token has that value or id.", 3)


@token.command(name="list")
@data_dir_option
@output_option
def list_tokens(data_dir: Path | None, output: str) -> None:
    """List the admin tokens: ids, labels, dates (never the tokens themselves)."""

    async def work() -> list[AdminTokenRecord]:
        async with open_store(data_dir) as engine:
            return await AdminTokenStore(engine).list()

    rows = [_token_json(record) for record in run_async(work)]
    if output == "json":
        print_json(rows)
        return
    table = Table(Column("Token id", overflow="fold"), "Label", "Created", "Revoked")
    for row in rows:
        table.add_row(row["id"], row["label"] or "", row["created"], row["revoked"] or "")
    table_console().print(table)


def _token_json(record: AdminTokenRecord) -> dict[str, Any]:
    revoked = iso_time(record.revoked_at) if record.revoked_at is not None else None
    return {
        "id": record.id,
        "label": record.label,
        "created": iso_time(record.created_at),
        "revoked": revoked,
    }
