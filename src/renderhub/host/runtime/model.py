"""The session's scene as the host holds it: entities in trees, their transforms and state
overrides, the cut planes, and ray casts against what is visible.

INTERFACE STUB (issue 9): the signatures and behaviour below are the contract between the
scene model and the message layer; the bodies are being written.

Every method validates its arguments completely before it changes anything, and raises
`SceneError` (with its ErrorCode and the field at fault) for anything it refuses; field
*types* (a list of three finite numbers, a bool) are checked before by the message layer, so
this module checks meaning: ids that exist, non-zero quaternions and scales, unit normals,
limits. Not thread-safe: the host's event loop calls it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from renderhub.host.render.geometry import MAX_CUT_PLANES, ModelGeometry, SceneState

if TYPE_CHECKING:
    from renderhub.host.scene import LoadedModel

Vector = tuple[float, float, float]
Quaternion = tuple[float, float, float, float]  # x, y, z, w
Colour = tuple[float, float, float, float]
MAX_BATCH = 10_000

__all__ = ["MAX_BATCH", "MAX_CUT_PLANES", "SceneModel"]


class Unset:
    """A field the request left out: the value stays as it is (None means "inherit")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = Unset()


@dataclass(frozen=True, slots=True)
class TransformChange:
    """One entry of set_transforms; UNSET fields keep their value."""

    id: int
    position: Vector | Unset = UNSET
    rotation: Quaternion | Unset = UNSET
    scale: Vector | Unset = UNSET


@dataclass(frozen=True, slots=True)
class StateChange:
    """set_state's fields: True/False override, None inherits again, UNSET leaves as is."""

    hidden: bool | Unset | None = UNSET
    see_through: bool | Unset | None = UNSET
    selected: bool | Unset | None = UNSET
    tint: Colour | Unset | None = UNSET


@dataclass(frozen=True, slots=True)
class AddedModel:
    """What add_model did: the root's id, every new entity's id (parents before children),
    the slots its parts take, and its geometry for the renderer."""

    root: int
    entities: tuple[int, ...]
    first_slot: int
    geometry: ModelGeometry


class SceneModel:
    """All entities of one session's scene. Entity and cut plane ids count up from 1 and are
    never reused; slots are handed out in order and never reused either (a session loads a
    few models, not thousands)."""

    def __init__(self, polygon_limit: int | None = None) -> None:
        """`polygon_limit`: above this many loaded polygons, `state()` asks for a
        checkerboard in the scene's bounds (None: no limit)."""
        raise NotImplementedError

    # ---- models -------------------------------------------------------------------------
    def add_model(self, model: LoadedModel, parent: int | None = None) -> AddedModel:
        """Add a loaded model as a new tree (a root named after its file, carrying
        metadata {"url": redacted URL}, and its nodes below), attached under `parent` if
        given (EntityNotFound, target "parent"). Builds the model's ModelGeometry (blocking
        work: numpy over all triangles) and its ray-cast structures. Call it off the event
        loop with `prepare_model` + `commit_model` instead when the model is large."""
        raise NotImplementedError

    def prepare_model(self, model: LoadedModel) -> Any:
        """The blocking half of add_model (geometry, ray-cast structures), safe to run in a
        thread: it touches nothing of the scene. Returns an opaque prepared model."""
        raise NotImplementedError

    def commit_model(self, prepared: Any, parent: int | None = None) -> AddedModel:
        """The quick half of add_model, on the event loop: give the prepared model its ids
        and slots and put it in the scene."""
        raise NotImplementedError

    def remove_model(self, root: int) -> list[int]:
        """Remove the model whose root is `root` (EntityNotFound; NotAModel when `root` is
        not a model's root) and any models attached under it; returns every removed id, and
        the model roots removed are in `removed_models(...)`."""
        raise NotImplementedError

    def model_roots(self) -> list[int]:
        """The roots of all loaded models, in load order."""
        raise NotImplementedError

    def slots_of(self, root: int) -> range:
        """The slots the parts of the model rooted at `root` take."""
        raise NotImplementedError

    # ---- entities -----------------------------------------------------------------------
    def entity_json(self, entity_id: int) -> dict[str, Any]:
        """The Entity object of docs/scene-protocol.md (EntityNotFound)."""
        raise NotImplementedError

    def entities_json(self, root: int | None = None) -> list[dict[str, Any]]:
        """Every entity (or `root`'s subtree, root first), parents before children
        (EntityNotFound, target "root")."""
        raise NotImplementedError

    def set_transforms(self, changes: Sequence[TransformChange]) -> int:
        """Apply every change or none (EntityNotFound with target "transforms[i].id";
        InvalidField for a zero quaternion or a zero scale component; LimitExceeded above
        MAX_BATCH). Returns how many were applied."""
        raise NotImplementedError

    def set_state(self, entity_id: int, change: StateChange) -> None:
        """Override (or clear) the entity's states; inherited down its subtree."""
        raise NotImplementedError

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
        raise NotImplementedError

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
        raise NotImplementedError

    def remove_cut_plane(self, plane_id: int) -> None:
        raise NotImplementedError

    def cut_planes_json(self) -> list[dict[str, Any]]:
        raise NotImplementedError

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
        raise NotImplementedError

    # ---- for the renderer and the statistics --------------------------------------------
    def state(self) -> SceneState:
        """The renderer's SceneState now: every slot's world matrix, inherited flags and
        tint, the cut planes, and the checkerboard box when over the polygon limit. Its
        `version` counts up with every change, so a caller can tell whether to send it."""
        raise NotImplementedError

    @property
    def version(self) -> int:
        """Counts up with every change to what `state()` returns."""
        raise NotImplementedError

    @property
    def polygons_loaded(self) -> int:
        raise NotImplementedError

    @property
    def polygons_visible(self) -> int:
        """Triangles of parts whose entity is not hidden (inherited)."""
        raise NotImplementedError

    @property
    def bounds(self) -> Any:
        """The world bounds of everything loaded, [[min], [max]] (numpy), or None."""
        raise NotImplementedError

    def over_limit_message(self) -> str | None:
        """The sentence for a scene over the polygon limit, or None."""
        raise NotImplementedError
