"""The `renderhub` command. Subcommands are imported only when run, so each starts fast."""

from __future__ import annotations

import importlib

import click

_SUBCOMMANDS = {
    "serve": ("renderhub.cli.serve", "serve"),
    "account": ("renderhub.cli.accounts", "account"),
    "admin": ("renderhub.cli.admin", "admin"),
    "host": ("renderhub.host.command", "host"),
    "session": ("renderhub.cli.sessions", "session"),
    "conversion": ("renderhub.cli.conversions", "conversion"),
    "usage": ("renderhub.cli.usage", "usage"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup)
@click.version_option(package_name="renderhub")
def cli() -> None:
    """RenderHub: self-hosted remote rendering with Azure Remote Rendering's session API."""


def main() -> None:
    cli(prog_name="renderhub")
