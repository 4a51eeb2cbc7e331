"""A scene that changes at run time, drawn by GlRenderer with real OpenGL (llvmpipe without a
GPU): models added once and moved, hidden, tinted, cut, seen through and outlined by their
state alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
import trimesh

from renderhub.host.frames import View
from renderhub.host.render.geometry import (
    HIDDEN,
    MAX_CUT_PLANES,
    SEE_THROUGH,
    SELECTED,
    CutPlaneData,
    SceneState,
)
from renderhub.host.render.gl import BACKGROUND, GlRenderer
from renderhub.host.render.gl_models import _spans, model_draws, part_bounds, part_ranges
from renderhub.host.render.gl_outline import OUTLINE_COLOUR
from renderhub.host.render.state_texture import normal_matrices
from tests.host.render.rendering import (
    box,
    front_view,
    geometry_of,
    object_mask,
    state_with,
    translation,
)

BACKGROUND_RGB = np.round(np.array(BACKGROUND) * 255).astype(int)
OUTLINE_RGB = np.round(np.array(OUTLINE_COLOUR) * 255).astype(int)
RED, BLUE = (230, 30, 30, 255), (30, 30, 230, 255)
LEFT, RIGHT = (120, 100), (120, 220)  # pixels (row, column) at x = -0.6 and x = 0.6


@pytest.fixture
def renderer() -> Iterator[GlRenderer]:
    renderer = GlRenderer()
    yield renderer
    renderer.release()


@pytest.fixture
def two_boxes(renderer: GlRenderer) -> GlRenderer:
    """Model 1: a red box around x = -0.6 (part 0) and a blue one around x = 0.6 (part 1)."""
    parts = box(0.5, (-0.6, 0.0, 0.0)), box(0.5, (0.6, 0.0, 0.0))
    renderer.add_model(1, 0, geometry_of(*parts, colours=[RED, BLUE]))
    return renderer


def rgb(pixels: np.ndarray, at: tuple[int, int]) -> np.ndarray:
    return pixels[at].astype(int)


def is_background(pixels: np.ndarray, at: tuple[int, int]) -> bool:
    return bool(np.abs(rgb(pixels, at) - BACKGROUND_RGB).sum() <= 3)


def outline_mask(pixels: np.ndarray) -> np.ndarray:
    return np.abs(pixels.astype(int) - OUTLINE_RGB).sum(axis=-1) <= 6


def shown(renderer: GlRenderer, state: SceneState, view: View) -> np.ndarray:
    """Set `state`, then render `view`."""
    renderer.set_state(state)
    return renderer.render(view)


def flags(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.uint8)


def test_a_model_draws_nothing_until_its_state_then_where_it_is(two_boxes: GlRenderer) -> None:
    assert not object_mask(two_boxes.render(front_view())).any()

    two_boxes.set_state(SceneState.identity(2))
    pixels = two_boxes.render(front_view())

    red, blue = rgb(pixels, LEFT), rgb(pixels, RIGHT)
    assert red[0] > 2 * red[2] and blue[2] > 2 * blue[0]
    assert is_background(pixels, (120, 160)) and is_background(pixels, (20, 100))


def test_a_part_moves_by_its_matrix_alone(two_boxes: GlRenderer) -> None:
    two_boxes.set_state(SceneState.identity(2))
    before = two_boxes.render(front_view())
    matrices = np.stack([translation(0.0, 0.7), np.eye(4, dtype=np.float32)])

    two_boxes.set_state(state_with(2, matrices=matrices))
    after = two_boxes.render(front_view())

    assert is_background(after, LEFT) and not is_background(before, LEFT)
    moved_up = rgb(after, (120 - 73, 100))  # 0.7 units up: ~73 rows at this distance
    assert moved_up[0] > 3 * moved_up[2]
    assert np.array_equal(after[:, 160:], before[:, 160:])  # the other part stayed


def test_non_uniform_scale_keeps_normals_perpendicular() -> None:
    rng = np.random.default_rng(1)
    matrices = np.tile(np.eye(4, dtype=np.float32), (20, 1, 1))
    matrices[:, :3, :3] = rng.normal(size=(20, 3, 3))
    surface = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])  # spans a plane
    normal = np.cross(*surface)

    turned = np.einsum("sij,j->si", normal_matrices(matrices), normal)

    for tangent in surface:
        placed = np.einsum("sij,j->si", matrices[:, :3, :3].astype(np.float64), tangent)
        cosine = (placed * turned).sum(-1) / np.linalg.norm(placed, axis=-1)
        assert np.abs(cosine / np.linalg.norm(turned, axis=-1)).max() < 1e-5


def test_a_hidden_part_leaves_the_background(two_boxes: GlRenderer) -> None:
    two_boxes.set_state(state_with(2, flags=flags(HIDDEN, 0)))
    pixels = two_boxes.render(front_view())

    assert not object_mask(pixels)[:, :160].any()
    assert not is_background(pixels, RIGHT)


def test_a_tint_replaces_its_share_of_the_colour(two_boxes: GlRenderer) -> None:
    two_boxes.set_state(SceneState.identity(2))
    plain = two_boxes.render(front_view())
    results = {}
    for share in (0.0, 0.5, 1.0):
        tints = np.array([[0.0, 1.0, 0.0, share], [0.0, 0.0, 0.0, 0.0]], dtype=np.float32)
        two_boxes.set_state(state_with(2, tints=tints))
        results[share] = two_boxes.render(front_view())

    assert np.array_equal(results[0.0], plain)
    full, half = rgb(results[1.0], LEFT), rgb(results[0.5], LEFT)
    assert full[1] > 3 * full[0]  # green
    assert full[1] > half[1] > rgb(plain, LEFT)[1] and full[0] < half[0] < rgb(plain, LEFT)[0]
    assert np.array_equal(results[1.0][:, 170:], plain[:, 170:])  # the blue part untinted


def test_a_cut_plane_cuts_away_its_back_side_and_fades_near_it(renderer: GlRenderer) -> None:
    renderer.add_model(1, 0, geometry_of(box(1.0), colours=[BLUE]))
    whole = object_mask(shown(renderer, SceneState.identity(1), front_view()))
    plane = CutPlaneData((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), 0.2, (1.0, 1.0, 0.0, 1.0))

    renderer.set_state(state_with(1, cut_planes=(plane,)))
    pixels = renderer.render(front_view())

    cut = object_mask(pixels)
    assert whole[:, 110:160].all(axis=1).any() and not cut[:, :159].any()
    assert cut[120, 161:200].all()
    near, far = rgb(pixels, (120, 163)), rgb(pixels, (120, 200))
    assert near[0] > 150 and near[1] > 150 and near[2] < 80  # mostly the yellow fade colour
    assert far[2] > 2 * far[0]  # beyond the fade: the blue box


def test_eight_cut_planes_all_cut(renderer: GlRenderer) -> None:
    renderer.add_model(1, 0, geometry_of(box(1.0)))
    planes = tuple(
        CutPlaneData((0.0, 0.0, 0.0), (float(np.cos(a)), float(np.sin(a)), 0.0))
        for a in np.linspace(0.1, 0.4, 8)
    )

    only_the_last = shown(renderer, state_with(1, cut_planes=planes[-1:]), front_view())
    all_of_them = shown(renderer, state_with(1, cut_planes=planes), front_view())

    assert 0 < object_mask(all_of_them).sum() < object_mask(only_the_last).sum()


def test_every_plane_count_cuts_and_fades_like_one_plane(renderer: GlRenderer) -> None:
    """Each plane count has its own program (the planes unrolled): a fading plane and 0 to
    7 copies of it without the fade draw the same picture."""
    renderer.add_model(1, 0, geometry_of(box(1.0), colours=[BLUE]))
    plane = CutPlaneData((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), 0.2, (1.0, 1.0, 0.0, 1.0))
    copy = replace(plane, fade_length=0.0)
    pictures = [
        shown(renderer, state_with(1, cut_planes=(plane,) + (copy,) * count), front_view())
        for count in range(MAX_CUT_PLANES)
    ]

    assert not object_mask(pictures[0])[:, :159].any()
    assert rgb(pictures[0], (120, 163))[2] < 80  # the fade
    for picture in pictures[1:]:
        assert np.array_equal(picture, pictures[0])


def test_only_the_planes_that_fade_tint(renderer: GlRenderer) -> None:
    """A plane without a fade among planes with one cuts but tints nothing."""
    renderer.add_model(1, 0, geometry_of(box(1.0), colours=[BLUE]))
    plain = CutPlaneData((0.0, 0.0, 0.0), (1.0, 0.0, 0.0))
    fading = CutPlaneData((0.0, 0.0, 0.0), (0.0, 1.0, 0.0), 0.2, (1.0, 1.0, 0.0, 1.0))
    pixels = shown(renderer, state_with(1, cut_planes=(plain, fading)), front_view())

    mask = object_mask(pixels)
    assert mask[80, 161:200].all() and not mask[:, :159].any() and not mask[121:].any()
    by_the_plain_plane, by_the_fading_one = rgb(pixels, (80, 162)), rgb(pixels, (117, 200))
    assert by_the_plain_plane[2] > 4 * by_the_plain_plane[0]  # blue, no fade
    assert by_the_fading_one[0] > 150 and by_the_fading_one[2] < 80  # mostly yellow


def test_cut_planes_come_and_go_also_for_a_model_added_meanwhile(renderer: GlRenderer) -> None:
    """States without cut planes are drawn by a program without their code: switching
    between the two gives each state its own picture, for a model added while cut too."""
    renderer.add_model(1, 0, geometry_of(box(0.5, (-0.6, 0.0, 0.0)), colours=[RED]))
    plane = CutPlaneData((-0.6, 0.0, 0.0), (1.0, 0.0, 0.0))  # cuts the red box in half
    whole = shown(renderer, SceneState.identity(2), front_view())
    cut = shown(renderer, state_with(2, cut_planes=(plane,)), front_view())

    renderer.add_model(2, 1, geometry_of(box(0.5, (0.6, 0.0, 0.0)), colours=[BLUE]))
    both_cut = shown(renderer, state_with(2, cut_planes=(plane,)), front_view())
    both_whole = shown(renderer, SceneState.identity(2), front_view())

    left, right = slice(None, 160), slice(160, None)
    assert object_mask(whole)[:, 75:92].any() and not object_mask(cut)[:, :95].any()
    assert object_mask(cut)[120, 100:125].all()
    assert np.array_equal(both_cut[:, left], cut[:, left])
    assert np.array_equal(both_whole[:, left], whole[:, left])
    assert np.array_equal(both_cut[:, right], both_whole[:, right])  # the plane misses it
    assert rgb(both_cut, RIGHT)[2] > 2 * rgb(both_cut, RIGHT)[0]


def test_a_see_through_part_shows_what_is_behind_it(renderer: GlRenderer) -> None:
    near, far = box(0.6, (0.0, 0.0, 0.8)), box(1.6, (0.0, 0.0, -1.0))
    renderer.add_model(1, 0, geometry_of(near, far, colours=[RED, BLUE]))
    opaque = shown(renderer, SceneState.identity(2), front_view())

    see_through = shown(renderer, state_with(2, flags=flags(SEE_THROUGH, 0)), front_view())

    red, blended = rgb(opaque, (120, 160)), rgb(see_through, (120, 160))
    assert red[0] > 2 * red[2]
    assert blended[2] > red[2] + 50 and blended[0] < red[0] - 40  # the blue box shows
    assert blended[0] > rgb(see_through, (120, 250))[0] + 20  # with some red over it
    alone = shown(renderer, state_with(2, flags=flags(SEE_THROUGH, HIDDEN)), front_view())
    faint = rgb(alone, (120, 160))
    assert BACKGROUND_RGB[0] + 20 < faint[0] < red[0] - 60  # the background through it


def test_a_selected_part_gets_an_outline_and_nothing_else_does(two_boxes: GlRenderer) -> None:
    plain = shown(two_boxes, SceneState.identity(2), front_view())
    selected = shown(two_boxes, state_with(2, flags=flags(SELECTED, 0)), front_view())

    assert not outline_mask(plain).any()
    outline = outline_mask(selected)
    red_part = object_mask(plain)[:, :160]
    rows, columns = np.nonzero(red_part)
    perimeter = 2 * (np.ptp(rows) + np.ptp(columns))
    assert 1.5 * perimeter < outline.sum() < 3.5 * perimeter  # all around, 2 to 3 px wide
    # Only just outside the part's silhouette: within 3 pixels of it, never on it.
    grown = red_part.copy()
    for _ in range(3):
        grown = grown | np.roll(grown, 1, 0) | np.roll(grown, -1, 0)
        grown = grown | np.roll(grown, 1, 1) | np.roll(grown, -1, 1)
    assert not (outline[:, :160] & red_part).any() and not (outline[:, :160] & ~grown).any()
    assert not outline[:, 160:].any()  # the blue part is not outlined
    unchanged = ~grown
    assert np.array_equal(selected[:, :160][unchanged], plain[:, :160][unchanged])


def test_a_hidden_selected_part_has_no_outline(two_boxes: GlRenderer) -> None:
    pixels = shown(two_boxes, state_with(2, flags=flags(SELECTED | HIDDEN, 0)), front_view())

    assert not outline_mask(pixels).any()


def test_two_models_then_one_removed(renderer: GlRenderer) -> None:
    renderer.add_model(1, 0, geometry_of(box(0.5, (-0.6, 0.0, 0.0)), colours=[RED]))
    renderer.add_model(2, 1, geometry_of(box(0.5, (0.6, 0.0, 0.0)), colours=[BLUE]))
    both = shown(renderer, SceneState.identity(2), front_view())

    renderer.remove_model(1)
    one = renderer.render(front_view())

    assert not is_background(both, LEFT) and is_background(one, LEFT)
    assert np.array_equal(one[:, 160:], both[:, 160:])
    assert renderer.model_ids == [2]


def test_bad_model_calls_raise_value_error_and_change_nothing(two_boxes: GlRenderer) -> None:
    two_boxes.set_state(SceneState.identity(2))
    before = two_boxes.render(front_view())

    with pytest.raises(ValueError, match="has a model 1 already"):
        two_boxes.add_model(1, 0, geometry_of(box(2.0)))
    with pytest.raises(ValueError, match="has no model 9"):
        two_boxes.remove_model(9)
    with pytest.raises(ValueError, match="negative"):
        two_boxes.add_model(2, -1, geometry_of(box(2.0)))

    assert np.array_equal(two_boxes.render(front_view()), before)


def test_parts_beyond_the_states_rows_are_not_drawn(renderer: GlRenderer) -> None:
    renderer.add_model(1, 0, geometry_of(box(0.5, (-0.6, 0.0, 0.0))))
    renderer.add_model(2, 1, geometry_of(box(0.5, (0.6, 0.0, 0.0))))

    pixels = shown(renderer, SceneState.identity(1), front_view())

    assert not is_background(pixels, LEFT) and not object_mask(pixels)[:, 160:].any()


def test_a_thousand_parts_take_their_state_in_one_frame(renderer: GlRenderer) -> None:
    """1000 parts of one model, all the same cube in their local space, laid out in a 40 x 25
    grid by their matrices alone; every third one hidden, every seventh tinted green."""
    columns, rows, cell = 40, 25, 0.1
    renderer.add_model(1, 0, geometry_of(*[box(0.06) for _ in range(columns * rows)]))
    slots = np.arange(columns * rows)
    matrices = np.tile(np.eye(4, dtype=np.float32), (len(slots), 1, 1))
    matrices[:, 0, 3] = (slots % columns - (columns - 1) / 2) * cell
    matrices[:, 1, 3] = ((rows - 1) / 2 - slots // columns) * cell
    hidden = slots % 3 == 0
    tints = np.zeros((len(slots), 4), dtype=np.float32)
    tints[slots % 7 == 0] = (0.0, 1.0, 0.0, 1.0)
    state = state_with(
        len(slots),
        matrices=matrices,
        flags=np.where(hidden, HIDDEN, 0).astype(np.uint8),
        tints=tints,
    )
    view = front_view(width=640, height=400, fov_y_degrees=30.0, eye=(0.0, 0.0, 5.0))

    pixels = shown(renderer, state, view)

    scale = view.height / 2 / np.tan(np.radians(15.0)) / (5.0 - 0.03)  # pixels per unit
    x = np.round(320 + matrices[:, 0, 3] * scale).astype(int)
    y = np.round(200 - matrices[:, 1, 3] * scale).astype(int)
    centres = pixels[y, x].astype(int)
    drawn = np.abs(centres - BACKGROUND_RGB).sum(axis=1) > 24
    assert np.array_equal(drawn, ~hidden)
    green = centres[:, 1] > 2 * centres[:, 0]
    assert np.array_equal(green, (slots % 7 == 0) & ~hidden)


def test_the_state_texture_grows_and_shrinks_with_the_slots(renderer: GlRenderer) -> None:
    renderer.add_model(1, 0, geometry_of(box(0.5)))
    for slots in (1, 3000, 70_000, 2):
        pixels = shown(renderer, SceneState.identity(slots), front_view())
        assert object_mask(pixels)[120, 160]


def test_single_sided_parts_stay_culled_when_placed(renderer: GlRenderer) -> None:
    quad = trimesh.Trimesh(
        [[-0.5, -0.5, 0], [0.5, -0.5, 0], [0.5, 0.5, 0], [-0.5, 0.5, 0]], [[0, 1, 2], [0, 2, 3]]
    )
    renderer.add_model(1, 0, geometry_of(quad, single_sided=True))
    renderer.add_model(2, 1, geometry_of(quad))
    state = state_with(2, matrices=np.stack([translation(-0.7), translation(0.7)]))

    front = object_mask(shown(renderer, state, front_view()))
    behind = object_mask(renderer.render(front_view(eye=(0.0, 0.0, -3.0))))

    assert front[:, :160].sum() > 2_000 and front[:, 160:].sum() > 2_000
    # From behind +x is on the left: the double-sided quad shows, the single-sided one not.
    assert behind[:, :160].sum() > 2_000 and behind[:, 160:].sum() == 0


def test_a_mirroring_matrix_keeps_a_single_sided_part_facing_the_same_way(
    renderer: GlRenderer,
) -> None:
    """glTF: a mirroring transform turns the front to the clockwise side; the renderer culls
    such parts' other faces, so a quad facing +z still faces +z when mirrored in x."""
    quad = trimesh.Trimesh(
        [[0.1, -0.5, 0], [0.9, -0.5, 0], [0.9, 0.5, 0], [0.1, 0.5, 0]], [[0, 1, 2], [0, 2, 3]]
    )
    renderer.add_model(1, 0, geometry_of(quad, quad, single_sided=True))
    mirror = np.diag([-1.0, 1.0, 1.0, 1.0]).astype(np.float32)
    state = state_with(2, matrices=np.stack([np.eye(4, dtype=np.float32), mirror]))

    front = object_mask(shown(renderer, state, front_view()))
    behind = object_mask(renderer.render(front_view(eye=(0.0, 0.0, -3.0))))

    assert front[:, :160].sum() > 2_000 and front[:, 160:].sum() > 2_000  # both, from +z
    assert behind.sum() == 0


def test_the_checkerboard_replaces_the_models(two_boxes: GlRenderer) -> None:
    bounds = ((-1.0, -0.5, -0.5), (1.0, 0.5, 0.5))
    pixels = shown(two_boxes, state_with(2, checkerboard=bounds), front_view())

    covered = object_mask(pixels)
    assert covered.sum() > object_mask(shown(two_boxes, SceneState.identity(2), front_view())).sum()
    pixels = shown(two_boxes, state_with(2, checkerboard=bounds), front_view())
    assert (np.ptp(pixels[covered].astype(int), axis=1) < 12).all()  # greys, no red or blue


def test_an_empty_model_and_an_empty_scene_draw_the_background(renderer: GlRenderer) -> None:
    renderer.add_model(1, 0, geometry_of())
    pixels = shown(renderer, state_with(1, flags=flags(SELECTED)), front_view())

    assert not object_mask(pixels).any()


def test_part_ranges_are_found_when_grouped_and_not_guessed_otherwise() -> None:
    grouped = geometry_of(box(0.5), box(0.5), box(0.5))  # 12 triangles each, in part order
    shuffled = replace(grouped, indices=grouped.indices.reshape(-1, 3)[::-1].ravel().copy())
    draw = model_draws(grouped)[0]

    ranges = part_ranges(grouped, draw)

    assert ranges is not None and ranges.tolist() == [0, 36, 72, 108]
    assert part_ranges(shuffled, draw) is None
    assert _spans(ranges, np.array([0, 2])) == [(0, 36), (72, 36)]
    assert _spans(ranges, np.array([1, 2])) == [(36, 72)]  # adjacent parts: one draw


def test_see_through_and_outline_are_the_same_whatever_the_triangle_order(
    renderer: GlRenderer,
) -> None:
    grouped = geometry_of(  # single-sided: one see-through layer, so order-independent
        box(0.6, (0.0, 0.0, 0.8)),
        box(1.6, (0.0, 0.0, -1.0)),
        box(0.4, (0.8, 0.6, 0.0)),
        single_sided=True,
    )
    rng = np.random.default_rng(3)
    triangles = grouped.indices.reshape(-1, 3)
    shuffled = replace(grouped, indices=triangles[rng.permutation(len(triangles))].ravel())
    state = state_with(3, flags=flags(SEE_THROUGH, 0, SELECTED))

    renderer.add_model(1, 0, grouped)
    in_order = shown(renderer, state, front_view())
    renderer.remove_model(1)
    renderer.add_model(2, 0, shuffled)
    any_order = renderer.render(front_view())

    assert outline_mask(in_order).sum() > 100
    assert np.abs(in_order.astype(int) - any_order).max() <= 2


def test_part_bounds_whatever_the_vertex_order() -> None:
    grouped = geometry_of(box(0.5, (-1.0, 0.0, 0.0)), box(1.0, (2.0, 0.0, 0.0)), box(0.2))
    order = np.random.default_rng(5).permutation(grouped.vertices)
    where = np.argsort(order).astype(np.uint32)
    shuffled = replace(
        grouped,
        positions=grouped.positions[order],
        normals=grouped.normals[order],
        colours=grouped.colours[order],
        parts=grouped.parts[order],
        indices=where[grouped.indices],
    )

    for geometry in (grouped, shuffled):
        bounds = part_bounds(geometry)
        assert np.allclose(bounds[0], [[-1.25, -0.25, -0.25], [-0.75, 0.25, 0.25]])
        assert np.allclose(bounds[1], [[1.5, -0.5, -0.5], [2.5, 0.5, 0.5]])
        assert np.allclose(bounds[2], [[-0.1] * 3, [0.1] * 3])
