#!/usr/bin/env python3
"""Several control-plane replicas on one PostgreSQL (a throwaway server, or
RENDERHUB_TEST_DATABASE_URL), on the fake backend so that only the control plane is measured.
Prints one JSON object on stdout.

1. admission: 300 concurrent creates spread over 3 replicas against a capacity of 20: how many
   were admitted (must be exactly 20) and how long the burst took;
2. takeover: a replica holding --sessions Starting sessions is killed with SIGKILL; the time
   until every one of them is claimed by a surviving replica. Once with the victim on this
   machine (it is seen dead at once: its process is gone), once with the victim in a UTS
   namespace of its own with another hostname (as a replica on another machine: its claims
   must lapse, RENDERHUB_CLAIM_SECONDS, 10 s by default). The second needs root (unshare).

    .venv/bin/python bench/replicas.py [--sessions 30] [--claim-seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from figures import log

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.postgres

from tests.e2e.server import free_port
from tests.postgres import create_database, postgres_server
from tests.replicas.support import access_token, new_account

from renderhub.store.database import open_engine
from renderhub.store.schema import replicas, sessions
from renderhub.testing import Behaviour, journal_script

API = "api-version=2021-01-01"


class Replica:
    def __init__(self, root: Path, environment: dict[str, str], hostname: str | None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data_dir = root / f"replica-{self.port}"
        command = [sys.executable, "-m", "renderhub", "serve", "--port", str(self.port),
                   "--data-dir", str(data_dir)]  # fmt: skip
        if hostname is not None:  # a UTS namespace of its own: another machine's hostname
            command = ["unshare", "--uts", "sh", "-c", f'hostname {hostname} && exec "$@"',
                       "sh", *command]  # fmt: skip
        log_file = open(root / f"replica-{self.port}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ, **environment}
        )

    def wait_healthy(self) -> None:
        give_up = time.monotonic() + 60
        while time.monotonic() < give_up:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"replica on port {self.port} did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


async def _token(database: str, url: str) -> tuple[str, str]:
    account_id, key = await new_account(database, "bench")
    return account_id, await access_token(url, account_id, key)


async def admission(database: str, root: Path) -> dict[str, Any]:
    environment = {"RENDERHUB_DATABASE_URL": database, "RENDERHUB_BACKEND": "fake",
                   "RENDERHUB_CAPACITY_STANDARD": "20"}  # fmt: skip
    group = [Replica(root, environment, None) for _ in range(3)]
    try:
        for replica in group:
            replica.wait_healthy()
        account_id, token = await _token(database, group[0].url)
        headers = {"Authorization": f"Bearer {token}"}
        body = {"maxLeaseTimeMinutes": 10, "size": "Standard"}
        async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
            began = time.perf_counter()
            responses = await asyncio.gather(*(
                client.put(f"{group[n % 3].url}/accounts/{account_id}/sessions/a{n}?{API}",
                           json=body, headers=headers)
                for n in range(300)
            ))  # fmt: skip
            elapsed = time.perf_counter() - began
        statuses = Counter(response.status_code for response in responses)
        log(f"admission: {dict(statuses)} in {elapsed:.2f} s")
        return {"creates": 300, "capacity": 20, "admitted": statuses.get(201, 0),
                "refused_429": statuses.get(429, 0), "burst_s": round(elapsed, 2)}  # fmt: skip
    finally:
        for replica in group:
            replica.terminate()


async def takeover(
    database: str, root: Path, count: int, claim_seconds: float, other_machine: bool
) -> dict[str, Any]:
    journal = root / f"journal-{other_machine}.jsonl"
    environment = {"RENDERHUB_DATABASE_URL": database, "RENDERHUB_BACKEND": "fake",
                   "RENDERHUB_FAKE_JOURNAL": str(journal), "RENDERHUB_CAPACITY_STANDARD": "1000",
                   "RENDERHUB_CLAIM_SECONDS": str(claim_seconds)}  # fmt: skip
    victim = Replica(root, environment, "bench-other-machine" if other_machine else None)
    survivors = [Replica(root, environment, None) for _ in range(2)]
    try:
        for replica in (victim, *survivors):
            replica.wait_healthy()
        account_id, token = await _token(database, victim.url)
        headers = {"Authorization": f"Bearer {token}"}
        body = {"maxLeaseTimeMinutes": 10, "size": "Standard"}
        async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
            for n in range(count):
                session_id = f"t{other_machine:d}-{n}"
                journal_script(journal, session_id, Behaviour.NEVER_READY)  # stays Starting
                response = await client.put(
                    f"{victim.url}/accounts/{account_id}/sessions/{session_id}?{API}",
                    json=body, headers=headers,
                )  # fmt: skip
                response.raise_for_status()
        victim_id = await _replica_of(database, victim)
        await asyncio.sleep(claim_seconds / 2)  # claims renewed at least once
        killed = time.perf_counter()
        victim.kill()
        while await _claimed_by(database, victim_id):
            if time.perf_counter() - killed > 10 * claim_seconds:
                raise RuntimeError("the victim's work was never taken over")
            await asyncio.sleep(0.02)
        taken = time.perf_counter() - killed
        where = "another machine" if other_machine else "this machine"
        log(f"takeover ({where}): {count} sessions in {taken:.2f} s")
        return {"victim": where, "sessions": count, "claim_seconds": claim_seconds,
                "taken_over_s": round(taken, 2)}  # fmt: skip
    finally:
        for replica in (victim, *survivors):
            replica.terminate()


async def _replica_of(database: str, replica: Replica) -> str:
    """The replica id of the serve process (its pid is the uvicorn process's)."""
    engine = open_engine(database)
    try:
        async with engine.connect() as connection:
            rows = list(await connection.execute(select(replicas.c.id, replicas.c.pid)))
    finally:
        await engine.dispose()
    pids = {replica.process.pid} | _children(replica.process.pid)
    return next(row.id for row in rows if row.pid in pids)


def _children(pid: int) -> set[int]:
    import psutil

    return {child.pid for child in psutil.Process(pid).children(recursive=True)}


async def _claimed_by(database: str, replica_id: str) -> int:
    engine = open_engine(database)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(sessions.c.id).where(sessions.c.claimed_by == replica_id)
            )
            return len(list(rows))
    finally:
        await engine.dispose()


async def run(arguments: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="renderhub-bench-replicas-"))
    try:
        with postgres_server() as admin_url:
            result: dict[str, Any] = {"bench": "replicas"}
            result["admission"] = await admission(await create_database(admin_url), root)
            machines = [False, True] if shutil.which("unshare") else [False]
            result["takeover"] = []
            for other_machine in machines:
                database = await create_database(admin_url)
                result["takeover"].append(
                    await takeover(
                        database, root, arguments.sessions, arguments.claim_seconds, other_machine
                    )
                )
            return result
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--claim-seconds", type=float, default=10.0)
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
