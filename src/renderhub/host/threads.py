"""Running blocking work (parsing meshes) beside the event loop without delaying exit."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def in_daemon_thread(function: Callable[..., T], *args: object) -> T:
    """Run a blocking call in a new daemon thread and await its result.

    Unlike asyncio.to_thread, a daemon thread does not hold up the process's exit: a host told
    to stop in the middle of parsing a large model exits at once instead of finishing it.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result = function(*args)
        except BaseException as exc:
            outcome: tuple[T | None, BaseException | None] = (None, exc)
        else:
            outcome = (result, None)
        # The loop may have closed while the thread worked; then nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    name = getattr(function, "__name__", "work")
    threading.Thread(target=run, name=f"host-{name}", daemon=True).start()
    return await future
