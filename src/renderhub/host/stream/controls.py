"""What the client steers over the data channel: camera, picture size, frame rate, marker.

Any message may carry "seq", a whole number the client counts its inputs with. The newest
applied seq (mod 65536; scene requests count too) is what the marker shows, so a client can
tell which input a decoded frame already reflects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from renderhub.host.camera import OrbitCamera
from renderhub.host.commands import Command, FrameRate, Marker, Ping, Resolution
from renderhub.host.frames import View

DEFAULT_FPS = 30


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

    def applied(self, seq: int | None) -> None:
        """A request with `seq` has been applied: the marker shows it from the next frame."""
        if seq is not None:
            self.seq = seq

    def apply(self, command: Command) -> Reply | None:
        """Apply one camera or stream input (parsed already); return the pong of a ping.
        Its seq becomes the newest applied one (a ping's does not: a ping is no input)."""
        if isinstance(command, Ping):
            pong: Reply = {"type": "pong", "t": command.t}
            if command.seq is not None:
                pong["seq"] = command.seq
            return pong
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
        self.applied(command.seq)
        return None
