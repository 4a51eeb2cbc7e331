"""What the client steers over the data channel: camera, picture size, frame rate, marker.

Each message is one JSON object with a "type"; any message may carry "seq", a whole number
the client counts its inputs with. The newest applied seq (mod 65536) is what the marker
shows, so a client can tell which input a decoded frame already reflects.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from renderhub.host.camera import CameraCommandError, OrbitCamera
from renderhub.host.frames import MAX_HEIGHT, MAX_WIDTH, MIN_HEIGHT, MIN_WIDTH, View

MIN_FPS, MAX_FPS = 1, 60
DEFAULT_FPS = 30
MAX_MESSAGE_CHARS = 4096
MAX_SEQ = 2**53  # the largest whole number every JSON reader keeps exactly
CAMERA_TYPES = frozenset({"orbit", "pan", "zoom", "pose", "reset"})
OTHER_TYPES = ("resolution", "fps", "marker", "ping")


class CommandError(ValueError):
    """A message from the client was refused; `message` goes back to it as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
        message = _parse(raw)
        seq = _seq(message.pop("seq", None))
        kind = message["type"]
        if kind == "ping":
            return _pong(message)
        if kind in CAMERA_TYPES:
            try:
                self.camera.apply(message)
            except CameraCommandError as exc:
                raise CommandError(exc.message) from None
        elif kind == "resolution":
            self._resize(message)
        elif kind == "fps":
            self._set_rate(message)
        elif kind == "marker":
            self._set_marker(message)
        else:
            expected = ", ".join(repr(name) for name in (*sorted(CAMERA_TYPES), *OTHER_TYPES))
            raise CommandError(f"Unknown message type {kind!r}; expected one of {expected}.")
        if seq is not None:
            self.seq = seq
        return None

    def _resize(self, message: dict[str, Any]) -> None:
        _only(message, "width", "height")
        width = _even(message["width"], "width", MIN_WIDTH, MAX_WIDTH)
        height = _even(message["height"], "height", MIN_HEIGHT, MAX_HEIGHT)
        self.width, self.height = width, height
        self.camera.aspect = width / height

    def _set_rate(self, message: dict[str, Any]) -> None:
        _only(message, "value")
        value = _whole(message["value"])
        if value is None or not MIN_FPS <= value <= MAX_FPS:
            raise CommandError(
                f"'value' must be a whole number of frames per second from {MIN_FPS} to {MAX_FPS}."
            )
        self.fps = value
        self.on_rate()

    def _set_marker(self, message: dict[str, Any]) -> None:
        _only(message, "enabled")
        if not isinstance(message["enabled"], bool):
            raise CommandError("'enabled' must be true or false.")
        self.marker_enabled = message["enabled"]


def _parse(raw: str | bytes) -> dict[str, Any]:
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
    if not isinstance(message.get("type"), str):
        raise CommandError('Messages need a "type" string.')
    return message


def _seq(value: object) -> int | None:
    if value is None:
        return None
    seq = _whole(value)
    if seq is None or not 0 <= seq <= MAX_SEQ:
        raise CommandError("'seq' must be a whole number from 0 to 2^53.")
    return seq


def _pong(message: dict[str, Any]) -> Reply:
    _only(message, "t")
    t = message["t"]
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
        raise CommandError("'ping' needs 't', a number (the client's clock), to echo.")
    return {"type": "pong", "t": t}


def _only(message: dict[str, Any], *names: str) -> None:
    kind = message["type"]
    missing = [name for name in names if name not in message]
    if missing:
        raise CommandError(f"{kind!r} needs {', '.join(repr(name) for name in missing)}.")
    unknown = sorted(set(message) - {"type", *names})
    if unknown:
        raise CommandError(f"{kind!r} does not take {', '.join(repr(name) for name in unknown)}.")


def _whole(value: object) -> int | None:
    """`value` as an int if it is a whole JSON number (30 or 30.0), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _even(value: object, name: str, low: int, high: int) -> int:
    number = _whole(value)
    if number is None or not low <= number <= high or number % 2:
        raise CommandError(f"{name!r} must be an even whole number from {low} to {high}.")
    return number
