"""The session's scene as the host holds it: entities in trees, their transforms and state
overrides, the cut planes, and ray casts against what is visible.

The work is split: `entities` holds the tree with its transforms and inherited states,
`parts` the slots, `cut_planes` the planes, `rays` the ray casts, `prepared` the blocking
half of adding a model, `geometry_builder` the renderer's geometry.

Every method validates its arguments completely before it changes anything, and raises
`SceneError` (with its ErrorCode and the field at fault) for anything it refuses; field
*types* (a list of three finite numbers, a bool) are checked before by the message layer, so
this module checks meaning: ids that exist, non-zero quaternions and scales, unit normals,
limits. Not thread-safe: the host's event loop calls it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

import numpy as np

from renderhub.host.limits import PolygonBudget
from renderhub.host.render.geometry import HIDDEN, MAX_CUT_PLANES, ModelGeometry, SceneState
from renderhub.host.runtime.changes import (
    MAX_BATCH,
    UNSET,
    Colour,
    StateChange,
    TransformChange,
    Unset,
    Vector,
)
from renderhub.host.runtime.checks import checked_colour, invalid
from renderhub.host.runtime.cut_planes import CutPlanes
from renderhub.host.runtime.entities import FLAGS, Entity, EntityTree
from renderhub.host.runtime.entity_json import capped_metadata, entity_objects, fitting
from renderhub.host.runtime.errors import ErrorCode, SceneError, entity_not_found
from renderhub.host.runtime.parts import Slots
from renderhub.host.runtime.prepared import PreparedModel, prepare
from renderhub.host.runtime.rays import RayCaster
from renderhub.host.runtime.transform_batch import checked_batch
from renderhub.model_sources import redact
from renderhub.sizes import SessionSize

if TYPE_CHECKING:
    from renderhub.host.scene import LoadedModel

MAX_PAGE = 1000  # entities in one page of the listing
DEFAULT_PAGE = 500
PAGE_BYTES = 199_000  # a page's entities serialised; the reply around them stays < 200,000

__all__ = [
    "DEFAULT_PAGE",
    "MAX_BATCH",
    "MAX_CUT_PLANES",
    "MAX_PAGE",
    "PAGE_BYTES",
    "UNSET",
    "AddedModel",
    "EntityPage",
    "SceneModel",
    "StateChange",
    "TransformChange",
    "Unset",
]


@dataclass(frozen=True, slots=True)
class AddedModel:
    """What add_model did: the root's id, every new entity's id (parents before children),
    the slots its parts take, and its geometry for the renderer."""

    root: int
    entities: tuple[int, ...]
    first_slot: int
    geometry: ModelGeometry


@dataclass(frozen=True, slots=True)
class EntityPage:
    """One page of the entity listing: its Entity objects, and the id to continue after
    (`next`) when more follow."""

    entities: list[dict[str, Any]]
    next: int | None


@dataclass(frozen=True, slots=True)
class _Model:
    """A model in the scene: its root, its slots, its polygons."""

    root: int
    slots: range
    polygons: int


class SceneModel:
    """All entities of one session's scene. Entity and cut plane ids count up from 1 and are
    never reused; slots are handed out in order and never reused either (a session loads a
    few models, not thousands)."""

    def __init__(self, polygon_limit: int | None = None) -> None:
        """`polygon_limit`: above this many loaded polygons, `state()` asks for a
        checkerboard in the scene's bounds (None: no limit). The sentence then names the
        Standard size; `for_budget` names the session's own."""
        self._budget = PolygonBudget(SessionSize.STANDARD, polygon_limit)
        self._tree = EntityTree()
        self._slots = Slots()
        self._planes = CutPlanes()
        self._rays = RayCaster()
        self._models: dict[int, _Model] = {}
        self._removed_roots: set[int] = set()
        self._next_id = 1
        self._version = 0
        self._state: SceneState | None = None

    @classmethod
    def for_budget(cls, budget: PolygonBudget) -> SceneModel:
        """A scene whose polygon limit and over-limit sentence are the session's."""
        scene = cls(budget.limit)
        scene._budget = budget
        return scene

    # ---- models -------------------------------------------------------------------------
    def add_model(self, model: LoadedModel, parent: int | None = None) -> AddedModel:
        """Add a loaded model as a new tree (a root named after its file, carrying
        metadata {"url": redacted URL}, and its nodes below), attached under `parent` if
        given (EntityNotFound, target "parent"). Builds the model's ModelGeometry (blocking
        work: numpy over all triangles) and its ray-cast structures. Call it off the event
        loop with `prepare_model` + `commit_model` instead when the model is large."""
        self._check_parent(parent)
        return self.commit_model(self.prepare_model(model), parent)

    def prepare_model(self, model: LoadedModel) -> Any:
        """The blocking half of add_model (geometry, ray-cast structures), safe to run in a
        thread: it touches nothing of the scene. Returns an opaque prepared model
        (ModelLoadFailed when it has more meshes than one geometry can number)."""
        return prepare(model)

    def commit_model(self, prepared: Any, parent: int | None = None) -> AddedModel:
        """The quick half of add_model, on the event loop: give the prepared model its ids
        and slots and put it in the scene."""
        if not isinstance(prepared, PreparedModel) or prepared.committed:
            raise ValueError("commit_model takes a model from prepare_model, once")
        self._check_parent(parent)
        prepared.committed = True
        model = prepared.model
        root = self._next_id
        ids = list(range(root, root + 1 + len(model.nodes)))
        self._next_id = ids[-1] + 1
        first_slot = len(self._slots)
        part_slots = np.arange(first_slot, first_slot + len(prepared.part_nodes))
        self._add_entities(root, parent, prepared, part_slots)
        for pick, node in zip(prepared.picks, prepared.part_nodes, strict=True):
            pick.entity_id = root + 1 + int(node)
        rows = root + prepared.part_nodes  # node n is entity root + 1 + n, row = id - 1
        self._slots.append(rows, prepared.part_triangles, prepared.part_bounds, prepared.picks)
        slots = range(first_slot, first_slot + len(part_slots))
        self._models[root] = _Model(root, slots, model.polygons)
        prepared.start_ray_structures()
        self._changed()
        return AddedModel(root, tuple(ids), first_slot, prepared.geometry)

    def remove_model(self, root: int) -> list[int]:
        """Remove the model whose root is `root` (EntityNotFound; NotAModel when `root` is
        not a model's root) and any models attached under it; returns every removed id, and
        the model roots removed are in `removed_models(...)`."""
        self._model(root, "id")
        removed = self._tree.remove(root)
        for entity_id in removed:
            gone = self._models.pop(entity_id, None)
            if gone is not None:
                self._slots.free(gone.slots)
                self._removed_roots.add(entity_id)
        self._changed()
        return removed

    def removed_models(self, removed: Iterable[int]) -> list[int]:
        """Which of the `removed` ids (as remove_model returned them) were model roots, in
        their order: the models to free in the renderer."""
        return [entity_id for entity_id in removed if entity_id in self._removed_roots]

    def model_roots(self) -> list[int]:
        """The roots of all loaded models, in load order."""
        return list(self._models)

    def slots_of(self, root: int) -> range:
        """The slots the parts of the model rooted at `root` take."""
        return self._model(root, "id").slots

    # ---- entities -----------------------------------------------------------------------
    def entity_json(self, entity_id: int) -> dict[str, Any]:
        """The Entity object of docs/scene-protocol.md (EntityNotFound)."""
        self._entity(entity_id, "id")
        return entity_objects(self._tree, [entity_id], *self._entity_bounds())[0]

    def entities_json(self, root: int | None = None) -> list[dict[str, Any]]:
        """Every entity (or `root`'s subtree, root first), parents before children
        (EntityNotFound, target "root")."""
        if root is not None:
            self._entity(root, "root")
        ids = self._tree.walk() if root is None else self._tree.subtree(root)
        return entity_objects(self._tree, ids, *self._entity_bounds())

    def entities_page(
        self,
        root: int | None = None,
        after: int | None = None,
        limit: int = DEFAULT_PAGE,
        budget: int = PAGE_BYTES,
    ) -> EntityPage:
        """A page of `entities_json(root)`'s listing: up to `limit` entities after the
        entity `after` (None: from the start), ended early so that the page's list takes at
        most `budget` bytes serialised (one entity at least). EntityNotFound with target
        "root" for an unknown root, "after" for an `after` not in the listing."""
        if root is not None:
            self._entity(root, "root")
        ids = iter(self._tree.walk() if root is None else self._tree.subtree(root))
        if after is not None and after not in ids:  # `in` consumes up to `after`
            raise SceneError(
                ErrorCode.ENTITY_NOT_FOUND,
                f"Entity {after} is not in this listing (it was removed, or it is not "
                "under the root asked for); start again without 'after'.",
                "after",
            )
        chosen = list(islice(ids, limit))
        more = next(ids, None) is not None
        objects = entity_objects(self._tree, chosen, *self._entity_bounds())
        count = fitting(objects, budget)
        objects, more = objects[:count], more or count < len(objects)
        return EntityPage(objects, objects[-1]["id"] if more and objects else None)

    def set_transforms(self, changes: Sequence[TransformChange]) -> int:
        """Apply every change or none (EntityNotFound with target "transforms[i].id";
        InvalidField for a zero quaternion or a zero scale component; LimitExceeded above
        MAX_BATCH). Returns how many were applied."""
        if len(changes) > MAX_BATCH:
            raise SceneError(
                ErrorCode.LIMIT_EXCEEDED,
                f"A batch may move at most {MAX_BATCH:,} entities, not {len(changes):,}.",
                "transforms",
            )
        batch = checked_batch(changes, lambda entity_id: entity_id in self._tree.entities)
        if len(batch.rows):
            self._tree.set_transforms(batch)
            self._changed()
        return len(changes)

    def set_state(self, entity_id: int, change: StateChange) -> None:
        """Override (or clear) the entity's states; inherited down its subtree."""
        self._entity(entity_id, "id")
        tint = change.tint
        if not isinstance(tint, Unset) and tint is not None:
            tint = checked_colour(tint, "tint")
        for name, _bit in FLAGS:
            value = getattr(change, name)
            if not isinstance(value, Unset) and value is not None and not isinstance(value, bool):
                raise invalid(f"{name} must be true, false or null.", name)
        given = [(name, getattr(change, name)) for name, _bit in FLAGS]
        given = [(name, value) for name, value in given if not isinstance(value, Unset)]
        for name, value in given:
            self._tree.set_override(entity_id, name, value)
        if not isinstance(tint, Unset):
            self._tree.set_tint(entity_id, tint)
        if given or not isinstance(tint, Unset):
            self._changed()

    # ---- cut planes ---------------------------------------------------------------------
    def add_cut_plane(
        self,
        point: Vector,
        normal: Vector,
        fade_length: float = 0.0,
        fade_colour: Colour = (1.0, 1.0, 1.0, 1.0),
    ) -> int:
        """A new cut plane's id (InvalidField for a zero normal or a negative fade length,
        LimitExceeded past MAX_CUT_PLANES). The normal is normalised."""
        plane_id = self._planes.add(point, normal, fade_length, fade_colour)
        self._changed()
        return plane_id

    def set_cut_plane(
        self,
        plane_id: int,
        point: Vector | Unset = UNSET,
        normal: Vector | Unset = UNSET,
        fade_length: float | Unset = UNSET,
        fade_colour: Colour | Unset = UNSET,
    ) -> dict[str, Any]:
        """Change a cut plane (CutPlaneNotFound); returns it as JSON
        {"id", "point", "normal", "fade_length", "fade_colour"}."""
        given: dict[str, Any] = {"point": point, "normal": normal, "fade_length": fade_length}
        given["fade_colour"] = fade_colour
        fields = {name: value for name, value in given.items() if not isinstance(value, Unset)}
        plane = self._planes.change(plane_id, **fields)
        if fields:
            self._changed()
        return plane

    def remove_cut_plane(self, plane_id: int) -> None:
        self._planes.remove(plane_id)
        self._changed()

    def cut_planes_json(self) -> list[dict[str, Any]]:
        return self._planes.all_json()

    # ---- ray casts ----------------------------------------------------------------------
    def raycast(
        self,
        origin: Vector,
        direction: Vector,
        mode: Literal["closest", "all"] = "closest",
        max_distance: float | None = None,
    ) -> list[dict[str, Any]]:
        """Hits against visible geometry ({"entity", "position", "normal", "distance"}),
        nearest first; hidden entities and the cut-away side of every plane do not count.
        InvalidField (target "direction") for a zero direction."""
        world = self._tree.world()
        flags, _tints = self._tree.states()
        rows = np.where(self._slots.alive, self._slots.rows, 0)
        return self._rays.cast(
            self._slots,
            world[rows],
            flags[rows],
            self._planes.data(),
            (origin, direction, mode, max_distance),
        )

    async def raycast_ready(self) -> None:
        """Wait, without blocking the event loop, until raycast would not wait for a
        ray-cast structure still being built (await it right before casting)."""
        await self._rays.built(self._slots)

    # ---- for the renderer and the statistics --------------------------------------------
    def state(self) -> SceneState:
        """The renderer's SceneState now: every slot's world matrix, inherited flags and
        tint, the cut planes, and the checkerboard box when over the polygon limit. Its
        `version` counts up with every change, so a caller can tell whether to send it."""
        if self._state is None or self._state.version != self._version:
            self._state = self._new_state()
        return self._state

    @property
    def version(self) -> int:
        """Counts up with every change to what `state()` returns."""
        return self._version

    @property
    def polygons_loaded(self) -> int:
        return sum(model.polygons for model in self._models.values())

    @property
    def polygons_visible(self) -> int:
        """Triangles of parts whose entity is not hidden (inherited)."""
        flags, _tints = self._tree.states()
        rows = self._slots.rows
        alive = rows >= 0
        shown = alive & ((flags[np.where(alive, rows, 0)] & HIDDEN) == 0)
        return int(self._slots.triangles[shown].sum())

    @property
    def entity_count(self) -> int:
        """How many entities the scene holds (roots included), for the statistics."""
        return len(self._tree.entities)

    @property
    def cut_plane_count(self) -> int:
        """How many cut planes there are now, for the statistics."""
        return len(self._planes)

    @property
    def bounds(self) -> Any:
        """The world bounds of everything loaded, [[min], [max]] (numpy), or None: the box
        around each part's local box as now placed (as an entity's `bounds`), so a turned
        part's box may be a little larger than its vertices'."""
        low, high = self._slots.world_boxes(self._tree.world())
        if not len(low) or not np.isfinite(low).all(axis=1).any():
            return None
        return np.array([low.min(axis=0), high.max(axis=0)])

    def over_limit_message(self) -> str | None:
        """The sentence for a scene over the polygon limit, or None."""
        return self._budget.message(self.polygons_loaded)

    # ---- internals ----------------------------------------------------------------------
    def _changed(self) -> None:
        self._version += 1

    def _new_state(self) -> SceneState:
        world = self._tree.world()
        flags, tints = self._tree.states()
        alive = self._slots.alive
        rows = np.where(alive, self._slots.rows, 0)
        matrices = world[rows].astype(np.float32)
        matrices[~alive] = np.eye(4, dtype=np.float32)
        slot_flags = np.where(alive, flags[rows], HIDDEN).astype(np.uint8)
        slot_tints = np.where(alive[:, None], tints[rows], 0.0).astype(np.float32)
        checkerboard = None
        if self._budget.exceeded_by(self.polygons_loaded):
            box = self.bounds
            if box is not None:
                low, high = (tuple(float(v) for v in corner) for corner in box)
                checkerboard = (low, high)
        return SceneState(
            matrices=matrices,
            tints=slot_tints,
            flags=slot_flags,
            cut_planes=self._planes.data(),
            checkerboard=checkerboard,  # type: ignore[arg-type]
            version=self._version,
        )

    def _add_entities(
        self, root: int, parent: int | None, prepared: PreparedModel, part_slots: np.ndarray
    ) -> None:
        """The model's root (at the identity) and its nodes, node n as entity root + 1 + n."""
        nodes = prepared.model.nodes
        slots_by_node: list[list[int]] = [[] for _ in nodes]
        triangles = [0] * len(nodes)
        for slot, node, count in zip(
            part_slots.tolist(),
            prepared.part_nodes.tolist(),
            prepared.part_triangles.tolist(),
            strict=True,
        ):
            slots_by_node[node].append(slot)
            triangles[node] += count
        url = prepared.model.url
        entities = [Entity(root, _file_name(url), parent, root, {"url": redact(url)})]
        entities += [
            Entity(
                id=root + 1 + index,
                name=node.name,
                parent=root if node.parent < 0 else root + 1 + node.parent,
                model=root,
                metadata=capped_metadata(node.metadata, node.name),
                slots=tuple(slots_by_node[index]),
                polygons=triangles[index],
            )
            for index, node in enumerate(nodes)
        ]
        self._tree.add(
            entities,
            np.vstack([np.zeros(3), prepared.positions]),
            np.vstack([(0.0, 0.0, 0.0, 1.0), prepared.rotations]),
            np.vstack([np.ones(3), prepared.scales]),
        )

    def _entity_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Each row's world box of its subtree as placed now (+inf/-inf when empty)."""
        world = self._tree.world()
        slot_low, slot_high = self._slots.world_boxes(world)
        size = len(world)
        low = np.full((size, 3), np.inf)
        high = np.full((size, 3), -np.inf)
        alive = self._slots.alive
        np.minimum.at(low, self._slots.rows[alive], slot_low[alive])
        np.maximum.at(high, self._slots.rows[alive], slot_high[alive])
        self._tree.subtree_bounds(low, high)
        return low, high

    def _entity(self, entity_id: int, target: str) -> Entity:
        entity = self._tree.entities.get(entity_id)
        if entity is None:
            raise entity_not_found(entity_id, target)
        return entity

    def _model(self, root: int, target: str) -> _Model:
        self._entity(root, target)
        model = self._models.get(root)
        if model is None:
            raise SceneError(
                ErrorCode.NOT_A_MODEL,
                f"Entity {root} is not the root of a loaded model.",
                target,
            )
        return model

    def _check_parent(self, parent: int | None) -> None:
        if parent is not None:
            self._entity(parent, "parent")


def _file_name(url: str) -> str:
    """The last segment of the URL's path, its query left out, %-escapes decoded."""
    path = urlsplit(url).path if "://" in url else url.partition("?")[0]
    name = unquote(path.rstrip("/").rsplit("/", 1)[-1])
    return name or redact(url)
