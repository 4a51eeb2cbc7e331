"""A session's scene, from Python: load and unload models, walk and change the entity tree,
cut planes, ray casts, the camera, statistics, and the decoded video.

    async with client.connect_scene(session_id) as scene:
        root = await scene.load_model("samples/torus-knot.glb")
        await scene.set_state(root.id, selected=True, tint=(1, 0, 0, 1))
        frame = await scene.next_frame()  # (height, width, 3) uint8, RGB

Each awaited call is one request of docs/scene-protocol.md and returns its reply, typed; a
refusal raises the SceneError subclass of its code (nothing changed), a host that does not
answer in time WaitTimedOut, and a connection that has ended SceneClosed. Camera and
stream inputs (orbit, pan, zoom, reset, resolution, frame_rate, marker) are sent without
waiting and return the `seq` they carry, which the frame marker shows once applied.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable, Mapping
from types import TracebackType
from typing import Any, Literal, Protocol

import numpy as np

from renderhub.client.errors import InvalidField
from renderhub.client.scene_channel import ProgressCallback, SceneChannel
from renderhub.client.scene_types import (
    KEEP,
    Camera,
    Colour,
    CutPlane,
    Entity,
    Hello,
    Keep,
    Quaternion,
    RayHit,
    SceneStats,
    Transform,
    Vector,
)
from renderhub.client.video import VideoReceiver

REQUEST_TIMEOUT_SECONDS = 30.0
LOAD_TIMEOUT_SECONDS = 600.0
FRAME_TIMEOUT_SECONDS = 10.0


class Connection(Protocol):
    """What ends the connection underneath (the aiortc peer connection)."""

    async def close(self) -> None: ...


class Scene:
    """The scene runtime of one connected session; made by `connect_scene`."""

    def __init__(
        self,
        connection: Connection,
        channel: SceneChannel,
        video: VideoReceiver,
        hello: Hello,
        *,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        self._connection = connection
        self._channel = channel
        self._video = video
        self._hello = hello
        self._timeout = timeout
        self._models = {root.id: root for root in hello.models}
        self.warning: str | None = hello.message  # the newest over-the-limit sentence

    # ---- what is known without asking ---------------------------------------------------
    @property
    def hello(self) -> Hello:
        """The host's greeting when the connection opened."""
        return self._hello

    @property
    def models(self) -> tuple[Entity, ...]:
        """The roots of the loaded models: those of the greeting, plus those this client
        loaded, less those it unloaded (as they were when loaded: ask `entities` for now)."""
        return tuple(self._models.values())

    @property
    def last_seq(self) -> int:
        """The `seq` of the newest message sent: compare it with a frame's marker."""
        return self._channel.last_seq

    @property
    def closed_reason(self) -> str | None:
        """Why the connection ended (the host's "bye" reason, say); None while open."""
        return self._channel.closed_reason

    # ---- models and entities ------------------------------------------------------------
    async def load_model(
        self,
        url: str,
        parent: int | None = None,
        on_progress: ProgressCallback | None = None,
        *,
        timeout: float = LOAD_TIMEOUT_SECONDS,  # noqa: ASYNC109
    ) -> Entity:
        """Load a model (a path under the host's models folder, or an allowed URL) as a new
        tree, attached under `parent` if given; returns its root. `on_progress` gets the
        load's progress events. A scene now over its polygon limit sets `warning`."""
        fields: dict[str, Any] = {"url": url}
        if parent is not None:
            fields["parent"] = parent
        result = await self._channel.request(
            "load_model", fields, timeout=timeout, on_progress=on_progress
        )
        root = Entity.from_json(result["root"])
        self._models[root.id] = root
        if result.get("warning"):
            self.warning = str(result["warning"])
        return root

    async def unload(self, root: int | Entity) -> list[int]:
        """Remove the model whose root is `root`, with everything under it (models attached
        below it included); returns the ids removed."""
        result = await self._request("unload_model", {"id": _id(root)})
        removed = [int(i) for i in result["removed"]]
        for entity_id in removed:
            self._models.pop(entity_id, None)
        return removed

    async def entities(self, root: int | Entity | None = None) -> list[Entity]:
        """The whole tree (or the subtree under `root`, root included), flat, parents
        before children: the host answers a page at a time, and this asks for each next
        page until the last (an entity removed meanwhile may end it in EntityNotFound)."""
        fields: dict[str, Any] = {} if root is None else {"root": _id(root)}
        entities: list[Entity] = []
        while True:
            result = await self._request("entities", fields)
            entities += [Entity.from_json(e) for e in result["entities"]]
            if result.get("next") is None:
                return entities
            fields = {**fields, "after": int(result["next"])}

    async def set_transform(
        self,
        entity: int | Entity,
        position: Vector | None = None,
        rotation: Quaternion | None = None,
        scale: Vector | None = None,
    ) -> None:
        """Set an entity's local transform; parts left None keep their value."""
        await self.set_transforms([Transform(_id(entity), position, rotation, scale)])

    async def set_transforms(self, batch: Iterable[Transform | Mapping[str, Any]]) -> int:
        """Set many local transforms at once (all or none, in the same frame); entries are
        Transforms or protocol objects ({"id", "position"?, "rotation"?, "scale"?}).
        Returns how many were applied."""
        transforms = [_transform_json(entry, i) for i, entry in enumerate(batch)]
        result = await self._request("set_transforms", {"transforms": transforms})
        return int(result["count"])

    async def set_state(
        self,
        entity: int | Entity,
        *,
        hidden: bool | Keep | None = KEEP,
        see_through: bool | Keep | None = KEEP,
        selected: bool | Keep | None = KEEP,
        tint: Colour | Keep | None = KEEP,
    ) -> Entity:
        """Override states of an entity (inherited below it): True/False set one, None
        inherits from the parent again, and one left out stays as it is. A tint's alpha is
        how much it replaces the surface colour. Returns the entity as it is now."""
        fields: dict[str, Any] = {"id": _id(entity)}
        for name, flag in (
            ("hidden", hidden),
            ("see_through", see_through),
            ("selected", selected),
        ):
            if not isinstance(flag, Keep):
                fields[name] = _flag(flag, name)
        if not isinstance(tint, Keep):
            fields["tint"] = None if tint is None else _numbers(tint, 4, "tint")
        result = await self._request("set_state", fields)
        return Entity.from_json(result["entity"])

    # ---- cut planes ---------------------------------------------------------------------
    async def add_cut_plane(
        self,
        point: Vector,
        normal: Vector,
        fade_length: float | None = None,
        fade_colour: Colour | None = None,
    ) -> CutPlane:
        """A new cut plane; it cuts away what lies on the side `normal` points away from."""
        fields = _plane_fields(point, normal, fade_length, fade_colour)
        result = await self._request("add_cut_plane", fields)
        return CutPlane(
            id=int(result["id"]),
            point=_vector(point, "point"),
            normal=_unit(_vector(normal, "normal")),
            fade_length=0.0 if fade_length is None else float(fade_length),
            fade_colour=(1.0, 1.0, 1.0, 1.0) if fade_colour is None else _colour(fade_colour),
        )

    async def set_cut_plane(
        self,
        plane: int | CutPlane,
        *,
        point: Vector | None = None,
        normal: Vector | None = None,
        fade_length: float | None = None,
        fade_colour: Colour | None = None,
    ) -> CutPlane:
        """Change a cut plane (what is left None stays); returns it as it is now."""
        fields = {"id": _id(plane), **_plane_fields(point, normal, fade_length, fade_colour)}
        result = await self._request("set_cut_plane", fields)
        return CutPlane.from_json(result["plane"])

    async def remove_cut_plane(self, plane: int | CutPlane) -> None:
        await self._request("remove_cut_plane", {"id": _id(plane)})

    async def cut_planes(self) -> list[CutPlane]:
        result = await self._request("cut_planes", {})
        return [CutPlane.from_json(p) for p in result["planes"]]

    # ---- ray casts ----------------------------------------------------------------------
    async def raycast(
        self,
        origin: Vector,
        direction: Vector,
        mode: Literal["closest", "all"] = "closest",
        max_distance: float | None = None,
    ) -> list[RayHit]:
        """Where a ray meets visible geometry (hidden entities and cut-away parts do not
        count), nearest first; empty when it meets nothing."""
        fields: dict[str, Any] = {
            "origin": _numbers(origin, 3, "origin"),
            "direction": _numbers(direction, 3, "direction"),
            "mode": mode,
        }
        if max_distance is not None:
            fields["max_distance"] = _number(max_distance, "max_distance")
        result = await self._request("raycast", fields)
        return [RayHit.from_json(h) for h in result["hits"]]

    async def pick(self, x: float, y: float) -> list[RayHit]:
        """The closest hit of the ray through a point of the picture (x, y from 0 to 1,
        from the top-left corner) from the current camera."""
        fields = {"x": _number(x, "x"), "y": _number(y, "y")}
        result = await self._request("pick", fields)
        return [RayHit.from_json(h) for h in result["hits"]]

    # ---- the camera and the stream ------------------------------------------------------
    async def set_camera(
        self,
        position: Vector | None = None,
        target: Vector | None = None,
        fov: float | None = None,
    ) -> Camera:
        """Place the camera (what is left None stays); orbit, pan and zoom go on from there."""
        fields: dict[str, Any] = {}
        if position is not None:
            fields["position"] = _numbers(position, 3, "position")
        if target is not None:
            fields["target"] = _numbers(target, 3, "target")
        if fov is not None:
            fields["fov"] = _number(fov, "fov")
        result = await self._request("set_camera", fields)
        return Camera.from_json(result["camera"])

    async def camera(self) -> Camera:
        result = await self._request("camera", {})
        return Camera.from_json(result["camera"])

    async def stats(self) -> SceneStats:
        return SceneStats.from_json(await self._request("stats", {}))

    def orbit(self, dx: float, dy: float) -> int:
        """Turn the camera around its target as a pointer moving dx, dy fractions of the view
        would (x right, y down; a whole view's width is half a turn)."""
        return self._channel.post("orbit", {"dx": _number(dx, "dx"), "dy": _number(dy, "dy")})

    def pan(self, dx: float, dy: float) -> int:
        """Move the camera sideways so the scene follows a pointer moving dx, dy fractions of
        the view."""
        return self._channel.post("pan", {"dx": _number(dx, "dx"), "dy": _number(dy, "dy")})

    def zoom(self, factor: float) -> int:
        """Multiply the camera's distance to its target by `factor` (> 0)."""
        return self._channel.post("zoom", {"factor": _number(factor, "factor")})

    def reset(self) -> int:
        """Back to the home view."""
        return self._channel.post("reset", {})

    def resolution(self, width: int, height: int) -> int:
        """The picture's size from the next frame on (even, 160..3840 x 120..2160)."""
        return self._channel.post("resolution", {"width": width, "height": height})

    def frame_rate(self, fps: int) -> int:
        """Frames per second sent (1..60)."""
        return self._channel.post("fps", {"value": fps})

    def marker(self, enabled: bool = True) -> int:
        """Draw the newest applied seq (mod 65536) into each frame's bottom-left corner;
        read it with renderhub.frame_marker.read_marker."""
        return self._channel.post("marker", {"enabled": bool(enabled)})

    async def next_frame(self, timeout: float = FRAME_TIMEOUT_SECONDS) -> np.ndarray:  # noqa: ASYNC109
        """The first video frame decoded after this call: RGB, (height, width, 3) uint8."""
        return await self._video.next_frame(timeout)

    def frames(self) -> AsyncIterator[np.ndarray]:
        """Every frame decoded from now on, in order (see VideoReceiver.frames)."""
        return self._video.frames()

    # ---- the end ------------------------------------------------------------------------
    async def close(self) -> None:
        """End the connection (the host then lets another client connect); pending and later
        calls raise SceneClosed. Safe to call twice."""
        reason = "This client closed the scene connection."
        self._channel.close(reason)
        await self._video.aclose(reason)
        await self._connection.close()

    async def __aenter__(self) -> Scene:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def _request(self, kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return await self._channel.request(kind, fields, timeout=self._timeout)


# ---- turning arguments into protocol values (shape and finiteness; the host checks range) ---
def _id(value: int | Entity | CutPlane) -> int:
    if isinstance(value, Entity | CutPlane):
        return value.id
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(
            f"An id must be a whole number (or an Entity / CutPlane), not {value!r}.",
            code="InvalidField",
            target="id",
        )
    return value


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidField(
            f"'{name}' must be a finite number, not {value!r}.", code="InvalidField", target=name
        )
    return float(value)


def _numbers(values: Any, count: int, name: str) -> list[float]:
    try:
        items = list(values)
    except TypeError:
        items = []
    if len(items) != count:
        raise InvalidField(
            f"'{name}' must be {count} numbers, not {values!r}.", code="InvalidField", target=name
        )
    return [_number(item, name) for item in items]


def _vector(values: Any, name: str) -> Vector:
    x, y, z = _numbers(values, 3, name)
    return (x, y, z)


def _colour(values: Any) -> Colour:
    r, g, b, a = _numbers(values, 4, "fade_colour")
    return (r, g, b, a)


def _unit(vector: Vector) -> Vector:
    length = math.sqrt(sum(v * v for v in vector))
    if length == 0:
        return vector  # the host refused it already
    x, y, z = (v / length for v in vector)
    return (x, y, z)


def _flag(value: Any, name: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise InvalidField(
            f"'{name}' must be True, False or None (inherit), not {value!r}.",
            code="InvalidField",
            target=name,
        )
    return value  # type: ignore[no-any-return]


def _plane_fields(point: Any, normal: Any, fade_length: Any, fade_colour: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if point is not None:
        fields["point"] = _numbers(point, 3, "point")
    if normal is not None:
        fields["normal"] = _numbers(normal, 3, "normal")
    if fade_length is not None:
        fields["fade_length"] = _number(fade_length, "fade_length")
    if fade_colour is not None:
        fields["fade_colour"] = _numbers(fade_colour, 4, "fade_colour")
    return fields


def _transform_json(entry: Transform | Mapping[str, Any], index: int) -> dict[str, Any]:
    if isinstance(entry, Mapping):
        return dict(entry)  # the host checks every field, and names the one at fault
    where = f"transforms[{index}]"
    body: dict[str, Any] = {"id": _id(entry.id)}
    for name, value, count in (
        ("position", entry.position, 3),
        ("rotation", entry.rotation, 4),
        ("scale", entry.scale, 3),
    ):
        if value is not None:
            body[name] = _numbers(value, count, f"{where}.{name}")
    return body
