"""An owner for background tasks: every task the service starts is tracked and cancelled on
shutdown, and a keyed task is never run twice at once in this process."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class TaskOwner:
    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._counter = 0

    def spawn(self, coroutine: Coroutine[Any, Any, None], key: str | None = None) -> bool:
        """Run `coroutine` in the background. With a key, skip it if that key is running."""
        if key is not None and key in self._tasks:
            coroutine.close()
            return False
        if key is None:
            self._counter += 1
            key = f"anonymous-{self._counter}"
        task = asyncio.create_task(coroutine, name=key)
        self._tasks[key] = task
        task.add_done_callback(functools.partial(self._finished, key))
        return True

    def _finished(self, key: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", key, exc_info=task.exception())

    async def aclose(self, grace_seconds: float = 15.0, rounds: int = 3) -> None:
        """Cancel every task (those spawned meanwhile too) and wait for them. A task still
        running `grace_seconds` after its cancel (one that swallowed it) is cancelled again,
        up to `rounds` times, then left behind with an error in the log: a shutdown never
        hangs on one task."""
        for _ in range(rounds):
            tasks = list(self._tasks.values())
            if not tasks:
                break
            for task in tasks:
                task.cancel()
            _, pending = await asyncio.wait(tasks, timeout=grace_seconds)
            for task in pending:
                log.error("background task %s did not end when cancelled", task.get_name())
        self._tasks.clear()

    def __len__(self) -> int:
        return len(self._tasks)
