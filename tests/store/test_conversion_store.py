"""Conversions in the store, on SQLite and on PostgreSQL: idempotent inserts, keyset paging,
claims that two replicas cannot both win, take-over after a restart, outcomes recorded only
by the replica and attempt that ran them, and purging."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncEngine

from renderhub.conversions.jobs import (
    ConversionOutcome,
    ConversionStatus,
    InputLocation,
    OutputLocation,
)
from renderhub.store.accounts import AccountStore
from renderhub.store.conversions import ConversionStore
from renderhub.store.records import ConversionRecord
from tests.store.conftest import reader_for

MAX_ATTEMPTS = 3


def _conversion(
    account_id: str, conversion_id: str, created_at: float = 1000.0
) -> ConversionRecord:
    return ConversionRecord(
        account_id=account_id,
        id=conversion_id,
        input=InputLocation("file:///in/", "house.glb", "models/", "sp=rl&sig=secret"),
        output=OutputLocation("file:///out/", "house.arrAsset", "", "sp=w&sig=secret"),
        status=ConversionStatus.NOT_STARTED,
        created_at=created_at,
    )


def _store(engine: AsyncEngine) -> ConversionStore:
    return ConversionStore(engine, reader_for(engine))


async def _account(engine: AsyncEngine) -> str:
    return (await AccountStore(engine).create(now=1000.0)).id


async def test_insert_keeps_the_first_and_reads_back_every_setting(engine: AsyncEngine) -> None:
    store, account_id = _store(engine), await _account(engine)
    first = _conversion(account_id, "c1")
    assert await store.insert(first)
    other = replace(first, output=replace(first.output, output_asset_filename="x.arrAsset"))
    assert not await store.insert(other)
    assert await store.get(account_id, "c1") == first
    assert await store.get(account_id, "missing") is None
    assert await store.get(await _account(engine), "c1") is None  # another account's


async def test_listing_pages_by_creation_and_id_per_account(engine: AsyncEngine) -> None:
    store, account_id, other = _store(engine), await _account(engine), await _account(engine)
    for index, conversion_id in enumerate(["b", "a", "c", "d"]):
        await store.insert(_conversion(account_id, conversion_id, 1000.0 + index // 2))
    await store.insert(_conversion(other, "z"))
    first = await store.list_page(account_id, 3)
    assert [record.id for record in first] == ["a", "b", "c"]
    rest = await store.list_page(account_id, 3, after=(first[-1].created_at, first[-1].id))
    assert [record.id for record in rest] == ["d"]
    assert [record.id for record in await store.list_page(other, 10)] == ["z"]


async def test_claims_respect_the_limit_and_two_replicas_never_share_one(
    engine: AsyncEngine,
) -> None:
    store, account_id = _store(engine), await _account(engine)
    for index in range(6):
        await store.insert(_conversion(account_id, f"c{index}", 1000.0 + index))
    assert await store.claim_new("r1", 2000.0, 2010.0, limit=0) == []
    mine = await store.claim_new("r1", 2000.0, 2010.0, limit=2)
    assert [record.id for record in mine] == ["c0", "c1"]  # oldest first
    assert all(r.status is ConversionStatus.RUNNING and r.attempts == 1 for r in mine)
    racing = await asyncio.gather(
        *(store.claim_new(f"r{n}", 2000.0, 2010.0, limit=4) for n in range(2, 6))
    )
    won = [record.id for claimed in racing for record in claimed]
    assert sorted(won) == ["c2", "c3", "c4", "c5"], won  # each exactly once


async def test_a_lapsed_claim_is_taken_over_then_failed_after_its_attempts(
    engine: AsyncEngine,
) -> None:
    store, account_id = _store(engine), await _account(engine)
    await store.insert(_conversion(account_id, "c"))
    [claimed] = await store.claim_new("r1", 2000.0, 2010.0, limit=1)
    assert await store.take_over("r2", 2005.0, 2015.0, 5, MAX_ATTEMPTS) == []  # still held
    await store.renew_claims("r1", 2020.0, [(account_id, "c"), (account_id, "other")])
    assert await store.take_over("r2", 2015.0, 2025.0, 5, MAX_ATTEMPTS) == []  # renewed
    [second] = await store.take_over("r2", 2021.0, 2031.0, 5, MAX_ATTEMPTS)  # lapsed
    assert second.claimed_by == "r2" and second.attempts == 2 and second.started_at == 2021.0
    # The first attempt's late outcome is not recorded: it is no longer r1's.
    assert not await store.finish(claimed, "r1", ConversionOutcome.succeeded("x"), 2022.0)
    assert await store.release_claims(["r2"]) == 1
    [third] = await store.take_over("r3", 2023.0, 2033.0, 5, MAX_ATTEMPTS)
    assert third.attempts == 3
    await store.release_claims(["r3"])
    assert await store.take_over("r4", 2024.0, 2034.0, 5, MAX_ATTEMPTS) == []
    gave_up = ConversionOutcome.failed("InternalServerError", "gave up")
    [failed] = await store.fail_exhausted(2024.0, MAX_ATTEMPTS, gave_up)
    assert failed.status is ConversionStatus.FAILED and failed.error_message == "gave up"
    assert failed.ended_at == 2024.0 and failed.claimed_by is None
    assert await store.fail_exhausted(2025.0, MAX_ATTEMPTS, gave_up) == []


async def test_an_outcome_is_recorded_once_by_its_replica(engine: AsyncEngine) -> None:
    store, account_id = _store(engine), await _account(engine)
    await store.insert(_conversion(account_id, "c"))
    [claimed] = await store.claim_new("r1", 2000.0, 2010.0, limit=1)
    outcome = ConversionOutcome.succeeded("file:///out/house.arrAsset")
    assert not await store.finish(claimed, "r2", outcome, 2001.0)  # not r2's
    assert await store.finish(claimed, "r1", outcome, 2001.0)
    assert not await store.finish(claimed, "r1", ConversionOutcome.failed("X", "late"), 2002.0)
    done = await store.get(account_id, "c")
    assert done is not None and done.status is ConversionStatus.SUCCEEDED
    assert done.output_asset_uri == "file:///out/house.arrAsset" and done.ended_at == 2001.0
    assert done.error_code is None and done.claimed_by is None


async def test_purge_removes_only_conversions_ended_before_the_moment(
    engine: AsyncEngine,
) -> None:
    store, account_id = _store(engine), await _account(engine)
    for conversion_id in ("old", "new", "waiting"):
        await store.insert(_conversion(account_id, conversion_id))
    claimed = {r.id: r for r in await store.claim_new("r1", 2000.0, 2010.0, limit=2)}
    await store.finish(claimed["new"], "r1", ConversionOutcome.failed("X", "m"), 3000.0)
    await store.finish(claimed["old"], "r1", ConversionOutcome.failed("X", "m"), 1500.0)
    assert await store.purge_ended_before(2000.0) == 1
    assert await store.get(account_id, "old") is None
    assert await store.get(account_id, "new") is not None
    assert await store.get(account_id, "waiting") is not None
