"""The local backend's process handling, on real processes: plain and warm-pool hosts."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from renderhub.backends.base import HostPhase, HostSpec, IdleHostSpec, load_backend
from renderhub.backends.local import LocalBackend
from renderhub.backends.ports import PORT_RANGE, bind_port
from renderhub.errors import BackendError, ConfigurationError
from renderhub.samples import install_samples
from renderhub.sizes import SessionSize
from tests.conftest import make_settings

_STUBBORN = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(120)\n"
)


def _stubborn_process() -> subprocess.Popen[bytes]:
    """A process that ignores SIGTERM, in its own session like a host."""
    process = subprocess.Popen(
        [sys.executable, "-c", _STUBBORN], stdout=subprocess.PIPE, start_new_session=True
    )
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    return process


def _state(pid: int) -> dict[str, object]:
    return {
        "pid": pid,
        "createTime": psutil.Process(pid).create_time(),
        "address": "127.0.0.1",
        "port": 1,
        "inspectorPort": 1,
        "controlToken": "unused",
    }


async def test_stop_escalates_to_sigkill_when_sigterm_is_ignored(tmp_path: Path) -> None:
    backend = LocalBackend(make_settings(tmp_path, stop_timeout_seconds=0.3))
    process = _stubborn_process()
    try:
        started = time.monotonic()
        await backend.stop(_state(process.pid))
        assert process.wait(timeout=5) == -9
        assert time.monotonic() - started < 3
    finally:
        process.kill()
        await backend.aclose()


async def test_a_host_that_is_not_our_child_is_polled_through_its_pid(tmp_path: Path) -> None:
    backend = LocalBackend(make_settings(tmp_path))
    process = _stubborn_process()
    state = _state(process.pid)
    try:
        assert (await backend.poll(state)).phase is HostPhase.LOADING  # alive, no /health
        process.kill()
        process.wait()
        health = await backend.poll(state)
        assert health.phase is HostPhase.GONE
        assert health.message == "The render host stopped unexpectedly (process gone)."
        await backend.stop(state)  # stopping a host already gone is fine
    finally:
        await backend.aclose()


async def test_a_reused_pid_is_not_mistaken_for_the_host(tmp_path: Path) -> None:
    backend = LocalBackend(make_settings(tmp_path))
    process = _stubborn_process()
    state = {**_state(process.pid), "createTime": 1.0}  # another process's start time
    try:
        assert (await backend.poll(state)).phase is HostPhase.GONE
        await backend.stop(state)
        assert process.poll() is None, "stop must never signal a process that is not the host"
    finally:
        process.kill()
        process.wait()
        await backend.aclose()


def test_ports_come_from_the_dynamic_range() -> None:
    listeners = [bind_port("127.0.0.1") for _ in range(5)]
    try:
        for listener in listeners:
            assert PORT_RANGE[0] <= listener.getsockname()[1] <= PORT_RANGE[1]
    finally:
        for listener in listeners:
            listener.close()


def test_backends_are_found_by_entry_point(tmp_path: Path) -> None:
    assert isinstance(load_backend(make_settings(tmp_path)), LocalBackend)
    known = r"Unknown backend 'nowhere'; installed: fake, local, ray\."
    with pytest.raises(ConfigurationError, match=known):
        load_backend(make_settings(tmp_path, backend="nowhere"))


async def _wait_for_phase(
    backend: LocalBackend, state: dict[str, object], phase: HostPhase, within: float
) -> None:
    async with asyncio.timeout(within):
        while (health := await backend.poll(state)).phase is not phase:
            assert health.phase in (HostPhase.LOADING, HostPhase.IDLE), health
            await asyncio.sleep(0.05)


def _session_spec(**changes: object) -> HostSpec:
    values: dict[str, object] = {
        "account_id": "account-a",
        "session_id": "pooled-session",
        "size": SessionSize.STANDARD,
        "models": ["samples/cube.glb"],
        "deadline": time.time() + 60,
        "polygon_limit": None,
    }
    return HostSpec(**(values | changes))  # type: ignore[arg-type]


async def test_a_pooled_host_starts_idle_takes_a_session_and_stops(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    install_samples(settings.models_dir)
    backend = LocalBackend(settings)
    spec = IdleHostSpec(
        pool_id="pool-1", size=SessionSize.STANDARD, deadline=time.time() + 60, polygon_limit=None
    )
    started = await backend.start_idle(spec)
    state = started.state
    try:
        assert json.loads(json.dumps(state)) == state, "the state is kept as JSON on a row"
        assert state["poolId"] == "pool-1"
        await _wait_for_phase(backend, state, HostPhase.IDLE, within=60)

        # A control plane that restarted has only the state: a fresh backend assigns with it.
        restarted = LocalBackend(settings)
        try:
            await restarted.assign(state, _session_spec())
            await _wait_for_phase(restarted, state, HostPhase.READY, within=15)
            health = await restarted.poll(state)
            assert health.polygons == 12
            with pytest.raises(BackendError, match=r"refused the session: .*pooled-session"):
                await restarted.assign(state, _session_spec(session_id="another"))
        finally:
            await restarted.aclose()
        log = await asyncio.to_thread(Path(str(state["log"])).read_text)
        assert "assigned session pooled-session" in log
    finally:
        await backend.stop(state)
        await backend.aclose()
    assert (await backend.poll(state)).phase is HostPhase.GONE


async def test_assigning_a_host_that_is_gone_raises(tmp_path: Path) -> None:
    backend = LocalBackend(make_settings(tmp_path))
    process = _stubborn_process()
    state = _state(process.pid)
    process.kill()
    process.wait()
    try:
        with pytest.raises(BackendError, match=r"^The pooled render host is gone \(process gone\)"):
            await backend.assign(state, _session_spec())
    finally:
        await backend.aclose()


async def test_assigning_a_host_that_does_not_answer_raises(tmp_path: Path) -> None:
    backend = LocalBackend(make_settings(tmp_path))
    process = _stubborn_process()  # alive, but serves nothing on the state's port
    try:
        with pytest.raises(BackendError, match=r"^The pooled render host did not answer: "):
            await backend.assign(_state(process.pid), _session_spec())
    finally:
        process.kill()
        process.wait()
        await backend.aclose()


async def test_a_hosts_models_are_not_on_its_command_line(tmp_path: Path) -> None:
    """A model URL may carry a SAS, and any user of the machine can read a command line: the
    models travel in the host's environment, which only its owner can read."""
    settings = make_settings(tmp_path)
    install_samples(settings.models_dir)
    model = "samples/cube.glb"
    backend = LocalBackend(settings)
    started = await backend.start(_session_spec(session_id="private", models=[model]))
    state = started.state
    try:
        await _wait_for_phase(backend, state, HostPhase.READY, within=60)
        assert (await backend.poll(state)).polygons == 12, "the model came through"
        process = psutil.Process(int(str(state["pid"])))
        assert not any(model in argument for argument in process.cmdline())
    finally:
        await backend.stop(state)
        await backend.aclose()
