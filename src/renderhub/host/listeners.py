"""The TCP sockets a host serves on: inherited from its parent, or bound by itself."""

from __future__ import annotations

import socket

import click


def inherited_listener(fd: int) -> socket.socket:
    """Adopt an inherited, bound TCP socket (the parent should already listen on it)."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        raise click.BadParameter(
            f"{fd} is not an open socket ({exc.strerror}).", param_hint="'--listen-fd'"
        ) from exc
    stream = sock.type == socket.SOCK_STREAM
    if not stream or sock.family not in (socket.AF_INET, socket.AF_INET6):
        sock.detach()
        raise click.BadParameter(f"{fd} is not a TCP socket.", param_hint="'--listen-fd'")
    if sock.getsockname()[1] == 0:
        sock.detach()
        raise click.BadParameter(f"{fd} is not bound to a port.", param_hint="'--listen-fd'")
    sock.setblocking(False)
    return sock


def bind_listener(address: str, port: int) -> socket.socket:
    """Bind and listen on `address`:`port` (port 0 picks a free one; the log names it)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        return socket.create_server((address, port), family=family, backlog=128)
    except OSError as exc:
        raise click.ClickException(
            f"Could not listen on {address}:{port}: {exc.strerror or exc}."
        ) from exc
