"""The scene's video, decoded: the host's track read as fast as it arrives, each frame turned
into an RGB numpy array only when somebody waits for one.

aiortc queues received frames without bound until they are read, so the track is read all
the time, whether or not anybody asks for frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import numpy as np

from renderhub.client.errors import SceneClosed, WaitTimedOut

FRAMES_QUEUED = 8  # per frames() reader; older ones are dropped when it falls behind


class VideoReceiver:
    """Reads one video track (anything with aiortc's `async recv()`; a MediaStreamError
    or any other error ends it) and hands its frames to whoever waits.

    When the track ends, `on_track_end(reason)` is awaited before the receiver ends (with
    that reason, unless it was ended meanwhile): the connection may end it first with the
    host's own reason."""

    def __init__(self, on_track_end: Callable[[str], Awaitable[None]] | None = None) -> None:
        self._on_track_end = on_track_end
        self._waiters: list[asyncio.Future[np.ndarray]] = []
        self._readers: list[asyncio.Queue[np.ndarray | None]] = []
        self._task: asyncio.Task[None] | None = None
        self._ended: str | None = None
        self.frames_decoded = 0
        self.last_frame_at: float | None = None  # time.monotonic() of the newest frame

    def watch(self, track: Any) -> None:
        """Start reading `track` (the first video track only)."""
        if self._task is None and self._ended is None:
            self._task = asyncio.create_task(self._read(track), name="scene-video")

    async def next_frame(self, timeout: float) -> np.ndarray:  # noqa: ASYNC109
        """The first frame decoded after this call: RGB, (height, width, 3) uint8."""
        if self._ended is not None:
            raise SceneClosed(self._ended)
        waiter: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        except TimeoutError:
            raise WaitTimedOut(f"No video frame arrived within {timeout:g} s.") from None
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    async def frames(self) -> AsyncIterator[np.ndarray]:
        """Every frame decoded from now on, in order (the oldest are dropped if the reader
        falls more than FRAMES_QUEUED behind); raises SceneClosed when the video ends."""
        if self._ended is not None:
            raise SceneClosed(self._ended)
        queue: asyncio.Queue[np.ndarray | None] = asyncio.Queue(FRAMES_QUEUED)
        self._readers.append(queue)
        try:
            while (pixels := await queue.get()) is not None:
                yield pixels
            raise SceneClosed(self._ended or "The video ended.")
        finally:
            self._readers.remove(queue)

    def end(self, reason: str) -> None:
        """No more frames: waiters and readers get SceneClosed(reason)."""
        if self._ended is not None:
            return
        self._ended = reason
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(SceneClosed(reason))
        self._waiters.clear()
        for queue in self._readers:
            _put_newest(queue, None)

    async def aclose(self, reason: str) -> None:
        """End, and stop reading the track."""
        self.end(reason)
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _read(self, track: Any) -> None:
        try:
            while True:
                frame = await track.recv()
                self.frames_decoded += 1
                self.last_frame_at = time.monotonic()
                self._hand_out(frame)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # aiortc's MediaStreamError: the track ended
            reason = f"The video stream ended ({type(exc).__name__})."
            if self._on_track_end is not None:
                await self._on_track_end(reason)
            self.end(reason)

    def _hand_out(self, frame: Any) -> None:
        if not self._waiters and not self._readers:
            return  # nobody asked: no conversion
        pixels: np.ndarray = frame.to_ndarray(format="rgb24")
        waiters, self._waiters = self._waiters, []
        shared = False
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(pixels.copy() if shared else pixels)
                shared = True
        for queue in self._readers:
            _put_newest(queue, pixels.copy() if shared else pixels)
            shared = True


def _put_newest(queue: asyncio.Queue[np.ndarray | None], item: np.ndarray | None) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(item)
