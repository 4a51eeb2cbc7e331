"""The hard deadline: waits on the wall clock and wakes when it is moved."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from renderhub.clock import ManualClock
from renderhub.host.deadline import Deadline

START = datetime(2030, 1, 1, tzinfo=UTC)


async def test_a_passed_deadline_returns_at_once() -> None:
    deadline = Deadline(START.timestamp() - 1, ManualClock(START))

    async with asyncio.timeout(1):
        await deadline.wait()


async def test_moving_the_deadline_into_the_past_wakes_the_waiter() -> None:
    deadline = Deadline(START.timestamp() + 3600, ManualClock(START))
    waiter = asyncio.create_task(deadline.wait())
    await asyncio.sleep(0)
    assert not waiter.done()

    deadline.move(START.timestamp() - 1)

    async with asyncio.timeout(1):
        await waiter


async def test_moving_it_later_keeps_the_waiter_waiting() -> None:
    clock = ManualClock(START)
    deadline = Deadline(START.timestamp() + 10, clock)
    waiter = asyncio.create_task(deadline.wait())
    await asyncio.sleep(0)

    clock.advance(timedelta(seconds=20))
    deadline.move(START.timestamp() + 3600)
    await asyncio.sleep(0.01)

    assert not waiter.done()
    assert deadline.remaining() == pytest.approx(3580)
    waiter.cancel()


def test_a_deadline_must_be_finite() -> None:
    with pytest.raises(ValueError):
        Deadline(float("nan"))
