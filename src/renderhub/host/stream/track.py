"""The video track aiortc sends: each frame rendered, on demand, from the newest camera.

aiortc's sender asks for a frame (`recv`), encodes and sends it, then asks for the next one.
Nothing is queued: each `recv` waits for the frame's due time, takes the newest View at that
moment and renders it, so a slow frame lowers the frame rate but never adds latency.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from fractions import Fraction

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from renderhub.host.frames import Frame, View
from renderhub.host.stream.encoding import FrameTicket
from renderhub.host.stream.pacing import Pacer
from renderhub.host.stream.rendering import Renderer
from renderhub.host.stream.stats import StreamStats

log = logging.getLogger(__name__)

VIDEO_CLOCK_RATE = 90_000  # RTP's clock for video
TIME_BASE = Fraction(1, VIDEO_CLOCK_RATE)


def to_video_frame(frame: Frame) -> av.VideoFrame:
    """A video frame holding a copy of the frame's RGB pixels (the encoder converts them).

    Copied row by row into the frame's own plane: half the time of from_ndarray at 720p."""
    height, width = frame.pixels.shape[:2]
    video = av.VideoFrame(width, height, "rgb24")
    plane = video.planes[0]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(height, plane.line_size)
    rows[:, : width * 3] = frame.pixels.reshape(height, width * 3)
    return video


class RenderedVideoTrack(MediaStreamTrack):
    """Video rendered from `views()` at `pacer`'s rate, only while `connected` is set.

    When a render fails the track ends (aiortc stops asking) and `on_failure` is called."""

    kind = "video"

    def __init__(
        self,
        renderer: Renderer,
        views: Callable[[], View],
        pacer: Pacer,
        connected: asyncio.Event,
        stats: StreamStats,
        on_failure: Callable[[], None],
    ) -> None:
        super().__init__()
        self._on_failure = on_failure
        self._renderer = renderer
        self._views = views
        self._pacer = pacer
        self._connected = connected
        self._stats = stats
        self._origin = time.monotonic()
        self._last_pts = -1
        self._previous: FrameTicket | None = None

    async def recv(self) -> av.VideoFrame:
        """The next frame, begun when it is due and rendered from the newest View."""
        self._note_previous_sent()
        if self.readyState != "live":
            raise MediaStreamError
        await self._connected.wait()  # no rendering for nobody
        started = await self._pacer.wait()
        self._stats.frame_begun(started)  # the View below shows every input applied so far
        ticket = FrameTicket(started)
        try:
            frame, video = await self._renderer.render(self._views(), to_video_frame)
        except Exception:
            log.exception("rendering failed; the video ends")
            self.stop()
            self._on_failure()
            raise MediaStreamError from None
        video.pts = self._pts(started)
        video.time_base = TIME_BASE
        video.opaque = ticket
        ticket.handed = time.monotonic()
        self._stats.frame_rendered(frame.render_ms, (ticket.handed - started) * 1000)
        self._previous = ticket
        return video

    def _pts(self, started: float) -> int:
        pts = max(round((started - self._origin) * VIDEO_CLOCK_RATE), self._last_pts + 1)
        self._last_pts = pts
        return pts

    def _note_previous_sent(self) -> None:
        """aiortc asks for a frame only once it has encoded and sent the one before."""
        ticket, self._previous = self._previous, None
        if ticket is None:
            return
        sent_from = ticket.encode_ended if ticket.encode_ended is not None else ticket.handed
        self._stats.frame_sent(ticket.encode_ms, (time.monotonic() - sent_from) * 1000)
