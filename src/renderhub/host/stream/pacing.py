"""Spacing frame starts at the requested rate, without ever catching up on missed frames."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable


class Pacer:
    """Decides when the next frame may begin.

    Frames are due 1/fps apart. A frame begun a little late keeps the cadence (the next one is
    due one period after the missed due time); one begun a whole period late or more restarts
    it, so a slow frame lowers the rate instead of causing a burst of frames to catch up.
    """

    def __init__(self, fps: Callable[[], int], clock: Callable[[], float] = time.monotonic) -> None:
        self._fps = fps
        self._clock = clock
        self._last_due: float | None = None
        self._changed = asyncio.Event()

    def next_due(self) -> float | None:
        """When the next frame is due (clock seconds); None before the first frame."""
        if self._last_due is None:
            return None
        return self._last_due + 1 / self._fps()

    def begin(self, now: float) -> None:
        """Note that a frame begins at `now`."""
        due = self.next_due()
        if due is None or now - due >= 1 / self._fps():
            due = now
        self._last_due = due

    def rate_changed(self) -> None:
        """Wake a waiting `wait()` so that it looks at the new rate."""
        self._changed.set()

    async def wait(self) -> float:
        """Sleep until the next frame is due, begin it and return its start time."""
        while True:
            now = self._clock()
            due = self.next_due()
            if due is None or due <= now:
                self.begin(now)
                return now
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(due - now):
                    await self._changed.wait()
