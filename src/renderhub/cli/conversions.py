"""`renderhub conversion ...`: converting models in storage containers into assets that
sessions load. Exit codes: see renderhub.cli.client_options (8: the conversion failed).

`--output` names the output container (`URL[?SAS]`) and, as on every other command, the
output format: `--output json` or `--output table`; both may be given."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import click
from rich.console import Console
from rich.table import Column, Table

from renderhub.cli.client_options import (
    make_client,
    one_sentence_errors,
    output_option,
    service_options,
)
from renderhub.client import (
    Conversion,
    ConversionInput,
    ConversionOutput,
    RenderHubClient,
    split_sas,
)
from renderhub.client.config import ConversionDefaults

_FORMATS = ("table", "json")


@click.group()
def conversion() -> None:
    """Convert models in storage containers into assets sessions load fast."""


@conversion.command()
@service_options
@click.option(
    "--input",
    "input_url",
    metavar="URL[?SAS]",
    help="The input container, with a container SAS allowing read and list (sp=rl) "
    "for a blob container [default: arrconfig's blobInputContainerName].",
)
@click.option("--input-sas", metavar="SAS", help="The input SAS, if not in --input's URL.")
@click.option(
    "--input-prefix",
    metavar="PREFIX",
    help="Only blobs under this folder are read [arrconfig: inputFolderPath].",
)
@click.option(
    "--input-path",
    metavar="PATH",
    help="The model, relative to the prefix, e.g. box.fbx [arrconfig: inputAssetPath].",
)
@click.option(
    "--output",
    "output_values",
    multiple=True,
    metavar="URL[?SAS] | json | table",
    help="The output container, with a SAS allowing writes (sp=w) for a blob "
    "container [default: arrconfig's blobOutputContainerName]; or the output format.",
)
@click.option("--output-sas", metavar="SAS", help="The output SAS, if not in --output's URL.")
@click.option(
    "--output-prefix",
    metavar="PREFIX",
    help="Folder for the asset and its logs [arrconfig: outputFolderPath].",
)
@click.option(
    "--output-name",
    metavar="NAME.arrAsset",
    help="The asset's file name [default: the input's name with .arrAsset].",
)
@click.option(
    "--blob-endpoint",
    metavar="URL",
    help="Blob service of arrconfig's storage account, for storage that is not "
    "Azure's [env: RENDERHUB_BLOB_ENDPOINT].",
)
@click.option("--id", "conversion_id", help="Conversion id [default: a new UUID].")
@click.option("--wait", is_flag=True, help="Wait until the conversion ends, showing progress.")
@click.option("--timeout", type=float, default=3600.0, show_default=True,
              help="Seconds --wait waits.")  # fmt: skip
def start(**options: Any) -> None:
    """Start converting a model."""
    output_format, output_url = _split_output_values(options.pop("output_values"))
    options["output"] = output_format
    with one_sentence_errors():
        client, settings = make_client(options)
        defaults = settings.conversion
        if options["blob_endpoint"]:
            defaults = _with_endpoint(defaults, options["blob_endpoint"])
        source = _input(options, defaults)
        target = _output(options, defaults, output_url)
        with client:
            started = client.start_conversion(
                options["conversion_id"], source=source, target=target
            )
            if options["wait"]:
                started = _wait(client, started.id, options["timeout"], output_format)
    _print_conversion(started, output_format)


def _split_output_values(values: tuple[str, ...]) -> tuple[str, str | None]:
    formats = [value for value in values if value.lower() in _FORMATS]
    urls = [value for value in values if value.lower() not in _FORMATS]
    if len(formats) > 1 or len(urls) > 1:
        raise click.UsageError(
            "--output takes one output container URL and at most one format (json or table)."
        )
    return (formats[0].lower() if formats else "table"), (urls[0] if urls else None)


def _with_endpoint(defaults: ConversionDefaults, endpoint: str) -> ConversionDefaults:
    return replace(defaults, blob_endpoint=endpoint)


def _input(options: dict[str, Any], defaults: ConversionDefaults) -> ConversionInput:
    url = options["input_url"] or defaults.container_uri(defaults.input_container)
    path = options["input_path"] or defaults.input_asset_path
    if not url:
        raise click.UsageError(
            "Name the input container: --input URL[?SAS], or blobInputContainerName and "
            "storageAccountName in arrconfig.json."
        )
    if not path:
        raise click.UsageError("Name the model: --input-path PATH, or arrconfig's inputAssetPath.")
    uri, sas = _with_sas(url, options["input_sas"], "--input")
    prefix = options["input_prefix"] or defaults.input_folder
    return ConversionInput(uri, path, blob_prefix=_folder(prefix), sas=sas)


def _output(
    options: dict[str, Any], defaults: ConversionDefaults, url: str | None
) -> ConversionOutput:
    url = url or defaults.container_uri(defaults.output_container)
    if not url:
        raise click.UsageError(
            "Name the output container: --output URL[?SAS], or blobOutputContainerName and "
            "storageAccountName in arrconfig.json."
        )
    uri, sas = _with_sas(url, options["output_sas"], "--output")
    prefix = options["output_prefix"] or defaults.output_folder
    name = options["output_name"] or defaults.output_asset_filename
    return ConversionOutput(uri, blob_prefix=_folder(prefix), asset_filename=name, sas=sas)


def _with_sas(url: str, sas: str | None, flag: str) -> tuple[str, str | None]:
    uri, in_url = split_sas(url)
    if in_url and sas:
        raise click.UsageError(f"{flag}'s URL already carries a SAS; drop {flag}-sas.")
    return uri, (in_url or sas or None)


def _folder(prefix: str | None) -> str | None:
    """ARR's scripts write folder paths without the trailing '/' a blob prefix needs."""
    if not prefix:
        return None
    return prefix if prefix.endswith("/") else f"{prefix}/"


def _wait(client: RenderHubClient, conversion_id: str, timeout: float, output: str) -> Conversion:
    console = Console(stderr=True)
    started = time.monotonic()
    if output == "json" or not console.is_terminal:
        return client.wait_for_conversion(conversion_id, timeout=timeout)
    with console.status(f"Conversion {conversion_id} is starting…") as status:

        def progress(current: Conversion) -> None:
            elapsed = time.monotonic() - started
            state = "waiting for a worker" if current.status == "NotStarted" else "running"
            status.update(f"Conversion {conversion_id} is {state}… {elapsed:.0f} s")

        return client.wait_for_conversion(conversion_id, timeout=timeout, progress=progress)


def _print_conversion(item: Conversion, output: str) -> None:
    if output == "json":
        click.echo(json.dumps(item.to_json(), indent=2))
        return
    rows = {
        "id": item.id,
        "status": item.status.value,
        "input": item.to_json()["input"] or "",
        "asset": item.output_asset_uri or "",
        "error": f"{item.error_code}: {item.message}" if item.message else "",
    }
    for label, value in rows.items():
        if value:
            click.echo(f"{label + ':':<8}{value}")


@conversion.command()
@service_options
@output_option
@click.argument("conversion_id")
def show(conversion_id: str, **options: Any) -> None:
    """Show one conversion."""
    with one_sentence_errors():
        client, _ = make_client(options)
        with client:
            _print_conversion(client.get_conversion(conversion_id), options["output"])


@conversion.command(name="list")
@service_options
@output_option
def list_conversions(**options: Any) -> None:
    """List the account's conversions."""
    with one_sentence_errors():
        client, _ = make_client(options)
        with client:
            conversions = list(client.list_conversions())
    if options["output"] == "json":
        click.echo(json.dumps([item.to_json() for item in conversions], indent=2))
        return
    table = Table("Status", "Created", "Asset or error")
    table.columns.insert(0, Column("Conversion", overflow="fold"))
    for item in conversions:
        created = item.creation_time.strftime("%Y-%m-%d %H:%M") if item.creation_time else "-"
        table.add_row(item.id, item.status.value, created, item.output_asset_uri or item.message)
    Console().print(table if conversions else "No conversions.")
