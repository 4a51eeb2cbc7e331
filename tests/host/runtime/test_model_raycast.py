"""Ray casts through the scene model: what is visible counts (not hidden entities, not the
cut-away side of a plane), where the entities are now; the ray-cast structures are built in
the background from the commit on, and a cast through the runtime waits for them without
blocking the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from renderhub.host.picking import MeshGeometry, RayStructure
from renderhub.host.runtime.errors import ErrorCode
from renderhub.host.runtime.model import SceneModel, StateChange, TransformChange
from tests.host.runtime.model_files import load_car, load_sample
from tests.host.runtime.runtime_testing import client_of, make_runtime, world_centre
from tests.host.runtime.test_model_entities import (
    BODY,
    CAR,
    CAR_ROOT,
    WHEEL_FL,
    WHEEL_FR,
    refused,
)
from tests.host.stream.doubles import PictureSource

# The body spans x 0..2, y 1.5..2.5, z 1..5; Wheel_FL x -0.1..0.1, y 1.2..1.8, z 4.2..4.8.
DOWN_Z = ((1.0, 2.0, 20.0), (0.0, 0.0, -1.0))  # through the body's middle
ALONG_X = ((-10.0, 1.7, 4.5), (1.0, 0.0, 0.0))  # through both wheels and the body


class HeldBuilds:
    """Every MeshGeometry's build waits for `release` (set at the end of the test at the
    latest); `started` holds the geometries whose build has begun."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started: list[MeshGeometry] = []
        self._changed = threading.Condition()

    def begun(self, geometry: MeshGeometry) -> None:
        with self._changed:
            self.started.append(geometry)
            self._changed.notify_all()

    async def until_started(self, count: int) -> None:
        def wait() -> bool:
            with self._changed:
                return self._changed.wait_for(lambda: len(self.started) >= count, 10)

        assert await asyncio.to_thread(wait), f"{count} builds did not begin"


@pytest.fixture
def held_builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldBuilds]:
    held = HeldBuilds()
    build = MeshGeometry._build

    def held_build(geometry: MeshGeometry) -> RayStructure:
        held.begun(geometry)
        assert held.release.wait(10)
        return build(geometry)

    monkeypatch.setattr(MeshGeometry, "_build", held_build)
    yield held
    held.release.set()


@pytest.fixture
def scene(tmp_path: Path) -> SceneModel:
    scene = SceneModel()
    scene.add_model(load_car(tmp_path))
    return scene


def test_the_closest_hit_is_the_body_s_near_face(scene: SceneModel) -> None:
    hits = scene.raycast(*DOWN_Z)

    assert len(hits) == 1
    hit = hits[0]
    assert hit["entity"] == BODY
    assert hit["position"] == pytest.approx([1.0, 2.0, 5.0])
    assert hit["normal"] == pytest.approx([0.0, 0.0, 1.0])
    assert hit["distance"] == pytest.approx(15.0)
    assert all(type(value) is float for value in [*hit["position"], hit["distance"]])


def test_all_hits_come_nearest_first_and_instances_are_their_own_entities(
    scene: SceneModel,
) -> None:
    hits = scene.raycast(*ALONG_X, mode="all")

    assert [hit["entity"] for hit in hits] == [WHEEL_FL, BODY, WHEEL_FL, WHEEL_FR, BODY, WHEEL_FR]
    assert [hit["distance"] for hit in hits] == pytest.approx([9.9, 10.0, 10.1, 11.9, 12.0, 12.1])


def test_rays_beside_or_short_of_the_model_miss(scene: SceneModel) -> None:
    assert scene.raycast((1.0, 20.0, 20.0), (0.0, 0.0, -1.0)) == []
    assert scene.raycast(*DOWN_Z, max_distance=14.0) == []
    assert scene.raycast((1.0, 2.0, 20.0), (0.0, 0.0, 1.0)) == []  # pointing away


def test_hidden_entities_let_the_ray_through(scene: SceneModel) -> None:
    scene.set_state(WHEEL_FL, StateChange(hidden=True))
    assert scene.raycast(*ALONG_X)[0]["entity"] == BODY

    scene.set_state(CAR, StateChange(hidden=True))
    assert scene.raycast(*ALONG_X, mode="all") == []

    scene.set_state(WHEEL_FR, StateChange(hidden=False))
    assert {hit["entity"] for hit in scene.raycast(*ALONG_X, mode="all")} == {WHEEL_FR}


def test_the_cut_away_side_of_a_plane_does_not_count(scene: SceneModel) -> None:
    plane = scene.add_cut_plane((1.0, 2.0, 3.0), (0.0, 0.0, -1.0))  # keeps z < 3

    hit = scene.raycast(*DOWN_Z)[0]
    assert (hit["entity"], hit["distance"]) == (BODY, pytest.approx(19.0))
    assert hit["normal"] == pytest.approx([0.0, 0.0, -1.0])  # the far face, from inside

    scene.set_cut_plane(plane, normal=(0.0, 0.0, 1.0))  # keeps z > 3
    assert scene.raycast(*DOWN_Z)[0]["distance"] == pytest.approx(15.0)


def test_a_moved_entity_is_hit_where_it_is_now(scene: SceneModel) -> None:
    scene.raycast(*DOWN_Z)  # the meshes are placed once

    scene.set_transforms([TransformChange(CAR, position=(1.0, 2.0, -7.0))])  # 10 m back

    assert scene.raycast(*DOWN_Z)[0]["distance"] == pytest.approx(25.0)
    scene.set_transforms([TransformChange(CAR_ROOT, scale=(1.0, 1.0, 2.0))])
    # the front face, at z = -7 + 2 in the car, doubled in z by the root
    assert scene.raycast(*DOWN_Z)[0]["position"] == pytest.approx([1.0, 2.0, -10.0])


def test_an_entity_scaled_to_almost_nothing_is_not_hit_until_it_grows_again(
    scene: SceneModel,
) -> None:
    scene.set_transforms([TransformChange(CAR_ROOT, scale=(1e-7, 1e-7, 1e-7))])
    assert scene.raycast((0.0, 0.0, 1.0), (0.0, 0.0, -1.0)) == []

    scene.set_transforms([TransformChange(CAR_ROOT, scale=(1.0, 1.0, 1.0))])
    assert scene.raycast(*DOWN_Z)[0]["entity"] == BODY


def test_a_removed_model_is_not_hit_and_a_new_one_is(scene: SceneModel) -> None:
    scene.remove_model(CAR_ROOT)
    assert scene.raycast(*DOWN_Z) == []

    cube = scene.add_model(load_sample("cube.glb"))
    hit = scene.raycast((0.0, 0.0, 5.0), (0.0, 0.0, -1.0))[0]
    assert hit["entity"] == cube.entities[1] and hit["distance"] == pytest.approx(4.5)


def test_bad_rays_are_refused_by_field(scene: SceneModel) -> None:
    origin, direction = DOWN_Z
    refused(
        scene,
        ErrorCode.INVALID_FIELD,
        "direction",
        lambda: scene.raycast(origin, (0.0, 0.0, 0.0)),
    )
    refused(
        scene,
        ErrorCode.INVALID_FIELD,
        "max_distance",
        lambda: scene.raycast(origin, direction, max_distance=0.0),
    )
    refused(
        scene,
        ErrorCode.INVALID_FIELD,
        "mode",
        lambda: scene.raycast(origin, direction, mode="every"),  # type: ignore[arg-type]
    )


async def test_structures_are_built_from_the_commit_on_not_while_preparing(
    tmp_path: Path, held_builds: HeldBuilds
) -> None:
    scene = SceneModel()
    prepared = scene.prepare_model(load_car(tmp_path))  # returns with nothing built
    await asyncio.sleep(0.05)
    assert held_builds.started == []

    scene.commit_model(prepared)
    await held_builds.until_started(2)  # the body's mesh and the wheels' shared one
    assert len({id(geometry) for geometry in held_builds.started}) == 2
    assert not any(geometry.ready for geometry in held_builds.started)
    held_builds.release.set()
    await asyncio.wait_for(scene.raycast_ready(), 10)
    assert all(geometry.ready for geometry in held_builds.started)
    assert scene.raycast(*DOWN_Z)[0]["entity"] == BODY


async def test_raycast_and_pick_wait_for_the_structure_without_blocking_the_loop(
    models_dir: Path, held_builds: HeldBuilds
) -> None:
    runtime = make_runtime(models_dir)
    await runtime.attach(PictureSource())
    client = client_of(runtime)
    cube = await client.result("load_model", url="samples/cube.glb")  # answered, not built
    await held_builds.until_started(1)
    part = cube["entities"][-1]["id"]
    x, y, z = (float(v) for v in world_centre(cube["entities"][-1]))
    await client.result("set_camera", position=[x, y, z + 5], target=[x, y, z])

    cast = asyncio.create_task(
        client.result("raycast", origin=[x, y, z + 10], direction=[0, 0, -1])
    )
    pick = asyncio.create_task(client.result("pick", x=0.5, y=0.5))
    ticks = 0
    for _ in range(10):  # the loop goes on while they wait
        await asyncio.sleep(0.01)
        ticks += 1
    assert ticks == 10 and not cast.done() and not pick.done()

    held_builds.release.set()
    async with asyncio.timeout(10):
        cast_hits, pick_hits = (await cast)["hits"], (await pick)["hits"]
    assert [hit["entity"] for hit in cast_hits] == [part]
    assert [hit["entity"] for hit in pick_hits] == [part]
