"""The host's one FrameSource, used one frame at a time, safely against cancellation.

A frame's pixels may live in memory that the next render call reuses, and a renderer
process may not expect a request to be abandoned half way. So every render runs as its own
task under one lock, copies its pixels out before releasing it, and runs to the end even if
whoever asked for it has gone (a client that disconnects mid-frame); closing waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from renderhub.host.frames import Frame, FrameSource, View

log = logging.getLogger(__name__)

T = TypeVar("T")

CLOSE_WAIT_SECONDS = 5.0


class Renderer:
    """Serialises renders of one FrameSource and closes it once they are done."""

    def __init__(self, source: FrameSource) -> None:
        self._source = source
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[Any]] = set()
        self._info: dict[str, Any] | None = None
        self.failure: str | None = None

    def info(self) -> dict[str, Any]:
        """The source's info ({"renderer": ..., "gpu": ...}), asked once."""
        if self._info is None:
            self._info = dict(self._source.info())
        return self._info

    async def render(self, view: View, convert: Callable[[Frame], T]) -> tuple[Frame, T]:
        """Render `view` and pass the frame through `convert` (which must copy the pixels)
        before any other render starts."""
        task = asyncio.ensure_future(self._render(view, convert))
        self._pending.add(task)
        task.add_done_callback(self._settled)
        return await asyncio.shield(task)

    async def _render(self, view: View, convert: Callable[[Frame], T]) -> tuple[Frame, T]:
        async with self._lock:
            try:
                frame = await self._source.render(view)
            except Exception as exc:
                # A renderer that failed once is not trusted again: clients are told why.
                self.failure = getattr(exc, "message", None) or f"The renderer failed: {exc!r}"
                raise
            return frame, convert(frame)

    def _settled(self, task: asyncio.Task[Any]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Retrieved here, since whoever asked may have gone; the track logs it otherwise.
            log.debug("a render failed: %r", task.exception())

    async def aclose(self) -> None:
        """Wait (a bounded time) for a render in progress, then close the source."""
        if self._pending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_WAIT_SECONDS):
                    await asyncio.gather(*self._pending, return_exceptions=True)
        await self._source.aclose()
