"""Binding a render host's listening sockets before the host starts.

The backend (or the Ray actor, on its node) binds and listens, then hands the sockets to the
host as inherited file descriptors, so no other process can take a port between choosing it
and serving on it.
"""

from __future__ import annotations

import random
import socket

from renderhub.errors import BackendError

PORT_RANGE = (49152, 65534)
_PORT_TRIES = 64


def bind_port(address: str) -> socket.socket:
    """A listening, inheritable TCP socket on `address` and a random port in PORT_RANGE."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    for port in random.sample(range(PORT_RANGE[0], PORT_RANGE[1] + 1), _PORT_TRIES):
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((address, port))
        except OSError:
            listener.close()
            continue
        listener.listen(128)
        listener.set_inheritable(True)
        return listener
    raise BackendError(f"No free port in {PORT_RANGE[0]}-{PORT_RANGE[1]} on {address}.")
