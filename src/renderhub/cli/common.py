"""What several commands share: the data-dir option, settings, and one-sentence errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from renderhub.errors import RenderHubError
from renderhub.settings import Settings

T = TypeVar("T")

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="RENDERHUB_DATA_DIR",
    default=None,
    help="Where the store, keys and logs live [env: RENDERHUB_DATA_DIR].",
)

output_option = click.option(
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="How to print the result.",
)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the flags that were given on top."""
    given = {key: value for key, value in overrides.items() if value not in (None, ())}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        sentence = f"Setting {where}: {message}." if where else f"{message}."
        raise click.ClickException(sentence) from exc


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine, turning RenderHub's errors into one clear sentence."""
    try:
        return asyncio.run(make())
    except RenderHubError as exc:
        raise click.ClickException(exc.message) from exc
    except OSError as exc:
        raise click.ClickException(f"{exc.strerror or exc}: {exc.filename or ''}".strip()) from exc


def print_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2))
