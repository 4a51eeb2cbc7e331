"""The renderer process's side: create the GL context, take the scene once, render on request.

Started by RendererProcess through multiprocessing's "spawn" context, so it begins with a
fresh interpreter that imports only this package, numpy and moderngl (not the host's web
stack). It exits when told to, when the host's end of the pipe closes, or when its parent
changes (the host died).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from typing import TYPE_CHECKING

import numpy as np

from renderhub.host.render.errors import RendererError
from renderhub.host.render.protocol import (
    SLOT_BYTES,
    Close,
    Failed,
    Ready,
    Render,
    Rendered,
    SceneHeader,
    Started,
)
from renderhub.host.render.scene_data import SceneData

if TYPE_CHECKING:
    from renderhub.host.render.gl import GlRenderer

PARENT_CHECK_S = 0.5


def main(conn: Connection, memory_name: str, samples: int | None, parent: int) -> None:
    """The renderer process's entry point (its arguments come from RendererProcess.start)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the host, which closes us
    try:
        _run(conn, memory_name, samples, parent)
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass  # the host is gone
    except Exception as exc:
        _report(conn, Failed(None, f"The renderer failed: {type(exc).__name__}: {exc}"))
        raise
    finally:
        conn.close()


def _run(conn: Connection, memory_name: str, samples: int | None, parent: int) -> None:
    from renderhub.host.render.gl import GlRenderer, create_context  # moderngl: this side only

    try:
        context = create_context()
    except RendererError as exc:
        conn.send(Failed(None, exc.message))
        return
    memory = _attach(memory_name)
    try:
        # Warm from here on: a pooled host keeps the renderer waiting here until it has a
        # session and its scene.
        conn.send(Started())
        received = _receive_scene(conn)
        if received is None:
            return
        scene, checkerboard = received
        started = time.perf_counter()
        renderer = GlRenderer(scene, checkerboard=checkerboard, samples=samples, context=context)
        del scene, received
        try:
            conn.send(Ready(renderer.info(), (time.perf_counter() - started) * 1000.0))
            _serve(conn, renderer, memory, parent)
        finally:
            renderer.release()
    finally:
        memory.close()


def _receive_scene(conn: Connection) -> tuple[SceneData, bool] | None:
    """The scene and whether to draw a checkerboard instead; None when told to close first."""
    header = conn.recv()
    if isinstance(header, Close):
        return None
    if not isinstance(header, SceneHeader):
        raise RuntimeError(f"expected the scene, got {type(header).__name__}")
    positions = _array(conn, np.float32, (header.vertices, 3))
    normals = _array(conn, np.float32, (header.vertices, 3))
    colours = _array(conn, np.uint8, (header.vertices, 4))
    indices = _array(conn, np.uint32, (header.indices,))
    bounds = None if header.bounds is None else np.array(header.bounds, dtype=np.float32)
    return SceneData(positions, normals, colours, indices, bounds), header.checkerboard


def _array(conn: Connection, dtype: type, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(conn.recv_bytes(), dtype=dtype).reshape(shape)


def _attach(name: str) -> SharedMemory:
    """Attach to the parent's segment. Before Python 3.13 attaching also registers it with the
    resource tracker the two processes share, which then reports it "leaked" at exit although
    the parent unlinked it; only its creator should track it."""
    memory = SharedMemory(name=name)
    if sys.version_info < (3, 13):
        resource_tracker.unregister(memory._name, "shared_memory")  # type: ignore[attr-defined]
    return memory


def _serve(conn: Connection, renderer: GlRenderer, memory: SharedMemory, parent: int) -> None:
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


def _render(renderer: GlRenderer, request: Render, memory: SharedMemory) -> Rendered | Failed:
    started = time.perf_counter()
    try:
        renderer.render_into(request.view, memory.buf, request.slot * SLOT_BYTES)
    except Exception as exc:
        return Failed(request.sequence, f"Rendering failed: {type(exc).__name__}: {exc}")
    return Rendered(request.sequence, request.slot, (time.perf_counter() - started) * 1000.0)


def _report(conn: Connection, message: Failed) -> None:
    with contextlib.suppress(OSError, ValueError):
        conn.send(message)
