"""What a scene connection hands back: entities, ray hits, the camera, cut planes, the
greeting and the statistics, as frozen dataclasses read from the protocol's JSON
(docs/scene-protocol.md, "Values"). Vectors are tuples; unknown extra fields are ignored, so
a newer host still reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

Vector = tuple[float, float, float]
Quaternion = tuple[float, float, float, float]  # x, y, z, w
Colour = tuple[float, float, float, float]  # r, g, b, a, each 0..1


class Keep:
    """The default of set_state's fields: leave this state as it is (None inherits again)."""

    _instance: Keep | None = None

    def __new__(cls) -> Keep:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "KEEP"


KEEP = Keep()


@dataclass(frozen=True, slots=True)
class Bounds:
    """A world-space box."""

    min: Vector
    max: Vector

    @property
    def centre(self) -> Vector:
        return _vector([(a + b) / 2 for a, b in zip(self.min, self.max, strict=True)])


@dataclass(frozen=True, slots=True)
class EntityState:
    """The overrides set on an entity itself; None: inherited from its parent."""

    hidden: bool | None = None
    see_through: bool | None = None
    selected: bool | None = None
    tint: Colour | None = None


@dataclass(frozen=True, slots=True)
class Entity:
    """One node of the scene, as it was when the host answered (a snapshot)."""

    id: int
    name: str
    parent: int | None  # None for a model's root
    model: int  # the id of the root of the model it belongs to
    position: Vector
    rotation: Quaternion
    scale: Vector
    bounds: Bounds | None  # world space, with everything under it; None without geometry
    polygons: int  # of its own meshes
    metadata: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    state: EntityState = EntityState()

    @property
    def is_model_root(self) -> bool:
        """True for the root of a loaded model (which may be attached under another)."""
        return self.model == self.id

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Entity:
        bounds = body.get("bounds")
        state = body.get("state") or {}
        tint = state.get("tint")
        return cls(
            id=int(body["id"]),
            name=str(body.get("name", "")),
            parent=body.get("parent"),
            model=int(body.get("model", body["id"])),
            position=_vector(body.get("position", (0, 0, 0))),
            rotation=_quaternion(body.get("rotation", (0, 0, 0, 1))),
            scale=_vector(body.get("scale", (1, 1, 1))),
            bounds=Bounds(_vector(bounds["min"]), _vector(bounds["max"])) if bounds else None,
            polygons=int(body.get("polygons", 0)),
            metadata=MappingProxyType(dict(body.get("metadata") or {})),
            state=EntityState(
                hidden=state.get("hidden"),
                see_through=state.get("see_through"),
                selected=state.get("selected"),
                tint=_quaternion(tint) if tint is not None else None,
            ),
        )


@dataclass(frozen=True, slots=True)
class RayHit:
    """Where a ray met visible geometry: the entity, the point, the face's world normal."""

    entity: int
    position: Vector
    normal: Vector
    distance: float

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> RayHit:
        return cls(
            entity=int(body["entity"]),
            position=_vector(body["position"]),
            normal=_vector(body["normal"]),
            distance=float(body["distance"]),
        )


@dataclass(frozen=True, slots=True)
class Camera:
    """The session's camera: where it is, what it looks at, its vertical field of view."""

    position: Vector
    target: Vector
    fov: float  # degrees

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Camera:
        return cls(_vector(body["position"]), _vector(body["target"]), float(body["fov"]))


@dataclass(frozen=True, slots=True)
class CutPlane:
    """A cut plane: it cuts away what lies on the side its normal points away from."""

    id: int
    point: Vector
    normal: Vector
    fade_length: float = 0.0
    fade_colour: Colour = (1.0, 1.0, 1.0, 1.0)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CutPlane:
        return cls(
            id=int(body["id"]),
            point=_vector(body["point"]),
            normal=_vector(body["normal"]),
            fade_length=float(body.get("fade_length", 0.0)),
            fade_colour=_quaternion(body.get("fade_colour", (1, 1, 1, 1))),
        )


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """One progress event of a model load: `stage` is fetching, parsing or uploading."""

    stage: str
    fraction: float


@dataclass(frozen=True, slots=True)
class Hello:
    """The host's greeting: the stream's size and rate, what renders, the scene's polygons,
    a note (e.g. over the polygon limit), and the roots of the models already loaded."""

    width: int
    height: int
    fps: int
    renderer: str | None
    polygons: int
    message: str | None
    models: tuple[Entity, ...]

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Hello:
        return cls(
            width=int(body["width"]),
            height=int(body["height"]),
            fps=int(body["fps"]),
            renderer=body.get("renderer"),
            polygons=int(body.get("polygons") or 0),
            message=body.get("message"),
            models=tuple(Entity.from_json(e) for e in body.get("models") or ()),
        )


@dataclass(frozen=True, slots=True)
class SceneStats:
    """The `stats` reply: the scene's size and the stream's figures (medians over the last
    second for render_ms and encode_ms)."""

    polygons_loaded: int
    polygons_rendered: int
    entities: int
    models: int
    cut_planes: int
    frames_rendered: int
    frames_sent: int
    fps_sent: float
    render_ms: float | None
    encode_ms: float | None
    width: int
    height: int

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> SceneStats:
        def optional(name: str) -> float | None:
            value = body.get(name)
            return None if value is None else float(value)

        return cls(
            polygons_loaded=int(body["polygons_loaded"]),
            polygons_rendered=int(body["polygons_rendered"]),
            entities=int(body["entities"]),
            models=int(body["models"]),
            cut_planes=int(body["cut_planes"]),
            frames_rendered=int(body["frames_rendered"]),
            frames_sent=int(body["frames_sent"]),
            fps_sent=float(body["fps_sent"]),
            render_ms=optional("render_ms"),
            encode_ms=optional("encode_ms"),
            width=int(body["width"]),
            height=int(body["height"]),
        )


@dataclass(frozen=True, slots=True)
class Transform:
    """One entry of set_transforms: a local transform; None keeps that part as it is."""

    id: int
    position: Vector | None = None
    rotation: Quaternion | None = None
    scale: Vector | None = None


def _vector(values: Any) -> Vector:
    x, y, z = (float(v) for v in values)
    return (x, y, z)


def _quaternion(values: Any) -> Quaternion:
    x, y, z, w = (float(v) for v in values)
    return (x, y, z, w)
