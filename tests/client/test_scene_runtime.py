"""The issue's flow from Python, end to end: `renderhub serve`, a session with an empty scene,
its real render host, and renderhub.client's Scene over real aiortc. Each change is checked
where a person would see it, in the decoded video (the frame marker tells which request a
frame already shows), and in the typed answers."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from renderhub.client import (
    CutPlaneNotFound,
    Entity,
    EntityNotFound,
    InvalidField,
    LoadProgress,
    ModelLoadFailed,
    ModelNotAllowed,
    NotAModel,
    Scene,
    Transform,
)
from tests.client.scene_support import Served, frame_showing, served
from tests.host.runtime.model_files import GROUPS, PARTS_PER_GROUP, write_many_parts

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT = 320, 240
EYE_Z, FOV = 8.0, 50.0  # the camera: on +Z, looking at the origin
CUBE, KNOT = "samples/cube.glb", "samples/torus-knot.glb"
CUBE_AT, KNOT_AT = (1.5, 0.0, 0.0), (-1.5, 0.0, 0.0)
PICTURE = slice(0, HEIGHT - 16)  # the rows above the marker


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(tmp_path_factory.mktemp("runtime") / "data") as running:
        yield running


async def _look(scene: Scene) -> None:
    """A small picture, the marker on, the camera where pixel_of expects it."""
    scene.resolution(WIDTH, HEIGHT)
    scene.marker(True)
    camera = await scene.set_camera(position=(0, 0, EYE_Z), target=(0, 0, 0), fov=FOV)
    assert camera.position == pytest.approx((0, 0, EYE_Z)) and camera.fov == FOV
    assert await scene.camera() == camera


def pixel_of(point: tuple[float, float, float]) -> tuple[int, int]:
    """Where a world point appears in the picture (row, column), for the fixed camera."""
    scale = 1 / math.tan(math.radians(FOV) / 2) / (EYE_Z - point[2])
    x = point[0] * scale * HEIGHT / WIDTH
    y = point[1] * scale
    return round((1 - y) / 2 * HEIGHT), round((1 + x) / 2 * WIDTH)


def around(frame: np.ndarray, at: tuple[float, float, float], half: int = 14) -> np.ndarray:
    row, column = pixel_of(at)
    return frame[row - half : row + half, column - half : column + half].astype(int)


def drawn(frame: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Which pixels above the marker are not background."""
    return np.abs(frame[PICTURE].astype(int) - background).sum(axis=2) > 60


async def _shown(scene: Scene) -> np.ndarray:
    """The first frame that shows every request sent so far."""
    return await frame_showing(scene, scene.last_seq)


async def test_a_scene_built_changed_and_found_again_from_python(hub: Served) -> None:
    async with hub.client() as client:
        session_id = await hub.session(client, [])
        async with client.connect_scene(session_id, ready_timeout=60) as scene:
            assert scene.hello.models == () and scene.models == ()
            await _look(scene)
            cube, knot = await _load_two(scene)
            await _move_hide_tint_and_cut(scene, cube, knot)
            await _errors_are_typed_and_change_nothing(scene, cube)
            tree = await scene.entities()
            planes = await scene.cut_planes()
            stats = await scene.stats()
            assert (stats.models, stats.entities, stats.cut_planes) == (2, len(tree), 1)
            assert stats.polygons_loaded == sum(e.polygons for e in tree) == 12 + 18_432
            assert (stats.width, stats.height) == (WIDTH, HEIGHT) and stats.frames_sent > 0

        async with client.connect_scene(session_id) as again:
            assert [root.id for root in again.hello.models] == [cube.id, knot.id]
            assert again.hello.models[0].position == CUBE_AT
            assert await again.entities() == tree
            assert await again.cut_planes() == planes
            removed = await again.unload(cube)
            assert cube.id in removed and [m.id for m in again.models] == [knot.id]
            assert [e.model for e in await again.entities()] == [knot.id] * (
                len(tree) - len(removed)
            )


async def _load_two(scene: Scene) -> tuple[Entity, Entity]:
    seen: list[LoadProgress] = []
    cube = await scene.load_model(CUBE, on_progress=seen.append)
    knot = await scene.load_model(KNOT)
    assert seen and seen[0].stage == "fetching" and all(0 <= p.fraction <= 1 for p in seen)
    assert cube.is_model_root and cube.parent is None and cube.metadata["url"] == CUBE
    assert [m.id for m in scene.models] == [cube.id, knot.id]

    tree = await scene.entities()
    assert [e.id for e in tree if e.parent is None] == [cube.id, knot.id]
    seen_ids: set[int] = set()
    for entity in tree:  # parents before children
        assert entity.parent is None or entity.parent in seen_ids
        seen_ids.add(entity.id)
    subtree = await scene.entities(knot)
    assert subtree[0] == knot and {e.model for e in subtree} == {knot.id}
    assert sum(e.polygons for e in tree if e.model == cube.id) == 12
    return cube, knot


async def _move_hide_tint_and_cut(scene: Scene, cube: Entity, knot: Entity) -> None:
    await scene.set_transform(cube.id, position=CUBE_AT)
    count = await scene.set_transforms([Transform(knot.id, position=KNOT_AT, scale=(0.9,) * 3)])
    assert count == 1
    placed = await _shown(scene)
    background = placed[5, WIDTH // 2].astype(int)
    assert np.abs(around(placed, CUBE_AT) - background).mean() > 30, "the cube is drawn there"
    moved = (await scene.entities(cube))[0]
    assert moved.position == CUBE_AT and moved.bounds is not None
    assert moved.bounds.centre == pytest.approx(CUBE_AT)

    hidden = await scene.set_state(cube, hidden=True)
    assert hidden.state.hidden is True and hidden.state.tint is None
    gone = await _shown(scene)
    assert np.abs(around(gone, CUBE_AT) - background).mean() < 10, "the hidden cube is gone"
    straight_at_cube = ((*CUBE_AT[:2], 10.0), (0.0, 0.0, -1.0))
    assert await scene.raycast(*straight_at_cube) == [], "rays pass hidden entities"
    shown = await scene.set_state(cube, hidden=None)  # inherit again: drawn
    assert shown.state.hidden is None
    (hit,) = await scene.raycast(*straight_at_cube)
    assert hit.position[2] == pytest.approx(0.5, abs=1e-4) and hit.normal == pytest.approx(
        (0, 0, 1)
    )
    assert hit.entity in {e.id for e in await scene.entities(cube)}
    assert await scene.raycast((0, 5, 10), (0, 0, -1), mode="all") == [], "a miss"

    selected = await scene.set_state(knot, selected=True, tint=(1, 0, 0, 1))
    assert (selected.state.selected, selected.state.tint) == (True, (1, 0, 0, 1))
    assert (await scene.set_state(knot, selected=False)).state.tint == (1, 0, 0, 1), "kept"
    red = await _shown(scene)
    knot_pixels = red[PICTURE][drawn(red, background)]
    knot_pixels = knot_pixels[knot_pixels[:, 0] > knot_pixels[:, 2]]  # the cube is grey-blue
    assert len(knot_pixels) > 500
    r, g, b = np.median(knot_pixels, axis=0)
    assert r > 120 and r > 2.5 * max(g, b), (r, g, b)

    plane = await scene.add_cut_plane(point=KNOT_AT, normal=(2, 0, 0))
    assert plane.normal == (1.0, 0.0, 0.0) and await scene.cut_planes() == [plane]
    halved = await _shown(scene)
    _, knot_column = pixel_of(KNOT_AT)
    left, right = slice(0, knot_column - 2), slice(knot_column + 2, WIDTH // 2)
    before, after = drawn(red, background), drawn(halved, background)
    assert before[:, left].sum() > 300
    assert after[:, left].sum() < before[:, left].sum() * 0.05, "the left half is cut away"
    assert after[:, right].sum() > before[:, right].sum() * 0.8, "the right half stays"
    cut_away = ((KNOT_AT[0] - 0.6, 0.0, 10.0), (0.0, 0.0, -1.0))
    assert await scene.raycast(*cut_away) == [], "the cut-away side does not count"
    kept = np.argwhere(after[:, right])
    row, column = kept[len(kept) // 2]
    (picked,) = await scene.pick((column + right.start + 0.5) / WIDTH, (row + 0.5) / HEIGHT)
    assert picked.entity in {e.id for e in await scene.entities(knot)}

    moved_plane = await scene.set_cut_plane(plane, point=(KNOT_AT[0] - 5, 0, 0))
    assert moved_plane.id == plane.id and moved_plane.point == (KNOT_AT[0] - 5, 0, 0)
    assert (await scene.raycast(*cut_away))[0].entity in {e.id for e in await scene.entities(knot)}
    await scene.remove_cut_plane(plane)
    assert await scene.cut_planes() == []
    await scene.add_cut_plane(point=(0, -50, 0), normal=(0, 1, 0))  # cuts nothing in view


async def _errors_are_typed_and_change_nothing(scene: Scene, cube: Entity) -> None:
    before = await scene.entities(), await scene.cut_planes()
    with pytest.raises(EntityNotFound) as unknown:
        await scene.set_state(424242, hidden=True)
    assert (unknown.value.code, unknown.value.target) == ("EntityNotFound", "id")
    with pytest.raises(EntityNotFound) as batch:
        await scene.set_transforms([Transform(cube.id, position=(9, 9, 9)), Transform(424242)])
    assert batch.value.target == "transforms[1].id"
    with pytest.raises(ModelNotAllowed) as outside:
        await scene.load_model("https://example.com/x.glb")
    assert outside.value.target == "url"
    with pytest.raises(ModelLoadFailed):
        await scene.load_model("samples/nothing-here.glb")
    child = next(e for e in await scene.entities(cube) if not e.is_model_root)
    with pytest.raises(NotAModel):
        await scene.unload(child)
    with pytest.raises(CutPlaneNotFound):
        await scene.remove_cut_plane(77)
    with pytest.raises(InvalidField) as tint:
        await scene.set_state(cube, tint=(2, 0, 0, 1))
    assert tint.value.target == "tint"
    sent = scene.last_seq
    with pytest.raises(InvalidField, match="position"):
        await scene.set_transform(cube, position=(math.nan, 0, 0))
    with pytest.raises(InvalidField, match="selected"):
        await scene.set_state(cube, selected="yes")  # type: ignore[arg-type]
    assert scene.last_seq == sent, "refused here: nothing was sent"
    assert (await scene.entities(), await scene.cut_planes()) == before


async def test_the_entities_of_a_large_model_come_back_whole(hub: Served) -> None:
    """A model of over a thousand nodes: its listing takes several pages, which
    `entities` follows; `load_model` still returns the root."""
    write_many_parts(hub.server.data_dir / "models")
    async with hub.client() as client:
        session_id = await hub.session(client, [CUBE])
        async with client.connect_scene(session_id, ready_timeout=60) as scene:
            root = await scene.load_model("many.glb")
            assert root.name == "many.glb" and root.is_model_root
            model = await scene.entities(root)
            assert len(model) == 1 + GROUPS * (1 + PARTS_PER_GROUP) >= 1000
            assert model[0] == root and all(e.model == root.id for e in model)
            seen = {root.id}
            for entity in model[1:]:  # parents before children, each once
                assert entity.parent in seen and entity.id not in seen
                seen.add(entity.id)
            whole = await scene.entities()
            assert whole[len(whole) - len(model) :] == model
            assert whole[0].name == "cube.glb"
            assert (await scene.stats()).entities == len(whole)
