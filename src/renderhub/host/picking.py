"""Ray casts against the scene: which entity a user points at, where, and what lies behind it.

The scene runtime hands `cast` a ray and what it holds: each entity's mesh in its own local
space with the entity's world transform, the ids that are hidden, and the cut planes. The
acceleration structure of a mesh is built once, in a daemon thread that `start_build` begins
(the scene begins it when the model is committed; the first cast that needs it otherwise), so
a model is usable before its structure is: seconds for a million triangles that would
otherwise delay a session's Ready. It is built in chunks of nearby triangles, so that the
build, which holds the GIL, never stalls the event loop for long. A cast waits for the
structures it needs; `built` lets an event loop await them instead. Moving an entity only
changes its `PickableMesh.transform`, and the ray is carried into the mesh's local space
instead of the mesh into the world.

The accelerator is trimesh's ray module: Embree (the `embreex` package) where it is installed,
otherwise trimesh's pure-numpy `ray_triangle` (with an r-tree). `ACCELERATOR` says which one
this process uses; it is chosen once, at import.

Cut planes follow ARR's `CutPlaneComponent`: what lies on the back side of a plane (the side
its normal points away from) is cut away, so the normal points into the part that is kept.
Points on the plane itself are kept. Since the kept region is the intersection of half-spaces,
it meets a ray in one interval; hits outside that interval do not count and the ray goes on.

Bad input raises `BadRequest` (a `RenderHubError`) whose `target` names the field, so the
message layer can answer `{code, message}` without knowing this module.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

import numpy as np
import trimesh
import trimesh.ray
from trimesh.ray import ray_triangle

from renderhub.errors import BadRequest

log = logging.getLogger(__name__)

EntityId = int
Mode = Literal["closest", "all"]
Accelerator = Literal["embree", "numpy"]
MODES: Final[tuple[Mode, ...]] = ("closest", "all")

ACCELERATOR: Final[Accelerator] = "embree" if trimesh.ray.has_embree else "numpy"
"""The accelerator new geometry uses: Embree when embreex imports, else trimesh's numpy one."""
log.info("ray casts use the %s accelerator", ACCELERATOR)

# The largest magnitude a coordinate, distance or matrix entry may have: a billion metres is
# far beyond any scene, and squaring such numbers (lengths, inverses) stays finite.
MAX_MAGNITUDE: Final = 1e9

CHUNK_TRIANGLES: Final = 32_768
"""Triangles per chunk of a structure (see RayStructure): embreex holds the GIL for ~2 us a
triangle while it builds, so a chunk keeps the event loop waiting ~50-80 ms at most."""

# A hit this close behind the start of the visible span still counts: the ray is restarted at
# the span's start, and the accelerators report a hit there with float32 rounding.
_SPAN_TOLERANCE = 1e-6


class Intersector(Protocol):
    """What both of trimesh's ray intersectors offer (Embree's and the numpy one)."""

    def intersects_id(
        self,
        ray_origins: Any,
        ray_directions: Any,
        *,
        multiple_hits: bool,
        return_locations: bool,
    ) -> Any: ...

    def intersects_any(self, ray_origins: Any, ray_directions: Any) -> Any: ...


def _finite_array(value: object, shape: tuple[int, ...], name: str) -> np.ndarray:
    """`value` as a float64 array of `shape`, or BadRequest naming `name`."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"{name} must be numbers, shape {shape}", target=name) from exc
    if array.shape != shape:
        raise BadRequest(f"{name} must have shape {shape}, not {array.shape}", target=name)
    if not np.isfinite(array).all():
        raise BadRequest(f"{name} must be finite numbers (no NaN or infinity)", target=name)
    if (np.abs(array) > MAX_MAGNITUDE).any():
        raise BadRequest(f"{name} must not exceed {MAX_MAGNITUDE:g} in magnitude", target=name)
    return array


def _unit_vector(value: object, name: str) -> np.ndarray:
    """A finite, non-zero 3-vector scaled to length 1, or BadRequest naming `name`."""
    vector = _finite_array(value, (3,), name)
    length = float(np.linalg.norm(vector))
    if not length > 1e-12 or not math.isfinite(length):
        raise BadRequest(f"{name} must be a non-zero vector", target=name)
    return vector / length


class MeshGeometry:
    """Triangles in local space, and their acceleration structure once built.

    The constructor checks the triangles and computes the local box (what placing needs);
    the structure (Embree's scene or the r-tree, with the triangles and face normals every
    hit needs) is built in a daemon thread that `start_build` begins, once. Until it is done
    the thread alone touches the trimesh (its caches are not documented as thread-safe);
    `intersect` waits for it. One geometry may serve several entities (instances); it never
    changes after it is made."""

    def __init__(
        self, vertices: object, faces: object, *, accelerator: Accelerator | None = None
    ) -> None:
        vertex_array = np.asarray(vertices)
        face_array = np.asarray(faces)
        if vertex_array.ndim != 2 or vertex_array.shape[1] != 3:
            raise BadRequest("vertices must have shape (n, 3)", target="vertices")
        if face_array.ndim != 2 or face_array.shape[1] != 3 or len(face_array) == 0:
            raise BadRequest("faces must have shape (m, 3) with m > 0", target="faces")
        if not np.isfinite(vertex_array).all():
            raise BadRequest("vertices must be finite numbers", target="vertices")
        if not np.issubdtype(face_array.dtype, np.integer):
            raise BadRequest("faces must be vertex indices (integers)", target="faces")
        if face_array.min() < 0 or face_array.max() >= len(vertex_array):
            raise BadRequest("faces refer to vertices that do not exist", target="faces")
        self.accelerator: Accelerator = accelerator or ACCELERATOR
        # process=False keeps the caller's triangles as they are (no merging, no reordering),
        # so a hit's face index means the same face as in the caller's arrays.
        self.mesh = trimesh.Trimesh(vertices=vertex_array, faces=face_array, process=False)
        self.bounds: np.ndarray = np.array(self.mesh.bounds, dtype=np.float64)  # local box
        self.built: Future[RayStructure] = Future()
        """Resolves to the structure once it is built (or to the error)."""
        self._start_lock = threading.Lock()
        self._builder: threading.Thread | None = None

    @classmethod
    def from_trimesh(
        cls, mesh: trimesh.Trimesh, *, accelerator: Accelerator | None = None
    ) -> MeshGeometry:
        return cls(mesh.vertices, mesh.faces, accelerator=accelerator)

    @property
    def triangles(self) -> int:
        return len(self.mesh.faces)

    @property
    def ready(self) -> bool:
        """True once the structure is built (or its build has failed)."""
        return self.built.done()

    def start_build(self) -> None:
        """Begin building the structure in a daemon thread, unless begun already."""
        with self._start_lock:
            if self._builder is not None:
                return
            # A daemon: a host that ends does not wait for a structure nobody needs.
            self._builder = threading.Thread(
                target=self._build_into_future, name="ray-structure", daemon=True
            )
        self._builder.start()

    def _build_into_future(self) -> None:
        started = time.perf_counter()
        try:
            structure = self._build()
        except BaseException as exc:  # handed to whoever waits; the thread ends quietly
            self.built.set_exception(exc)
            return
        log.debug(
            "ray structure of %s triangles (%d chunks) built in %.0f ms",
            f"{self.triangles:,}",
            len(structure.chunks),
            (time.perf_counter() - started) * 1000,
        )
        self.built.set_result(structure)

    def _build(self) -> RayStructure:
        """The structure, built now rather than on the first cast, with the face normals
        every hit needs."""
        structure = RayStructure.of(self.mesh, self.accelerator)
        _ = self.mesh.face_normals
        return structure

    @property
    def structure(self) -> RayStructure:
        """The built structure; starts the build if nobody has and blocks until it is
        done (an event loop should await `built` first)."""
        self.start_build()
        return self.built.result()

    def intersect(
        self, origin: np.ndarray, direction: np.ndarray, *, every_hit: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Face indices and local positions where a local-space ray hits (nearest only,
        unless `every_hit`)."""
        return self.structure.intersect(origin, direction, every_hit=every_hit)


@dataclass(frozen=True, slots=True)
class _Chunk:
    """Some of a mesh's triangles with their own intersector: `faces` are their indices
    in the whole mesh, `low`/`high` their local box."""

    faces: np.ndarray
    low: np.ndarray
    high: np.ndarray
    intersector: Intersector


@dataclass(frozen=True, slots=True)
class RayStructure:
    """A mesh's acceleration structure, as chunks of at most CHUNK_TRIANGLES nearby
    triangles, each with its own intersector.

    Why chunks: embreex builds a scene holding the GIL throughout (about 2 s for a million
    triangles), which would freeze the host's event loop, and with it the video, while a
    model's structure is built in the background. Built chunk by chunk, the loop waits at
    most one chunk's build (tens of milliseconds); a cast asks only the chunks whose box the
    ray crosses, and chunks split space in halves, so a ray crosses few."""

    chunks: tuple[_Chunk, ...]

    @classmethod
    def of(cls, mesh: trimesh.Trimesh, accelerator: Accelerator) -> RayStructure:
        faces = np.asarray(mesh.faces)
        if len(faces) <= CHUNK_TRIANGLES:
            whole = np.arange(len(faces))
            return cls((_chunk(mesh, whole, mesh.bounds, accelerator),))
        vertices = np.asarray(mesh.vertices)
        chunks = []
        for ids in _nearby_groups(vertices[faces].mean(axis=1), CHUNK_TRIANGLES):
            used, local_faces = np.unique(faces[ids], return_inverse=True)
            part = trimesh.Trimesh(vertices[used], local_faces.reshape(-1, 3), process=False)
            chunks.append(_chunk(part, ids, part.bounds, accelerator))
        return cls(tuple(chunks))

    def intersect(
        self, origin: np.ndarray, direction: np.ndarray, *, every_hit: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Face indices (of the whole mesh) and local positions where the ray hits: the
        nearest only unless `every_hit`."""
        found_faces, found_positions = [], []
        for chunk in self._crossed(origin, direction):
            faces, _rays, positions = chunk.intersector.intersects_id(
                origin[None, :],
                direction[None, :],
                multiple_hits=every_hit,
                return_locations=True,
            )
            found_faces.append(chunk.faces[np.asarray(faces, dtype=np.int64)])
            found_positions.append(np.asarray(positions, dtype=np.float64).reshape(-1, 3))
        if not found_faces:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 3))
        faces, positions = np.concatenate(found_faces), np.concatenate(found_positions)
        if not every_hit and len(faces) > 1:
            nearest = int(np.argmin((positions - origin) @ direction))
            return faces[nearest : nearest + 1], positions[nearest : nearest + 1]
        return faces, positions

    def _crossed(self, origin: np.ndarray, direction: np.ndarray) -> list[_Chunk]:
        if len(self.chunks) == 1:
            return list(self.chunks)
        low = np.array([chunk.low for chunk in self.chunks])
        high = np.array([chunk.high for chunk in self.chunks])
        pad = 1e-6 * (high - low).max(axis=1, keepdims=True) + 1e-9  # float32 hits on a face
        crossed = _slabs_crossed(origin, direction, low - pad, high + pad, (0.0, math.inf))
        return [chunk for chunk, hit in zip(self.chunks, crossed, strict=True) if hit]


def _chunk(
    mesh: trimesh.Trimesh, faces: np.ndarray, bounds: Any, accelerator: Accelerator
) -> _Chunk:
    """One chunk's intersector, with its structure built now (one query builds and caches
    Embree's scene or the r-tree) rather than on the first cast."""
    if accelerator == "embree":
        from trimesh.ray import ray_pyembree

        intersector: Intersector = ray_pyembree.RayMeshIntersector(mesh)
    else:
        intersector = ray_triangle.RayMeshIntersector(mesh)
    intersector.intersects_any(np.zeros((1, 3)), np.array([[0.0, 0.0, 1.0]]))
    box = np.asarray(bounds, dtype=np.float64)
    return _Chunk(faces, box[0], box[1], intersector)


def _nearby_groups(centres: np.ndarray, size: int) -> list[np.ndarray]:
    """Indices of `centres` in groups of at most `size`, each group's points near each
    other: halved at the median of the longest side until small enough."""
    groups, pending = [], [np.arange(len(centres))]
    while pending:
        ids = pending.pop()
        if len(ids) <= size:
            groups.append(ids)
            continue
        points = centres[ids]
        axis = int(np.argmax(points.max(axis=0) - points.min(axis=0)))
        half = len(ids) // 2
        order = np.argpartition(points[:, axis], half)
        pending += [ids[order[:half]], ids[order[half:]]]
    return groups


class PickableMesh:
    """An entity's geometry placed in the world. Moving the entity (`move_to`) changes only
    its transform, its inverse and its world bounds; the geometry and its acceleration
    structure stay as they are."""

    __slots__ = ("_inverse", "_transform", "entity_id", "geometry", "world_bounds")

    def __init__(
        self, entity_id: EntityId, geometry: MeshGeometry, transform: object = None
    ) -> None:
        if isinstance(entity_id, bool) or not isinstance(entity_id, int):
            raise BadRequest("entity id must be an integer", target="entity_id")
        self.entity_id = entity_id
        self.geometry = geometry
        if transform is None:  # the identity needs no checks (a model's parts start there)
            identity = np.eye(4)
            self._place(identity, identity.copy(), _world_boxes(identity[None], [self])[0])
        else:
            self.move_to(transform)

    @property
    def transform(self) -> np.ndarray:
        """The 4x4 world transform (read-only: move the entity with `move_to`)."""
        return self._transform

    def move_to(self, transform: object) -> None:
        """Place the entity with a 4x4 affine world transform (translation in the last
        column), which must be invertible. A bad one changes nothing."""
        matrix = _finite_array(transform, (4, 4), "transform")
        if not np.allclose(matrix[3], (0.0, 0.0, 0.0, 1.0)):
            raise BadRequest("transform's last row must be 0, 0, 0, 1", target="transform")
        if abs(np.linalg.det(matrix[:3, :3])) < 1e-12:
            raise BadRequest("transform must be invertible (no zero scale)", target="transform")
        self._place(matrix, np.linalg.inv(matrix), _world_boxes(matrix[None], [self])[0])

    def _place(self, matrix: np.ndarray, inverse: np.ndarray, world_bounds: np.ndarray) -> None:
        matrix.flags.writeable = False
        self._transform = matrix
        self._inverse = inverse
        self.world_bounds = world_bounds

    def hits(self, ray: Ray, span: tuple[float, float], *, every_hit: bool) -> list[RayHit]:
        """This mesh's hits whose distance along `ray` lies in `span`."""
        start, end = span
        world_start = ray.origin + start * ray.direction
        local_origin = self._inverse[:3, :3] @ world_start + self._inverse[:3, 3]
        local_direction = self._inverse[:3, :3] @ ray.direction
        faces, local_positions = self.geometry.intersect(
            local_origin, local_direction, every_hit=every_hit
        )
        if len(faces) == 0:
            return []
        positions = local_positions @ self.transform[:3, :3].T + self.transform[:3, 3]
        distances = (positions - ray.origin) @ ray.direction
        # Normals go to the world with the inverse transpose (right under non-uniform scale).
        normals = self.geometry.mesh.face_normals[faces] @ self._inverse[:3, :3]
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        keep = (distances >= start - _SPAN_TOLERANCE) & (distances <= end)
        return [
            RayHit(self.entity_id, tuple(position), tuple(normal), max(float(distance), 0.0))
            for position, normal, distance in zip(
                positions[keep], normals[keep], distances[keep], strict=True
            )
        ]


def place_all(meshes: Sequence[PickableMesh], transforms: object) -> np.ndarray:
    """`move_to` for many meshes at once, vectorised (a scene moving a thousand entities a
    frame cannot afford ~100 us of checks per mesh). Returns which meshes were placed: one
    whose transform move_to would refuse (not finite, past MAX_MAGNITUDE, not affine, not
    invertible) stays where it was."""
    matrices = np.array(transforms, dtype=np.float64).reshape(len(meshes), 4, 4)
    placed = np.isfinite(matrices).all(axis=(1, 2))
    matrices[~placed] = np.eye(4)  # checked below only where finite
    placed &= (np.abs(matrices) <= MAX_MAGNITUDE).all(axis=(1, 2))
    placed &= np.isclose(matrices[:, 3], (0.0, 0.0, 0.0, 1.0)).all(axis=1)
    placed &= np.abs(np.linalg.det(matrices[:, :3, :3])) >= 1e-12
    chosen = np.flatnonzero(placed)
    if len(chosen):
        kept = [meshes[i] for i in chosen.tolist()]
        inverses = np.linalg.inv(matrices[chosen])
        boxes = _world_boxes(matrices[chosen], kept)
        for mesh, matrix, inverse, box in zip(kept, matrices[chosen], inverses, boxes, strict=True):
            mesh._place(matrix, inverse, box)
    return placed


def _world_boxes(matrices: np.ndarray, meshes: Sequence[PickableMesh]) -> np.ndarray:
    """(n, 2, 3) world boxes of the meshes' local boxes under their matrices, padded so that
    float32 hits on a face are inside."""
    local = np.array([mesh.geometry.bounds for mesh in meshes])
    centre = (local[:, 0] + local[:, 1]) / 2
    extent = (local[:, 1] - local[:, 0]) / 2
    linear = matrices[:, :3, :3]
    world_centre = np.einsum("nij,nj->ni", linear, centre) + matrices[:, :3, 3]
    world_extent = np.einsum("nij,nj->ni", np.abs(linear), extent)
    pad = 1e-6 * (2 * world_extent).max(axis=1, keepdims=True) + 1e-9
    return np.stack([world_centre - world_extent - pad, world_centre + world_extent + pad], 1)


@dataclass(frozen=True, slots=True)
class Ray:
    """A ray in world space: `direction` has length 1, so distances along it are metres."""

    origin: np.ndarray
    direction: np.ndarray

    @classmethod
    def checked(cls, origin: object, direction: object) -> Ray:
        return cls(_finite_array(origin, (3,), "origin"), _unit_vector(direction, "direction"))


@dataclass(frozen=True, slots=True)
class CutPlane:
    """A plane through `point`; the side `normal` points to is kept, the other cut away."""

    point: np.ndarray
    normal: np.ndarray

    @classmethod
    def checked(cls, point: object, normal: object, *, name: str = "cut plane") -> CutPlane:
        return cls(
            _finite_array(point, (3,), f"{name} point"),
            _unit_vector(normal, f"{name} normal"),
        )

    def kept_span(self, ray: Ray, span: tuple[float, float]) -> tuple[float, float] | None:
        """The part of `span` (distances along `ray`) on the kept side, or None if none."""
        start, end = span
        height = float((ray.origin - self.point) @ self.normal)  # >= 0: origin is kept
        rate = float(ray.direction @ self.normal)  # how fast the ray climbs toward kept
        if rate == 0.0:
            return span if height >= 0.0 else None
        crossing = -height / rate
        if rate > 0.0:
            start = max(start, crossing)
        else:
            end = min(end, crossing)
        return (start, end) if start <= end else None


@dataclass(frozen=True, slots=True)
class RayHit:
    """Where a ray met an entity: a world position, the face's world normal (as the mesh's
    winding gives it, so a ray from inside meets a normal pointing away from it), and the
    distance from the ray's origin."""

    entity_id: EntityId
    position: tuple[float, float, float]
    normal: tuple[float, float, float]
    distance: float

    def as_dict(self) -> dict[str, object]:
        return {
            "entity": self.entity_id,
            "position": list(self.position),
            "normal": list(self.normal),
            "distance": self.distance,
        }


def visible_span(
    ray: Ray, cut_planes: Iterable[CutPlane], max_distance: float
) -> tuple[float, float] | None:
    """The distances along `ray` that no cut plane removes, up to `max_distance`."""
    span: tuple[float, float] | None = (0.0, max_distance)
    for plane in cut_planes:
        if span is None:
            break
        span = plane.kept_span(ray, span)
    return span


def cast(
    origin: object,
    direction: object,
    meshes: Sequence[PickableMesh],
    *,
    hidden: Collection[EntityId] = (),
    cut_planes: Sequence[CutPlane] = (),
    mode: Mode = "closest",
    max_distance: float | None = None,
) -> list[RayHit]:
    """The hits of a ray against the visible meshes, nearest first.

    `mode` "closest" gives at most one hit, "all" every hit (up to 100 per mesh). `hidden`
    holds the ids of hidden entities, already resolved by the scene (a hidden parent's
    children included); they must be ids of `meshes`. Hits on the cut-away side of any cut
    plane, and hits farther than `max_distance` (unlimited when None), do not count.

    CPU-bound: with Embree a cast against a million triangles takes well under a
    millisecond, with the numpy fallback up to a second, so a host without Embree should call
    it in a worker thread (one cast at a time: trimesh's caches are not documented as
    thread-safe)."""
    ray = Ray.checked(origin, direction)
    if mode not in MODES:
        raise BadRequest(f"mode must be one of {', '.join(MODES)}, not {mode!r}", target="mode")
    limit = _checked_max_distance(max_distance)
    _check_hidden(hidden, meshes)
    span = visible_span(ray, cut_planes, limit)
    if span is None:
        return []
    every_hit = mode == "all"
    hits = [
        hit
        for mesh in _meshes_in_reach(ray, span, [m for m in meshes if m.entity_id not in hidden])
        for hit in mesh.hits(ray, span, every_hit=every_hit)
    ]
    hits.sort(key=lambda hit: hit.distance)
    return hits if every_hit else hits[:1]


def _meshes_in_reach(
    ray: Ray, span: tuple[float, float], meshes: Sequence[PickableMesh]
) -> list[PickableMesh]:
    """The meshes whose world bounds the ray crosses within `span`, found for all meshes in
    one numpy slab test: asking each mesh's accelerator costs ~50 us of Python per mesh, which
    a scene of a thousand entities could not afford on every pick."""
    if not meshes:
        return []
    boxes = np.stack([mesh.world_bounds for mesh in meshes])  # (n, 2, 3)
    crossed = _slabs_crossed(ray.origin, ray.direction, boxes[:, 0], boxes[:, 1], span)
    return [mesh for mesh, hit in zip(meshes, crossed, strict=True) if hit]


def _slabs_crossed(
    origin: np.ndarray,
    direction: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    span: tuple[float, float],
) -> np.ndarray:
    """Which boxes (low, high: (n, 3)) the ray crosses within `span` (distances along it,
    in units of `direction`), in one numpy slab test."""
    with np.errstate(divide="ignore", invalid="ignore"):
        near = (low - origin) / direction
        far = (high - origin) / direction
    # On an axis the ray runs parallel to, it is inside that slab all along, or never.
    parallel = direction == 0.0
    inside = (low <= origin) & (origin <= high)
    always = np.where(inside, -np.inf, np.inf)
    enter = np.where(parallel, always, np.minimum(near, far)).max(axis=1)
    leave = np.where(parallel, -always, np.maximum(near, far)).min(axis=1)
    start, end = span
    crossed: np.ndarray = (enter <= leave) & (leave >= start) & (enter <= end)
    return crossed


def _checked_max_distance(max_distance: float | None) -> float:
    if max_distance is None:
        return math.inf
    limit = float(_finite_array(max_distance, (), "max_distance"))
    if limit <= 0.0:
        raise BadRequest("max_distance must be greater than 0", target="max_distance")
    return limit


def _check_hidden(hidden: Collection[EntityId], meshes: Sequence[PickableMesh]) -> None:
    known = {mesh.entity_id for mesh in meshes}
    unknown = sorted(str(entity) for entity in hidden if entity not in known)
    if unknown:
        raise BadRequest(f"hidden names unknown entities: {', '.join(unknown)}", target="hidden")
