"""`renderhub account ...`: accounts and their keys, managed on the server's own store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from renderhub.cli.common import (
    data_dir_option,
    load_settings,
    output_option,
    print_json,
    run_async,
)
from renderhub.store.accounts import AccountStore, KeySlot, NewAccount
from renderhub.store.database import migrate, open_engine
from renderhub.store.records import AccountRecord
from renderhub.store.sessions import SessionStore


@asynccontextmanager
async def account_store(data_dir: Path | None) -> AsyncIterator[AccountStore]:
    settings = load_settings(data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = open_engine(settings.database)
    try:
        await migrate(engine)
        yield AccountStore(engine)
    finally:
        await engine.dispose()


def new_account_json(account: NewAccount) -> dict[str, str]:
    return {
        "accountId": account.id,
        "primaryKey": account.primary_key,
        "secondaryKey": account.secondary_key,
    }


def _account_json(record: AccountRecord) -> dict[str, object]:
    created = datetime.fromtimestamp(record.created_at, UTC).isoformat(timespec="seconds")
    return {"accountId": record.id, "name": record.name, "created": created}


@click.group()
def account() -> None:
    """Create, list and delete accounts; rotate their keys."""


@account.command()
@data_dir_option
@output_option
@click.option("--name", default=None, help="A label to tell accounts apart.")
def create(data_dir: Path | None, output: str, name: str | None) -> None:
    """Create an account and print its id and both keys (shown only now)."""

    async def work() -> NewAccount:
        async with account_store(data_dir) as store:
            return await store.create(datetime.now(UTC).timestamp(), name)

    created = run_async(work)
    if output == "json":
        print_json(new_account_json(created))
        return
    click.echo(f"Account id:    {created.id}")
    click.echo(f"Primary key:   {created.primary_key}")
    click.echo(f"Secondary key: {created.secondary_key}")
    click.echo("Keep the keys safe: RenderHub stores only their hashes and cannot show them again.")


@account.command(name="list")
@data_dir_option
@output_option
def list_accounts(data_dir: Path | None, output: str) -> None:
    """List the accounts."""

    async def work() -> list[AccountRecord]:
        async with account_store(data_dir) as store:
            return await store.list()

    records = run_async(work)
    if output == "json":
        print_json([_account_json(record) for record in records])
        return
    table = Table("Account id", "Name", "Created")
    for record in records:
        row = _account_json(record)
        table.add_row(str(row["accountId"]), str(row["name"] or ""), str(row["created"]))
    Console().print(table)


@account.command()
@click.argument("account_id")
@data_dir_option
@output_option
def show(account_id: str, data_dir: Path | None, output: str) -> None:
    """Show one account."""

    async def work() -> AccountRecord | None:
        async with account_store(data_dir) as store:
            return await store.get(account_id.lower())

    record = run_async(work)
    if record is None:
        raise click.ClickException(f"No account with id {account_id!r}.")
    row = _account_json(record)
    if output == "json":
        print_json(row)
        return
    for label, value in row.items():
        click.echo(f"{label + ':':<11}{value or ''}")


@account.command(name="rotate-key")
@click.argument("account_id")
@click.option(
    "--key",
    "slot",
    type=click.Choice([slot.value for slot in KeySlot]),
    required=True,
    help="Which key to replace; the other keeps working meanwhile.",
)
@data_dir_option
@output_option
def rotate_key(account_id: str, slot: str, data_dir: Path | None, output: str) -> None:
    """Replace one of an account's two keys and print the new one."""

    async def work() -> str | None:
        async with account_store(data_dir) as store:
            return await store.rotate_key(account_id.lower(), KeySlot(slot))

    key = run_async(work)
    if key is None:
        raise click.ClickException(f"No account with id {account_id!r}.")
    if output == "json":
        print_json({"accountId": account_id.lower(), f"{slot}Key": key})
    else:
        click.echo(f"New {slot} key: {key}")


@account.command()
@click.argument("account_id")
@data_dir_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(account_id: str, data_dir: Path | None, yes: bool) -> None:
    """Delete an account and its ended sessions. Refused while it has active sessions."""
    account_id = account_id.lower()

    async def work() -> str:
        async with account_store(data_dir) as store:
            if await store.get(account_id) is None:
                return "missing"
            active = await SessionStore(store.engine).list_active(account_id, limit=1)
            if active:
                return "active"
            return "deleted" if await store.delete(account_id) else "missing"

    if not yes:
        click.confirm(f"Delete account {account_id} and all its sessions?", abort=True)
    outcome = run_async(work)
    if outcome == "missing":
        raise click.ClickException(f"No account with id {account_id!r}.")
    if outcome == "active":
        raise click.ClickException(
            "The account still has active sessions; stop them first, then delete it."
        )
    click.echo(f"Deleted account {account_id}.")
