"""One connected client: its peer connection, video track, data channel and their end.

The session answers the client's offer, renders video for it while it is connected, answers
its messages (runtime.channel: camera inputs to its Controls, scene requests to the session's
SceneRuntime), and ends when the client goes or when the host tells it to (then the client
first gets a "bye" with the reason).

A client has gone when its connection fails or closes, never comes up, is "disconnected" for
a few seconds, or falls silent: no RTCP receiver report for SILENT_CLIENT_SECONDS (counted
from the connection's start until the first one). aiortc
never reports "disconnected" and notices a vanished peer only when ICE consent fails (about
30 s), so the receiver reports, which browsers send about every second, are the quicker sign.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import SessionDescription

from renderhub.host.runtime.channel import DEFAULT_REMOTE_MAX_BYTES, SceneChannel, encoded
from renderhub.host.runtime.runtime import SceneRuntime
from renderhub.host.stream.controls import Controls
from renderhub.host.stream.ice import without_mdns_candidates
from renderhub.host.stream.pacing import Pacer
from renderhub.host.stream.rendering import Renderer
from renderhub.host.stream.stats import StreamStats
from renderhub.host.stream.track import RenderedVideoTrack

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 15.0  # from the answer to a working connection
GONE_AFTER_SECONDS = 3.0  # disconnected this long counts as gone
SILENT_CLIENT_SECONDS = 5.0  # no receiver report this long counts as gone
STATS_INTERVAL_SECONDS = 1.0
BYE_FLUSH_SECONDS = 0.5
CLOSE_TIMEOUT_SECONDS = 3.0


class ClientSession:
    """The peer connection of one client and everything that hangs off it.

    `hello()` gives the fields of the greeting sent when the data channel opens; `on_end` is
    called once, when the session has ended for whatever reason.
    """

    def __init__(
        self,
        pc: RTCPeerConnection,
        renderer: Renderer,
        controls: Controls,
        runtime: SceneRuntime,
        stats: StreamStats,
        hello: Callable[[], dict[str, Any]],
        on_end: Callable[[ClientSession], None],
        silent_after: float = SILENT_CLIENT_SECONDS,
    ) -> None:
        self.pc = pc
        self.controls = controls
        self.codec: str | None = None  # e.g. "video/H264", once answered
        self.connected_since: float | None = None  # epoch seconds
        self._renderer = renderer
        self._stats = stats
        self._hello = hello
        self._on_end = on_end
        self._silent_after = silent_after
        self._connected = asyncio.Event()
        self._pacer = Pacer(lambda: controls.fps)
        controls.on_rate = self._pacer.rate_changed
        self.track = RenderedVideoTrack(
            renderer, controls.view, self._pacer, self._connected, stats, self._render_failed
        )
        self._channel: RTCDataChannel | None = None
        self.messages = SceneChannel(controls, runtime, stats, self._send)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._gone_timer: asyncio.Task[Any] | None = None
        self._ending: asyncio.Task[None] | None = None
        pc.on("connectionstatechange", self._on_state)
        pc.on("datachannel", self._on_channel)

    @property
    def ending(self) -> bool:
        """True once the session has begun to end; a new client may then connect."""
        return self._ending is not None

    @property
    def state(self) -> str:
        return str(self.pc.connectionState)

    async def answer(self, offer_sdp: str) -> str:
        """Take the client's offer and return the answer, with every ICE candidate in it."""
        offer = RTCSessionDescription(sdp=without_mdns_candidates(offer_sdp), type="offer")
        await self.pc.setRemoteDescription(offer)
        # After setRemoteDescription: the offer's recvonly video transceiver takes the track.
        self.pc.addTrack(self.track)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        answer = self.pc.localDescription.sdp  # aiortc has gathered by now: no trickle
        self.codec = _video_codec(answer)
        self._start(self._expect_connection(), "connect-timeout")
        self._start(self._sample_stats(), "stats")
        return answer

    def end(self, reason: str | None = None) -> asyncio.Task[None]:
        """Begin ending the session (saying `reason` to the client first, if given); the
        returned task finishes when it has ended. Calling it again returns the same task."""
        if self._ending is None:
            self._ending = asyncio.ensure_future(self._end(reason))
        return self._ending

    async def _end(self, reason: str | None) -> None:
        for task in [*self._tasks, self._gone_timer]:
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        self._connected.clear()
        try:
            if reason is not None:
                await self._say_bye(reason)
            async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                await self.pc.close()
        except TimeoutError:
            log.warning("closing the peer connection took over %.0f s", CLOSE_TIMEOUT_SECONDS)
        finally:
            self._stats.stream_ended()
            log.info("client gone%s", f": {reason}" if reason else "")
            self._on_end(self)

    async def _say_bye(self, reason: str) -> None:
        channel = self._channel
        if not self._send({"type": "bye", "reason": reason}) or channel is None:
            return
        if channel.bufferedAmount == 0:
            return
        # aiortc hands queued messages to SCTP on a later loop turn; closing before that
        # would drop the bye.
        flushed = asyncio.Event()
        channel.once("bufferedamountlow", flushed.set)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(BYE_FLUSH_SECONDS):
                await flushed.wait()

    def _render_failed(self) -> None:
        self.end(self._renderer.failure or "The renderer failed.")

    def _on_state(self) -> None:
        state = self.pc.connectionState
        log.info("connection %s", state)
        if state == "connected":
            if self.connected_since is None:
                self.connected_since = time.time()
            self._connected.set()
            self._cancel_gone_timer()
            return
        self._connected.clear()
        if state in ("failed", "closed"):
            self.end()
        elif state == "disconnected" and self._gone_timer is None:
            self._gone_timer = asyncio.ensure_future(self._end_after(GONE_AFTER_SECONDS))

    def _cancel_gone_timer(self) -> None:
        if self._gone_timer is not None:
            self._gone_timer.cancel()
            self._gone_timer = None

    async def _end_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.end()

    async def _expect_connection(self) -> None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                await self._connected.wait()
        except TimeoutError:
            log.info("the client did not connect within %.0f s", CONNECT_TIMEOUT_SECONDS)
            self.end()

    def _on_channel(self, channel: RTCDataChannel) -> None:
        if self._channel is not None:
            log.info("ignoring a second data channel %r", channel.label)
            return
        self._channel = channel
        channel.on("message", self.messages.receive)
        self._start(self.messages.run(), "messages")
        if channel.readyState == "open":
            self._greet()
        else:
            channel.on("open", self._greet)

    def _greet(self) -> None:
        self._send({"type": "hello", **self._hello()})

    def _send(self, message: dict[str, Any]) -> bool:
        """Send `message`, or, when it is an answer too large for the client, a
        ReplyTooLarge error in its place (aiortc refuses to send what the remote cannot
        take); False when the channel is not open or nothing could be sent."""
        channel = self._channel
        if channel is None or channel.readyState != "open":
            return False
        text = encoded(message, _remote_max_bytes(channel))
        if text is None:
            return False
        channel.send(text)
        return True

    async def _sample_stats(self) -> None:
        while True:
            await asyncio.sleep(STATS_INTERVAL_SECONDS)
            if self.pc.connectionState != "connected":
                continue
            sent, round_trip, heard_at = _transport_figures(await self.pc.getStats())
            self._stats.transport(sent, round_trip)
            # Before the first report, count from the moment the connection came up.
            since = heard_at or self.connected_since or time.time()
            silent = time.time() - since
            if silent > self._silent_after:
                log.info("no receiver report from the client for %.1f s", silent)
                self.end()

    def _start(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coroutine, name=f"client-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _transport_figures(report: Any) -> tuple[int, float | None, float | None]:
    """Bytes of video sent so far, the RTCP round trip (seconds) if known, and when the
    client's last receiver report arrived (epoch seconds; None before the first)."""
    sent, round_trip, heard_at = 0, None, None
    for stats in report.values():
        if getattr(stats, "kind", None) != "video":
            continue
        if stats.type == "outbound-rtp":
            sent += stats.bytesSent
        elif stats.type == "remote-inbound-rtp":
            round_trip = stats.roundTripTime
            heard_at = stats.timestamp.timestamp()
    return sent, round_trip, heard_at


def _remote_max_bytes(channel: RTCDataChannel) -> int:
    """The largest message the client takes: its SDP's max-message-size as aiortc's SCTP
    transport holds it (0: no limit), else the default for a remote that names none."""
    size = getattr(channel.transport, "_remote_max_message_size", None)
    return size if isinstance(size, int) else DEFAULT_REMOTE_MAX_BYTES


def _video_codec(answer_sdp: str) -> str | None:
    """The codec the video is sent with: the first one the answer lists for it."""
    for media in SessionDescription.parse(answer_sdp).media:
        if media.kind == "video" and media.rtp.codecs:
            return str(media.rtp.codecs[0].mimeType)
    return None
