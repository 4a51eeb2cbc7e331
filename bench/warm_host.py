#!/usr/bin/env python3
"""Warm-pool host benchmark for RenderHub; prints one JSON object on stdout.

Through the local backend (the code path the control plane uses), it starts pooled hosts
(`renderhub host --pooled`) one at a time, each with a fresh temporary data directory's
settings, and measures:

1. warm-up: start_idle -> the backend's poll reports IDLE;
2. assign -> Ready for samples/cube.glb: from calling `backend.assign` to the first poll
   that reads READY (polled every --poll-interval), split into phases: the assign request
   (sent, host parsed it, answered 202), loading on the host (its health's loadSeconds), and
   the rest (poll detection, loop hand-offs). `renderer_scene_ms` is the time the warm
   renderer then took to take the scene (from the host's log): clients can stream after it;
3. memory of an idle host and its children (RSS, PSS, USS per process, MB), and again once
   the first host is Ready with no client connected.

Only one host runs at a time; each is stopped (and checked gone) before the next starts.
Run with the project's venv:

    .venv/bin/python bench/warm_host.py [--quick] [--sessions 20] [--output FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from figures import emit, log, new_report, summary
from renderhub.backends.base import BackendState, HostPhase, HostSpec, IdleHostSpec
from renderhub.backends.local import LocalBackend
from renderhub.samples import install_samples
from renderhub.settings import Settings
from renderhub.sizes import SessionSize

MODEL = "samples/cube.glb"
TARGET = {
    "create_to_ready_warm_median_ms_max": 100,
    "create_to_ready_warm_median_ms_aim": 50,
    "idle_host_rss_mb_max": 150,
}
WARM_TIMEOUT_S = 120.0
READY_TIMEOUT_S = 30.0
SETTLE_S = 1.0  # let an idle host's start-up garbage go before memory is read
_SCENE_LINE = re.compile(r"renderer ready in \d+ ms \(scene (\d+) ms\)")


async def wait_phase(
    backend: LocalBackend, state: BackendState, phase: HostPhase, interval: float, within: float
) -> float:
    """Poll until the host reports `phase`; return the seconds it took."""
    began = time.perf_counter()
    async with asyncio.timeout(within):
        while (health := await backend.poll(state)).phase is not phase:
            if health.phase in (HostPhase.FAILED, HostPhase.GONE):
                raise RuntimeError(f"the host is {health.phase}: {health.message}")
            await asyncio.sleep(interval)
    return time.perf_counter() - began


def memory(pid: int) -> dict[str, dict[str, float]]:
    """RSS, PSS and USS (MB) of the host and each of its descendants, by role."""
    host = psutil.Process(pid)
    figures: dict[str, dict[str, float]] = {}
    for process in [host, *host.children(recursive=True)]:
        info = process.memory_full_info()
        name = _role(process, pid)
        figures[name] = {
            "rss": round(info.rss / 2**20, 1),
            "pss": round(info.pss / 2**20, 1),
            "uss": round(info.uss / 2**20, 1),
        }
    figures["total"] = {
        key: round(sum(v[key] for v in figures.values()), 1) for key in ("rss", "pss", "uss")
    }
    return figures


def _role(process: psutil.Process, host_pid: int) -> str:
    if process.pid == host_pid:
        return "host"
    command = " ".join(process.cmdline())
    if "resource_tracker" in command:
        return "resource_tracker"
    if "forkserver" in command:
        return "forkserver"
    if "renderhub.host.render.child" in command:
        return "renderer"
    return f"other-{process.pid}"


def session_spec(index: int) -> HostSpec:
    return HostSpec(
        account_id="bench-account",
        session_id=f"bench-{index}",
        size=SessionSize.STANDARD,
        models=[MODEL],
        deadline=time.time() + 300,
        polygon_limit=None,
    )


async def one_host(
    backend: LocalBackend, index: int, args: argparse.Namespace, measure_memory: bool
) -> dict[str, Any]:
    spec = IdleHostSpec(
        pool_id=f"bench-{index}",
        size=SessionSize.STANDARD,
        deadline=time.time() + 300,
        polygon_limit=None,
    )
    began = time.perf_counter()
    started = await backend.start_idle(spec)
    state = started.state
    result: dict[str, Any] = {}
    try:
        await wait_phase(backend, state, HostPhase.IDLE, 0.02, WARM_TIMEOUT_S)
        result["warm_up_s"] = time.perf_counter() - began
        await asyncio.sleep(SETTLE_S)
        if measure_memory:
            result["idle_memory"] = memory(int(state["pid"]))
        assign_began = time.perf_counter()
        await backend.assign(state, session_spec(index))
        assigned = time.perf_counter()
        await wait_phase(backend, state, HostPhase.READY, args.poll_interval, READY_TIMEOUT_S)
        ready = time.perf_counter()
        async with httpx.AsyncClient(trust_env=False) as client:
            health = (await client.get(_health_url(state))).json()
        result["assign_to_ready_ms"] = (ready - assign_began) * 1000.0
        result["assign_request_ms"] = (assigned - assign_began) * 1000.0
        result["host_load_ms"] = float(health["loadSeconds"]) * 1000.0
        result["renderer_scene_ms"] = await _scene_ms(Path(state["log"]))
        if measure_memory:
            await asyncio.sleep(SETTLE_S)
            result["ready_memory"] = memory(int(state["pid"]))
    finally:
        await backend.stop(state)
    return result


def _health_url(state: BackendState) -> str:
    return f"http://{state['address']}:{state['port']}/health"


async def _scene_ms(log_path: Path) -> float | None:
    """The warm renderer's scene hand-over, from the host's log (written just after Ready)."""
    give_up = time.monotonic() + 10
    while time.monotonic() < give_up:
        text = await asyncio.to_thread(log_path.read_text, errors="replace")
        if match := _SCENE_LINE.search(text):
            return float(match.group(1))
        await asyncio.sleep(0.05)
    return None


async def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    settings = Settings(data_dir=root, stop_timeout_seconds=5.0)
    install_samples(settings.models_dir)
    backend = LocalBackend(settings)
    runs: list[dict[str, Any]] = []
    try:
        for index in range(args.sessions):
            result = await one_host(backend, index, args, measure_memory=index < args.memory_hosts)
            log(
                f"host {index + 1}/{args.sessions}: warm {result['warm_up_s']:.2f} s, "
                f"assign->ready {result['assign_to_ready_ms']:.1f} ms"
            )
            runs.append(result)
    finally:
        await backend.aclose()
    return report_of(runs)


def report_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def figures(key: str) -> list[float]:
        return [run[key] for run in runs if run.get(key) is not None]

    total, request, load = (
        figures("assign_to_ready_ms"),
        figures("assign_request_ms"),
        figures("host_load_ms"),
    )
    rest = [t - r - h for t, r, h in zip(total, request, load, strict=True)]
    idle = [run["idle_memory"] for run in runs if "idle_memory" in run]
    ready = [run["ready_memory"] for run in runs if "ready_memory" in run]
    median = _median(total)
    idle_rss = statistics.median(m["total"]["rss"] for m in idle) if idle else None
    return {
        "warm_up_s": summary(figures("warm_up_s")),
        "assign_to_ready_ms": summary(total, 1),
        "phases_median_ms": {
            "assign_request": _median(request),
            "host_load": _median(load),
            "detection_and_rest": _median(rest),
        },
        "renderer_scene_ms": summary(figures("renderer_scene_ms"), 1),
        "idle_memory_mb": idle,
        "ready_no_client_memory_mb": ready,
        "verdict": {
            "assign_to_ready_median_ms": median,
            "meets_target": median is not None
            and median <= TARGET["create_to_ready_warm_median_ms_max"],
            "idle_rss_total_mb_median": idle_rss,
            "idle_rss_meets_target": idle_rss is not None
            and idle_rss <= TARGET["idle_host_rss_mb_max"],
        },
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="Smoke run: 3 hosts.")
    add("--sessions", type=int, default=None, help="Pooled hosts assigned [20; quick: 3].")
    add("--memory-hosts", type=int, default=3, help="Hosts whose memory is read [3].")
    add("--poll-interval", type=float, default=0.002, help="Ready poll seconds [0.002].")
    add("--output", type=Path, help="Also write the JSON to this file.")
    add("--keep-data", action="store_true", help="Keep the temp dir (host logs).")
    args = parser.parse_args()
    if args.sessions is None:
        args.sessions = 3 if args.quick else 20
    return args


def _raise_interrupt(_signum: int, _frame: object) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    started = datetime.now(UTC)
    report = new_report(
        "renderhub-warm-host",
        started,
        {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        args,
        target=TARGET,
    )
    root = Path(tempfile.mkdtemp(prefix="renderhub-bench-warm-"))
    try:
        report.update(asyncio.run(run(args, root)))
    except KeyboardInterrupt:
        log("interrupted; the running host was stopped")
        return 130
    finally:
        if args.keep_data:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    emit(report, started, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
