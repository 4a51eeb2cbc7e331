"""The store's conditional operations on SQLite and on PostgreSQL (what replicas share)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from renderhub.sizes import SessionSize
from renderhub.status import SessionStatus
from renderhub.store.accounts import AccountStore
from renderhub.store.records import SessionRecord
from renderhub.store.sessions import InsertOutcome, SessionStore
from tests.store.conftest import reader_for


def _session(
    account_id: str, session_id: str, size: SessionSize = SessionSize.STANDARD
) -> SessionRecord:
    return SessionRecord(
        account_id=account_id,
        id=session_id,
        size=size,
        status=SessionStatus.STARTING,
        lease_seconds=600,
        models=["samples/cube.glb"],
        created_at=1000.0,
        start_deadline=1300.0,
        backend="local",
    )


def _store(engine: AsyncEngine) -> SessionStore:
    return SessionStore(engine, reader_for(engine))


async def _account(engine: AsyncEngine) -> str:
    return (await AccountStore(engine).create(now=1000.0)).id


async def test_insert_respects_capacity_and_identity(engine: AsyncEngine) -> None:
    store, account_id = _store(engine), await _account(engine)
    assert (await store.insert(_session(account_id, "a"), capacity=2))[0] is InsertOutcome.INSERTED
    assert (await store.insert(_session(account_id, "a"), capacity=2))[0] is InsertOutcome.EXISTS
    assert (await store.insert(_session(account_id, "b"), capacity=2))[0] is InsertOutcome.INSERTED
    assert (await store.insert(_session(account_id, "c"), capacity=2))[
        0
    ] is InsertOutcome.NO_CAPACITY
    premium = _session(account_id, "p", SessionSize.PREMIUM)
    assert (await store.insert(premium, capacity=1))[0] is InsertOutcome.INSERTED
    row = await store.get(account_id, "a")
    assert (
        row is not None and row.models == ["samples/cube.glb"] and row.size is SessionSize.STANDARD
    )


async def test_each_transition_is_won_once(engine: AsyncEngine) -> None:
    """Two replicas racing to expire the same session: exactly one wins."""
    store, account_id = _store(engine), await _account(engine)
    await store.insert(_session(account_id, "race"), capacity=10)
    assert await store.mark_ready(account_id, "race", now=2000.0)
    ready = await store.get(account_id, "race")
    assert ready is not None and ready.lease_deadline == 2600.0
    assert [r.id for r in await store.lease_overdue(2600.0)] == ["race"]
    results = await asyncio.gather(
        *(
            store.transition(account_id, "race", SessionStatus.EXPIRED, ended_at=2600.0)
            for _ in range(5)
        )
    )
    assert sorted(results) == [False, False, False, False, True]
    assert not await store.transition(account_id, "race", SessionStatus.READY)


async def test_extend_only_grows_and_moves_the_deadline(engine: AsyncEngine) -> None:
    store, account_id = _store(engine), await _account(engine)
    await store.insert(_session(account_id, "grow"), capacity=10)
    assert await store.extend(account_id, "grow", 900)  # while Starting: no deadline yet
    assert (await store.get(account_id, "grow")).lease_deadline is None
    await store.mark_ready(account_id, "grow", now=5000.0)
    assert not await store.extend(account_id, "grow", 900)
    assert await store.extend(account_id, "grow", 1200)
    assert (await store.get(account_id, "grow")).lease_deadline == 6200.0
    assert await store.next_deadline() == 6200.0


async def test_keyset_listing_and_purge(engine: AsyncEngine) -> None:
    store, account_id = _store(engine), await _account(engine)
    for index in range(5):
        record = _session(account_id, f"s{index}")
        await store.insert(record, capacity=10)
    first = await store.list_active(account_id, limit=2)
    rest = await store.list_active(account_id, after=(first[-1].created_at, first[-1].id))
    assert [r.id for r in first + rest] == ["s0", "s1", "s2", "s3", "s4"]
    await store.transition(account_id, "s0", SessionStatus.STOPPING, ended_at=100.0)
    assert await store.purge_ended_before(200.0) == 0, "a Stopping session is not purged"
    await store.transition(account_id, "s0", SessionStatus.STOPPED)
    assert await store.purge_ended_before(200.0) == 1
    async with engine.connect() as connection:
        count = (await connection.execute(text("SELECT count(*) FROM sessions"))).scalar_one()
    assert count == 4


async def test_an_insert_for_a_disabled_account_is_refused_and_adds_nothing(
    engine: AsyncEngine,
) -> None:
    """The check is in the insert itself: a create whose token was checked just before the
    account was disabled still starts nothing."""
    store, account_id = _store(engine), await _account(engine)
    assert await AccountStore(engine).disable(account_id, 1001.0)
    outcome, pooled = await store.insert(_session(account_id, "late"), capacity=10)
    assert (outcome, pooled) == (InsertOutcome.ACCOUNT_DISABLED, None)
    assert await store.get(account_id, "late") is None
    limited = await store.insert(_session(account_id, "late"), capacity=10, account_limit=5)
    assert limited[0] is InsertOutcome.ACCOUNT_DISABLED
