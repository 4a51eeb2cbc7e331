#!/usr/bin/env python3
"""Ray backend benchmark for RenderHub; prints one JSON object on stdout.

It starts a two-node Ray cluster on loopback (head 127.0.0.2, worker 127.0.0.3, token auth
on, fast node-death detection: tests/backends/ray_cluster.py) and a `renderhub serve` with
RENDERHUB_BACKEND=ray, then measures:

1. create->Ready of cold sessions (each with samples/cube.glb, fetched by the host from the
   control plane's models route), created one after another: from sending the PUT to the
   first GET that reads Ready (polled every 10 ms); each is stopped and its actor gone before
   the next, so no host is reused. Ray spreads them over both nodes.
2. worker node killed (SIGKILL of every process of the node, by pid) -> its Ready sessions
   read Error: from the kill to the first GET that reads Error for all of them.

Every wait is bounded; the server and both nodes (with every host) are killed at the end.

    .venv/bin/python bench/ray_backend.py [--sessions 10] [--output result.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from figures import log, summary

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.backends.ray_cluster import (  # noqa: E402
    WORKER_IP,
    driver_environment,
    ray_cluster,
)
from tests.e2e.server import ServerProcess, SignedIn, free_port, sign_in  # noqa: E402

API_VERSION = "api-version=2021-01-01"
SESSION_BODY = {"maxLeaseTimeMinutes": 10, "size": "Standard", "models": ["samples/cube.glb"]}
TARGET = {"create_ready_median_seconds_max": 2.5, "node_death_to_error_seconds_max": 5.0}
POLL_S = 0.01
READY_TIMEOUT_S = 60.0
ERROR_TIMEOUT_S = 30.0


def _url(signed_in: SignedIn, session_id: str) -> str:
    return f"/accounts/{signed_in.account_id}/sessions/{session_id}?{API_VERSION}"


def _wait_status(signed_in: SignedIn, session_id: str, status: str, within: float) -> dict:
    give_up = time.monotonic() + within
    while True:
        body: dict[str, Any] = signed_in.client.get(_url(signed_in, session_id)).json()
        if body["status"] == status:
            return body
        if body["status"] in ("Error", "Stopped", "Expired") or time.monotonic() > give_up:
            raise RuntimeError(f"session {session_id} never reached {status}: {body}")
        time.sleep(POLL_S)


def _stop(signed_in: SignedIn, session_id: str) -> None:
    """Stop the session and wait until v1 reads Stopped (its actor and host are gone)."""
    signed_in.client.delete(f"/v1/accounts/{signed_in.account_id}/sessions/{session_id}/")
    properties = f"/v1/accounts/{signed_in.account_id}/sessions/{session_id}/properties"
    give_up = time.monotonic() + 30
    while signed_in.client.get(properties).json().get("sessionStatus") != "Stopped":
        if time.monotonic() > give_up:
            raise RuntimeError(f"session {session_id} did not stop")
        time.sleep(0.05)


def measure_create_ready(signed_in: SignedIn, count: int) -> dict[str, Any]:
    timings, nodes = [], []
    for index in range(count):
        session_id = f"cold-{index}"
        started = time.monotonic()
        response = signed_in.client.put(_url(signed_in, session_id), json=SESSION_BODY)
        if response.status_code != 201:
            raise RuntimeError(f"create failed: {response.status_code} {response.text}")
        body = _wait_status(signed_in, session_id, "Ready", READY_TIMEOUT_S)
        timings.append(time.monotonic() - started)
        nodes.append(body["hostname"])
        log(f"{session_id}: Ready in {timings[-1]:.2f} s on {body['hostname']}")
        _stop(signed_in, session_id)
    return {
        "seconds": summary(timings),
        "median_s": round(statistics.median(timings), 3),
        "per_node": {node: nodes.count(node) for node in sorted(set(nodes))},
    }


def measure_node_death(signed_in: SignedIn, cluster: Any, hosts: int) -> dict[str, Any]:
    ids = [f"doomed-{index}" for index in range(hosts)]
    for session_id in ids:
        signed_in.client.put(_url(signed_in, session_id), json=SESSION_BODY)
    bodies = {sid: _wait_status(signed_in, sid, "Ready", READY_TIMEOUT_S) for sid in ids}
    on_worker = [sid for sid, body in bodies.items() if body["hostname"] == WORKER_IP]
    if not on_worker:
        raise RuntimeError("Ray placed no session on the worker node")
    log(f"killing the worker node ({len(cluster.worker.pids())} processes)")
    killed = time.monotonic()
    cluster.worker.kill()
    pending = set(on_worker)
    messages = set()
    while pending:
        if time.monotonic() - killed > ERROR_TIMEOUT_S:
            raise RuntimeError(f"sessions {sorted(pending)} never read Error")
        for session_id in list(pending):
            body = signed_in.client.get(_url(signed_in, session_id)).json()
            if body["status"] == "Error":
                pending.discard(session_id)
                messages.add(body["error"]["message"])
        time.sleep(POLL_S)
    seconds = time.monotonic() - killed
    log(f"worker's sessions in Error {seconds:.2f} s after the kill")
    return {
        "seconds": round(seconds, 3),
        "sessions_on_worker": len(on_worker),
        "messages": sorted(messages),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10, help="cold creates to time")
    parser.add_argument("--output", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="renderhub-bench-ray-"))
    log(f"starting a 2-node Ray cluster in {work}")
    result: dict[str, Any] = {
        "bench": "ray_backend",
        "machine": {"cpus": psutil.cpu_count(), "python": platform.python_version()},
        "target": TARGET,
    }
    with ray_cluster(work) as cluster:
        os.environ.update(driver_environment(cluster.token))
        os.environ.update(RENDERHUB_BACKEND="ray", RENDERHUB_RAY_ADDRESS=cluster.address)
        server = ServerProcess(work / "data", free_port())
        try:
            server.start(within=120)
            signed_in = sign_in(server)
            _wait_status_ready_cluster(signed_in)
            result["machine"]["loadavg_at_start"] = os.getloadavg()
            result["create_ready"] = measure_create_ready(signed_in, args.sessions)
            result["node_death_to_error"] = measure_node_death(signed_in, cluster, hosts=2)
            result["machine"]["loadavg_at_end"] = os.getloadavg()
        finally:
            server.terminate()
    result["meets_target"] = {
        "create_ready": result["create_ready"]["median_s"]
        <= TARGET["create_ready_median_seconds_max"],
        "node_death_to_error": result["node_death_to_error"]["seconds"]
        <= TARGET["node_death_to_error_seconds_max"],
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


def _wait_status_ready_cluster(signed_in: SignedIn) -> None:
    """A warm-up session, so the first timed create does not pay for the worker node joining
    and Ray's first worker processes (that is cluster start-up, not a create)."""
    signed_in.client.put(_url(signed_in, "warm-up"), json=SESSION_BODY)
    _wait_status(signed_in, "warm-up", "Ready", 120)
    _stop(signed_in, "warm-up")


if __name__ == "__main__":
    main()
