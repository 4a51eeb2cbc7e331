"""The host's side of the renderer process: a FrameSource for the host's asyncio loop.

OpenGL holds the GIL while it draws, so rendering runs in a child process. Pixels come back
through shared memory (two slots, see protocol.py), small messages over a multiprocessing
Connection on a socket pair whose end the event loop watches with add_reader: no thread per
frame, and the loop never blocks on the renderer. Every wait has a deadline.

The child is a plain subprocess (`python -m renderhub.host.render.child`), not one of
multiprocessing's: its "spawn" start also starts a resource-tracker process (12 MB) for each
host, and imports more in the child. The frame memory is a memfd the child inherits: it has
no name in /dev/shm, so nothing is left behind however the two processes end.

The scene changes at run time (frames.SceneRenderer): models are uploaded whole by
`add_model` (their arrays sent from a thread, so the loop never waits on the pipe) and freed
by `remove_model`; `set_state` only stores the newest SceneState, which travels with the
next Render request when it is not the one sent last, so a frame reflects exactly the state
newest at its request.
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

from renderhub.host.frames import Frame, SceneRenderer, View
from renderhub.host.render.camera import check_view
from renderhub.host.render.errors import RendererError
from renderhub.host.render.geometry import ModelGeometry, SceneState, check_geometry
from renderhub.host.render.protocol import (
    SEGMENT_BYTES,
    SLOT_BYTES,
    SLOTS,
    AddModel,
    Close,
    Done,
    Failed,
    RemoveModel,
    Render,
    Rendered,
    Started,
)
from renderhub.host.threads import in_daemon_thread

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0
UPLOAD_TIMEOUT_S = 120.0
RENDER_TIMEOUT_S = 30.0
EXIT_GRACE_S = 2.0
KILL_WAIT_S = 2.0


class RendererProcess:
    """Renders a changing scene in a child process; implements frames.SceneRenderer.

    Start it with `await RendererProcess.launch()` (its GL context exists then), give it
    models with `add_model`, their state with `set_state`, and render Views. Requests run
    one at a time, in the order called (a render waits for an upload in progress). A Frame's
    pixels are a view into shared memory that stays valid until the render after next: the
    previous frame can still be encoded while the next one renders.

    Calls the renderer cannot follow (a model id it has already, one it does not have, a
    negative slot, geometry of the wrong kinds) raise ValueError and change nothing; a part
    whose slot is beyond the state's rows is not drawn. RendererError means the renderer
    failed, timed out, died or is closed: it cannot be used any more."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        conn: Connection,
        memory: _FrameMemory,
        render_timeout: float,
    ) -> None:
        """Use launch(); this only wires up an already started process."""
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
        self._sequence = 0  # of requests
        self._frames = 0  # render requests: Frame.sequence
        self._last_slot = SLOTS - 1
        self._pid: int | None = None
        self._exitcode: int | None = None
        self._waiter: asyncio.Future[object] | None = None
        self._sending: asyncio.Future[None] | None = None
        self._reading_fd: int | None = None
        self._closed = False
        self._models: set[int] = set()
        self._state: SceneState | None = None
        self._sent: tuple[SceneState, int] | None = None  # the state sent last, its version
        self._launch_ms = 0.0

    @classmethod
    async def launch(
        cls,
        *,
        samples: int | None = None,
        start_timeout: float = START_TIMEOUT_S,
        render_timeout: float = RENDER_TIMEOUT_S,
    ) -> RendererProcess:
        """Start the renderer process and create its GL context; it renders an empty scene
        (the background) until it is given models and their state.

        `samples`: MSAA samples (None: 4 on a GPU, none on a software rasteriser).
        Raises RendererError with the child's reason (e.g. "Could not create an OpenGL
        context through EGL: ...") or when it does not start within `start_timeout`."""
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
            started = await self._receive(deadline, "creating its OpenGL context")
            self._info = dict(self._expect(started, Started).info)
        except BaseException:
            await self.aclose()
            raise
        self._launch_ms = (time.perf_counter() - began) * 1000.0
        self._info["startup_ms"] = round(self._launch_ms, 1)
        log.info(
            "renderer started in %.0f ms: %s (pid %s)",
            self._launch_ms,
            self._info.get("renderer"),
            self._pid,
        )
        return self

    async def add_model(
        self,
        model_id: int,
        first_slot: int,
        geometry: ModelGeometry,
        *,
        within: float = UPLOAD_TIMEOUT_S,
    ) -> None:
        """Upload one model's geometry; its parts use slots first_slot .. + part_count.

        The arrays go over the pipe from a thread, so the loop runs on meanwhile; renders
        wait. A caller cancelled meanwhile leaves the upload to finish (the pipe must not be
        left half-written): the model is then in `model_ids`. ValueError for a bad call;
        RendererError when the renderer fails or does not take it within `within` s."""
        check_geometry(geometry)
        if first_slot < 0:
            raise ValueError(f"first_slot {first_slot} is negative.")
        self._check_open()
        if model_id in self._models:
            raise ValueError(f"The renderer has a model {model_id} already.")
        self._models.add(model_id)  # taken at once: a second call with this id is refused
        try:
            await self._lock.acquire()  # in the order called; _upload releases it
        except BaseException:
            self._models.discard(model_id)
            raise
        upload = asyncio.ensure_future(self._upload(model_id, first_slot, geometry, within))
        upload.add_done_callback(_retrieve)
        await asyncio.shield(upload)

    async def remove_model(self, model_id: int) -> None:
        """Free a model's geometry; it is not drawn from the next render on. ValueError for a
        model the renderer does not have."""
        self._check_open()
        if model_id not in self._models:
            raise ValueError(f"The renderer has no model {model_id}.")
        async with self._lock:
            self._check_open()
            self._models.discard(model_id)
            self._sequence += 1
            await self._send(RemoveModel(self._sequence, model_id), "removing a model")
            deadline = time.monotonic() + self._render_timeout
            self._expect(await self._reply_to(self._sequence, deadline, "removing a model"), Done)

    def set_state(self, state: SceneState) -> None:
        """The scene's state for the next renders (the newest one set wins); it travels with
        the next render request. Raises RendererError once the renderer is closed."""
        if not isinstance(state, SceneState):
            raise ValueError(f"set_state takes a SceneState, not {type(state).__name__}.")
        self._check_open()
        self._state = state

    @property
    def model_ids(self) -> set[int]:
        """The models added (or being added) and not removed."""
        return set(self._models)

    @property
    def pid(self) -> int | None:
        """The renderer process's id (None before it started)."""
        return self._pid

    @property
    def closed(self) -> bool:
        return self._closed

    def info(self) -> dict[str, Any]:
        """{"renderer": GL_RENDERER, "vendor", "version", "gpu": bool, "samples": MSAA count,
        "startup_ms": spawn + context, "upload_ms": the last model's upload in the renderer,
        "add_model_ms": the last add_model in all (sending included)}."""
        return dict(self._info)

    async def render(self, view: View) -> Frame:
        """Render `view`; ValueError for a View that cannot be rendered (see camera.check_view),
        RendererError when the renderer failed, timed out, died or is closed."""
        check_view(view)
        async with self._lock:
            self._check_open()
            self._sequence += 1
            self._frames += 1
            sequence, slot, number = self._sequence, (self._last_slot + 1) % SLOTS, self._frames
            began = time.perf_counter()
            await self._send(Render(sequence, slot, view, self._state_to_send()), "rendering")
            deadline = time.monotonic() + self._render_timeout
            reply = self._expect(await self._reply_to(sequence, deadline, "rendering"), Rendered)
            self._last_slot = slot
            size = view.width * view.height * 3
            pixels = self._slots[slot][:size].reshape(view.height, view.width, 3)
            round_trip = (time.perf_counter() - began) * 1000.0
            return Frame(pixels, number, reply.render_ms, {"round_trip_ms": round_trip})

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

    def _state_to_send(self) -> SceneState | None:
        """The newest state when it is not the one sent last (by identity and version)."""
        state = self._state
        if state is None:
            return None
        if self._sent is not None and self._sent[0] is state and self._sent[1] == state.version:
            return None
        self._sent = (state, state.version)
        return state

    async def _upload(
        self, model_id: int, first_slot: int, geometry: ModelGeometry, within: float
    ) -> None:
        """Send the model and wait for the renderer to take it, holding the lock that
        add_model acquired."""
        try:
            self._check_open()
            await self._send_model(model_id, first_slot, geometry, within)
        except BaseException:
            self._models.discard(model_id)
            raise
        finally:
            self._lock.release()

    async def _send_model(
        self, model_id: int, first_slot: int, geometry: ModelGeometry, within: float
    ) -> None:
        began = time.perf_counter()
        deadline = time.monotonic() + within
        self._sequence += 1
        header = AddModel(
            self._sequence,
            model_id,
            first_slot,
            geometry.vertices,
            len(geometry.indices),
            geometry.part_count,
            geometry.single_sided_indices,
            tuple(geometry.part_triangles),
        )
        # A thread, so that a large model does not hold up the loop while the pipe drains.
        self._sending = asyncio.ensure_future(
            in_daemon_thread(_send_model, self._conn, header, geometry)
        )
        try:
            await asyncio.wait_for(asyncio.shield(self._sending), deadline - time.monotonic())
        except TimeoutError:
            await self.aclose()
            raise RendererError(
                "The renderer process did not take the model in time; it was stopped."
            ) from None
        except OSError as exc:  # the renderer went away while reading: its reason follows
            log.debug("sending a model failed: %s", exc)
        done = self._expect(
            await self._reply_to(header.sequence, deadline, "uploading a model"), Done
        )
        self._info["upload_ms"] = round(done.ms, 1)
        self._info["add_model_ms"] = round((time.perf_counter() - began) * 1000.0, 1)

    def _expect(self, message: object, kind: type[Any]) -> Any:
        if isinstance(message, Failed):
            raise RendererError(message.message)
        if not isinstance(message, kind):
            raise RendererError(f"The renderer process sent {type(message).__name__} unasked.")
        return message

    async def _reply_to(self, sequence: int, deadline: float, doing: str) -> object:
        """The answer to request `sequence`, skipping answers to requests whose caller was
        cancelled while it waited."""
        while True:
            message = await self._receive(deadline, doing)
            if isinstance(message, Failed) and message.sequence is None:
                raise RendererError(message.message)
            if isinstance(message, Rendered | Done | Failed) and message.sequence == sequence:
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


def _send_model(conn: Connection, header: AddModel, geometry: ModelGeometry) -> None:
    """A model: a small header, then each array's bytes without a pickled copy."""
    conn.send(header)
    arrays = (
        (geometry.positions, np.float32),
        (geometry.normals, np.float32),
        (geometry.colours, np.uint8),
        (geometry.parts, np.uint16),
        (geometry.indices, np.uint32),
    )
    for array, dtype in arrays:
        conn.send_bytes(np.ascontiguousarray(array, dtype=dtype).data.cast("B"))


def _retrieve(task: asyncio.Future[None]) -> None:
    """Mark a background upload's outcome as seen: its caller may have been cancelled."""
    if not task.cancelled():
        task.exception()


if TYPE_CHECKING:

    def _is_a_scene_renderer(renderer: RendererProcess) -> SceneRenderer:
        return renderer  # mypy checks RendererProcess against the SceneRenderer protocol
