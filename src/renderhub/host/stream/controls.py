"""What the client steers over the data channel: camera, picture size, frame rate, marker.

Each message is one JSON object with a "type"; any message may carry "seq", a whole number
the client counts its inputs with. The newest applied seq (mod 65536) is what the marker
shows, so a client can tell which input a decoded frame already reflects.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from renderhub.host.camera import OrbitCamera
from renderhub.host.commands import (
    CommandError,
    FrameRate,
    Marker,
    Ping,
    Resolution,
    parse_command,
)
from renderhub.host.frames import View

DEFAULT_FPS = 30
MAX_MESSAGE_CHARS = 4096


Reply = dict[str, Any]


class Controls:
    """The newest input of the connected client, and the View it makes.

    `on_rate` is called after the frame rate changes (to wake the pacer)."""

    def __init__(
        self,
        camera: OrbitCamera,
        width: int,
        height: int,
        fps: int = DEFAULT_FPS,
        on_rate: Callable[[], None] = lambda: None,
    ) -> None:
        self.camera = camera
        self.width, self.height = width, height
        self.fps = fps
        self.marker_enabled = False
        self.seq = 0
        self.on_rate = on_rate
        camera.aspect = width / height

    def view(self) -> View:
        """The View of the newest input."""
        marker = self.seq % 65536 if self.marker_enabled else None
        return self.camera.view(self.width, self.height, marker)

    def handle(self, raw: str | bytes) -> Reply | None:
        """Apply one message; return the reply to send, if any; raise CommandError.

        A refused message changes nothing."""
        command = parse_command(_json_object(raw))
        if isinstance(command, Ping):
            return {"type": "pong", "t": command.t}  # a ping is no input: seq stays
        if isinstance(command, Resolution):
            self.width, self.height = command.width, command.height
            self.camera.aspect = command.width / command.height
        elif isinstance(command, FrameRate):
            self.fps = command.value
            self.on_rate()
        elif isinstance(command, Marker):
            self.marker_enabled = command.enabled
        else:
            self.camera.apply(command)  # type: ignore[arg-type]
        if command.seq is not None:
            self.seq = command.seq
        return None


def _json_object(raw: str | bytes) -> dict[str, Any]:
    if not isinstance(raw, str):
        raise CommandError("Messages must be JSON text, not binary.")
    if len(raw) > MAX_MESSAGE_CHARS:
        raise CommandError(f"Messages may be at most {MAX_MESSAGE_CHARS} characters long.")
    try:
        message = json.loads(raw)
    except ValueError:
        raise CommandError("Messages must be JSON objects; this one is not valid JSON.") from None
    if not isinstance(message, dict):
        raise CommandError('Messages must be JSON objects such as {"type": "reset"}.')
    return message
