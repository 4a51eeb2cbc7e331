"""Tables for people: rich's console, as wide as the terminal; off a terminal (a pipe, a
file) wide enough that an id is never folded."""

from __future__ import annotations

from rich.console import Console

PIPE_WIDTH = 132


def table_console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=PIPE_WIDTH)
