"""`renderhub account ...`: accounts, their keys and quotas, through a running server's admin
API (--endpoint and an admin token) or on the server's own store (--data-dir); the rule is in
renderhub.cli.admin_options. Same output both ways: tables for people, the admin API's JSON
with --output json. Exit codes: see renderhub.cli.client_options."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.table import Column, Table

from renderhub.cli.account_actions import Accounts, Json, open_accounts
from renderhub.cli.admin_options import Target, target_options
from renderhub.cli.client_options import one_sentence_errors
from renderhub.cli.common import output_option, print_json, run_async
from renderhub.cli.local_store import open_store
from renderhub.cli.tables import table_console
from renderhub.quotas import LEASE_MINUTES_RANGE, MAX_CONVERSIONS_LIMIT, MAX_SESSIONS_LIMIT
from renderhub.store.accounts import AccountStore, KeySlot

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


@asynccontextmanager
async def account_store(data_dir: Path | None) -> AsyncIterator[AccountStore]:
    """The accounts of the server's store (`renderhub serve` makes its first account here)."""
    async with open_store(data_dir) as engine:
        yield AccountStore(engine)


def _on(target: Target, action: Callable[[Accounts], Awaitable[T]]) -> T:
    """Run one action where the target says; client errors become one sentence and the
    exit code of their kind."""

    async def work() -> T:
        async with open_accounts(target) as accounts:
            return await action(accounts)

    with one_sentence_errors():
        return run_async(work)


# -- quota options --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limit:
    """A quota as given on the command line: a number, or None for no limit."""

    value: int | None


class LimitType(click.ParamType):
    """A whole number from `low` to `high`, or `none` (no limit)."""

    name = "limit"

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "N|none"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Limit):
            return value
        text = str(value).strip().lower()
        if text in ("none", "null", "unlimited"):
            return Limit(None)
        if not text.isdigit() or not self.low <= int(text) <= self.high:
            self.fail(f"{value!r} is not a whole number from {self.low} to {self.high:,} "
                      "(or none, for no limit).", param, ctx)  # fmt: skip
        return Limit(int(text))


_QUOTA_OPTIONS = {
    "maxStandardSessions": ("--max-standard-sessions", LimitType(0, MAX_SESSIONS_LIMIT),
                            "Most Standard sessions at once."),
    "maxPremiumSessions": ("--max-premium-sessions", LimitType(0, MAX_SESSIONS_LIMIT),
                           "Most Premium sessions at once."),
    "maxLeaseMinutes": ("--max-lease-minutes", LimitType(*LEASE_MINUTES_RANGE),
                        "Longest lease, in minutes."),
    "maxConversions": ("--max-conversions", LimitType(0, MAX_CONVERSIONS_LIMIT),
                       "Most conversions at once."),
}  # fmt: skip


def quota_options(command: F) -> F:
    for field, (flag, kind, text) in reversed(_QUOTA_OPTIONS.items()):
        command = click.option(flag, field, type=kind, help=f"{text} 'none': no limit.")(command)
    return command


def _given_quotas(options: dict[str, Any]) -> Json:
    """The quota options that were given, as the API's Quotas fields."""
    given = {field: options.pop(field) for field in _QUOTA_OPTIONS}
    return {field: limit.value for field, limit in given.items() if limit is not None}


# -- printing -------------------------------------------------------------------------------


def _limit(value: int | None, unit: str = "") -> str:
    return "no limit" if value is None else f"{value}{unit}"


def _running(active: int, quota: int | None) -> str:
    return f"{active} of {quota}" if quota is not None else str(active)


def _use(active: int, quota: int | None) -> str:
    """What runs against its quota, for `show`: '1 active (quota: 2)'."""
    return f"{active} active ({'no quota' if quota is None else f'quota: {quota}'})"


def _day(moment: str) -> str:
    """An ISO time's date, for a table (`show` gives the whole time)."""
    return moment[:10]


def print_account(account: Json) -> None:
    quotas = account["quotas"]
    active = account["activeSessions"]
    disabled = f"since {account['disabledAt']}" if account["disabled"] else "no"
    rows = {
        "Account id": account["accountId"],
        "Name": account["name"] or "",
        "Created": account["created"],
        "Disabled": disabled,
        "Standard sessions": _use(active["Standard"], quotas["maxStandardSessions"]),
        "Premium sessions": _use(active["Premium"], quotas["maxPremiumSessions"]),
        "Conversions": _use(account["activeConversions"], quotas["maxConversions"]),
        "Longest lease": _limit(quotas["maxLeaseMinutes"], " minutes"),
    }
    for label, value in rows.items():
        click.echo(f"{label + ':':<20}{value}")


def _print(value: Json, output: str, text: Callable[[Json], None]) -> None:
    if output == "json":
        print_json(value)
    else:
        text(value)


def _print_quotas(quotas: Json) -> None:
    table = Table("Quota", "Value")
    labels = {
        "maxStandardSessions": "Standard sessions at once",
        "maxPremiumSessions": "Premium sessions at once",
        "maxLeaseMinutes": "Longest lease (minutes)",
        "maxConversions": "Conversions at once",
    }
    for field, label in labels.items():
        table.add_row(label, _limit(quotas.get(field)))
    table_console().print(table)


# -- commands -------------------------------------------------------------------------------


@click.group()
def account() -> None:
    """Accounts, their keys and quotas: on a running server (--endpoint and an admin token)
    or on the server's store (--data-dir)."""


@account.command()
@target_options
@output_option
@click.option("--name", default=None, help="A label to tell accounts apart.")
@quota_options
def create(target: Target, output: str, name: str | None, **options: Any) -> None:
    """Create an account and print its id and both keys (shown only now)."""
    quotas = _given_quotas(options)
    created = _on(target, lambda accounts: accounts.create(name, quotas or None))
    if output == "json":
        print_json(created)
        return
    click.echo(f"Account id:    {created['accountId']}")
    click.echo(f"Primary key:   {created['primaryKey']}")
    click.echo(f"Secondary key: {created['secondaryKey']}")
    click.echo("Keep the keys safe: RenderHub stores only their hashes and cannot show them again.")


@account.command(name="list")
@target_options
@output_option
def list_accounts(target: Target, output: str) -> None:
    """List the accounts, oldest first, with what they run and their quotas."""
    accounts = _on(target, lambda accounts: accounts.list())
    if output == "json":
        print_json(accounts)  # the admin API's "accounts"
        return
    table = Table("Name", "Created", "Disabled", "Standard", "Premium", "Conversions")
    # The id is what the next command needs: fold it in a narrow terminal, never cut it.
    table.columns.insert(0, Column("Account id", overflow="fold"))
    for item in accounts:
        quotas, active = item["quotas"], item["activeSessions"]
        table.add_row(
            item["accountId"], item["name"] or "", _day(item["created"]),
            "yes" if item["disabled"] else "",
            _running(active["Standard"], quotas["maxStandardSessions"]),
            _running(active["Premium"], quotas["maxPremiumSessions"]),
            _running(item["activeConversions"], quotas["maxConversions"]),
        )  # fmt: skip
    table_console().print(table if accounts else "No accounts.")


@account.command()
@click.argument("account_id")
@target_options
@output_option
def show(account_id: str, target: Target, output: str) -> None:
    """Show one account: its state, what it runs and its quotas."""
    found = _on(target, lambda accounts: accounts.show(account_id.lower()))
    _print(found, output, print_account)


@account.command()
@click.argument("account_id")
@click.argument("name")
@target_options
@output_option
def rename(account_id: str, name: str | None, target: Target, output: str) -> None:
    """Give an account a new name ("" takes its name away)."""
    renamed = _on(target, lambda accounts: accounts.rename(account_id.lower(), name or None))
    _print(renamed, output, print_account)


@account.command()
@click.argument("account_id")
@target_options
@output_option
def disable(account_id: str, target: Target, output: str) -> None:
    """Disable an account: its keys and tokens stop working at once, its active sessions are
    stopped. Nothing is deleted; `enable` takes it back."""
    disabled = _on(target, lambda accounts: accounts.disable(account_id.lower()))

    def text(account: Json) -> None:
        print_account(account)
        stopped = account["stoppedSessions"]
        click.echo(f"Stopped {stopped} session{'' if stopped == 1 else 's'}.")

    _print(disabled, output, text)


@account.command()
@click.argument("account_id")
@target_options
@output_option
def enable(account_id: str, target: Target, output: str) -> None:
    """Enable a disabled account: its keys work again."""
    enabled = _on(target, lambda accounts: accounts.enable(account_id.lower()))
    _print(enabled, output, print_account)


@account.command(name="rotate-key")
@click.argument("account_id")
@click.option(
    "--key",
    "slot",
    type=click.Choice([slot.value for slot in KeySlot]),
    required=True,
    help="Which key to replace; the other keeps working meanwhile.",
)
@target_options
@output_option
def rotate_key(account_id: str, slot: Any, target: Target, output: str) -> None:
    """Replace one of an account's two keys and print the new one."""
    rotated = _on(target, lambda accounts: accounts.rotate_key(account_id.lower(), slot))
    if output == "json":
        print_json(rotated)
    else:
        click.echo(f"New {slot} key: {rotated[f'{slot}Key']}")


@account.command()
@click.argument("account_id")
@target_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(account_id: str, target: Target, yes: bool) -> None:
    """Delete an account and its ended sessions. Refused while it has active sessions or
    conversions. Its metered usage is kept."""
    account_id = account_id.lower()
    if not yes:
        click.confirm(f"Delete account {account_id} and all its sessions?", abort=True)
    _on(target, lambda accounts: accounts.delete(account_id))
    click.echo(f"Deleted account {account_id}.")


@account.group()
def quota() -> None:
    """An account's quotas: sessions at once per size, longest lease, conversions at once."""


@quota.command(name="show")
@click.argument("account_id")
@target_options
@output_option
def show_quotas(account_id: str, target: Target, output: str) -> None:
    """Show an account's quotas."""
    quotas = _on(target, lambda accounts: accounts.quotas(account_id.lower()))
    _print(quotas, output, _print_quotas)


@quota.command(name="set")
@click.argument("account_id")
@quota_options
@target_options
@output_option
def set_quotas(account_id: str, target: Target, output: str, **options: Any) -> None:
    """Change some of an account's quotas (those not given stay as they are). A quota
    lowered below what runs now stops nothing; it applies to what is created next."""
    changes = _given_quotas(options)
    if not changes:
        raise click.UsageError("Give at least one quota to set (see --help).")
    account_id = account_id.lower()

    async def change(accounts: Accounts) -> Json:
        current = await accounts.quotas(account_id)
        return await accounts.set_quotas(account_id, {**current, **changes})

    _print(_on(target, change), output, _print_quotas)
