"""What each Scene call puts on the wire and how it reads the answer, message by message as
docs/scene-protocol.md writes them (the host's side played by the test): set_state's three
ways to treat a state, optional fields left out, typed replies, and arguments refused
before anything is sent."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from renderhub.client import (
    KEEP,
    Camera,
    CutPlane,
    Entity,
    EntityState,
    Hello,
    InvalidField,
    RayHit,
    Scene,
    SceneClosed,
    Transform,
)
from renderhub.client.scene_channel import SceneChannel
from renderhub.client.video import VideoReceiver

ENTITY = {
    "id": 12,
    "name": "Wheel_FL",
    "parent": 10,
    "model": 10,
    "position": [0.8, 0.3, 1.2],
    "rotation": [0, 0, 0, 1],
    "scale": [1, 1, 1],
    "bounds": {"min": [0.5, 0.0, 0.9], "max": [1.1, 0.6, 1.5]},
    "polygons": 5120,
    "metadata": {"partNumber": "A-113"},
    "state": {"selected": True, "tint": [1, 0, 0, 0.5]},
}
ROOT = {"id": 10, "name": "car.glb", "model": 10, "position": [0, 0, 0],
        "rotation": [0, 0, 0, 1], "scale": [1, 1, 1], "polygons": 0,
        "metadata": {"url": "samples/car.glb"}}  # fmt: skip


class Host:
    """Plays the host: answers each request the test expects with the result it gives."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.channel = SceneChannel(self._receive)
        self.results: list[dict[str, Any]] = []

    def _receive(self, text: str) -> None:
        message = json.loads(text)
        self.sent.append(message)
        if "seq" in message and self.results:
            result = self.results.pop(0)
            reply = json.dumps({"type": "reply", "seq": message["seq"], "result": result})
            asyncio.get_running_loop().call_soon(self.channel.receive, reply)


class Closed:
    async def close(self) -> None:
        pass


def _scene(host: Host, models: tuple[Entity, ...] = ()) -> Scene:
    hello = Hello(1280, 720, 30, "llvmpipe", 0, None, models)
    return Scene(Closed(), host.channel, VideoReceiver(), hello, timeout=5)


async def _exchange(
    call: Callable[[Scene], Awaitable[Any]], result: dict[str, Any]
) -> tuple[dict[str, Any], Any]:
    """The message `call` sends (seq left out) and what it returns for `result`."""
    host = Host()
    host.results.append(result)
    returned = await call(_scene(host))
    (message,) = host.sent
    assert isinstance(message.pop("seq"), int)
    return message, returned


async def test_set_state_leaves_out_what_is_kept_and_sends_null_to_inherit() -> None:
    message, entity = await _exchange(
        lambda s: s.set_state(12, hidden=None, selected=True, tint=(1, 0, 0, 0.5)),
        {"entity": ENTITY},
    )
    assert message == {
        "type": "set_state",
        "id": 12,
        "hidden": None,
        "selected": True,
        "tint": [1, 0, 0, 0.5],
    }
    assert entity.state == EntityState(selected=True, tint=(1.0, 0.0, 0.0, 0.5))
    assert entity.bounds.min == (0.5, 0.0, 0.9) and entity.metadata == {"partNumber": "A-113"}
    assert (entity.parent, entity.model, entity.is_model_root) == (10, 10, False)
    only_tint, _ = await _exchange(
        lambda s: s.set_state(12, see_through=KEEP, tint=None), {"entity": ENTITY}
    )
    assert only_tint == {"type": "set_state", "id": 12, "tint": None}


async def test_transforms_send_only_the_parts_given() -> None:
    message, _ = await _exchange(lambda s: s.set_transform(12, position=(1, 0, 0)), {"count": 1})
    assert message == {"type": "set_transforms", "transforms": [{"id": 12, "position": [1, 0, 0]}]}
    batch = [Transform(12, rotation=(0, 0.7071068, 0, 0.7071068), scale=(2, 2, 2)),
             {"id": 13, "position": (0, 1, 0)}]  # fmt: skip
    message, count = await _exchange(lambda s: s.set_transforms(batch), {"count": 2})
    assert count == 2
    assert message["transforms"] == [
        {"id": 12, "rotation": [0, 0.7071068, 0, 0.7071068], "scale": [2, 2, 2]},
        {"id": 13, "position": [0, 1, 0]},
    ]


async def test_cut_planes_rays_and_the_camera_read_typed() -> None:
    message, plane = await _exchange(
        lambda s: s.add_cut_plane(point=(0, 0, 0), normal=(0, 3, 0)), {"id": 4}
    )
    assert message == {"type": "add_cut_plane", "point": [0, 0, 0], "normal": [0, 3, 0]}
    assert plane == CutPlane(4, (0, 0, 0), (0, 1, 0))
    plane_json = {"id": 4, "point": [0, 1, 0], "normal": [0, 1, 0], "fade_length": 0.1,
                  "fade_colour": [1, 0.5, 0, 1]}  # fmt: skip
    message, moved = await _exchange(
        lambda s: s.set_cut_plane(plane, point=(0, 1, 0), fade_length=0.1), {"plane": plane_json}
    )
    assert message == {"type": "set_cut_plane", "id": 4, "point": [0, 1, 0], "fade_length": 0.1}
    assert moved == CutPlane(4, (0, 1, 0), (0, 1, 0), 0.1, (1, 0.5, 0, 1))

    hit = {"entity": 12, "position": [0, 0, 0.5], "normal": [0, 0, 1], "distance": 4.5}
    message, hits = await _exchange(
        lambda s: s.raycast((0, 0, 5), (0, 0, -1), mode="all", max_distance=10), {"hits": [hit]}
    )
    assert message == {"type": "raycast", "origin": [0, 0, 5], "direction": [0, 0, -1],
                       "mode": "all", "max_distance": 10}  # fmt: skip
    assert hits == [RayHit(12, (0, 0, 0.5), (0, 0, 1), 4.5)]
    message, picked = await _exchange(lambda s: s.pick(0.5, 0.25), {"hits": []})
    assert (message, picked) == ({"type": "pick", "x": 0.5, "y": 0.25}, [])

    camera = {"camera": {"position": [0, 0, 5], "target": [0, 0, 0], "fov": 50}}
    message, placed = await _exchange(lambda s: s.set_camera(target=(0, 0, 0)), camera)
    assert message == {"type": "set_camera", "target": [0, 0, 0]}
    assert placed == Camera((0, 0, 5), (0, 0, 0), 50)


async def test_loads_keep_the_models_list_and_unloads_trim_it() -> None:
    host = Host()
    scene = _scene(host, (Entity.from_json(ROOT),))
    host.results += [{"root": {**ROOT, "id": 20, "model": 20}, "entities": [], "warning": "Over."},
                     {"removed": [10, 12]}]  # fmt: skip
    loaded = await scene.load_model("samples/knot.glb", parent=12)
    assert host.sent[0] == {"type": "load_model", "seq": 1, "url": "samples/knot.glb", "parent": 12}
    assert loaded.id == 20 and scene.warning == "Over."
    assert [m.id for m in scene.models] == [10, 20]
    assert await scene.unload(10) == [10, 12]
    assert [m.id for m in scene.models] == [20]


async def test_inputs_are_posted_with_their_seq() -> None:
    host = Host()
    scene = _scene(host)
    seqs = [scene.orbit(0.1, -0.05), scene.pan(0.1, 0), scene.zoom(0.5), scene.reset(),
            scene.resolution(640, 360), scene.frame_rate(20), scene.marker()]  # fmt: skip
    assert seqs == [1, 2, 3, 4, 5, 6, 7] and scene.last_seq == 7
    assert [{k: v for k, v in m.items() if k != "seq"} for m in host.sent] == [
        {"type": "orbit", "dx": 0.1, "dy": -0.05},
        {"type": "pan", "dx": 0.1, "dy": 0},
        {"type": "zoom", "factor": 0.5},
        {"type": "reset"},
        {"type": "resolution", "width": 640, "height": 360},
        {"type": "fps", "value": 20},
        {"type": "marker", "enabled": True},
    ]


@pytest.mark.parametrize(
    ("call", "target"),
    [
        (lambda s: s.set_transform(12, position=(math.inf, 0, 0)), "transforms[0].position"),
        (lambda s: s.set_transform(12, rotation=(0, 0, 1)), "transforms[0].rotation"),
        (lambda s: s.set_state(12, hidden=1), "hidden"),
        (lambda s: s.set_state("12", hidden=True), "id"),
        (lambda s: s.set_state(12, tint=(1, 0, 0)), "tint"),
        (lambda s: s.raycast((0, 0, 5), (0, 0, math.nan)), "direction"),
        (
            lambda s: s.add_cut_plane(point=(0, 0, 0), normal=(1, 0, 0), fade_length=True),
            "fade_length",
        ),
        (lambda s: s.set_camera(fov=float("inf")), "fov"),
        (lambda s: s.pick(None, 0.5), "x"),
    ],
)
async def test_malformed_arguments_are_refused_here_by_name(
    call: Callable[[Scene], Awaitable[Any]], target: str
) -> None:
    host = Host()
    with pytest.raises(InvalidField) as refused:
        await call(_scene(host))
    assert refused.value.target == target and target in refused.value.message
    assert host.sent == [], "nothing is sent"


async def test_a_closed_scene_refuses_everything() -> None:
    host = Host()
    scene = _scene(host)
    await scene.close()
    await scene.close()  # twice is fine
    with pytest.raises(SceneClosed, match="closed"):
        await scene.stats()
    with pytest.raises(SceneClosed):
        scene.orbit(1, 1)
    with pytest.raises(SceneClosed):
        await scene.next_frame()
    assert host.sent == []


async def test_entities_follows_next_until_the_last_page() -> None:
    host = Host()
    scene = _scene(host)
    wheel = {**ENTITY, "id": 13, "name": "Wheel_FR"}
    host.results += [{"entities": [ROOT], "next": 10},
                     {"entities": [ENTITY], "next": 12},
                     {"entities": [wheel]}]  # fmt: skip
    listed = await scene.entities(10)
    assert [{k: v for k, v in m.items() if k != "seq"} for m in host.sent] == [
        {"type": "entities", "root": 10},
        {"type": "entities", "root": 10, "after": 10},
        {"type": "entities", "root": 10, "after": 12},
    ]
    assert listed == [Entity.from_json(e) for e in (ROOT, ENTITY, wheel)]
    host.sent.clear()
    host.results.append({"entities": []})
    assert await scene.entities() == []
    assert [{k: v for k, v in m.items() if k != "seq"} for m in host.sent] == [{"type": "entities"}]
