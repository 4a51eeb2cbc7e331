"""Ray casts against known geometry, with both accelerators (Embree and trimesh's numpy one)."""

from __future__ import annotations

import math
import platform
import sys
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import trimesh
import trimesh.ray

from renderhub.errors import BadRequest
from renderhub.host import picking
from renderhub.host.picking import CutPlane, MeshGeometry, PickableMesh, RayHit, cast

ACCELERATORS: list[picking.Accelerator] = ["numpy"]
if trimesh.ray.has_embree:
    ACCELERATORS.insert(0, "embree")

# pyproject.toml installs embreex on Linux x86_64 only (where it has wheels).
EMBREE_PINNED = sys.platform == "linux" and platform.machine() == "x86_64"
DOWN_X = {"origin": (-5.0, 0.0, 0.0), "direction": (1.0, 0.0, 0.0)}  # along +x through y=z=0


@pytest.fixture(params=ACCELERATORS)
def accelerator(request: pytest.FixtureRequest) -> picking.Accelerator:
    return request.param  # type: ignore[no-any-return]


def translation(x: float, y: float = 0.0, z: float = 0.0) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, 3] = (x, y, z)
    return matrix


def unit_cube(accelerator: picking.Accelerator) -> MeshGeometry:
    """A 1 m cube centred on its local origin, float32 vertices as the scene holds them."""
    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    return MeshGeometry(box.vertices.astype(np.float32), box.faces, accelerator=accelerator)


def two_boxes_in_a_row(accelerator: picking.Accelerator) -> list[PickableMesh]:
    """Entity 1 centred at x=0, entity 2 at x=3 (faces at x = -0.5, 0.5, 2.5, 3.5)."""
    cube = unit_cube(accelerator)
    return [PickableMesh(1, cube, translation(0.0)), PickableMesh(2, cube, translation(3.0))]


def assert_hit(
    hit: RayHit, entity: int, position: tuple[float, ...], normal: tuple[float, ...]
) -> None:
    assert hit.entity_id == entity
    assert hit.position == pytest.approx(position, abs=1e-5)
    assert hit.normal == pytest.approx(normal, abs=1e-6)


def test_embree_is_the_accelerator_where_it_is_installed_and_numpy_elsewhere() -> None:
    expected = "embree" if EMBREE_PINNED else "numpy"

    assert expected == picking.ACCELERATOR


def test_a_cube_at_a_position_is_hit_on_its_near_face(accelerator: picking.Accelerator) -> None:
    cube = PickableMesh(7, unit_cube(accelerator), translation(2.0, 1.0, -1.0))

    (hit,) = cast((2.2, 1.1, 10.0), (0.0, 0.0, -3.0), [cube])

    assert_hit(hit, 7, (2.2, 1.1, -0.5), (0.0, 0.0, 1.0))
    assert hit.distance == pytest.approx(10.5, abs=1e-5)
    assert hit.as_dict()["entity"] == 7


def test_closest_gives_the_near_box_and_all_gives_every_face_in_order(
    accelerator: picking.Accelerator,
) -> None:
    boxes = two_boxes_in_a_row(accelerator)

    closest = cast(**DOWN_X, meshes=boxes)
    every = cast(**DOWN_X, meshes=boxes, mode="all")

    assert len(closest) == 1
    assert_hit(closest[0], 1, (-0.5, 0.0, 0.0), (-1.0, 0.0, 0.0))
    assert [hit.entity_id for hit in every] == [1, 1, 2, 2]
    assert [hit.distance for hit in every] == pytest.approx([4.5, 5.5, 7.5, 8.5], abs=1e-5)
    assert [hit.normal[0] for hit in every] == pytest.approx([-1.0, 1.0, -1.0, 1.0])


def test_rays_that_pass_beside_behind_or_short_of_the_boxes_miss(
    accelerator: picking.Accelerator,
) -> None:
    boxes = two_boxes_in_a_row(accelerator)

    assert cast((-5.0, 0.6, 0.0), (1.0, 0.0, 0.0), boxes, mode="all") == []
    assert cast((-5.0, 0.0, 0.0), (-1.0, 0.0, 0.0), boxes, mode="all") == []
    assert cast(**DOWN_X, meshes=boxes, mode="all", max_distance=4.0) == []
    assert [h.distance for h in cast(**DOWN_X, meshes=boxes, mode="all", max_distance=6.0)] == (
        pytest.approx([4.5, 5.5], abs=1e-5)
    )
    assert cast(**DOWN_X, meshes=[]) == []


def test_a_hidden_entity_is_skipped_and_the_one_behind_it_is_hit(
    accelerator: picking.Accelerator,
) -> None:
    boxes = two_boxes_in_a_row(accelerator)

    (hit,) = cast(**DOWN_X, meshes=boxes, hidden={1})
    every = cast(**DOWN_X, meshes=boxes, hidden={1}, mode="all")

    assert_hit(hit, 2, (2.5, 0.0, 0.0), (-1.0, 0.0, 0.0))
    assert {h.entity_id for h in every} == {2}
    assert cast(**DOWN_X, meshes=boxes, hidden={1, 2}, mode="all") == []


def test_a_cut_plane_removes_the_near_hit_and_the_ray_goes_on(
    accelerator: picking.Accelerator,
) -> None:
    boxes = two_boxes_in_a_row(accelerator)
    # Keeps x >= 0: the first box's near face (x = -0.5) is cut away, its far face stays.
    keep_positive_x = CutPlane.checked((0.0, 0.0, 0.0), (1.0, 0.0, 0.0))

    (hit,) = cast(**DOWN_X, meshes=boxes, cut_planes=[keep_positive_x])
    every = cast(**DOWN_X, meshes=boxes, cut_planes=[keep_positive_x], mode="all")

    assert_hit(hit, 1, (0.5, 0.0, 0.0), (1.0, 0.0, 0.0))
    assert [h.distance for h in every] == pytest.approx([5.5, 7.5, 8.5], abs=1e-5)


def test_cut_planes_together_keep_only_what_every_plane_keeps(
    accelerator: picking.Accelerator,
) -> None:
    boxes = two_boxes_in_a_row(accelerator)
    planes = [
        CutPlane.checked((1.0, 0.0, 0.0), (1.0, 0.0, 0.0)),  # keeps x >= 1
        CutPlane.checked((3.0, 0.0, 0.0), (-1.0, 0.0, 0.0)),  # keeps x <= 3
    ]
    # A plane the ray runs along, on its kept side: it removes nothing.
    beside = CutPlane.checked((0.0, -1.0, 0.0), (0.0, 1.0, 0.0))

    every = cast(**DOWN_X, meshes=boxes, cut_planes=[*planes, beside], mode="all")

    assert [(h.entity_id, h.position[0]) for h in every] == [(2, pytest.approx(2.5))]
    behind = CutPlane.checked((0.0, 1.0, 0.0), (0.0, 1.0, 0.0))  # the ray lies cut away
    assert cast(**DOWN_X, meshes=boxes, cut_planes=[behind], mode="all") == []


def test_a_moved_entity_is_hit_at_its_new_place_without_a_rebuild(
    accelerator: picking.Accelerator, count_builds: Callable[[], int]
) -> None:
    geometry = unit_cube(accelerator)
    structure = geometry.structure
    entity = PickableMesh(3, geometry, translation(0.0))
    assert cast(**DOWN_X, meshes=[entity])[0].position[0] == pytest.approx(-0.5)
    builds_before = count_builds()

    turn_and_move = translation(0.0, 10.0, 0.0)
    turn_and_move[:3, :3] = [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]  # 90 deg on z
    entity.move_to(turn_and_move @ np.diag([1.0, 2.0, 1.0, 1.0]))  # stretched 2x along y first
    at_old_place = cast(**DOWN_X, meshes=[entity])
    (hit,) = cast((-5.0, 10.0, 0.0), (1.0, 0.0, 0.0), [entity])

    assert at_old_place == []
    # Local y (2 m after the stretch) now runs along world -x: the near face is at x = -1.
    assert_hit(hit, 3, (-1.0, 10.0, 0.0), (-1.0, 0.0, 0.0))
    assert count_builds() == builds_before
    assert geometry.structure is structure


def test_a_ray_from_inside_hits_the_wall_in_front_of_it(
    accelerator: picking.Accelerator,
) -> None:
    cube = PickableMesh(5, unit_cube(accelerator), translation(0.0))

    (hit,) = cast((0.0, 0.0, 0.0), (0.0, 1.0, 0.0), [cube])
    every = cast((0.0, 0.1, 0.0), (0.0, -1.0, 0.0), [cube], mode="all")

    assert_hit(hit, 5, (0.0, 0.5, 0.0), (0.0, 1.0, 0.0))  # the wall's outward normal
    assert hit.distance == pytest.approx(0.5, abs=1e-5)
    assert [h.distance for h in every] == pytest.approx([0.6], abs=1e-5)


def test_the_numpy_fallback_and_embree_agree_on_a_curved_mesh() -> None:
    if "embree" not in ACCELERATORS:
        if EMBREE_PINNED:
            pytest.fail("embreex is pinned for this platform and must be installed")
        pytest.skip(f"embreex has no wheel for {platform.machine()}: only numpy to compare")
    knot = trimesh.creation.torus(major_radius=1.0, minor_radius=0.3)
    meshes = {
        name: [PickableMesh(1, MeshGeometry.from_trimesh(knot, accelerator=name))]
        for name in ACCELERATORS
    }
    rng = np.random.default_rng(9)
    for _ in range(20):
        origin = rng.uniform(-3.0, 3.0, 3)
        direction = rng.uniform(-0.5, 0.5, 3) - origin
        for mode in picking.MODES:
            results = [
                [h.distance for h in cast(origin, direction, meshes[name], mode=mode)]
                for name in ACCELERATORS
            ]
            assert results[0] == pytest.approx(results[1], abs=1e-4)


def test_the_bounds_test_keeps_every_mesh_a_ray_hits(accelerator: picking.Accelerator) -> None:
    """`cast` asks only the meshes whose world bounds the ray crosses: the same hits as asking
    every mesh, for random rays and for rays along the axes (-0.0 in the other components)
    through the boxes' centres."""
    cube = unit_cube(accelerator)
    rng = np.random.default_rng(3)
    meshes = []
    for entity in range(40):
        placement = trimesh.transformations.random_rotation_matrix(rng.random(3))
        placement[:3, 3] = rng.integers(-4, 5, 3)
        meshes.append(PickableMesh(entity, cube, placement @ np.diag([1.0, 0.5, 2.0, 1.0])))
    rays = [(rng.uniform(-6, 6, 3), rng.normal(size=3)) for _ in range(60)]
    for mesh in meshes[:10]:
        _, high = mesh.world_bounds
        for axis in range(3):
            direction = np.array([-0.0, -0.0, -0.0])
            direction[axis] = -1.0
            along = np.arange(3) == axis
            rays.append((np.where(along, high + 1.0, mesh.transform[:3, 3]), direction))

    for origin, direction in rays:
        ray = picking.Ray.checked(origin, direction)
        expected = sorted(
            hit.distance
            for mesh in meshes
            for hit in mesh.hits(ray, (0.0, math.inf), every_hit=True)
        )
        found = [hit.distance for hit in cast(origin, direction, meshes, mode="all")]
        assert found == pytest.approx(expected)
    # The rays do hit things: at least the 30 aimed down through the boxes' centres.
    assert sum(1 for origin, direction in rays if cast(origin, direction, meshes)) > 30


@pytest.mark.parametrize(
    ("arguments", "field", "words"),
    [
        ({"origin": (0.0, math.nan, 0.0)}, "origin", "finite"),
        ({"origin": (0.0, 0.0)}, "origin", "shape"),
        ({"origin": (0.0, 1e300, 0.0)}, "origin", "must not exceed 1e+09 in magnitude"),
        ({"direction": (1e12, 0.0, 0.0)}, "direction", "exceed"),
        ({"max_distance": 1e10}, "max_distance", "exceed"),
        ({"origin": "here"}, "origin", "numbers"),
        ({"direction": (0.0, 0.0, 0.0)}, "direction", "non-zero"),
        ({"direction": (0.0, math.inf, 0.0)}, "direction", "finite"),
        ({"direction": (1e-300, 0.0, 0.0)}, "direction", "non-zero"),
        ({"mode": "any"}, "mode", "closest, all"),
        ({"max_distance": 0.0}, "max_distance", "greater than 0"),
        ({"max_distance": math.nan}, "max_distance", "finite"),
        ({"hidden": {1, 99}}, "hidden", "unknown entities: 99"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    arguments: dict[str, object], field: str, words: str
) -> None:
    boxes = two_boxes_in_a_row("numpy")
    call: dict[str, object] = {**DOWN_X, "meshes": boxes, **arguments}

    with pytest.raises(BadRequest) as raised:
        cast(**call)  # type: ignore[arg-type]

    assert raised.value.target == field
    assert words in raised.value.message


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: CutPlane.checked((0.0, 0.0, math.nan), (1.0, 0.0, 0.0)), "cut plane point"),
        (lambda: CutPlane.checked((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)), "cut plane normal"),
        (lambda: CutPlane.checked((0.0, 0.0, 2e9), (0.0, 0.0, 1.0)), "cut plane point"),
        (lambda: PickableMesh(1, unit_cube("numpy"), np.diag([1e10, 1, 1, 1])), "transform"),
        (lambda: MeshGeometry(np.zeros((3, 2)), [[0, 1, 2]]), "vertices"),
        (lambda: MeshGeometry(np.zeros((3, 3)), [[0, 1, 3]]), "faces"),
        (lambda: MeshGeometry(np.full((3, 3), np.nan), [[0, 1, 2]]), "vertices"),
        (lambda: MeshGeometry(np.eye(3), np.zeros((0, 3), dtype=int)), "faces"),
        (lambda: PickableMesh(1, unit_cube("numpy"), np.zeros((4, 4))), "transform"),
        (lambda: PickableMesh(1, unit_cube("numpy"), np.ones((4, 4))), "transform"),
        (lambda: PickableMesh(1, unit_cube("numpy"), np.eye(3)), "transform"),
        (lambda: PickableMesh("1", unit_cube("numpy")), "entity_id"),  # type: ignore[arg-type]
    ],
)
def test_bad_planes_meshes_and_transforms_are_refused(
    make: Callable[[], object], field: str
) -> None:
    with pytest.raises(BadRequest) as raised:
        make()

    assert raised.value.target == field


def test_a_bad_move_leaves_the_entity_where_it_was() -> None:
    entity = PickableMesh(1, unit_cube("numpy"), translation(2.0))

    with pytest.raises(BadRequest):
        entity.move_to(np.full((4, 4), np.nan))

    assert entity.transform == pytest.approx(translation(2.0))
    with pytest.raises(ValueError, match="read-only"):
        entity.transform[0, 3] = 5.0
    assert cast(**DOWN_X, meshes=[entity])[0].position[0] == pytest.approx(1.5)


@pytest.fixture
def count_builds(
    accelerator: picking.Accelerator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], int]]:
    """How many acceleration structures the library has built since this fixture started,
    counted where trimesh builds them (Embree's scene, or the numpy accelerator's r-tree)."""
    builds = 0

    if accelerator == "embree":
        from trimesh.ray import ray_pyembree

        original_scene = ray_pyembree._EmbreeWrap

        class CountedScene(original_scene):  # type: ignore[misc,valid-type]
            def __init__(self, *args: object, **kwargs: object) -> None:
                nonlocal builds
                builds += 1
                super().__init__(*args, **kwargs)

        monkeypatch.setattr(ray_pyembree, "_EmbreeWrap", CountedScene)
    else:
        original_tree = trimesh.triangles.bounds_tree

        def counted_tree(*args: object, **kwargs: object) -> object:
            nonlocal builds
            builds += 1
            return original_tree(*args, **kwargs)

        monkeypatch.setattr(trimesh.triangles, "bounds_tree", counted_tree)

    def count() -> int:
        return builds

    # Prove the counter sees builds, so a zero later means "no rebuild", not "not counted".
    _ = unit_cube(accelerator).structure
    assert builds == 1
    yield count


def test_a_geometry_is_usable_before_its_structure_is_built(
    accelerator: picking.Accelerator, count_builds: Callable[[], int]
) -> None:
    before = count_builds()
    geometry = unit_cube(accelerator)
    entity = PickableMesh(4, geometry, translation(5.0))  # placing needs only the box

    assert count_builds() == before and not geometry.ready
    assert entity.world_bounds[0] == pytest.approx([4.5, -0.5, -0.5], abs=1e-5)
    # The first cast that needs the structure builds it (and waits for it).
    (hit,) = cast((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), [entity])
    assert hit.position[0] == pytest.approx(4.5)
    assert geometry.ready and count_builds() == before + 1


def test_the_structure_is_built_once_in_a_daemon_thread(
    accelerator: picking.Accelerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    geometry = unit_cube(accelerator)
    release = threading.Event()
    builders: list[threading.Thread] = []
    build = geometry._build

    def held_build() -> picking.RayStructure:
        builders.append(threading.current_thread())
        assert release.wait(10)
        return build()

    monkeypatch.setattr(geometry, "_build", held_build)
    geometry.start_build()
    geometry.start_build()  # once begun, not again
    until = time.monotonic() + 10
    while not builders and time.monotonic() < until:
        time.sleep(0.005)

    assert len(builders) == 1 and builders[0] is not threading.current_thread()
    assert builders[0].daemon and not geometry.ready
    release.set()
    structure = geometry.built.result(timeout=10)
    assert geometry.ready and geometry.structure is structure
    assert len(builders) == 1


def test_a_build_that_fails_fails_the_casts_that_need_it(
    accelerator: picking.Accelerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    geometry = unit_cube(accelerator)

    def failing_build() -> picking.RayStructure:
        raise MemoryError("no room for the structure")

    monkeypatch.setattr(geometry, "_build", failing_build)
    entity = PickableMesh(6, geometry, translation(0.0))

    with pytest.raises(MemoryError, match="no room"):
        cast(**DOWN_X, meshes=[entity])
    assert geometry.ready  # done, with its error: nobody waits on it forever
    assert cast((0.0, 50.0, 0.0), (1.0, 0.0, 0.0), [entity]) == []  # out of reach: no wait


def test_a_large_mesh_is_built_in_chunks_that_answer_as_one_structure(
    accelerator: picking.Accelerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sphere = trimesh.creation.icosphere(subdivisions=4)  # 5,120 triangles
    whole = MeshGeometry(sphere.vertices, sphere.faces, accelerator=accelerator)
    assert len(whole.structure.chunks) == 1
    monkeypatch.setattr(picking, "CHUNK_TRIANGLES", 200)
    chunked = MeshGeometry(sphere.vertices, sphere.faces, accelerator=accelerator)

    chunks = chunked.structure.chunks
    assert len(chunks) > 20 and max(len(chunk.faces) for chunk in chunks) <= 200
    assert sorted(np.concatenate([chunk.faces for chunk in chunks])) == list(range(5120))
    rng = np.random.default_rng(7)
    for _ in range(50):
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        origin = -3 * direction + rng.normal(scale=0.3, size=3)
        for every_hit in (False, True):
            expected = whole.intersect(origin, direction, every_hit=every_hit)
            faces, positions = chunked.intersect(origin, direction, every_hit=every_hit)
            order = np.argsort(faces)
            assert list(faces[order]) == sorted(expected[0])
            assert positions[order] == pytest.approx(expected[1][np.argsort(expected[0])], abs=1e-5)
    inside = chunked.intersect(np.zeros(3), np.array([0.0, 0.0, 1.0]), every_hit=False)
    assert inside[1][:, 2] == pytest.approx([1.0], abs=2e-2)  # the wall in front
