"""Live figures of the video stream, for the inspector: counts, rates and recent timings."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

FPS_WINDOW_SECONDS = 5.0
RECENT_SAMPLES = 300  # ten seconds at 30 fps
RECENT_SECONDS = 1.0  # what the stats request's medians cover
INPUT_SECONDS = 10.0  # what the stats request's input-to-render median covers (inputs are sparse)


class Timings:
    """The most recent `size` durations (milliseconds) of one step, summarised on demand."""

    def __init__(
        self, size: int = RECENT_SAMPLES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.clock = clock
        self._samples: deque[float] = deque(maxlen=size)
        self._times: deque[float] = deque(maxlen=size)

    def add(self, ms: float) -> None:
        self._samples.append(ms)
        self._times.append(self.clock())

    def recent_median(self, seconds: float = RECENT_SECONDS) -> float | None:
        """The median of the samples of the last `seconds` (None when there were none)."""
        since = self.clock() - seconds
        recent = sorted(ms for ms, at in zip(self._samples, self._times, strict=True) if at > since)
        return _rounded(_percentile(recent, 50))

    def summary(self) -> dict[str, float | int | None]:
        """{"median", "p95", "samples"}; the figures are None before the first sample."""
        ordered = sorted(self._samples)
        return {
            "median": _rounded(_percentile(ordered, 50)),
            "p95": _rounded(_percentile(ordered, 95)),
            "samples": len(ordered),
        }


@dataclass(slots=True)
class _TransportSample:
    at: float
    bytes_sent: int


@dataclass
class StreamStats:
    """Counters and timings over the host's life; rates over the last few seconds.

    Fed by the video track (each frame), the client session (transport samples) and the
    client's channel (each message applied); read by the inspector and the stats request.
    All methods run on the event loop.
    """

    clock: Callable[[], float] = time.monotonic
    frames_rendered: int = 0
    frames_sent: int = 0
    render_ms: Timings = field(default_factory=Timings)
    frame_ms: Timings = field(default_factory=Timings)
    encode_ms: Timings = field(default_factory=Timings)
    send_ms: Timings = field(default_factory=Timings)
    input_to_render_ms: Timings = field(default_factory=Timings)
    bitrate: float | None = None
    rtcp_round_trip_ms: float | None = None
    _sent_at: deque[float] = field(default_factory=lambda: deque(maxlen=60 * 10))
    # When each input applied since the last frame began arrived (monotonic seconds).
    _inputs_waiting: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_SAMPLES))
    _streaming_since: float | None = None
    _last_transport: _TransportSample | None = None

    def __post_init__(self) -> None:
        timings = (self.render_ms, self.frame_ms, self.encode_ms, self.send_ms)
        for each in (*timings, self.input_to_render_ms):
            each.clock = self.clock

    def input_applied(self, arrived: float | None) -> None:
        """A client's message that arrived on the data channel at `arrived` (monotonic
        seconds; None: unknown, not counted) has been applied: the next frame begun shows it
        (its camera, its scene change, its seq in the marker)."""
        if arrived is not None:
            self._inputs_waiting.append(arrived)

    def frame_begun(self, started: float) -> None:
        """A frame begins at `started` (monotonic seconds) from everything applied so far:
        each input waiting for it took `started - arrived` from arrival to render start."""
        while self._inputs_waiting:
            self.input_to_render_ms.add((started - self._inputs_waiting.popleft()) * 1000)

    def frame_rendered(self, render_ms: float, frame_ms: float) -> None:
        """A frame was rendered (`render_ms` by the renderer's own account) and handed to
        aiortc `frame_ms` after it was begun."""
        self.frames_rendered += 1
        self.render_ms.add(render_ms)
        self.frame_ms.add(frame_ms)

    def frame_sent(self, encode_ms: float | None, send_ms: float) -> None:
        """aiortc encoded a frame (`encode_ms`) and sent its packets (`send_ms` after that)."""
        now = self.clock()
        if self._streaming_since is None:
            self._streaming_since = now
        self.frames_sent += 1
        self._sent_at.append(now)
        if encode_ms is not None:
            self.encode_ms.add(encode_ms)
        self.send_ms.add(send_ms)

    def transport(self, bytes_sent: int, round_trip_seconds: float | None) -> None:
        """One reading of the sender's byte count (from getStats) and the RTCP round trip."""
        now = self.clock()
        last = self._last_transport
        if last is not None and now > last.at and bytes_sent >= last.bytes_sent:
            self.bitrate = (bytes_sent - last.bytes_sent) * 8 / (now - last.at)
        self._last_transport = _TransportSample(now, bytes_sent)
        if round_trip_seconds is not None:
            self.rtcp_round_trip_ms = round_trip_seconds * 1000

    def stream_ended(self) -> None:
        """The client went: rates restart from nothing with the next one."""
        self._streaming_since = None
        self._sent_at.clear()
        self._inputs_waiting.clear()
        self._last_transport = None
        self.bitrate = None
        self.rtcp_round_trip_ms = None

    def fps(self) -> float:
        """Frames sent per second over the last FPS_WINDOW_SECONDS (less if streaming began
        more recently)."""
        now = self.clock()
        recent = sum(1 for at in self._sent_at if at > now - FPS_WINDOW_SECONDS)
        if self._streaming_since is None or recent == 0:
            return 0.0
        span = min(FPS_WINDOW_SECONDS, now - self._streaming_since)
        return recent / span if span > 0 else 0.0

    def snapshot(self) -> dict[str, object]:
        """The figures as the inspector shows them."""
        return {
            "framesRendered": self.frames_rendered,
            "framesSent": self.frames_sent,
            "fps": round(self.fps(), 2),
            "bitrate": None if self.bitrate is None else round(self.bitrate),
            "rtcpRoundTripMs": _rounded(self.rtcp_round_trip_ms),
            "timingsMs": {
                "render": self.render_ms.summary(),
                "frame": self.frame_ms.summary(),
                "encode": self.encode_ms.summary(),
                "send": self.send_ms.summary(),
                "inputToRender": self.input_to_render_ms.summary(),
            },
        }


def _percentile(ordered: list[float], percent: float) -> float | None:
    """Nearest-rank percentile of an ascending list; None when empty."""
    if not ordered:
        return None
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
