"""The client side of the streaming tests: an aiortc peer that offers, watches, commands."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from renderhub.frame_marker import read_marker

WAIT_SECONDS = 10.0


class Viewer:
    """A client peer: recvonly video plus a data channel, like the viewer page."""

    def __init__(self, codec: str | None = None) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        transceiver = self.pc.addTransceiver("video", direction="recvonly")
        if codec is not None:
            codecs = RTCRtpSender.getCapabilities("video").codecs
            transceiver.setCodecPreferences([c for c in codecs if c.mimeType == codec])
        self.channel = self.pc.createDataChannel("control")
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.frame: np.ndarray | None = None
        self.frames = 0
        self._frame_arrived = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self.channel.on("message", lambda raw: self.messages.put_nowait(json.loads(raw)))
        self.pc.on("track", self._watch)

    async def offer(self) -> dict[str, str]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return {"sdp": self.pc.localDescription.sdp, "type": "offer"}

    async def connect(self, http: httpx.AsyncClient, token: str) -> httpx.Response:
        """Offer through POST /webrtc/offer; on 200 take the answer. Returns the response."""
        response = await http.post("/webrtc/offer", json=await self.offer(), headers=bearer(token))
        if response.status_code == 200:
            body = response.json()
            await self.pc.setRemoteDescription(RTCSessionDescription(body["sdp"], body["type"]))
        return response

    def _watch(self, track: MediaStreamTrack) -> None:
        self._reader = asyncio.ensure_future(self._read(track))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self.frame = frame.to_ndarray(format="rgb24")  # type: ignore[union-attr]
                self.frames += 1
                self._frame_arrived.set()

    async def picture(self, check: Callable[[np.ndarray], bool] = lambda _: True) -> np.ndarray:
        """The first decoded frame (from now on) for which `check` holds."""
        give_up = time.monotonic() + WAIT_SECONDS
        while True:
            self._frame_arrived.clear()
            async with asyncio.timeout(max(0.0, give_up - time.monotonic())):
                await self._frame_arrived.wait()
            assert self.frame is not None
            if check(self.frame):
                return self.frame

    async def message(self, kind: str) -> dict[str, Any]:
        """The next data-channel message of type `kind` (others before it are dropped)."""
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                message = await self.messages.get()
                if message["type"] == kind:
                    return message

    async def opened(self) -> None:
        if self.channel.readyState != "open":
            opened = asyncio.Event()
            self.channel.once("open", opened.set)
            async with asyncio.timeout(WAIT_SECONDS):
                await opened.wait()

    def send(self, message: dict[str, Any]) -> None:
        self.channel.send(json.dumps(message))

    def go_silent(self) -> None:
        """Drop every packet this peer would send, as if its network had vanished: no close,
        no RTCP, no ICE consent (reaches into aioice's sockets; test use only)."""
        for transceiver in self.pc.getTransceivers():
            connection = transceiver.receiver.transport.transport._connection
            for protocol in connection._protocols:
                protocol.transport.sendto = lambda *args: None  # type: ignore[method-assign]

    async def close(self) -> None:
        await self.pc.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def centre_colour(pixels: np.ndarray) -> np.ndarray:
    """The mean colour of the picture's middle (away from the marker)."""
    height, width = pixels.shape[:2]
    middle = pixels[height // 3 : 2 * height // 3, width // 3 : 2 * width // 3]
    return middle.reshape(-1, 3).mean(axis=0)


def close_to(colour: tuple[int, int, int], tolerance: float = 12.0) -> Callable[[np.ndarray], bool]:
    """A check: the picture's centre has `colour`, give or take the codec's error."""
    return lambda pixels: bool(np.abs(centre_colour(pixels) - colour).max() <= tolerance)


def marker_is(value: int) -> Callable[[np.ndarray], bool]:
    return lambda pixels: read_marker(pixels) == value
