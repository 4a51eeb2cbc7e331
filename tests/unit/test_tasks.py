"""The owner of background tasks: a shutdown ends every task and never hangs on one."""

from __future__ import annotations

import asyncio
import time

from renderhub.sessions.tasks import TaskOwner


async def test_aclose_cancels_every_task_and_waits_for_it() -> None:
    owner = TaskOwner()
    ended: list[str] = []

    async def sleeper(name: str) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            ended.append(name)

    owner.spawn(sleeper("a"))
    owner.spawn(sleeper("b"), key="b")
    await asyncio.sleep(0)
    await owner.aclose()
    assert sorted(ended) == ["a", "b"] and len(owner) == 0


async def test_a_task_that_swallows_its_cancel_is_cancelled_again() -> None:
    owner = TaskOwner()
    cancels = 0

    async def stubborn() -> None:
        nonlocal cancels
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancels += 1
                if cancels >= 2:
                    raise

    owner.spawn(stubborn())
    await asyncio.sleep(0)
    started = time.monotonic()
    await owner.aclose(grace_seconds=0.2)
    assert cancels == 2 and len(owner) == 0
    assert time.monotonic() - started < 2


async def test_a_task_that_never_ends_does_not_hang_the_shutdown() -> None:
    owner = TaskOwner()
    release = asyncio.Event()

    async def immortal() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    owner.spawn(immortal())
    await asyncio.sleep(0)
    started = time.monotonic()
    await owner.aclose(grace_seconds=0.1, rounds=3)
    assert time.monotonic() - started < 2 and len(owner) == 0
    release.set()
