"""Real OpenGL through EGL (Mesa llvmpipe without a GPU): what GlRenderer draws."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import trimesh
from trimesh.visual.color import ColorVisuals

from renderhub.frame_marker import BITS, BLOCK, read_marker
from renderhub.host.frames import View
from renderhub.host.render.gl import BACKGROUND, GlRenderer, is_gpu
from renderhub.host.scene import LoadedModel
from tests.host.render.rendering import (
    Scene,
    front_view,
    object_mask,
    renderer_of,
    sample_scene,
    scene_of,
    scene_of_models,
)

BACKGROUND_RGB = np.round(np.array(BACKGROUND) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def cube() -> Iterator[GlRenderer]:
    renderer = renderer_of(sample_scene("cube.glb"))
    yield renderer
    renderer.release()


def coloured_box(extents: float, colour: tuple[int, int, int], z: float) -> trimesh.Trimesh:
    box = trimesh.creation.box(extents=(extents, extents, extents))
    box.apply_translation((0.0, 0.0, z))
    box.visual = ColorVisuals(vertex_colors=[*colour, 255])
    return box


def render_once(scene: Scene, view: View) -> np.ndarray:
    renderer = renderer_of(scene)
    try:
        return renderer.render(view)
    finally:
        renderer.release()


def test_info_names_the_renderer(cube: GlRenderer) -> None:
    info = cube.info()

    assert info["renderer"] and info["vendor"] and info["version"]
    assert info["gpu"] is is_gpu(info["renderer"])
    assert info["samples"] == (4 if info["gpu"] else 0)
    assert not is_gpu("llvmpipe (LLVM 15.0.6, 256 bits)")
    assert is_gpu("NVIDIA H200/PCIe/SSE2")


def test_the_cube_shows_in_the_middle_of_the_default_view(cube: GlRenderer) -> None:
    pixels = cube.render(front_view(eye=(1.5, 1.2, 2.0)))

    assert pixels.shape == (240, 320, 3) and pixels.dtype == np.uint8
    centre = pixels[120, 160].astype(np.int32)
    assert np.abs(centre - BACKGROUND_RGB).sum() > 60
    mask = object_mask(pixels)
    assert mask[120, 160]
    assert 0.05 < mask.mean() < 0.5


def test_the_silhouette_changes_when_the_eye_moves(cube: GlRenderer) -> None:
    head_on = object_mask(cube.render(front_view()))
    from_the_corner = object_mask(cube.render(front_view(eye=(1.8, 1.8, 1.8))))

    assert (head_on ^ from_the_corner).sum() > 0.02 * head_on.size
    rows, columns = np.nonzero(head_on)
    assert abs((rows.max() - rows.min()) - (columns.max() - columns.min())) <= 2  # a square


def test_the_picture_is_upright_top_row_first(cube: GlRenderer) -> None:
    looking_below = object_mask(cube.render(front_view(eye=(0, -1, 3), target=(0, -1, 0))))
    looking_left = object_mask(cube.render(front_view(eye=(-0.6, 0, 3), target=(-0.6, 0, 0))))

    assert looking_below[:100].sum() > 0 and looking_below[140:].sum() == 0  # cube above
    assert looking_left[:, 200:].sum() > 0 and looking_left[:, :120].sum() == 0  # to the right


@pytest.mark.parametrize("size", [(160, 120), (640, 360), (1000, 1000), (3840, 2160)])
def test_each_view_size_gives_its_shape_and_aspect(cube: GlRenderer, size: tuple[int, int]) -> None:
    width, height = size
    pixels = cube.render(front_view(width=width, height=height))

    assert pixels.shape == (height, width, 3)
    rows, columns = np.nonzero(object_mask(pixels))
    assert (rows.max() - rows.min()) == pytest.approx(columns.max() - columns.min(), abs=3)
    assert (rows.min() + rows.max()) / 2 == pytest.approx(height / 2, abs=2)


def test_a_near_object_hides_a_far_one_whatever_the_draw_order() -> None:
    near = coloured_box(0.5, (230, 20, 20), z=1.0)
    far = coloured_box(1.5, (20, 20, 230), z=-1.0)

    for scene in (scene_of(near, far), scene_of(far, near)):
        pixels = render_once(scene, front_view())
        red, _, blue = pixels[120, 160].astype(int)
        assert red > 3 * blue
        red, _, blue = pixels[120, 160 + 50].astype(int)  # beside the near box: the far one
        assert blue > 3 * red


def test_checkerboard_mode_draws_checkers_instead_of_the_models() -> None:
    """Over the polygon limit the scene's state asks for checkers in the models' bounds."""
    view = front_view(eye=(0.4, 0.5, 3.0))
    over_limit = sample_scene("torus-knot.glb", polygon_limit=0)
    assert over_limit.state.checkerboard is not None

    model = render_once(sample_scene("torus-knot.glb"), view)
    checkers = render_once(over_limit, view)

    blue = model[..., 2].astype(int) - model[..., 0] > 60
    assert blue.any()
    covered = object_mask(checkers)
    colours = checkers[covered].astype(int)
    assert (np.ptp(colours, axis=1) < 12).all()  # greys only: none of the knot's blue
    brightness = checkers[120, 60:260].astype(int).mean(axis=1)
    cells = np.where(brightness > 150, 1, np.where(brightness < 70, 0, -1))
    known = [value for value in cells if value >= 0]
    runs = [value for i, value in enumerate(known) if i == 0 or value != known[i - 1]]
    assert len(runs) >= 6  # bright, dark, bright, ... across the box


@pytest.mark.parametrize("value", [0, 1, 0x8000, 0xA5C3, 0xFFFF, 12345])
def test_the_marker_decodes_to_its_value_with_exact_blocks(cube: GlRenderer, value: int) -> None:
    pixels = cube.render(front_view(marker=value))

    assert read_marker(pixels) == value
    corner = pixels[-BLOCK:, : BITS * BLOCK]
    assert set(np.unique(corner)) <= {0, 255}
    for bit in range(BITS):
        block = corner[:, bit * BLOCK : (bit + 1) * BLOCK]
        assert len(np.unique(block)) == 1  # one flat colour per block, no shading or blur


def test_without_a_marker_the_corner_is_the_background(cube: GlRenderer) -> None:
    pixels = cube.render(front_view())

    assert (pixels[-BLOCK:, : BITS * BLOCK] == BACKGROUND_RGB).all()


def test_an_empty_scene_renders_the_background() -> None:
    """No models, or a model without triangles, even with a polygon limit of 0."""
    no_triangles = LoadedModel.of_meshes("empty", ())
    for models in ((), (no_triangles,)):
        for limit in (None, 0):
            scene = scene_of_models(*models, polygon_limit=limit)
            assert scene.state.checkerboard is None
            assert (render_once(scene, front_view()) == BACKGROUND_RGB).all()


def test_a_view_that_cannot_be_rendered_raises_value_error(cube: GlRenderer) -> None:
    with pytest.raises(ValueError, match="even"):
        cube.render(front_view(width=321))


def test_the_multisampled_path_used_on_gpus_draws_the_same_picture(cube: GlRenderer) -> None:
    view = front_view(eye=(1.5, 1.2, 2.0), marker=0xBEEF)
    multisampled = renderer_of(sample_scene("cube.glb"), samples=4)
    try:
        smooth = multisampled.render(view)
        assert multisampled.info()["samples"] == 4
    finally:
        multisampled.release()

    plain = cube.render(view)
    assert read_marker(smooth) == 0xBEEF
    assert (object_mask(smooth) ^ object_mask(plain)).mean() < 0.01  # edges only
    assert np.abs(smooth.astype(int) - plain).mean() < 2
