"""The host's one video stream: who may connect, the renderer, the figures, the end.

ARR's rule holds: one client at a time. A second gets 409 while the first is connected; once
the first has gone (its connection failed or closed, or never came up) the next may connect.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError
from aiortc.sdp import SessionDescription

from renderhub.errors import BadRequest, Conflict, ServiceUnavailable
from renderhub.host.camera import OrbitCamera
from renderhub.host.frames import DEFAULT_HEIGHT, DEFAULT_WIDTH, SceneRenderer
from renderhub.host.runtime.runtime import SceneRuntime
from renderhub.host.state import HostState, Phase
from renderhub.host.stream.controls import DEFAULT_FPS, Controls
from renderhub.host.stream.encoding import configure_aiortc
from renderhub.host.stream.ice import IceServer, gather_only_on
from renderhub.host.stream.rendering import Renderer
from renderhub.host.stream.session import SILENT_CLIENT_SECONDS, ClientSession
from renderhub.host.stream.stats import StreamStats

log = logging.getLogger(__name__)

ALREADY_CONNECTED = (
    "A client is already connected to this session; only one may be connected at a time."
)


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """How the stream starts for each client (it may change size and rate), and how long
    a client may stay silent (no RTCP receiver report) before it counts as gone."""

    ice_servers: tuple[IceServer, ...] = ()
    ice_addresses: tuple[str, ...] = ()  # gather only on these (default: aioice's choice)
    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT
    fps: int = DEFAULT_FPS
    silent_client_seconds: float = SILENT_CLIENT_SECONDS


class Streamer:
    """Owns the renderer once it is attached, and the session of the connected client."""

    def __init__(self, state: HostState, settings: StreamSettings | None = None) -> None:
        configure_aiortc()
        self.state = state
        self.settings = settings or StreamSettings()
        if self.settings.ice_addresses:
            gather_only_on(self.settings.ice_addresses)
        self.stats = StreamStats()
        self.renderer: Renderer | None = None
        self.runtime: SceneRuntime | None = None
        self.client: ClientSession | None = None
        self._renderer_error: str | None = None
        self._closing: asyncio.Task[None] | None = None

    async def attach(self, source: SceneRenderer, runtime: SceneRuntime) -> None:
        """The renderer is running and shows `runtime`'s scene: clients may connect from now
        on. If the host is already ending, the source is closed instead."""
        if self._closing is not None:
            await runtime.aclose()
            await source.aclose()
            return
        if self.renderer is not None:
            raise RuntimeError("a renderer is already attached")
        self.renderer = Renderer(source)
        self.runtime = runtime

    def renderer_failed(self, message: str) -> None:
        """The renderer could not start; clients are told `message`."""
        self._renderer_error = message

    async def connect(self, offer_sdp: str) -> str:
        """Answer a client's offer (SDP) and return the answer (SDP).

        Raises ServiceUnavailable (503) until the host can stream, Conflict (409) while
        another client is connected, BadRequest (400) for an offer it cannot use."""
        renderer, runtime = self._ready_renderer()
        if self.client is not None and not self.client.ending:
            raise Conflict(ALREADY_CONNECTED)
        _check_offer(offer_sdp)
        session = self._new_session(renderer, runtime)
        self.client = session  # claimed before the first await: a racing offer gets 409
        try:
            answer = await session.answer(offer_sdp)
        except (ValueError, InternalError, InvalidAccessError, InvalidStateError) as exc:
            await session.end()
            raise BadRequest(f"The offer could not be used: {exc}") from exc
        except BaseException:
            await asyncio.shield(session.end())
            raise
        log.info("client answered, video %s", session.codec)
        return answer

    def _ready_renderer(self) -> tuple[Renderer, SceneRuntime]:
        if self._closing is not None:
            raise ServiceUnavailable("The session is ending.")
        if self.state.assignable:
            raise ServiceUnavailable("This render host has no session yet.")
        if self.state.phase is Phase.LOADING:
            raise ServiceUnavailable(
                "The session's models are still loading; try again shortly.", retry_after=1
            )
        if self.state.phase is Phase.ERROR:
            raise ServiceUnavailable(f"The session's models failed to load: {self.state.error}")
        if self._renderer_error is not None:
            raise ServiceUnavailable(self._renderer_error)
        if self.renderer is None or self.runtime is None:
            raise ServiceUnavailable("The renderer is starting; try again shortly.", retry_after=1)
        if self.renderer.failure is not None:
            raise ServiceUnavailable(self.renderer.failure)
        return self.renderer, self.runtime

    def _new_session(self, renderer: Renderer, runtime: SceneRuntime) -> ClientSession:
        settings = self.settings
        bounds = runtime.model.bounds
        camera = OrbitCamera.framing(bounds, aspect=settings.width / settings.height)
        controls = Controls(camera, settings.width, settings.height, settings.fps)
        configuration = RTCConfiguration(iceServers=[s.to_rtc() for s in settings.ice_servers])
        return ClientSession(
            RTCPeerConnection(configuration),
            renderer,
            controls,
            runtime,
            self.stats,
            hello=self._hello,
            on_end=self._session_ended,
            silent_after=settings.silent_client_seconds,
        )

    def _hello(self) -> dict[str, Any]:
        controls = self.client.controls if self.client is not None else None
        model = self.runtime.model if self.runtime is not None else None
        hello = {
            "width": controls.width if controls else self.settings.width,
            "height": controls.height if controls else self.settings.height,
            "fps": controls.fps if controls else self.settings.fps,
            "renderer": self.renderer.info().get("renderer") if self.renderer else None,
            "polygons": model.polygons_loaded if model else 0,
            "message": model.over_limit_message() if model else None,
            "models": [model.entity_json(root) for root in model.model_roots()] if model else [],
        }
        return {name: value for name, value in hello.items() if value is not None}

    def _session_ended(self, session: ClientSession) -> None:
        if self.client is session:
            self.client = None

    async def close(self, reason: str) -> None:
        """Say `reason` to the client, close its connection, then close the renderer.

        Safe to call more than once; later calls wait for the first."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close(reason))
        await asyncio.shield(self._closing)

    async def _close(self, reason: str) -> None:
        if self.client is not None:
            await self.client.end(reason)
        if self.runtime is not None:
            await self.runtime.aclose()
        if self.renderer is not None:
            await self.renderer.aclose()


def _check_offer(sdp: str) -> None:
    """Refuse offers that would not receive video, before anything is set up for them."""
    try:
        media = SessionDescription.parse(sdp).media
    except Exception as exc:  # aiortc's parser raises whatever the bad line makes it
        raise BadRequest("'sdp' is not a valid session description.") from exc
    if not media:
        raise BadRequest("'sdp' is not a valid session description: it has no media.")
    if not any(m.kind == "video" and m.direction in ("recvonly", "sendrecv") for m in media):
        raise BadRequest("The offer must receive video (a recvonly video transceiver).")
