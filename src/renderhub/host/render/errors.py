"""What goes wrong in rendering, told in one sentence (the host logs it or shows it)."""

from __future__ import annotations


class RendererError(Exception):
    """The renderer could not start, could not render, or has been closed.

    `message` is one sentence that names the cause, e.g. "Could not create an OpenGL context
    through EGL: ..."."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
