"""The host's hard deadline: a wall-clock moment after which it exits on its own."""

from __future__ import annotations

import asyncio
import math

from renderhub.clock import Clock, SystemClock

# Sleep at most this long between looks at the wall clock, so a clock step (NTP, suspend)
# delays the exit by no more than this.
_LONGEST_NAP_SECONDS = 30.0


class Deadline:
    """Moved by the control plane (earlier or later); `wait()` returns once it has passed."""

    def __init__(self, epoch: float, clock: Clock | None = None) -> None:
        self._epoch = _checked(epoch)
        self._clock = clock or SystemClock()
        self._moved = asyncio.Event()

    @property
    def epoch(self) -> float:
        return self._epoch

    def remaining(self) -> float:
        """Seconds until the deadline; zero or less once it has passed."""
        return self._epoch - self._clock.now().timestamp()

    def move(self, epoch: float) -> None:
        """Set a new deadline and wake whoever waits on the old one."""
        self._epoch = _checked(epoch)
        self._moved.set()

    async def wait(self) -> None:
        """Return when the wall clock passes the deadline, however often it moves meanwhile."""
        while (remaining := self.remaining()) > 0:
            self._moved.clear()
            try:
                async with asyncio.timeout(min(remaining, _LONGEST_NAP_SECONDS)):
                    await self._moved.wait()
            except TimeoutError:
                pass


def _checked(epoch: float) -> float:
    if not math.isfinite(epoch):
        raise ValueError("a deadline must be a finite number of epoch seconds")
    return float(epoch)
