"""Requests and their answers on the scene's data channel (docs/scene-protocol.md).

A SceneChannel numbers each request, sends it as one JSON text message, and resolves it
with the reply or error that carries the same `seq`; it hands progress events to the
request they belong to, keeps the host's greeting, and on a "bye" (or a lost connection)
fails every pending request and every later one with SceneClosed. It knows nothing of
WebRTC: `send` puts one message on the wire and `receive` takes one off it, so it can be
tested, and reasoned about, on its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from renderhub.client.errors import InvalidMessage, SceneClosed, WaitTimedOut, scene_error
from renderhub.client.scene_types import Hello, LoadProgress

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 262_144  # the host's SCTP max-message-size (aiortc's)
MAX_SEQ = 2**53

ProgressCallback = Callable[[LoadProgress], None]
Reply = dict[str, Any]


@dataclass(slots=True)
class _Pending:
    type: str
    future: asyncio.Future[Reply]
    on_progress: ProgressCallback | None


class SceneChannel:
    """The request/answer bookkeeping of one scene connection."""

    def __init__(self, send: Callable[[str], None]) -> None:
        self._send = send
        self._seq = 0
        self._pending: dict[int, _Pending] = {}
        self._closed: str | None = None
        self._closed_event = asyncio.Event()
        self.hello: asyncio.Future[Hello] = asyncio.get_running_loop().create_future()

    @property
    def last_seq(self) -> int:
        """The `seq` of the newest message sent (0 before the first)."""
        return self._seq

    @property
    def closed_reason(self) -> str | None:
        """Why the connection ended (the host's "bye" reason, say); None while open."""
        return self._closed

    async def wait_closed(self) -> str:
        """Wait until the connection has ended; its reason."""
        await self._closed_event.wait()
        return self._closed or ""

    async def request(
        self,
        kind: str,
        fields: Mapping[str, Any],
        *,
        timeout: float,  # noqa: ASYNC109 (a per-request deadline the caller chooses)
        on_progress: ProgressCallback | None = None,
    ) -> Reply:
        """Send a request and return its reply's `result`; raise its error as a typed
        SceneError, WaitTimedOut when no answer comes in time, SceneClosed once closed."""
        seq = self._next_seq()
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[seq] = _Pending(kind, future, on_progress)
        try:
            self._write({"type": kind, "seq": seq, **fields})
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise WaitTimedOut(
                f"The render host did not answer {kind} (seq {seq}) within {timeout:g} s."
            ) from None
        finally:
            self._pending.pop(seq, None)

    def post(self, kind: str, fields: Mapping[str, Any]) -> int:
        """Send a message without waiting for its answer (camera and stream inputs); it
        carries a `seq` so the frame marker can show it. Returns that seq. A refusal is
        logged, as nobody waits for it."""
        seq = self._next_seq()
        self._write({"type": kind, "seq": seq, **fields})
        return seq

    def receive(self, raw: str | bytes) -> None:
        """Take one message from the host."""
        try:
            message = json.loads(raw)
        except ValueError:
            log.warning("the render host sent a message that is not JSON: %.200r", raw)
            return
        if not isinstance(message, dict):
            log.warning("the render host sent a message that is not an object: %.200r", raw)
            return
        handler = self._handlers.get(message.get("type"))  # type: ignore[arg-type]
        if handler is None:
            log.debug("ignoring a %r message from the render host", message.get("type"))
            return
        handler(self, message)

    def close(self, reason: str) -> None:
        """The connection has ended: fail what waits, refuse what comes. Only the first
        reason counts."""
        if self._closed is not None:
            return
        self._closed = reason
        self._closed_event.set()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(SceneClosed(reason))
        if not self.hello.done():
            self.hello.set_exception(SceneClosed(reason))
            self.hello.exception()  # retrieved: nobody may be waiting for it any more

    # ---- sending --------------------------------------------------------------------------
    def _next_seq(self) -> int:
        if self._closed is not None:
            raise SceneClosed(self._closed)
        self._seq = self._seq + 1 if self._seq < MAX_SEQ else 0
        return self._seq

    def _write(self, message: Mapping[str, Any]) -> None:
        try:
            text = json.dumps(message, separators=(",", ":"), allow_nan=False)
        except ValueError as exc:
            raise InvalidMessage(
                f"The {message['type']} message cannot be sent as JSON: {exc}.",
                code="InvalidMessage",
            ) from None
        size = len(text.encode())
        if size > MAX_MESSAGE_BYTES:
            raise InvalidMessage(
                f"The {message['type']} message would be {size:,} bytes long; the data channel "
                f"takes at most {MAX_MESSAGE_BYTES:,} bytes a message: send less at a time.",
                code="InvalidMessage",
            )
        try:
            self._send(text)
        except Exception as exc:  # aiortc raises InvalidStateError once the channel closed
            self.close(f"The connection to the render host is closed ({exc}).")
            raise SceneClosed(self._closed or str(exc)) from exc

    # ---- receiving ------------------------------------------------------------------------
    def _on_reply(self, message: dict[str, Any]) -> None:
        pending = self._pending.get(message.get("seq"))  # type: ignore[arg-type]
        if pending is None:
            return  # the answer to a posted input, or to a request given up on
        result = message.get("result")
        if not pending.future.done():
            pending.future.set_result(result if isinstance(result, dict) else {})

    def _on_error(self, message: dict[str, Any]) -> None:
        code = message.get("code")
        text = message.get("message") or "The render host refused the request."
        error = scene_error(str(code) if code else "Error", str(text), message.get("target"))
        pending = self._pending.get(message.get("seq"))  # type: ignore[arg-type]
        if pending is None:
            log.warning("the render host refused seq %s: %s", message.get("seq"), text)
        elif not pending.future.done():
            pending.future.set_exception(error)

    def _on_progress(self, message: dict[str, Any]) -> None:
        pending = self._pending.get(message.get("seq"))  # type: ignore[arg-type]
        if pending is None or pending.on_progress is None:
            return
        progress = LoadProgress(str(message.get("stage")), float(message.get("fraction") or 0))
        try:
            pending.on_progress(progress)
        except Exception:  # a caller's callback must not break the channel
            log.exception("the progress callback of %s failed", pending.type)

    def _on_hello(self, message: dict[str, Any]) -> None:
        if self.hello.done():
            return
        try:
            self.hello.set_result(Hello.from_json(message))
        except (KeyError, TypeError, ValueError) as exc:
            self.hello.set_exception(
                InvalidMessage(
                    f"The render host's hello is malformed: {exc!r}.", code="InvalidMessage"
                )
            )

    def _on_bye(self, message: dict[str, Any]) -> None:
        reason = message.get("reason")
        self.close(str(reason) if reason else "The render host ended the connection.")

    _handlers: dict[str, Callable[[SceneChannel, dict[str, Any]], None]] = {
        "reply": _on_reply,
        "error": _on_error,
        "progress": _on_progress,
        "hello": _on_hello,
        "bye": _on_bye,
    }
