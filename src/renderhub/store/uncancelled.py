"""Store writes that run to their end even when the task awaiting them is cancelled.

A cancel that lands inside a transaction, while a statement with RETURNING has rows not yet
read, leaves aiosqlite's connection holding SQLite's write lock: every other writer then waits
out its busy timeout and fails with "database is locked" (seen at shutdown, when the service
cancels its bring-ups mid-write). Such writes are short, so they finish first; the cancel then
takes effect."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


async def uncancelled(work: Awaitable[T]) -> T:
    """Await `work` to its end; a cancel meanwhile is raised once it has ended."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


def runs_to_completion(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Decorate a store method whose transaction must not be cut by a cancel."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return await uncancelled(method(*args, **kwargs))

    return wrapper
