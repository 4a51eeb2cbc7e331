"""The Ray actor that holds one render host on a cluster node.

It binds the host's two sockets on its node, writes the control plane's public key beside
them, starts `renderhub host` as its child (which dies with the actor however the actor is
killed: PR_SET_PDEATHSIG, set from __init__ on the actor's main thread), and reports where
the host is. It imports nothing of Ray at module level: the control plane pickles the class by
reference, and each node imports it from its own RenderHub installation.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from renderhub.backends.ports import bind_port
from renderhub.host_protocol import (
    CONTROL_TOKEN_ENV,
    HOST_COMMAND,
    KILLED_WITHIN_SECONDS,
    Flag,
    exit_words,
    repeated,
)

# Where a node says which address clients reach its hosts at (a public IP before NAT, a
# load balancer...): this environment variable on the node, or this Ray node label.
HOST_ADDRESS_ENV = "RENDERHUB_HOST_ADDRESS"
HOST_ADDRESS_LABEL = "renderhub-host-address"
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class HostLaunch:
    """What the control plane sends the actor: the host's arguments (without where to
    listen, the models dir or the key file: those are the node's), environment and key."""

    arguments: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    public_key_pem: str | None = None


class HostActor:
    """One render host on this node, alive exactly as long as the actor."""

    def __init__(self, launch: HostLaunch) -> None:
        import ray

        context = ray.get_runtime_context()
        self._node_id = context.get_node_id()
        self._node_ip = ray.util.get_node_ip_address()
        self._advertised = _advertised_address(context, self._node_ip)
        self._work_dir = Path(tempfile.mkdtemp(prefix="renderhub-host-"))
        self._log_path = self._work_dir / "host.log"
        self._control_token = launch.environment.get(CONTROL_TOKEN_ENV, "")
        handshake, inspector = bind_port(self._node_ip), bind_port(self._node_ip)
        self._ports = handshake.getsockname()[1], inspector.getsockname()[1]
        try:
            self._process = self._spawn(launch, [handshake.fileno(), inspector.fileno()])
        finally:
            handshake.close()
            inspector.close()

    def _spawn(self, launch: HostLaunch, fds: list[int]) -> subprocess.Popen[bytes]:
        command = host_command(launch, self._work_dir, self._node_ip, fds)
        with open(self._log_path, "ab") as log_file:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                pass_fds=fds,
                env={**os.environ, **launch.environment},
                preexec_fn=_die_with_parent,  # only a prctl: safe in a threaded parent
            )

    def report(self) -> dict[str, Any]:
        """Where the host is: what the control plane keeps on the session row."""
        return {
            "address": self._node_ip,
            "hostname": self._advertised,
            "port": self._ports[0],
            "inspectorPort": self._ports[1],
            "pid": self._process.pid,
            "nodeId": self._node_id,
            "controlToken": self._control_token,
            "log": str(self._log_path),
        }

    def host_exit(self) -> str | None:
        """None while the host runs; otherwise how it ended, in words."""
        code = self._process.poll()
        if code is None:
            return None
        return exit_words(code)

    def stop_host(self, grace_seconds: float) -> str:
        """SIGTERM the host, then SIGKILL after `grace_seconds`; returns how it ended."""
        for sig, wait in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, KILLED_WITHIN_SECONDS)):
            if self._process.poll() is not None:
                break
            self._process.send_signal(sig)
            try:
                self._process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
        return self.host_exit() or "still running"


def host_command(launch: HostLaunch, work_dir: Path, node_ip: str, fds: list[int]) -> list[str]:
    """The host's command line on this node: the control plane's arguments, then the node's own
    (its models dir and key file under `work_dir`, its address, the listening sockets `fds`)."""
    command = [sys.executable, *HOST_COMMAND, *launch.arguments]
    command += [Flag.MODELS_DIR, str(work_dir / "models")]
    command += [Flag.ICE_ADDRESS, node_ip]
    command += repeated(Flag.LISTEN_FD, [str(fd) for fd in fds])
    if launch.public_key_pem:
        key_path = work_dir / "public-key.pem"
        key_path.write_text(launch.public_key_pem)
        command += [Flag.PUBLIC_KEY, str(key_path)]
    return command


def _advertised_address(context: Any, node_ip: str) -> str:
    labels: dict[str, str] = {}
    get_labels = getattr(context, "get_node_labels", None)
    if get_labels is not None:
        labels = get_labels() or {}
    return os.environ.get(HOST_ADDRESS_ENV) or labels.get(HOST_ADDRESS_LABEL) or node_ip


def _die_with_parent() -> None:
    """In the child, before exec: be sent SIGKILL when the actor's process goes away."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
