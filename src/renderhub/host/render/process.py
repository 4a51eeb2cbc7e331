"""The host's side of the renderer process: a FrameSource for the host's asyncio loop.

OpenGL holds the GIL while it draws, so rendering runs in a child process. Pixels come back
through shared memory (two slots, see protocol.py), small messages over a multiprocessing
Connection on a socket pair whose end the event loop watches with add_reader: no thread per
frame, and the loop never blocks on the renderer. Every wait has a deadline.

The child is a plain subprocess (`python -m renderhub.host.render.child`), not one of
multiprocessing's: its "spawn" start also starts a resource-tracker process (12 MB) for each
host, and imports more in the child. The frame memory is a memfd the child inherits: it has
no name in /dev/shm, so nothing is left behind however the two processes end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mmap
import os
import socket
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from renderhub.host.frames import Frame, FrameSource, View
from renderhub.host.render.camera import check_view
from renderhub.host.render.errors import RendererError
from renderhub.host.render.protocol import (
    SEGMENT_BYTES,
    SLOT_BYTES,
    SLOTS,
    Close,
    Failed,
    Ready,
    Render,
    Rendered,
    SceneHeader,
    Started,
)
from renderhub.host.render.scene_data import SceneData
from renderhub.host.threads import in_daemon_thread

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0
RENDER_TIMEOUT_S = 30.0
EXIT_GRACE_S = 2.0
KILL_WAIT_S = 2.0


class RendererProcess:
    """Renders Views in a child process; implements frames.FrameSource.

    Create it with `await RendererProcess.start(scene)`, or warm it first with
    `await RendererProcess.launch()` and give it its scene later with `await renderer.load()`.
    `render()` calls run one at a time. A Frame's pixels are a view into shared memory that
    stays valid until the render after next: the previous frame can still be encoded while the
    next one renders."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        conn: Connection,
        memory: _FrameMemory,
        render_timeout: float,
    ) -> None:
        """Use start(); this only wires up an already started process."""
        self._process = process
        self._conn = conn
        self._memory = memory
        buffer = memory.buf
        assert buffer is not None
        self._slots: list[np.ndarray] = [
            np.frombuffer(buffer, dtype=np.uint8, count=SLOT_BYTES, offset=i * SLOT_BYTES)
            for i in range(SLOTS)
        ]
        self._render_timeout = render_timeout
        self._lock = asyncio.Lock()
        self._info: dict[str, Any] = {}
        self._sequence = 0
        self._last_slot = SLOTS - 1
        self._pid: int | None = None
        self._exitcode: int | None = None
        self._waiter: asyncio.Future[object] | None = None
        self._sending: asyncio.Future[None] | None = None
        self._reading_fd: int | None = None
        self._closed = False
        self._loaded = False
        self._launch_ms = 0.0

    @classmethod
    async def start(
        cls,
        scene: SceneData,
        *,
        checkerboard: bool = False,
        samples: int | None = None,
        start_timeout: float = START_TIMEOUT_S,
        render_timeout: float = RENDER_TIMEOUT_S,
    ) -> RendererProcess:
        """Start the renderer process, create its GL context and upload `scene` once.

        `checkerboard`: draw a checkered box in the scene's bounds instead of the models.
        `samples`: MSAA samples (None: 4 on a GPU, none on a software rasteriser).
        Raises RendererError with the child's reason (e.g. "Could not create an OpenGL
        context through EGL: ...") or when it does not get ready within `start_timeout`."""
        self = await cls.launch(
            samples=samples, start_timeout=start_timeout, render_timeout=render_timeout
        )
        await self.load(scene, checkerboard=checkerboard, within=start_timeout)
        return self

    @classmethod
    async def launch(
        cls,
        *,
        samples: int | None = None,
        start_timeout: float = START_TIMEOUT_S,
        render_timeout: float = RENDER_TIMEOUT_S,
    ) -> RendererProcess:
        """Start the renderer process and create its GL context, without a scene yet: a warm
        renderer that `load` gives its scene later. Raises RendererError as `start` does."""
        began = time.perf_counter()
        memory = _FrameMemory(SEGMENT_BYTES)
        ours, theirs = socket.socketpair()
        try:
            process = _start_child(theirs.fileno(), memory.fd, samples)
        except OSError as exc:
            memory.close()
            ours.close()
            raise RendererError(f"Could not start the renderer process: {exc}") from exc
        finally:
            theirs.close()  # the child has its own copy now
        memory.close_fd()  # likewise; our mapping keeps the memory
        self = cls(process, Connection(ours.detach()), memory, render_timeout)
        self._pid = process.pid
        try:
            deadline = time.monotonic() + start_timeout
            self._expect(await self._receive(deadline, "creating its OpenGL context"), Started)
        except BaseException:
            await self.aclose()
            raise
        self._launch_ms = (time.perf_counter() - began) * 1000.0
        log.info("renderer started in %.0f ms (pid %s)", self._launch_ms, self._pid)
        return self

    async def load(
        self, scene: SceneData, *, checkerboard: bool = False, within: float = START_TIMEOUT_S
    ) -> None:
        """Give the launched renderer its scene, once; it renders from then on.

        Raises RendererError when the renderer fails or does not take it within `within` s."""
        self._check_open()
        if self._loaded:
            raise RendererError("The renderer has its scene already.")
        self._loaded = True
        began = time.perf_counter()
        await self._send_scene(scene, checkerboard, time.monotonic() + within)
        load_ms = (time.perf_counter() - began) * 1000.0
        self._info["startup_ms"] = round(self._launch_ms + load_ms, 1)
        self._info["load_ms"] = round(load_ms, 1)
        log.info(
            "renderer ready in %.0f ms (scene %.0f ms): %s (pid %s)",
            self._info["startup_ms"],
            load_ms,
            self._info.get("renderer"),
            self._pid,
        )

    @property
    def pid(self) -> int | None:
        """The renderer process's id (None before it started)."""
        return self._pid

    @property
    def closed(self) -> bool:
        return self._closed

    def info(self) -> dict[str, Any]:
        """{"renderer": GL_RENDERER, "vendor", "version", "gpu": bool, "samples": MSAA count,
        "upload_ms", "load_ms": sending + uploading the scene, "startup_ms": spawn + context
        + load}; empty before the scene is loaded."""
        return dict(self._info)

    async def render(self, view: View) -> Frame:
        """Render `view`; ValueError for a View that cannot be rendered (see camera.check_view),
        RendererError when the renderer failed, timed out, died or is closed."""
        check_view(view)
        async with self._lock:
            self._check_open()
            if not self._loaded:
                raise RendererError("The renderer has no scene yet.")
            self._sequence += 1
            sequence, slot = self._sequence, (self._last_slot + 1) % SLOTS
            began = time.perf_counter()
            await self._send(Render(sequence, slot, view), "rendering")
            reply = await self._reply_to(sequence)
            if isinstance(reply, Failed):
                raise RendererError(reply.message)
            self._last_slot = slot
            size = view.width * view.height * 3
            pixels = self._slots[slot][:size].reshape(view.height, view.width, 3)
            round_trip = (time.perf_counter() - began) * 1000.0
            return Frame(pixels, sequence, reply.render_ms, {"round_trip_ms": round_trip})

    async def aclose(self) -> None:
        """Tell the renderer to exit, wait briefly, then terminate or kill it; release the
        shared memory. Safe to call twice; a render waiting at the time raises RendererError.
        Frames handed out before stay readable (the mapping lives on until they are freed)."""
        if self._closed:
            return
        self._closed = True
        self._abandon_waiter()
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(Close())
        await self._end_process()
        await self._stop_sending()
        self._conn.close()
        self._slots = []
        self._memory.close()

    async def __aenter__(self) -> RendererProcess:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _send_scene(self, scene: SceneData, checkerboard: bool, deadline: float) -> None:
        # A thread, so that a large scene does not hold up the loop while the pipe drains.
        self._sending = asyncio.ensure_future(
            in_daemon_thread(_send_scene, self._conn, scene, checkerboard)
        )
        try:
            await asyncio.wait_for(asyncio.shield(self._sending), deadline - time.monotonic())
        except TimeoutError:
            await self.aclose()
            raise RendererError(
                "The renderer process did not take the scene in time; it was stopped."
            ) from None
        except OSError as exc:  # the renderer went away while reading: its reason follows
            log.debug("sending the scene failed: %s", exc)
        ready = self._expect(await self._receive(deadline, "uploading the scene"), Ready)
        self._info = {**self._info, **ready.info, "upload_ms": round(ready.upload_ms, 1)}

    def _expect(self, message: object, kind: type[Any]) -> Any:
        if isinstance(message, Failed):
            raise RendererError(message.message)
        if not isinstance(message, kind):
            raise RendererError(f"The renderer process sent {type(message).__name__} unasked.")
        return message

    async def _reply_to(self, sequence: int) -> Rendered | Failed:
        """The answer to request `sequence`, skipping answers to requests whose caller was
        cancelled while it waited."""
        deadline = time.monotonic() + self._render_timeout
        while True:
            message = await self._receive(deadline, "rendering")
            if isinstance(message, Failed) and message.sequence is None:
                raise RendererError(message.message)
            if isinstance(message, Rendered | Failed) and message.sequence == sequence:
                return message

    async def _receive(self, deadline: float, doing: str) -> object:
        """The next message from the renderer, waiting on the pipe's fd until `deadline`.
        A renderer that does not answer in time, or dies, is ended (the protocol is out of
        step with it from then on)."""
        try:
            return await self._receive_until(deadline)
        except TimeoutError:
            await self.aclose()
            raise RendererError(
                f"The renderer process did not answer in time while {doing}; it was stopped."
            ) from None
        except (EOFError, OSError):
            raise await self._ended(doing) from None

    async def _receive_until(self, deadline: float) -> object:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[object] = loop.create_future()
        fd = self._conn.fileno()

        def readable() -> None:
            if waiter.done() or not self._conn.poll():
                return
            try:
                waiter.set_result(self._conn.recv())
            except (EOFError, OSError) as exc:
                waiter.set_exception(exc)

        self._waiter, self._reading_fd = waiter, fd
        loop.add_reader(fd, readable)
        try:
            return await asyncio.wait_for(waiter, max(0.0, deadline - time.monotonic()))
        finally:
            self._stop_reading()
            self._waiter = None

    async def _send(self, message: object, doing: str) -> None:
        try:
            self._conn.send(message)
        except OSError:
            raise await self._ended(doing) from None

    async def _ended(self, doing: str) -> RendererError:
        """Close this renderer, found dead (its pipe closed), and say so."""
        await self.aclose()
        return RendererError(
            f"The renderer process ended unexpectedly while {doing} (exit code {self._exitcode})."
        )

    def _check_open(self) -> None:
        if self._closed:
            raise RendererError("The renderer process is closed.")

    def _abandon_waiter(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(RendererError("The renderer process is closed."))
        self._stop_reading()

    def _stop_reading(self) -> None:
        if self._reading_fd is not None:
            asyncio.get_running_loop().remove_reader(self._reading_fd)
            self._reading_fd = None

    async def _stop_sending(self) -> None:
        """Wait for the thread sending the scene (it fails at once once the child is gone)
        before the pipe is closed under it."""
        sending, self._sending = self._sending, None
        if sending is None:
            return
        await asyncio.wait({sending}, timeout=KILL_WAIT_S)
        if sending.done() and not sending.cancelled():
            sending.exception()  # retrieved: a broken pipe here is expected, not news

    async def _end_process(self) -> None:
        process = self._process
        if self._pid is None:
            return
        if not await _exited(process, EXIT_GRACE_S):
            log.warning("renderer %s did not exit when asked; terminating it", process.pid)
            process.terminate()
            if not await _exited(process, KILL_WAIT_S):
                process.kill()
                await _exited(process, KILL_WAIT_S)
        self._exitcode = process.returncode


class _FrameMemory:
    """The frame slots: an anonymous memory file (memfd) mapped here and in the renderer.

    It may be closed while frames still view it: the mapping then stays until the last such
    frame is freed (unmapping it would pull the pages from under them)."""

    def __init__(self, size: int) -> None:
        self.fd = os.memfd_create("renderhub-frames", os.MFD_CLOEXEC)
        try:
            os.ftruncate(self.fd, size)
            self._mmap: mmap.mmap | None = mmap.mmap(self.fd, size)
        except BaseException:
            os.close(self.fd)
            raise
        self.buf: memoryview | None = memoryview(self._mmap)

    def close_fd(self) -> None:
        """Close the file; the mapping (and the child's copy) keep the memory."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def close(self) -> None:
        self.close_fd()
        buf, mapping, self.buf, self._mmap = self.buf, self._mmap, None, None
        if buf is None or mapping is None:
            return
        try:
            buf.release()
            mapping.close()
        except BufferError:
            pass  # frames still hold the buffer; the mapping goes with the last of them


def _start_child(conn_fd: int, memory_fd: int, samples: int | None) -> subprocess.Popen[bytes]:
    """`python -m renderhub.host.render.child`, with this process's import path, in the
    host's process group (a backend stopping the host's group stops it too)."""
    command = [sys.executable, "-m", "renderhub.host.render.child"]
    command += [str(conn_fd), str(memory_fd), "" if samples is None else str(samples)]
    command.append(str(os.getpid()))
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.Popen(
        command, stdin=subprocess.DEVNULL, pass_fds=(conn_fd, memory_fd), env=environment
    )


async def _exited(process: subprocess.Popen[bytes], within: float) -> bool:
    """Wait up to `within` seconds for `process` to end (its pidfd turns readable), and
    reap it."""
    if process.poll() is None:
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[None] = loop.create_future()

        def on_end() -> None:
            if not ended.done():
                ended.set_result(None)

        pidfd = os.pidfd_open(process.pid)  # not reaped yet, so the pid is still this child's
        loop.add_reader(pidfd, on_end)
        try:
            await asyncio.wait_for(ended, within)
        except TimeoutError:
            return False
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)
        process.wait()  # returns at once: it has exited
    return process.returncode is not None


def _send_scene(conn: Connection, scene: SceneData, checkerboard: bool) -> None:
    """The scene, once: a small header, then each array's bytes without a pickled copy."""
    bounds = None if scene.bounds is None else scene.bounds.tolist()
    header = SceneHeader(
        scene.vertices, len(scene.indices), bounds, checkerboard, scene.single_sided_indices
    )
    conn.send(header)
    for array in (scene.positions, scene.normals, scene.colours, scene.indices):
        conn.send_bytes(np.ascontiguousarray(array).data.cast("B"))


if TYPE_CHECKING:

    def _is_a_frame_source(renderer: RendererProcess) -> FrameSource:
        return renderer  # mypy checks RendererProcess against the FrameSource protocol
