"""Writes cancelled mid-transaction (a shutdown cancelling the service's work) leave the store
writable: without runs_to_completion, a cancel between an UPDATE ... RETURNING and the
transaction's end left SQLite's write lock held, and the next writer failed after its busy
timeout with "database is locked"."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy.ext.asyncio import AsyncEngine

from renderhub.store.accounts import AccountStore
from renderhub.store.sessions import SessionStore
from tests.store.conftest import reader_for
from tests.store.test_store import _session


async def test_transitions_cancelled_mid_write_leave_the_store_writable(
    engine: AsyncEngine,
) -> None:
    store = SessionStore(engine, reader_for(engine))
    account_id = (await AccountStore(engine).create(now=1000.0)).id
    randomness = random.Random(7)
    for round_number in range(40):
        ids = [f"r{round_number}-{index}" for index in range(3)]
        for session_id in ids:
            await store.insert(_session(account_id, session_id), capacity=1000)
        writes = [
            asyncio.create_task(store.mark_ready(account_id, session_id, 1100.0))
            for session_id in ids
        ]
        await asyncio.sleep(randomness.random() * 0.003)
        for write in writes:
            write.cancel()
        await asyncio.gather(*writes, return_exceptions=True)
        async with asyncio.timeout(10):  # the busy timeout is 30 s: a held lock fails here
            assert await store.release_claims(["nobody"]) == 0
            await store.insert(_session(account_id, f"after-{round_number}"), capacity=1000)
