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

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def __len__(self) -> int:
        return len(self._tasks)
