"""The scene channel's bookkeeping on its own: requests numbered and matched to their
answers, errors typed, progress routed, a goodbye ending everything, messages too long or
not JSON refused before they are sent. The host's side is played by the test, message by
message, as docs/scene-protocol.md writes them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from renderhub.client import (
    EntityNotFound,
    InvalidMessage,
    LoadProgress,
    ModelNotAllowed,
    SceneClosed,
    SceneError,
    WaitTimedOut,
)
from renderhub.client.scene_channel import MAX_MESSAGE_BYTES, SceneChannel


class Wire:
    """What the channel sent, decoded."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self._more = asyncio.Event()

    def send(self, text: str) -> None:
        self.sent.append(json.loads(text))
        self._more.set()

    async def until(self, count: int) -> None:
        """Wait until `count` messages were sent."""
        async with asyncio.timeout(5):
            while len(self.sent) < count:
                self._more.clear()
                await self._more.wait()


def _answer(channel: SceneChannel, **message: Any) -> None:
    channel.receive(json.dumps(message))


async def test_requests_are_numbered_and_answered_in_any_order() -> None:
    wire = Wire()
    channel = SceneChannel(wire.send)
    first = asyncio.ensure_future(channel.request("entities", {}, timeout=5))
    second = asyncio.ensure_future(channel.request("stats", {}, timeout=5))
    await wire.until(2)
    assert [m["seq"] for m in wire.sent] == [1, 2] and channel.last_seq == 2
    assert wire.sent[0] == {"type": "entities", "seq": 1}
    _answer(channel, type="reply", seq=2, result={"fps_sent": 30})
    _answer(channel, type="reply", seq=1, result={"entities": []})
    assert await first == {"entities": []}
    assert await second == {"fps_sent": 30}


async def test_an_error_is_raised_typed_with_its_field() -> None:
    wire = Wire()
    channel = SceneChannel(wire.send)
    asked = asyncio.ensure_future(channel.request("set_state", {"id": 42}, timeout=5))
    await wire.until(1)
    _answer(channel, type="error", seq=1, code="EntityNotFound", message="No 42.", target="id")
    with pytest.raises(EntityNotFound) as refused:
        await asked
    assert (refused.value.code, refused.value.message, refused.value.target) == (
        "EntityNotFound",
        "No 42.",
        "id",
    )
    unknown = asyncio.ensure_future(channel.request("stats", {}, timeout=5))
    await wire.until(2)
    _answer(channel, type="error", seq=2, code="SomethingNew", message="New.")
    with pytest.raises(SceneError) as plain:
        await unknown
    assert type(plain.value) is SceneError and plain.value.code == "SomethingNew"


async def test_progress_reaches_its_own_request_only() -> None:
    wire = Wire()
    channel = SceneChannel(wire.send)
    seen: list[LoadProgress] = []
    load = asyncio.ensure_future(
        channel.request("load_model", {"url": "m.glb"}, timeout=5, on_progress=seen.append)
    )
    other = asyncio.ensure_future(channel.request("stats", {}, timeout=5))
    await wire.until(2)
    _answer(channel, type="progress", seq=1, stage="fetching", fraction=0.5)
    _answer(channel, type="progress", seq=2, stage="parsing", fraction=0.1)
    _answer(channel, type="reply", seq=2, result={})
    _answer(channel, type="error", seq=1, code="ModelNotAllowed", message="No.", target="url")
    with pytest.raises(ModelNotAllowed):
        await load
    assert await other == {}
    assert seen == [LoadProgress("fetching", 0.5)]


async def test_a_goodbye_fails_pending_and_later_requests_with_its_reason() -> None:
    wire = Wire()
    channel = SceneChannel(wire.send)
    pending = asyncio.ensure_future(channel.request("stats", {}, timeout=5))
    await wire.until(1)
    _answer(channel, type="bye", reason="The session was stopped.")
    _answer(channel, type="bye", reason="A second reason does not count.")
    with pytest.raises(SceneClosed, match=r"The session was stopped\."):
        await pending
    with pytest.raises(SceneClosed, match=r"The session was stopped\."):
        await channel.request("stats", {}, timeout=5)
    with pytest.raises(SceneClosed):
        channel.post("orbit", {"dx": 1, "dy": 0})
    with pytest.raises(SceneClosed):
        await channel.hello
    assert len(wire.sent) == 1, "nothing is sent after the goodbye"


async def test_posted_inputs_carry_a_seq_and_their_answers_are_dropped() -> None:
    wire = Wire()
    channel = SceneChannel(wire.send)
    assert channel.post("orbit", {"dx": 5, "dy": 0}) == 1
    assert wire.sent == [{"type": "orbit", "seq": 1, "dx": 5, "dy": 0}]
    _answer(channel, type="reply", seq=1, result={})
    _answer(channel, type="error", seq=1, code="InvalidField", message="Bad.")
    _answer(channel, type="pong", t=1)
    assert channel.closed_reason is None


async def test_a_host_that_does_not_answer_times_out() -> None:
    channel = SceneChannel(Wire().send)
    with pytest.raises(WaitTimedOut, match="did not answer stats"):
        await channel.request("stats", {}, timeout=0.05)
    _answer(channel, type="reply", seq=1, result={})  # late: nobody waits, nothing breaks


async def test_messages_the_host_would_refuse_are_not_sent() -> None:
    wire = Wire()
    channel = SceneChannel(wire.send)
    huge = [{"id": i, "position": [0.125, 0.25, 0.5]} for i in range(9000)]
    with pytest.raises(InvalidMessage, match=f"at most {MAX_MESSAGE_BYTES:,} bytes"):
        await channel.request("set_transforms", {"transforms": huge}, timeout=5)
    with pytest.raises(InvalidMessage, match="JSON"):
        await channel.request("raycast", {"origin": [float("nan"), 0, 0]}, timeout=5)
    assert wire.sent == []


async def test_the_greeting_is_read_once_and_a_malformed_one_is_an_error() -> None:
    channel = SceneChannel(Wire().send)
    hello = {"type": "hello", "width": 640, "height": 360, "fps": 30, "renderer": "llvmpipe"}
    _answer(channel, **hello, polygons=12)
    _answer(channel, **{**hello, "width": 1})
    greeted = await channel.hello
    assert (greeted.width, greeted.polygons, greeted.models) == (640, 12, ())
    broken = SceneChannel(Wire().send)
    _answer(broken, type="hello", width="wide")
    with pytest.raises(InvalidMessage, match="hello"):
        await broken.hello


async def test_a_send_that_fails_closes_the_channel() -> None:
    def refuse(_: str) -> None:
        raise RuntimeError("the data channel is closed")

    channel = SceneChannel(refuse)
    with pytest.raises(SceneClosed, match="closed"):
        await channel.request("stats", {}, timeout=5)
    assert channel.closed_reason is not None
