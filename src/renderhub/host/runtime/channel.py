"""One client's data channel: every message read, routed and answered, in the order sent.

Camera and stream inputs go to the client's Controls; scene requests to the session's
SceneRuntime; the camera's own requests (set_camera, camera, pick) and stats are answered
here, from both. Every message with a seq gets exactly one answer with that seq: a reply
or an error (a ping's answer is its pong). A load_model answers when its model is in the
scene; everything else before the next message is read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from renderhub.host.commands import Command
from renderhub.host.runtime.errors import ErrorCode, SceneError
from renderhub.host.runtime.messages import (
    Camera,
    LoadModel,
    MessageError,
    Pick,
    SceneRequest,
    SetCamera,
    Stats,
    parse_message,
)
from renderhub.host.runtime.runtime import Result, SceneRuntime
from renderhub.host.stream.controls import Controls
from renderhub.host.stream.stats import INPUT_SECONDS, StreamStats

log = logging.getLogger(__name__)

# Sends one message to the client; False when the channel is no longer open.
Send = Callable[[dict[str, Any]], bool]

# What the remote takes when its SDP names no max-message-size (RFC 8841).
DEFAULT_REMOTE_MAX_BYTES = 65_536


def encoded(message: dict[str, Any], limit: int) -> str | None:
    """`message` as the text sent for it, within `limit` bytes (0: no limit). An answer
    (reply or error with a seq) too large becomes a ReplyTooLarge error with its seq, so the
    request is still answered exactly once; any other message too large gives None (it is
    not sent) and a log line."""
    text = json.dumps(message, separators=(",", ":"))
    size = len(text.encode())
    if not limit or size <= limit:
        return text
    seq = message.get("seq")
    log.warning(
        "a %r message of %d bytes is over the client's limit of %d bytes",
        message.get("type"),
        size,
        limit,
    )
    if message.get("type") not in ("reply", "error") or seq is None:
        return None
    error = SceneError(
        ErrorCode.REPLY_TOO_LARGE,
        f"The answer takes {size:,} bytes, more than the {limit:,} bytes this connection "
        "carries in one message; ask for less at a time.",
    )
    return json.dumps(error.as_message(seq), separators=(",", ":"))


class SceneChannel:
    """Reads one client's messages in order (`receive` queues, `run` answers) and answers
    each through `send`."""

    def __init__(
        self, controls: Controls, runtime: SceneRuntime, stats: StreamStats, send: Send
    ) -> None:
        self.controls = controls
        self.runtime = runtime
        self._stats = stats
        self._send = send
        self._inbox: asyncio.Queue[tuple[float, str | bytes]] = asyncio.Queue()

    def receive(self, raw: str | bytes) -> None:
        """A message arrived; it is answered after those before it."""
        self._inbox.put_nowait((time.monotonic(), raw))

    async def run(self) -> None:
        """Answer messages as they arrive, until cancelled."""
        while True:
            arrived, raw = await self._inbox.get()
            try:
                await self.answer(raw, arrived)
            except Exception:  # one message must not end the channel
                log.exception("answering a message failed")

    async def answer(self, raw: str | bytes, arrived: float | None = None) -> None:
        """Read, apply and answer one message (that arrived at `arrived`, monotonic
        seconds, for the input-to-render figure)."""
        try:
            message = parse_message(raw)
        except MessageError as exc:
            self._send(exc.as_message(exc.seq))
            return
        seq = message.seq
        try:
            result = await self._dispatch(message)
        except SceneError as exc:
            self._send(exc.as_message(seq))
            return
        except Exception as exc:  # a bug or a resource running out: still one answer
            log.exception("answering a %s failed", type(message).__name__)
            self._send(_internal_error(exc).as_message(seq))
            return
        if result is None:
            return  # answered already (a pong), or later (a load)
        self.controls.applied(seq)
        self._stats.input_applied(arrived)
        if seq is not None:
            self._send({"type": "reply", "seq": seq, "result": result})

    async def _dispatch(self, message: Command | SceneRequest) -> Result | None:
        if isinstance(message, Command):
            pong = self.controls.apply(message)
            if pong is not None:
                self._send(pong)
                return None
            return {}
        if isinstance(message, LoadModel):
            self._start_load(message)
            return None
        if isinstance(message, SetCamera):
            return self._set_camera(message)
        if isinstance(message, Camera):
            return {"camera": self._camera()}
        if isinstance(message, Pick):
            await self.runtime.model.raycast_ready()
            origin, direction = self.controls.camera.ray(message.x, message.y)
            return {"hits": self.runtime.model.raycast(origin, direction, "closest")}
        if isinstance(message, Stats):
            return self.stats()
        return await self.runtime.handle(message)

    def _start_load(self, request: LoadModel) -> None:
        seq = request.seq

        def progress(stage: str, fraction: float) -> None:
            message = {"type": "progress", "seq": seq, "stage": stage}
            self._send({**message, "fraction": round(fraction, 4)})

        def loaded(outcome: Result | SceneError) -> None:
            if isinstance(outcome, SceneError):
                self._send(outcome.as_message(seq))
                return
            self.controls.applied(seq)
            self._send({"type": "reply", "seq": seq, "result": outcome})

        self.runtime.start_load(request, progress, loaded)

    def _set_camera(self, request: SetCamera) -> Result:
        try:
            self.controls.camera.look(request.position, request.target, request.fov)
        except ValueError:
            raise SceneError(
                ErrorCode.INVALID_FIELD,
                "The camera's position and target must not be the same point.",
                "position" if request.position is not None else "target",
            ) from None
        return {"camera": self._camera()}

    def _camera(self) -> dict[str, Any]:
        camera = self.controls.camera
        return {"position": list(camera.eye), "target": list(camera.pose.target), "fov": camera.fov}

    def stats(self) -> Result:
        """The stats request's result: the scene's figures and the stream's."""
        model, stream = self.runtime.model, self._stats
        return {
            "polygons_loaded": model.polygons_loaded,
            "polygons_rendered": model.polygons_visible,
            "entities": model.entity_count,
            "models": len(model.model_roots()),
            "cut_planes": len(model.cut_planes_json()),
            "frames_rendered": stream.frames_rendered,
            "frames_sent": stream.frames_sent,
            "fps_sent": round(stream.fps(), 2),
            "render_ms": stream.render_ms.recent_median(),
            "encode_ms": stream.encode_ms.recent_median(),
            "input_to_render_ms": stream.input_to_render_ms.recent_median(INPUT_SECONDS),
            "width": self.controls.width,
            "height": self.controls.height,
        }


def _internal_error(exc: Exception) -> SceneError:
    return SceneError(
        ErrorCode.INTERNAL_ERROR,
        f"The render host failed while answering this request ({type(exc).__name__}); "
        "its log says more.",
    )
