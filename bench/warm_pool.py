#!/usr/bin/env python3
"""Warm pools through the whole service: `renderhub serve` on its local backend with
RENDERHUB_WARM_STANDARD hosts kept warm. Prints one JSON object on stdout.

1. create -> Ready with a warm host: --sessions sessions one after another, each created only
   once the pool is full again (so each takes a warm host), with samples/cube.glb: from sending
   the PUT to the first GET that reads Ready (polled every --poll-interval), then stopped;
2. churn: for --churn-seconds, --in-flight clients each create a session, wait until it is
   Ready, stop it, and start over; sessions completed per second, and how many of them found a
   warm host (the rest started cold because the pool had not refilled yet).

    .venv/bin/python bench/warm_pool.py [--warm 2] [--sessions 20] [--churn-seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from control_plane import (
    Server,
    api_client,
    create_session,
    start_server,
    stop_server,
    wait_ready,
)
from figures import log, summary

TARGETS = {"warm_create_ready_median_ms_max": 100, "churn_sessions_per_second_min": 20}


def idle_hosts(server: Server) -> int:
    with sqlite3.connect(server.data_dir / "renderhub.db") as db:
        (count,) = db.execute("SELECT count(*) FROM pool_hosts WHERE status = 'idle'").fetchone()
    return int(count)


def took_warm_host(server: Server, session_id: str) -> bool:
    """Whether the session's host came from the pool (its state carries a pool id)."""
    with sqlite3.connect(server.data_dir / "renderhub.db") as db:
        row = db.execute(
            "SELECT backend_state FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
    return bool(row and row[0] and "poolId" in json.loads(row[0]))


async def until_pool_full(server: Server, warm: int, within: float = 60.0) -> float:
    began = time.perf_counter()
    while idle_hosts(server) < warm:
        if time.perf_counter() - began > within:
            raise RuntimeError("the pool did not fill up in time")
        await asyncio.sleep(0.05)
    return time.perf_counter() - began


async def stop(client: httpx.AsyncClient, server: Server, session_id: str) -> None:
    response = await client.post(server.stop_url(session_id))
    response.raise_for_status()


async def warm_creates(server: Server, warm: int, count: int, interval: float) -> dict[str, Any]:
    times: list[float] = []
    took_warm = 0
    async with api_client(server) as (client, _token):
        for number in range(count):
            await until_pool_full(server, warm)
            session_id = f"warm-{number}"
            sent = time.perf_counter()
            await create_session(client, server, session_id)
            ready = await wait_ready(client, server, session_id, interval)
            if ready is not None:
                times.append((ready - sent) * 1000)
            took_warm += took_warm_host(server, session_id)
            await stop(client, server, session_id)
    log(f"warm create->Ready: median {summary(times)}")
    return {"create_ready_ms": summary(times, 1), "took_a_warm_host": took_warm, "of": count}


async def churn(server: Server, seconds: float, in_flight: int, interval: float) -> dict[str, Any]:
    done: list[str] = []
    failed = 0
    stop_at = time.perf_counter() + seconds

    async def one_client(number: int, client: httpx.AsyncClient) -> None:
        nonlocal failed
        round_ = 0
        while time.perf_counter() < stop_at:
            round_ += 1
            session_id = f"churn-{number}-{round_}"
            response = await client.put(
                server.sessions_url(session_id),
                json={"maxLeaseTimeMinutes": 10, "size": "Standard", "models": []},
            )
            if response.status_code == 429:
                await asyncio.sleep(0.05)
                continue
            response.raise_for_status()
            if await wait_ready(client, server, session_id, interval) is None:
                failed += 1
            else:
                done.append(session_id)
            await stop(client, server, session_id)

    async with api_client(server) as (client, _token):
        began = time.perf_counter()
        await asyncio.gather(*(one_client(n, client) for n in range(in_flight)))
        elapsed = time.perf_counter() - began
    warm_share = sum(took_warm_host(server, session_id) for session_id in done)
    rate = len(done) / elapsed
    log(f"churn: {len(done)} sessions in {elapsed:.1f} s = {rate:.1f}/s")
    return {
        "seconds": round(elapsed, 1),
        "sessions_completed": len(done),
        "sessions_per_second": round(rate, 2),
        "took_a_warm_host": warm_share,
        "failed": failed,
        "in_flight": in_flight,
    }


async def run(arguments: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="renderhub-bench-") as folder:
        extra = {"RENDERHUB_WARM_STANDARD": str(arguments.warm)}
        server = start_server(Path(folder), 1, arguments.capacity, extra)
        try:
            filled = await until_pool_full(server, arguments.warm)
            log(f"pool of {arguments.warm} warm in {filled:.1f} s")
            result: dict[str, Any] = {
                "bench": "warm_pool",
                "warm": arguments.warm,
                "capacity": arguments.capacity,
                "first_fill_s": round(filled, 2),
                "warm_create": await warm_creates(
                    server, arguments.warm, arguments.sessions, arguments.poll_interval
                ),
            }
            if arguments.churn_seconds > 0:
                await until_pool_full(server, arguments.warm)
                result["churn"] = await churn(
                    server, arguments.churn_seconds, arguments.in_flight, arguments.poll_interval
                )
            result["targets"] = TARGETS
            return result
        finally:
            stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=2)
    parser.add_argument("--capacity", type=int, default=4)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--churn-seconds", type=float, default=60.0)
    parser.add_argument("--in-flight", type=int, default=2)
    parser.add_argument("--poll-interval", type=float, default=0.005)
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(run(arguments)), indent=2))


if __name__ == "__main__":
    main()
