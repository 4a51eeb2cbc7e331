#!/usr/bin/env python3
"""Control-plane benchmark for RenderHub; prints one JSON object on stdout.

It starts `renderhub serve` on loopback with a temporary data directory, once per worker
count, and measures:

1. GET-session throughput with a valid token (wrk when it is on PATH, else a Python asyncio
   load generator), with latency percentiles and the count of errors and non-200 answers;
2. create->Ready latency of cold sessions (each with samples/cube.glb), created one after
   another; each is stopped and gone from the list before the next is created.

Every loop is bounded; sessions are stopped, and the server and its render hosts are killed
at the end, also on Ctrl-C. Progress goes to stderr. Run with the project's venv:

    .venv/bin/python bench/control_plane.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import psutil

from figures import emit, log, new_report, percentile, summary

API_VERSION = "api-version=2021-01-01"
SESSION_BODY = {"maxLeaseTimeMinutes": 10, "size": "Standard", "models": ["samples/cube.glb"]}
TARGET = {"get_requests_per_second_min": 3000, "create_ready_median_seconds_max": 1.5}
SERVER_START_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 60.0
GONE_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 10.0


# -- the server under test -------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    account_id: str
    key: str
    workers: int
    data_dir: Path
    log_path: Path

    @property
    def host_port(self) -> tuple[str, int]:
        _, _, rest = self.base_url.partition("://")
        host, _, port = rest.partition(":")
        return host, int(port)

    def sessions_url(self, session_id: str = "") -> str:
        suffix = f"/{session_id}" if session_id else ""
        return f"{self.base_url}/accounts/{self.account_id}/sessions{suffix}?{API_VERSION}"

    def v1_sessions_url(self, session_id: str = "") -> str:
        suffix = f"/{session_id}/properties" if session_id else ""
        return f"{self.base_url}/v1/accounts/{self.account_id}/sessions{suffix}"

    def stop_url(self, session_id: str) -> str:
        return (
            f"{self.base_url}/accounts/{self.account_id}/sessions/{session_id}/:stop?{API_VERSION}"
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_environment(capacity: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any RENDERHUB_* setting, plus the bench's own."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RENDERHUB_")}
    environment.update(
        RENDERHUB_CAPACITY_STANDARD=str(capacity),
        RENDERHUB_LOG_LEVEL="warning",
        PYTHONUNBUFFERED="1",
        **(extra or {}),
    )
    return environment


def start_server(
    root: Path, workers: int, capacity: int, extra: dict[str, str] | None = None
) -> Server:
    data_dir = root / f"data-w{workers}"
    log_path = root / f"server-w{workers}.log"
    port = free_port()
    command = [sys.executable, "-m", "renderhub", "serve", "--data-dir", str(data_dir)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    log(f"starting server: workers={workers} port={port}")
    with open(log_path, "wb") as output:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=server_environment(capacity, extra),
            start_new_session=True,
        )
    account_id, key = wait_for_banner(process, log_path)
    server = Server(
        process, f"http://127.0.0.1:{port}", account_id, key, workers, data_dir, log_path
    )
    wait_healthy(server)
    return server


def wait_for_banner(process: subprocess.Popen[bytes], log_path: Path) -> tuple[str, str]:
    give_up = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < give_up:
        text = log_path.read_text(errors="replace")
        account = re.search(r"account id:\s+(\S+)", text)
        key = re.search(r"primary key:\s+(\S+)", text)
        if account and key:
            return account.group(1), key.group(1)
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{text[-2000:]}")
        time.sleep(0.05)
    raise RuntimeError("the server printed no account id and key in time")


def wait_healthy(server: Server) -> None:
    give_up = time.monotonic() + SERVER_START_TIMEOUT_S
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < give_up:
            if server.process.poll() is not None:
                raise RuntimeError(f"the server exited; see {server.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{server.base_url}/healthz").status_code == 200:
                    return
            time.sleep(0.05)
    raise RuntimeError("the server did not answer /healthz in time")


def server_processes(server: Server) -> list[psutil.Process]:
    """The server, its workers and every render host they started (hosts run in their own
    process sessions, so a process-group kill would miss them)."""
    try:
        root = psutil.Process(server.process.pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def stop_server(server: Server) -> None:
    processes = server_processes(server)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(SHUTDOWN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(5)
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(processes, timeout=5)
    log(f"server (workers={server.workers}) stopped")


@dataclass
class MachineCpu:
    """Machine-wide busy and stolen CPU seconds (all cores), to spot competing load."""

    busy: float
    steal: float

    @classmethod
    def now(cls) -> MachineCpu:
        times = psutil.cpu_times()
        steal = getattr(times, "steal", 0.0)
        busy = times.user + times.nice + times.system
        busy += getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0)
        return cls(busy=busy, steal=steal)


def cpu_seconds(processes: Sequence[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


# -- API calls -------------------------------------------------------------------------------


async def fetch_token(client: httpx.AsyncClient, server: Server) -> str:
    response = await client.get(
        f"{server.base_url}/accounts/{server.account_id}/token",
        headers={"Authorization": f"Bearer {server.account_id}:{server.key}"},
    )
    response.raise_for_status()
    return str(response.json()["AccessToken"])


async def create_session(client: httpx.AsyncClient, server: Server, session_id: str) -> None:
    response = await client.put(server.sessions_url(session_id), json=SESSION_BODY)
    if response.status_code != 201:
        raise RuntimeError(f"create {session_id}: {response.status_code} {response.text}")


async def wait_ready(
    client: httpx.AsyncClient, server: Server, session_id: str, interval: float
) -> float | None:
    """Poll the session until it is Ready; the perf_counter time of that answer, or None."""
    give_up = time.perf_counter() + READY_TIMEOUT_S
    while time.perf_counter() < give_up:
        response = await client.get(server.sessions_url(session_id))
        status = response.json().get("status") if response.status_code == 200 else None
        if status == "Ready":
            return time.perf_counter()
        if status not in ("Starting", None):
            log(f"session {session_id} became {status}: {response.text}")
            return None
        await asyncio.sleep(interval)
    log(f"session {session_id} was not Ready within {READY_TIMEOUT_S:g} s")
    return None


async def stop_session(client: httpx.AsyncClient, server: Server, session_id: str) -> None:
    response = await client.post(server.stop_url(session_id))
    if response.status_code != 204:
        raise RuntimeError(f"stop {session_id}: {response.status_code} {response.text}")


async def active_ids(client: httpx.AsyncClient, server: Server) -> list[str]:
    """Sessions in the 2021 list (Starting, Ready; a Stopping one reads as Stopped there)."""
    response = await client.get(server.sessions_url())
    response.raise_for_status()
    return [session["id"] for session in response.json()["sessions"]]


async def v1_active_ids(client: httpx.AsyncClient, server: Server) -> list[str]:
    """Sessions in the v1 list, which shows a session Stopping until its host is gone."""
    response = await client.get(server.v1_sessions_url())
    response.raise_for_status()
    return [session["sessionId"] for session in response.json()["sessions"]]


async def host_gone(client: httpx.AsyncClient, server: Server, session_id: str) -> bool:
    response = await client.get(server.v1_sessions_url(session_id))
    response.raise_for_status()
    return response.json()["sessionStatus"] in ("Stopped", "Expired", "Error")


async def poll_until(check: Callable[[], Awaitable[bool]], interval: float) -> bool:
    """Call `check` every `interval` until it is true (True) or GONE_TIMEOUT_S pass (False)."""
    for _ in range(max(1, int(GONE_TIMEOUT_S / interval))):
        if await check():
            return True
        await asyncio.sleep(interval)
    return False


async def stop_all(client: httpx.AsyncClient, server: Server, interval: float) -> None:
    """Best effort: stop every active session and wait until their hosts are gone."""

    async def none_left() -> bool:
        return not await v1_active_ids(client, server)

    with contextlib.suppress(httpx.HTTPError, RuntimeError):
        for session_id in await active_ids(client, server):
            await stop_session(client, server, session_id)
        await poll_until(none_left, interval)


@contextlib.asynccontextmanager
async def api_client(server: Server) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async with httpx.AsyncClient(trust_env=False, timeout=10.0) as client:
        token = await fetch_token(client, server)
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, token


# -- create -> Ready -------------------------------------------------------------------------


@dataclass
class ColdStart:
    session_id: str
    put_sent_epoch: float
    put_s: float
    ready_s: float | None
    stop_call_s: float | None = None
    stop_to_gone_s: float | None = None
    stop_to_host_gone_s: float | None = None
    phases_s: dict[str, float] = field(default_factory=dict)


async def one_cold_start(
    client: httpx.AsyncClient, server: Server, session_id: str, interval: float
) -> ColdStart:
    sent_epoch, sent = time.time(), time.perf_counter()
    await create_session(client, server, session_id)
    put_s = time.perf_counter() - sent
    ready_at = await wait_ready(client, server, session_id, interval)
    ready_s = None if ready_at is None else ready_at - sent
    result = ColdStart(session_id, sent_epoch, put_s, ready_s)
    await measure_stop(client, server, result, interval)
    return result


async def measure_stop(
    client: httpx.AsyncClient, server: Server, result: ColdStart, interval: float
) -> None:
    """Stop the session; time the call, its leaving the 2021 list, and its host's exit (v1
    Stopped). The next create waits for the last, so it starts cold."""
    session_id = result.session_id

    async def unlisted() -> bool:
        return session_id not in await active_ids(client, server)

    began = time.perf_counter()
    await stop_session(client, server, session_id)
    result.stop_call_s = time.perf_counter() - began
    if await poll_until(unlisted, interval):
        result.stop_to_gone_s = time.perf_counter() - began
    if await poll_until(lambda: host_gone(client, server, session_id), interval):
        result.stop_to_host_gone_s = time.perf_counter() - began


_HOST_MARKERS = {
    "host_started": ": starting:",
    "host_listening": ": listening on ",
    "host_ready": ": ready:",
}


def host_phases(server: Server, cold: ColdStart) -> dict[str, float]:
    """Where the time went, read from the host's log (best effort: its lines are not an API).

    spawn_and_import: PUT sent -> host logs 'starting' (API, Popen, interpreter, imports);
    server_up: -> host listens; model_load: -> host ready (mesh imports, parse);
    detect: -> client sees Ready (control plane's host poll, store update, client poll)."""
    logs = list((server.data_dir / "hosts").glob(f"{cold.session_id}-*.log"))
    if not logs or cold.ready_s is None:
        return {}
    marks: dict[str, float] = {}
    for line in logs[0].read_text(errors="replace").splitlines():
        for name, marker in _HOST_MARKERS.items():
            if marker in line and name not in marks:
                with contextlib.suppress(ValueError):
                    stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
                    marks[name] = stamp.timestamp()
    if len(marks) != len(_HOST_MARKERS):
        return {}
    ready_epoch = cold.put_sent_epoch + cold.ready_s
    return {
        "spawn_and_import": marks["host_started"] - cold.put_sent_epoch,
        "server_up": marks["host_listening"] - marks["host_started"],
        "model_load": marks["host_ready"] - marks["host_listening"],
        "detect": ready_epoch - marks["host_ready"],
    }


async def measure_cold_starts(server: Server, count: int, interval: float) -> dict[str, Any]:
    results: list[ColdStart] = []
    async with api_client(server) as (client, _token):
        try:
            for index in range(count):
                session_id = f"bench-ready-{index:03d}-{uuid.uuid4().hex[:8]}"
                cold = await one_cold_start(client, server, session_id, interval)
                cold.phases_s = host_phases(server, cold)
                results.append(cold)
                log(f"cold start {index + 1}/{count}: ready {_fmt(cold.ready_s)} s, "
                    f"stop->host gone {_fmt(cold.stop_to_host_gone_s)} s")  # fmt: skip
        finally:
            await stop_all(client, server, interval)
    return cold_start_report(server, results, interval)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def cold_start_report(server: Server, results: list[ColdStart], interval: float) -> dict[str, Any]:
    def values(name: str) -> list[float]:
        return [v for r in results if (v := getattr(r, name)) is not None]

    phase_names = sorted({name for r in results for name in r.phases_s})
    return {
        "workers": server.workers,
        "sessions": len(results),
        "model": SESSION_BODY["models"],
        "poll_interval_s": interval,
        "failures": sum(1 for r in results if r.ready_s is None or r.stop_to_host_gone_s is None),
        "create_to_ready_s": summary(values("ready_s"), digits=4),
        "put_call_s": summary(values("put_s"), digits=4),
        "stop_call_s": summary(values("stop_call_s"), digits=4),
        "stop_to_gone_from_list_s": summary(values("stop_to_gone_s"), digits=4),
        "stop_to_host_gone_s": summary(values("stop_to_host_gone_s"), digits=4),
        "phases_median_s": {
            name: round(statistics.median([r.phases_s[name] for r in results if r.phases_s]), 4)
            for name in phase_names
        },
        "samples_ready_s": [None if r.ready_s is None else round(r.ready_s, 4) for r in results],
    }


# -- GET throughput --------------------------------------------------------------------------


@dataclass
class LoadSpec:
    url: str
    token: str
    connections: int
    duration: float
    threads: int


@dataclass
class LoadResult:
    requests: int
    seconds: float
    non_200: int
    socket_errors: int
    latency_ms: dict[str, float] | None
    generator_cpu_s: float
    detail: dict[str, Any] = field(default_factory=dict)


_WRK_SCRIPT = """
wrk.method = "GET"
wrk.headers["Authorization"] = %(authorization)s
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non200 = 0 end
function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("non200") end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"non200":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"timeout":%%d,"status":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,' ..
    '"max_us":%%d,"mean_us":%%.1f}\\n',
    summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.timeout,
    e.status, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


def wrk_version(wrk: str) -> str | None:
    run = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=10, check=False)
    match = re.search(r"wrk (\S+)", run.stdout + run.stderr)
    return match.group(1) if match else None


def run_wrk(wrk: str, spec: LoadSpec, workdir: Path) -> LoadResult:
    script = workdir / "get_session.lua"
    authorization = json.dumps(f"Bearer {spec.token}")
    script.write_text(_WRK_SCRIPT % {"authorization": authorization})
    command = [wrk, "-t", str(spec.threads), "-c", str(spec.connections)]
    command += ["-d", f"{spec.duration:g}s", "--timeout", "5s", "-s", str(script), spec.url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=spec.duration + 60, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in run.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result ({run.returncode}): {run.stdout}{run.stderr}")
    data = json.loads(line.removeprefix("WRKJSON "))
    socket_errors = sum(data[k] for k in ("connect", "read", "write", "timeout"))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        non_200=data["non200"],
        socket_errors=socket_errors,
        latency_ms={k: round(data[f"{k}_us"] / 1000, 3) for k in ("p50", "p90", "p99", "max")},
        generator_cpu_s=_cpu_delta(before, after),
        detail={"wrk_errors": {k: data[k] for k in ("connect", "read", "write", "timeout")}},
    )


def _cpu_delta(before: resource.struct_rusage, after: resource.struct_rusage) -> float:
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@dataclass
class PyLoadState:
    latencies: list[float] = field(default_factory=list)
    non_200: int = 0
    socket_errors: int = 0


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _py_connection(
    host: str, port: int, request: bytes, stop_at: float, state: PyLoadState
) -> None:
    """One keep-alive connection sending requests back to back until `stop_at`."""
    while time.perf_counter() < stop_at:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            state.socket_errors += 1
            await asyncio.sleep(0.05)
            continue
        try:
            while (began := time.perf_counter()) < stop_at:
                writer.write(request)
                status = await _read_response(reader)
                state.latencies.append(time.perf_counter() - began)
                state.non_200 += status != 200
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            state.socket_errors += 1
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _py_load(host: str, port: int, spec: LoadSpec) -> tuple[PyLoadState, float]:
    _, _, rest = spec.url.partition("://")
    target = "/" + rest.partition("/")[2]
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {spec.token}\r\nAccept: */*\r\n\r\n"
    ).encode()
    state = PyLoadState()
    began = time.perf_counter()
    stop_at = began + spec.duration
    connections = [
        _py_connection(host, port, request, stop_at, state) for _ in range(spec.connections)
    ]
    await asyncio.wait_for(asyncio.gather(*connections), spec.duration + 30)
    return state, time.perf_counter() - began


def run_python_load(host: str, port: int, spec: LoadSpec) -> LoadResult:
    before = resource.getrusage(resource.RUSAGE_SELF)
    state, seconds = _run_loop(_py_load(host, port, spec))
    after = resource.getrusage(resource.RUSAGE_SELF)
    latency = None
    if state.latencies:
        latency = {
            "p50": round(percentile(state.latencies, 0.50) * 1000, 3),
            "p90": round(percentile(state.latencies, 0.90) * 1000, 3),
            "p99": round(percentile(state.latencies, 0.99) * 1000, 3),
            "max": round(max(state.latencies) * 1000, 3),
        }
    return LoadResult(
        requests=len(state.latencies),
        seconds=seconds,
        non_200=state.non_200,
        socket_errors=state.socket_errors,
        latency_ms=latency,
        generator_cpu_s=_cpu_delta(before, after),
    )


def _run_loop(coroutine: Any) -> Any:
    """Run on uvloop when it is installed (a faster generator), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def run_load(generator: str, server: Server, spec: LoadSpec, workdir: Path) -> LoadResult:
    if generator == "python":
        host, port = server.host_port
        return run_python_load(host, port, spec)
    return run_wrk(generator, spec, workdir)


async def prepare_get_session(server: Server, interval: float) -> tuple[str, str]:
    """Create the session the GET load reads, wait until it is Ready; (session id, token)."""
    session_id = f"bench-get-{uuid.uuid4().hex[:8]}"
    async with api_client(server) as (client, token):
        await create_session(client, server, session_id)
        if await wait_ready(client, server, session_id, interval) is None:
            raise RuntimeError("the GET-benchmark session did not become Ready")
    return session_id, token


async def finish_get_session(server: Server, interval: float) -> None:
    async with api_client(server) as (client, _token):
        await stop_all(client, server, interval)


def measure_get(
    server: Server, args: argparse.Namespace, generator: str, workdir: Path
) -> dict[str, Any]:
    session_id, token = asyncio.run(prepare_get_session(server, args.poll_interval))
    url = server.sessions_url(session_id)
    try:
        if args.warmup > 0:
            warm = LoadSpec(url, token, args.connections, args.warmup, args.threads)
            run_load(generator, server, warm, workdir)
        spec = LoadSpec(url, token, args.connections, args.duration, args.threads)
        processes = server_processes(server)
        server_cpu_before, machine_before = cpu_seconds(processes), MachineCpu.now()
        with sampling_profiles(server, args.py_spy, args.duration) as profiles:
            result = run_load(generator, server, spec, workdir)
        server_cpu = cpu_seconds(processes) - server_cpu_before
        machine_after = MachineCpu.now()
    finally:
        asyncio.run(finish_get_session(server, args.poll_interval))
    report = get_report(server, spec, generator, result, server_cpu)
    report.update(other_load(result, server_cpu, machine_before, machine_after))
    if profiles:
        report["py_spy"] = {"files": [str(p) for p in profiles], "top_self": top_frames(profiles)}
    return report


def other_load(
    result: LoadResult, server_cpu_s: float, before: MachineCpu, after: MachineCpu
) -> dict[str, float]:
    """CPU used by neither the server nor the generator, and CPU stolen by the hypervisor,
    during the measured load (percent of one core): high values mean a disturbed figure."""
    other = (after.busy - before.busy) - server_cpu_s - result.generator_cpu_s
    return {
        "other_cpu_percent": round(100 * max(0.0, other) / result.seconds, 1),
        "steal_cpu_percent": round(100 * (after.steal - before.steal) / result.seconds, 1),
    }


def get_report(
    server: Server, spec: LoadSpec, generator: str, result: LoadResult, server_cpu_s: float
) -> dict[str, Any]:
    rps = result.requests / result.seconds if result.seconds > 0 else 0.0
    valid = result.non_200 == 0 and result.socket_errors == 0 and result.requests > 0
    log(f"GET workers={server.workers}: {rps:.0f} req/s, non-200 {result.non_200}, "
        f"socket errors {result.socket_errors}")  # fmt: skip
    return {
        "workers": server.workers,
        "generator": "wrk" if generator != "python" else "python-asyncio",
        "generator_threads": spec.threads if generator != "python" else 1,
        "connections": spec.connections,
        "duration_s": round(result.seconds, 3),
        "requests": result.requests,
        "requests_per_second": round(rps, 1),
        "latency_ms": result.latency_ms,
        "non_200": result.non_200,
        "socket_errors": result.socket_errors,
        "valid": valid,
        "server_cpu_percent": round(100 * server_cpu_s / result.seconds, 1),
        "generator_cpu_percent": round(100 * result.generator_cpu_s / result.seconds, 1),
        **result.detail,
    }


# -- optional sampling profile of the server during the GET load -----------------------------


def worker_pids(server: Server) -> list[int]:
    """The processes that serve requests: the server itself with one worker (uvicorn runs
    in-process then), else the worker processes it spawned."""
    if server.workers == 1:
        return [server.process.pid]
    pids = []
    for child in psutil.Process(server.process.pid).children():
        with contextlib.suppress(psutil.Error):
            if "spawn_main" in " ".join(child.cmdline()):
                pids.append(child.pid)
    return pids


def py_spy_executable() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("--py-spy: py-spy is not installed (.venv/bin/pip install py-spy)")
    return found


@contextlib.contextmanager
def sampling_profiles(server: Server, out_dir: Path | None, seconds: float) -> Iterator[list[Path]]:
    """Record py-spy's folded stacks of every worker while the block runs (if out_dir)."""
    if out_dir is None:
        yield []
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    executable = py_spy_executable()
    paths, recorders = [], []
    for pid in worker_pids(server):
        path = out_dir / f"get-w{server.workers}-pid{pid}.txt"
        command = [executable, "record", "--nonblocking", "-r", "100", "-f", "raw"]
        command += ["-d", str(max(1, int(seconds))), "-p", str(pid), "-o", str(path)]
        recorders.append(
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        paths.append(path)
    try:
        yield paths
    finally:
        for recorder in recorders:
            try:
                recorder.wait(seconds + 30)
            except subprocess.TimeoutExpired:
                recorder.kill()
                recorder.wait()


def top_frames(paths: Sequence[Path], count: int = 12) -> list[str]:
    """The lines most often on top of the stack (self time), as 'percent function (file:line)'.
    py-spy counts a thread blocked in C (a queue's get) as busy, so such waits show up here."""
    tally: dict[str, int] = {}
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            stack, _, samples = line.rpartition(" ")
            leaf = stack.rpartition(";")[2]
            tally[leaf] = tally.get(leaf, 0) + int(samples)
    total = sum(tally.values()) or 1
    ranked = sorted(tally.items(), key=lambda item: -item[1])[:count]
    return [f"{100 * n / total:.1f}% {name}" for name, n in ranked]


# -- orchestration ---------------------------------------------------------------------------


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine_facts(generator: str) -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "renderhub": package_version("renderhub"),
        "uvicorn": package_version("uvicorn"),
        "starlette": package_version("starlette"),
        "sqlalchemy": package_version("sqlalchemy"),
        "uvloop": package_version("uvloop"),
        "httptools": package_version("httptools"),
        "wrk": wrk_version(generator) if generator != "python" else None,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def choose_generator(wanted: str) -> str:
    """The wrk executable's path, or 'python'."""
    wrk = shutil.which("wrk")
    if wanted == "wrk" and wrk is None:
        raise SystemExit("--generator wrk: wrk is not on PATH (apt-get install wrk)")
    if wanted == "python" or wrk is None:
        return "python"
    return wrk


@contextlib.contextmanager
def running_server(root: Path, workers: int, capacity: int) -> Iterator[Server]:
    server = start_server(root, workers, capacity)
    try:
        yield server
    finally:
        stop_server(server)


def run_benchmarks(args: argparse.Namespace, generator: str, root: Path) -> dict[str, Any]:
    get_results: list[dict[str, Any]] = []
    cold: dict[str, Any] | None = None
    worker_counts = [] if args.skip_get else list(dict.fromkeys(args.workers))
    if not args.skip_ready and args.ready_workers not in worker_counts:
        worker_counts.insert(0, args.ready_workers)
    for workers in worker_counts:
        with running_server(root, workers, args.capacity) as server:
            if not args.skip_ready and workers == args.ready_workers:
                cold = asyncio.run(measure_cold_starts(server, args.sessions, args.poll_interval))
            if not args.skip_get and workers in args.workers:
                get_results.append(measure_get(server, args, generator, root))
    return {"get_session": get_results, "create_ready": cold}


def verdict(results: dict[str, Any]) -> dict[str, Any]:
    valid = [r for r in results["get_session"] if r["valid"]]
    best = max((r["requests_per_second"] for r in valid), default=None)
    cold = results["create_ready"]
    median = cold["create_to_ready_s"]["median"] if cold and cold["create_to_ready_s"] else None
    return {
        "get_best_valid_requests_per_second": best,
        "get_meets_target": best is not None and best >= TARGET["get_requests_per_second_min"],
        "create_ready_median_s": median,
        "create_ready_meets_target": median is not None
        and median < TARGET["create_ready_median_seconds_max"],
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="Smoke run (~30 s): short load, 3 sessions.")
    add("--duration", type=float, default=None, help="GET load seconds [10; quick: 3].")
    add("--warmup", type=float, default=None, help="Unmeasured load first [2; quick: 1].")
    add("--connections", type=int, default=32, help="Concurrent GET connections [32].")
    add("--threads", type=int, default=1, help="wrk threads [1; the box has few cores].")
    add("--workers", type=_int_list, default=[1, 2], help="Server worker counts [1,2].")
    add("--ready-workers", type=int, default=1, help="Worker count for create->Ready [1].")
    add("--sessions", type=int, default=None, help="Cold starts measured [20; quick: 3].")
    add("--poll-interval", type=float, default=0.01, help="Ready/gone poll seconds [0.01].")
    add("--capacity", type=int, default=8, help="RENDERHUB_CAPACITY_STANDARD for the server.")
    add("--generator", choices=["auto", "wrk", "python"], default="auto")
    add("--skip-get", action="store_true", help="Skip the GET throughput part.")
    add("--skip-ready", action="store_true", help="Skip the create->Ready part.")
    add("--output", type=Path, help="Also write the JSON to this file.")
    add("--py-spy", type=Path, metavar="DIR", help="Profile the workers during GET load.")
    add("--keep-data", action="store_true", help="Keep the temp dir (server and host logs).")
    args = parser.parse_args(argv)
    quick = args.quick
    args.duration = args.duration if args.duration is not None else (3.0 if quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 2.0)
    args.sessions = args.sessions if args.sessions is not None else (3 if quick else 20)
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads")
    return args


def _int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _raise_interrupt(_signum: int, _frame: object) -> None:
    """Stop the run once; further signals are ignored so the clean-up (bounded) completes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    generator = choose_generator(args.generator)
    started = datetime.now(UTC)
    report = new_report(
        "renderhub-control-plane",
        started,
        machine_facts(generator),
        args,
        mode="quick" if args.quick else "full",
        target=TARGET,
    )
    root = Path(tempfile.mkdtemp(prefix="renderhub-bench-"))
    try:
        report.update(run_benchmarks(args, generator, root))
    except KeyboardInterrupt:
        log("interrupted; servers and hosts were stopped")
        return 130
    finally:
        if args.keep_data:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    report["verdict"] = verdict(report)
    emit(report, started, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
