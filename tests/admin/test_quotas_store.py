"""Accounts' quotas, names and disabling in the store, and what each account runs now, on
SQLite and on PostgreSQL; the Account JSON the admin API writes from them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from renderhub.admin.account_json import account_json
from renderhub.admin.quota_bodies import QuotasBody
from renderhub.conversions.jobs import ConversionStatus, InputLocation, OutputLocation
from renderhub.errors import BadRequest
from renderhub.quotas import ActiveCounts, Quotas
from renderhub.sizes import SessionSize
from renderhub.status import SessionStatus
from renderhub.store.accounts import AccountStore
from renderhub.store.conversions import ConversionStore
from renderhub.store.records import ConversionRecord, SessionRecord
from renderhub.store.sessions import SessionStore
from renderhub.validation import parse_body
from tests.store.conftest import engine, reader_for  # noqa: F401  (the two-database fixture)

QUOTAS = Quotas(
    max_standard_sessions=2, max_premium_sessions=0, max_lease_minutes=240, max_conversions=1
)


def _session(account_id: str, session_id: str, size: SessionSize) -> SessionRecord:
    return SessionRecord(
        account_id=account_id,
        id=session_id,
        size=size,
        status=SessionStatus.STARTING,
        lease_seconds=600,
        models=[],
        created_at=1000.0,
        start_deadline=1300.0,
        backend="fake",
    )


def _conversion(account_id: str, conversion_id: str) -> ConversionRecord:
    return ConversionRecord(
        account_id=account_id,
        id=conversion_id,
        input=InputLocation("file:///in/", "house.glb"),
        output=OutputLocation("file:///out/", "house.arrAsset"),
        status=ConversionStatus.NOT_STARTED,
        created_at=1000.0,
    )


def test_limit_for_reads_the_size_s_quota() -> None:
    assert QUOTAS.limit_for(SessionSize.STANDARD) == 2
    assert QUOTAS.limit_for(SessionSize.PREMIUM) == 0
    assert Quotas().limit_for(SessionSize.PREMIUM) is None


async def test_quotas_rename_disable_and_enable(engine: AsyncEngine) -> None:  # noqa: F811
    store = AccountStore(engine)
    account_id = (await store.create(now=1000.0, name="acme", quotas=QUOTAS)).id
    record = await store.get(account_id)
    assert record is not None and Quotas.of(record) == QUOTAS and not record.disabled

    assert await store.set_quotas(account_id, Quotas(max_conversions=5))
    assert await store.rename(account_id, "acme2")
    assert await store.disable(account_id, now=2000.0)
    assert await store.disable(account_id, now=3000.0)  # changes nothing: still since 2000
    record = await store.get(account_id)
    assert record is not None
    assert Quotas.of(record) == Quotas(max_conversions=5)
    assert record.name == "acme2" and record.disabled and record.disabled_at == 2000.0

    assert await store.enable(account_id)
    record = await store.get(account_id)
    assert record is not None and not record.disabled and record.disabled_at is None
    assert await store.rename(account_id, None)
    assert (await store.get(account_id)).name is None  # type: ignore[union-attr]

    unknown = "00000000-0000-0000-0000-000000000000"
    assert not await store.rename(unknown, "x")
    assert not await store.disable(unknown, 1.0)
    assert not await store.enable(unknown)
    assert not await store.set_quotas(unknown, QUOTAS)


async def test_active_counts_count_what_runs_per_account_and_size(
    engine: AsyncEngine,  # noqa: F811
) -> None:
    accounts = AccountStore(engine)
    sessions = SessionStore(engine, reader_for(engine))
    conversions = ConversionStore(engine, reader_for(engine))
    busy, idle = (await accounts.create(1000.0)).id, (await accounts.create(1001.0)).id
    for name, size in [("s1", SessionSize.STANDARD), ("s2", SessionSize.STANDARD)]:
        await sessions.insert(_session(busy, name, size), capacity=10)
    await sessions.insert(_session(busy, "p1", SessionSize.PREMIUM), capacity=10)
    await sessions.insert(_session(busy, "gone", SessionSize.STANDARD), capacity=10)
    await sessions.transition(busy, "s2", SessionStatus.STOPPING)  # Stopping still counts
    await sessions.transition(busy, "gone", SessionStatus.ERROR, ended_at=1100.0)
    await conversions.insert(_conversion(busy, "c1"))
    await conversions.insert(replace(_conversion(busy, "c2"), status=ConversionStatus.RUNNING))
    await conversions.insert(replace(_conversion(busy, "c3"), status=ConversionStatus.FAILED))

    counts = await accounts.active_counts()
    assert counts[busy] == ActiveCounts(
        {SessionSize.STANDARD: 2, SessionSize.PREMIUM: 1}, conversions=2
    )
    assert counts[idle] == ActiveCounts()
    assert await accounts.active_counts([idle]) == {idle: ActiveCounts()}
    assert await accounts.active_counts(["no-such-account"]) == {}


async def test_account_json_is_the_documented_shape(engine: AsyncEngine) -> None:  # noqa: F811
    store = AccountStore(engine)
    account_id = (await store.create(now=1796220300.0, name="acme", quotas=QUOTAS)).id
    await store.disable(account_id, now=1796220360.5)
    record = await store.get(account_id)
    assert record is not None
    counts = ActiveCounts({SessionSize.STANDARD: 1, SessionSize.PREMIUM: 0}, conversions=3)
    assert account_json(record, counts) == {
        "accountId": account_id,
        "name": "acme",
        "created": "2026-12-02T14:05:00.000Z",
        "disabled": True,
        "disabledAt": "2026-12-02T14:06:00.500Z",
        "quotas": {
            "maxStandardSessions": 2,
            "maxPremiumSessions": 0,
            "maxLeaseMinutes": 240,
            "maxConversions": 1,
        },
        "activeSessions": {"Standard": 1, "Premium": 0},
        "activeConversions": 3,
    }


def test_the_quotas_body_takes_the_documented_limits() -> None:
    body = parse_body(QuotasBody, {"maxStandardSessions": 10_000, "maxLeaseMinutes": 525_600})
    assert body.quotas() == Quotas(max_standard_sessions=10_000, max_lease_minutes=525_600)
    assert parse_body(QuotasBody, {}).quotas() == Quotas()
    nulls = {"maxPremiumSessions": None, "maxConversions": 0, "maxLeaseMinutes": 1}
    assert parse_body(QuotasBody, nulls).quotas() == Quotas(max_conversions=0, max_lease_minutes=1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"maxStandardSessions": -1}, "maxStandardSessions"),
        ({"maxPremiumSessions": 1.5}, "maxPremiumSessions"),
        ({"maxPremiumSessions": 2.0}, "maxPremiumSessions"),
        ({"maxStandardSessions": "2"}, "maxStandardSessions"),
        ({"maxStandardSessions": True}, "maxStandardSessions"),
        ({"maxStandardSessions": 10_001}, "maxStandardSessions"),
        ({"maxLeaseMinutes": 0}, "maxLeaseMinutes"),
        ({"maxLeaseMinutes": 525_601}, "maxLeaseMinutes"),
        ({"maxConversions": 1_001}, "maxConversions"),
        ({"maxConversions": 10**30}, "maxConversions"),
        ({"max_conversions": 1}, "max_conversions"),
        ({"maxSessions": 1}, "maxSessions"),
    ],
)
def test_a_bad_quota_is_refused_naming_its_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_body(QuotasBody, body)
    assert refused.value.target == field
    assert field in refused.value.message
