"""Helpers for the runtime's tests: a runtime over a real SceneModel with the samples, a
renderer double that records the scene it is given, one that fails, and a client's channel
whose answers are collected."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from renderhub.host.camera import OrbitCamera
from renderhub.host.config import FetchLimits
from renderhub.host.render.geometry import ModelGeometry
from renderhub.host.runtime.channel import SceneChannel
from renderhub.host.runtime.loads import ModelSources
from renderhub.host.runtime.model import SceneModel
from renderhub.host.runtime.runtime import SceneRuntime
from renderhub.host.stream.controls import Controls
from renderhub.host.stream.stats import StreamStats
from renderhub.model_sources import ModelPolicy
from tests.host.stream.doubles import PictureSource

WAIT_SECONDS = 20.0


class RendererGone(Exception):
    """Like the renderer's RendererError: `message` is one sentence for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FailingRenderer(PictureSource):
    """A renderer double whose process has died: every scene change fails."""

    async def add_model(self, model_id: int, first_slot: int, geometry: ModelGeometry) -> None:
        raise RendererGone("The renderer process is gone.")

    async def remove_model(self, model_id: int) -> None:
        raise RendererGone("The renderer process is gone.")


def make_runtime(models_dir: Path, polygon_limit: int | None = None) -> SceneRuntime:
    sources = ModelSources(ModelPolicy(models_dir), FetchLimits())
    return SceneRuntime(SceneModel(polygon_limit), sources)


def scene_now(runtime: SceneRuntime) -> tuple[Any, ...]:
    """Everything a refused request must leave as it was: the entities, the cut planes, the
    renderer's state arrays."""
    model = runtime.model
    state = model.state()
    return (
        json.dumps(model.entities_json(), sort_keys=True),
        json.dumps(model.cut_planes_json(), sort_keys=True),
        state.matrices.tobytes(),
        state.tints.tobytes(),
        state.flags.tobytes(),
        state.checkerboard,
    )


@dataclass
class Client:
    """A client's end of the channel: what it sends goes through SceneChannel.answer; what
    the host sends back is collected in `received`."""

    channel: SceneChannel = field(init=False)
    runtime: SceneRuntime
    controls: Controls
    received: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    seq: int = 0

    def __post_init__(self) -> None:
        self.channel = SceneChannel(self.controls, self.runtime, StreamStats(), self._deliver)

    def _deliver(self, message: dict[str, Any]) -> bool:
        self.received.append(json.loads(json.dumps(message)))  # what the wire would carry
        self.arrived.set()
        return True

    async def send(self, message: dict[str, Any] | str) -> None:
        raw = message if isinstance(message, str) else json.dumps(message)
        await self.channel.answer(raw)

    async def request(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send a request with the next seq; return its answer (reply or error)."""
        self.seq += 1
        seq = self.seq
        await self.send({"type": kind, "seq": seq, **fields})
        return await self.answer_to(seq)

    async def result(self, kind: str, **fields: Any) -> dict[str, Any]:
        answer = await self.request(kind, **fields)
        assert answer["type"] == "reply", answer
        result: dict[str, Any] = answer["result"]
        return result

    async def answer_to(self, seq: int) -> dict[str, Any]:
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                for message in self.received:
                    if message.get("seq") == seq and message["type"] in ("reply", "error"):
                        return message
                self.arrived.clear()
                await self.arrived.wait()

    def answers(self, seq: int) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("seq") == seq and m["type"] != "progress"]


def client_of(runtime: SceneRuntime, width: int = 320, height: int = 240) -> Client:
    camera = OrbitCamera.framing(runtime.model.bounds, aspect=width / height)
    return Client(runtime, Controls(camera, width, height))


def world_centre(entity: dict[str, Any]) -> np.ndarray:
    bounds = entity["bounds"]
    return (np.array(bounds["min"]) + np.array(bounds["max"])) / 2
