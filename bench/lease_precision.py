"""Lease precision: how late leases expire with many live sessions.

One control plane in this process (its real scheduler loop and store, SQLite in a temporary
folder, the system clock) on the fake backend, so a thousand "hosts" cost nothing: N sessions
are created through the session service with leases spread over a window, all become Ready,
and each expiry's lateness is measured as the moment the backend is told to stop the host
minus the lease's end (an upper bound: it includes the teardown's start). Prints JSON.

    .venv/bin/python bench/lease_precision.py [--sessions 1000] [--spread 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.figures import log, percentile, summary

from renderhub.api.app import create_app
from renderhub.backends.base import BackendState
from renderhub.sessions.requests import CreateSession
from renderhub.settings import Settings
from renderhub.sizes import SessionSize
from renderhub.status import SessionStatus
from renderhub.testing import FakeBackend


class TimedStops(FakeBackend):
    """The fake backend, noting when each session's host is told to stop."""

    def __init__(self) -> None:
        super().__init__()
        self.stopped_at: dict[str, float] = {}

    async def stop(self, state: BackendState, reason: str | None = None) -> None:
        self.stopped_at.setdefault(str(state.get("session")), time.time())
        await super().stop(state, reason)


async def measure(sessions: int, spread: float, lead: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="renderhub-bench-") as folder:
        settings = Settings(
            data_dir=Path(folder),
            capacity_standard=sessions,
            health_interval_seconds=5.0,
        )
        backend = TimedStops()
        app = create_app(settings, backend=backend)
        async with app.router.lifespan_context(app):
            service = app.state.context.service
            account = await app.state.context.access.create_account()
            log(f"creating {sessions} sessions")
            started = time.time()
            for index in range(sessions):
                # Leases end between `lead` and `lead + spread` seconds from now.
                lease = lead + spread * index / sessions
                request = CreateSession(f"s{index}", SessionSize.STANDARD, int(lease) or 1, [])
                await service.create(account.id, request, idempotent=False)
            created = time.time() - started
            log(f"created in {created:.1f} s; waiting for every lease to run out")
            await _until_all_ended(service, sessions, within=lead + spread + 120)
            records = await service.store.with_status({SessionStatus.EXPIRED})
        lateness = [
            backend.stopped_at[record.id] - (record.lease_deadline or 0.0)
            for record in records
            if record.id in backend.stopped_at
        ]
    return {
        "bench": "lease_precision",
        "sessions": sessions,
        "expired": len(records),
        "create_seconds": round(created, 2),
        "lateness_s": summary(lateness, 3),
        "lateness_p99_s": round(percentile(lateness, 0.99), 3) if lateness else None,
        "target": "p99 <= 1 s",
    }


async def _until_all_ended(service: object, count: int, within: float) -> None:
    store = service.store  # type: ignore[attr-defined]
    give_up = time.monotonic() + within
    while time.monotonic() < give_up:
        expired = await store.with_status({SessionStatus.EXPIRED})
        if len(expired) >= count and all(r.host_stopped_at for r in expired):
            return
        await asyncio.sleep(0.5)
    raise SystemExit("not every lease expired in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=10.0, help="leases end over this many s")
    parser.add_argument("--lead", type=float, default=20.0, help="first lease end, s from now")
    arguments = parser.parse_args()
    result = asyncio.run(measure(arguments.sessions, arguments.spread, arguments.lead))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
