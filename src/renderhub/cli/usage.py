"""`renderhub usage`: metered Ready time per period, account and size, and what it costs.

On the server's own store (--data-dir, RENDERHUB_DATABASE_URL) or through a running server's
admin API (--endpoint and an admin token; the rule is in renderhub.cli.admin_options). Both
ways give the admin API's report (`--output json` prints it as is); the table and the CSV are
written from it, so they show the same figures."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import click
from rich.table import Column, Table

from renderhub.admin.usage import Prices, report_from
from renderhub.admin.usage_query import parse_usage_query
from renderhub.cli.admin_options import AdminConnection, LocalStore, Target, target_options
from renderhub.cli.client_options import one_sentence_errors
from renderhub.cli.common import load_settings, print_json, run_async
from renderhub.cli.tables import table_console
from renderhub.store.database import migrate, open_engine
from renderhub.store.usage import UsageStore

Report = dict[str, Any]
CSV_HEADER = ("period", "account", "size", "seconds", "hours", "cost")


@click.command()
@target_options
@click.option("--account", default=None, help="Only this account (its id).")
@click.option("--size", default=None, help="Only this size: Standard or Premium.")
@click.option(
    "--since",
    default=None,
    help="From this date or date-time (ISO 8601, UTC unless it says otherwise) "
    "[default: the start of --until's month].",
)
@click.option("--until", default=None, help="Up to this moment, excluded [default: now].")
@click.option(
    "--by", type=click.Choice(["day", "month"]), default="day", show_default=True, help="Periods."
)
@click.option(
    "--output",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="How to print the report.",
)
def usage(
    target: Target,
    account: str | None,
    size: str | None,
    since: str | None,
    until: str | None,
    by: str,
    output: str,
) -> None:
    """Show metered Ready time per period, account and size, with its cost."""
    query = {"since": since, "until": until, "by": by, "account": account, "size": size}
    report = fetch_report(target, {name: value for name, value in query.items() if value})
    if output == "json":
        print_json(report)
    elif output == "csv":
        click.echo(report_csv(report), nl=False)
    else:
        table_console().print(report_table(report))


def fetch_report(target: Target, query: dict[str, str]) -> Report:
    """The report as GET /admin/usage answers it, from the server or from the local store."""
    if isinstance(target, AdminConnection):
        return _from_server(target, query)
    return run_async(lambda: _from_store(target, query))


def _from_server(target: AdminConnection, query: dict[str, str]) -> Report:
    async def work() -> Report:
        async with target.client() as admin:
            return dict(await admin.usage(**query))

    with one_sentence_errors():
        return run_async(work)


async def _from_store(target: LocalStore, query: dict[str, str]) -> Report:
    settings = load_settings(data_dir=target.data_dir)
    now = datetime.now(UTC)
    parsed = parse_usage_query(query.items(), now)  # bad input fails before the store opens
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = open_engine(settings.database)
    try:
        await migrate(engine)
        report = await report_from(UsageStore(engine), parsed, now, Prices.of(settings))
    finally:
        await engine.dispose()
    return report.json()


def duration(seconds: float) -> str:
    """h:mm:ss, with milliseconds where there are any (1:30:00, 0:00:00.750)."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, fraction = divmod(rest, 1000)
    text = f"{hours}:{minutes:02d}:{whole:02d}"
    return f"{text}.{fraction:03d}" if fraction else text


def report_table(report: Report) -> Table:
    currency = report["currency"]
    prices = ", ".join(f"{size} {price:g} {currency}/h" for size, price in report["prices"].items())
    table = Table(
        "Period",
        Column("Account", overflow="fold"),
        "Size",
        Column("Ready time", justify="right"),
        Column("Hours", justify="right"),
        Column(f"Cost ({currency})", justify="right"),
        title=f"Usage from {report['since']} to {report['until']} by {report['by']}",
        caption=f"Prices per session-hour: {prices}",
    )
    for row in report["rows"]:
        table.add_row(
            row["period"], row["accountId"], row["size"], *_figures(row), end_section=False
        )
    table.add_section()
    table.add_row("Total", "", "", *_figures(report["total"]), style="bold")
    return table


def _figures(figures: dict[str, float]) -> tuple[str, str, str]:
    return duration(figures["seconds"]), f"{figures['hours']:.6f}", f"{figures['cost']:.6f}"


def report_csv(report: Report) -> str:
    """A header and one line per row: period,account,size,seconds,hours,cost."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in report["rows"]:
        writer.writerow(
            (
                row["period"],
                row["accountId"],
                row["size"],
                f"{row['seconds']:.3f}",
                f"{row['hours']:.6f}",
                f"{row['cost']:.6f}",
            )
        )
    return buffer.getvalue()
