"""The renderer process's side: create the GL context, then take models, remove them and
render (with the scene's newest state) on request.

Started by RendererProcess as `python -m renderhub.host.render.child CONN_FD MEMORY_FD SAMPLES
PARENT_PID`, a fresh interpreter that imports only this module's needs, numpy and moderngl
(not the host's web stack, nor multiprocessing's start-up machinery). CONN_FD is its end of a
socket pair carrying a multiprocessing Connection; MEMORY_FD the frame memory (a memfd). It
exits when told to, when the host's end of the connection closes, or when its parent changes
(the host died).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

import numpy as np

from renderhub.host.render.errors import RendererError
from renderhub.host.render.geometry import ModelGeometry
from renderhub.host.render.protocol import (
    SEGMENT_BYTES,
    SLOT_BYTES,
    AddModel,
    Close,
    Done,
    Failed,
    RemoveModel,
    Render,
    Rendered,
    Started,
)

if TYPE_CHECKING:
    from renderhub.host.render.gl import GlRenderer

PARENT_CHECK_S = 0.5


class FrameMemory:
    """The host's frame memory, mapped from the inherited memfd."""

    def __init__(self, fd: int) -> None:
        self._mmap = mmap.mmap(fd, SEGMENT_BYTES)
        os.close(fd)  # the mapping keeps the memory alive
        self.buf = memoryview(self._mmap)

    def close(self) -> None:
        self.buf.release()
        self._mmap.close()


def main(argv: list[str] | None = None) -> None:
    """The renderer process's entry point; its arguments come from RendererProcess.launch."""
    conn_fd, memory_fd, samples_text, parent_text = argv or sys.argv[1:]
    samples = int(samples_text) if samples_text else None
    conn = Connection(int(conn_fd))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the host, which closes us
    try:
        _run(conn, int(memory_fd), samples, int(parent_text))
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass  # the host is gone
    except Exception as exc:
        _report(conn, Failed(None, f"The renderer failed: {type(exc).__name__}: {exc}"))
        raise
    finally:
        conn.close()


def _run(conn: Connection, memory_fd: int, samples: int | None, parent: int) -> None:
    from renderhub.host.render.gl import GlRenderer, create_context  # moderngl: this side only

    try:
        context = create_context()
    except RendererError as exc:
        conn.send(Failed(None, exc.message))
        return
    memory = FrameMemory(memory_fd)
    try:
        renderer = GlRenderer(samples=samples, context=context)
        try:
            # Warm from here on: a pooled host keeps the renderer waiting here until it has a
            # session and its models.
            conn.send(Started(renderer.info()))
            _serve(conn, renderer, memory, parent)
        finally:
            renderer.release()
    finally:
        memory.close()


def _serve(conn: Connection, renderer: GlRenderer, memory: FrameMemory, parent: int) -> None:
    while True:
        if not conn.poll(PARENT_CHECK_S):
            if os.getppid() != parent:
                return
            continue
        message = conn.recv()
        if isinstance(message, Close):
            return
        if isinstance(message, Render):
            conn.send(_render(renderer, message, memory))
        elif isinstance(message, AddModel):
            geometry = _receive_geometry(conn, message)  # read whole, even if adding fails
            conn.send(_timed(message.sequence, renderer.add_model, *_model_args(message, geometry)))
        elif isinstance(message, RemoveModel):
            conn.send(_timed(message.sequence, renderer.remove_model, message.model_id))
        else:
            raise RuntimeError(f"unexpected request {type(message).__name__}")


def _model_args(message: AddModel, geometry: ModelGeometry) -> tuple[int, int, ModelGeometry]:
    return message.model_id, message.first_slot, geometry


def _receive_geometry(conn: Connection, header: AddModel) -> ModelGeometry:
    vertices = header.vertices
    return ModelGeometry(
        positions=_array(conn, np.float32, (vertices, 3)),
        normals=_array(conn, np.float32, (vertices, 3)),
        colours=_array(conn, np.uint8, (vertices, 4)),
        parts=_array(conn, np.uint16, (vertices,)),
        indices=_array(conn, np.uint32, (header.indices,)),
        part_count=header.part_count,
        single_sided_indices=header.single_sided_indices,
        part_triangles=header.part_triangles,
    )


def _array(conn: Connection, dtype: type, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(conn.recv_bytes(), dtype=dtype).reshape(shape)


def _timed(sequence: int, call: Callable[..., None], *args: Any) -> Done | Failed:
    started = time.perf_counter()
    try:
        call(*args)
    except Exception as exc:
        return Failed(sequence, f"The renderer could not do it: {type(exc).__name__}: {exc}")
    return Done(sequence, (time.perf_counter() - started) * 1000.0)


def _render(renderer: GlRenderer, request: Render, memory: FrameMemory) -> Rendered | Failed:
    started = time.perf_counter()
    try:
        if request.state is not None:
            renderer.set_state(request.state)
        renderer.render_into(request.view, memory.buf, request.slot * SLOT_BYTES)
    except Exception as exc:
        return Failed(request.sequence, f"Rendering failed: {type(exc).__name__}: {exc}")
    return Rendered(request.sequence, request.slot, (time.perf_counter() - started) * 1000.0)


def _report(conn: Connection, message: Failed) -> None:
    with contextlib.suppress(OSError, ValueError):
        conn.send(message)


if __name__ == "__main__":
    main()
