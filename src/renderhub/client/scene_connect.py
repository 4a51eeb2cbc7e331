"""Connecting to a session's render host: an aiortc peer connection that receives the video
and opens the "control" data channel, offered to the host's `POST /webrtc/offer` with the
account's access token, then the host's hello.

aiortc (and PyAV under it) is imported only here, so `import renderhub.client` stays light
for code that never connects to a scene.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from renderhub.client.errors import (
    AlreadyConnected,
    ConnectionFailed,
    error_from_response,
    retry_after,
)
from renderhub.client.prompt_frames import receive_promptly
from renderhub.client.scene import REQUEST_TIMEOUT_SECONDS, Scene
from renderhub.client.scene_channel import SceneChannel
from renderhub.client.video import VideoReceiver

CONNECT_TIMEOUT_SECONDS = 20.0
CHANNEL_LABEL = "control"
BYE_GRACE_SECONDS = 1.0  # how long an ended video waits for the host's reason


async def open_scene(
    host_url: str,
    token: str,
    *,
    timeout: float = CONNECT_TIMEOUT_SECONDS,  # noqa: ASYNC109
    request_timeout: float = REQUEST_TIMEOUT_SECONDS,
    prompt_frames: bool = True,
) -> Scene:
    """Connect to the render host at `host_url` (http://HOST:PORT) and return its Scene once
    the host has said hello. Raises AlreadyConnected (another client is connected),
    Unauthorized, ConnectionFailed (unreachable, or no working connection within
    `timeout` seconds), or SceneClosed (the host ended the connection at once).
    `prompt_frames` decodes each video frame as soon as it is whole (see prompt_frames.py)
    instead of a frame later, as aiortc would."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        async with asyncio.timeout(timeout):
            return await _connect(pc, host_url, token, timeout, request_timeout, prompt_frames)
    except TimeoutError:
        await pc.close()
        raise ConnectionFailed(
            f"The render host at {host_url} did not set up the scene connection within "
            f"{timeout:g} s."
        ) from None
    except BaseException:
        await pc.close()
        raise


async def _connect(
    pc: RTCPeerConnection,
    host_url: str,
    token: str,
    http_seconds: float,
    request_timeout: float,
    prompt_frames: bool,
) -> Scene:
    pc.addTransceiver("video", direction="recvonly")
    if prompt_frames:
        receive_promptly(pc)
    data = pc.createDataChannel(CHANNEL_LABEL)  # reliable and ordered
    channel = SceneChannel(data.send)
    video = VideoReceiver(on_track_end=lambda reason: _track_ended(channel, video, reason))
    data.on("message", channel.receive)
    data.on("close", lambda: _ended(channel, video, "The data channel closed."))
    pc.on("track", lambda track: video.watch(track) if track.kind == "video" else None)

    def on_state() -> None:
        if pc.connectionState in ("failed", "closed"):
            _ended(channel, video, f"The connection to the render host {pc.connectionState}.")

    pc.on("connectionstatechange", on_state)
    await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers: no trickle
    answer = await _offer(host_url, token, pc.localDescription.sdp, http_seconds)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    hello = await channel.hello
    return Scene(pc, channel, video, hello, timeout=request_timeout)


async def _track_ended(channel: SceneChannel, video: VideoReceiver, reason: str) -> None:
    """The video ended: the host's bye (or the connection's end) usually follows within
    moments on the data channel, and its reason is the one to report."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(BYE_GRACE_SECONDS):
            await channel.wait_closed()
    _ended(channel, video, reason)


def _ended(channel: SceneChannel, video: VideoReceiver, reason: str) -> None:
    # A bye came first if the host said goodbye: its reason is the one kept.
    channel.close(reason)
    video.end(channel.closed_reason or reason)


async def _offer(host_url: str, token: str, sdp: str, http_seconds: float) -> str:
    """POST the offer; the answer's SDP. A host still starting (503 with Retry-After) is
    asked again until the overall timeout."""
    url = f"{host_url.rstrip('/')}/webrtc/offer"
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=http_seconds, trust_env=False) as http:
        while True:
            try:
                response = await http.post(url, json={"sdp": sdp, "type": "offer"}, headers=headers)
            except httpx.HTTPError as exc:
                raise ConnectionFailed(
                    f"The render host at {host_url} is unreachable: {exc}."
                ) from exc
            wait = retry_after(response) if response.status_code == 503 else None
            if wait is None:
                return _answer(response)
            await asyncio.sleep(max(0.1, min(wait, 2.0)))


def _answer(response: httpx.Response) -> str:
    if response.status_code == 200:
        body: Any = response.json()
        if isinstance(body, dict) and isinstance(body.get("sdp"), str):
            return str(body["sdp"])
        raise ConnectionFailed("The render host answered the offer without an SDP answer.")
    error = error_from_response(response)
    if response.status_code == 409:
        raise AlreadyConnected(error.message, status=409, code=error.code, correlation_vector=None)
    raise error
