"""The local backend: one `renderhub host` process per session on this machine, and warm-pool
hosts (`renderhub host --pooled`) started idle and assigned a session later.

Hosts are started in their own process session, so they outlive a control-plane restart;
their listening sockets are bound here (in 49152-65534) and inherited, so no other process
can take the port between choosing it and serving on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil

from renderhub.backends.base import (
    BackendState,
    HostHealth,
    HostPhase,
    HostSpec,
    IdleHostSpec,
    StartedHost,
    settings_arguments,
)
from renderhub.backends.compute import measure_teraflops
from renderhub.backends.host_http import HostHttp, assignment_body
from renderhub.backends.ports import bind_port
from renderhub.errors import BackendError
from renderhub.host_protocol import (
    CONTROL_TOKEN_ENV,
    DEADLINE_PATH,
    HOST_COMMAND,
    KILLED_WITHIN_SECONDS,
    SHUTDOWN_PATH,
    Flag,
    deadline_body,
    exit_words,
    lease_arguments,
    models_environment,
    pooled_arguments,
    session_arguments,
    shutdown_body,
    stopped_unexpectedly,
)
from renderhub.settings import Settings
from renderhub.tokens import public_key_path

log = logging.getLogger(__name__)


class LocalBackend:
    name = "local"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._hosts = HostHttp()
        self._teraflops: float | None = None

    async def start(self, spec: HostSpec) -> StartedHost:
        command = [
            *session_arguments(spec.session_id, spec.account_id),
            *lease_arguments(spec.size, spec.deadline, spec.polygon_limit),
        ]
        log_path = self._log_path(spec.account_id, spec.session_id)
        return await self._launch(command, log_path, models_environment(spec.models))

    async def start_idle(self, spec: IdleHostSpec) -> StartedHost:
        """Start a warm-pool host (`renderhub host --pooled`); it polls IDLE once warm."""
        command = [
            *pooled_arguments(spec.pool_id),
            *lease_arguments(spec.size, spec.deadline, spec.polygon_limit),
        ]
        started = await self._launch(command, self._log_path("pool", f"pool-{spec.pool_id}"))
        started.state["poolId"] = spec.pool_id
        return started

    async def assign(self, state: BackendState, spec: HostSpec) -> None:
        """Give an idle host its session (POST /control/assign); BackendError, saying why, if
        the host is gone or refuses."""
        exit_status = self._exit_status(state)
        if exit_status is not None:
            raise BackendError(f"The pooled render host is gone ({exit_status}).")
        body = assignment_body(spec)
        await self._hosts.assign(state["address"], state["port"], state["controlToken"], body)

    async def _launch(
        self, arguments: list[str], log_path: Path, environment: dict[str, str] | None = None
    ) -> StartedHost:
        if self._teraflops is None:
            self._teraflops = await asyncio.to_thread(measure_teraflops)
        address = self._settings.advertised_host_address
        handshake, inspector = bind_port(address), bind_port(address)
        ports = handshake.getsockname()[1], inspector.getsockname()[1]
        try:
            token = secrets.token_urlsafe(32)
            command = [*self._host_command(), *arguments]
            environment = {**(environment or {}), CONTROL_TOKEN_ENV: token}
            process = self._spawn(command, [handshake, inspector], environment, log_path)
        finally:
            handshake.close()
            inspector.close()
        self._children[process.pid] = process
        state: BackendState = {
            "pid": process.pid,
            "createTime": _create_time(process.pid),
            "address": address,
            "port": ports[0],
            "inspectorPort": ports[1],
            "controlToken": token,
            "log": str(log_path),
        }
        return StartedHost(
            state=state,
            hostname=address,
            handshake_port=state["port"],
            inspector_port=state["inspectorPort"],
            teraflops=self._teraflops,
        )

    def _spawn(
        self,
        command: list[str],
        listeners: list[socket.socket],
        environment: dict[str, str],
        log_path: Path,
    ) -> subprocess.Popen[bytes]:
        for listener in listeners:
            command += [Flag.LISTEN_FD, str(listener.fileno())]
        environment = {**os.environ, **environment}
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log_file:
            try:
                return subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    pass_fds=[listener.fileno() for listener in listeners],
                    start_new_session=True,
                    env=environment,
                )
            except OSError as exc:
                raise BackendError(f"Could not start a render host: {exc.strerror}.") from exc

    def _host_command(self) -> list[str]:
        """The command line every host shares; the session's (or pool's) part follows."""
        settings = self._settings
        command = [
            sys.executable, *HOST_COMMAND,
            Flag.MODELS_DIR, str(settings.models_dir),
            *settings_arguments(settings),
            # Only the address clients are told about: ICE stays on it (loopback by default).
            Flag.ICE_ADDRESS, settings.advertised_host_address,
        ]  # fmt: skip
        public_key = public_key_path(settings.signing_key_path)
        if public_key.exists():
            command += [Flag.PUBLIC_KEY, str(public_key)]
        return command

    def _log_path(self, owner: str, name: str) -> Path:
        """The host's log file, named after its session (or pool id) and owner."""
        digest = hashlib.sha256(f"{owner}/{name}".encode()).hexdigest()
        return self._settings.hosts_dir / f"{name[:64]}-{digest[:12]}.log"

    async def poll(self, state: BackendState) -> HostHealth:
        exit_status = self._exit_status(state)
        if exit_status is not None:
            return HostHealth(HostPhase.GONE, stopped_unexpectedly(exit_status))
        health = await self._hosts.health(state["address"], state["port"])
        return health or HostHealth(HostPhase.LOADING)

    async def set_deadline(self, state: BackendState, deadline: float) -> None:
        await self._post_control(state, DEADLINE_PATH, deadline_body(deadline))

    async def _post_control(self, state: BackendState, path: str, body: dict[str, object]) -> None:
        token = state["controlToken"]
        await self._hosts.control(state["address"], state["port"], token, path, body)

    async def stop(self, state: BackendState, reason: str | None = None) -> None:
        pid = int(state["pid"])
        if self._exit_status(state) is not None:
            self._children.pop(pid, None)
            return
        if reason:
            await self._post_control(state, SHUTDOWN_PATH, shutdown_body(reason))
        for sig, wait in (
            (signal.SIGTERM, self._settings.stop_timeout_seconds),
            (signal.SIGKILL, KILLED_WITHIN_SECONDS),
        ):
            _signal_group(pid, sig)
            if await self._wait_gone(state, wait):
                self._children.pop(pid, None)
                return
        raise BackendError(f"The render host (pid {pid}) did not exit after SIGKILL.")

    async def _wait_gone(self, state: BackendState, within: float) -> bool:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + within
        while loop.time() < give_up:
            if self._exit_status(state) is not None:
                return True
            await asyncio.sleep(0.02)
        return self._exit_status(state) is not None

    def _exit_status(self, state: BackendState) -> str | None:
        """None while the host runs; otherwise how it ended, in words."""
        pid = int(state["pid"])
        child = self._children.get(pid)
        if child is not None:
            code = child.poll()
            if code is None:
                return None
            return exit_words(code)
        try:
            process = psutil.Process(pid)
            same = abs(process.create_time() - float(state["createTime"])) < 1.0
            if same and process.status() != psutil.STATUS_ZOMBIE:
                return None
        except psutil.Error:
            pass  # no such process, or none we may look at: either way not our host
        return "process gone"

    async def aclose(self) -> None:
        await self._hosts.aclose()


def _create_time(pid: int) -> float:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return 0.0


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
