"""Views into matrices: look-at, perspective, and refusing Views that cannot be rendered."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from renderhub.host.frames import View
from renderhub.host.render.camera import check_view, projection_matrix, view_matrix


def transform(matrix: np.ndarray, point: tuple[float, float, float]) -> np.ndarray:
    result = matrix @ np.array([*point, 1.0])
    return result[:3] / result[3]


def test_the_eye_goes_to_the_origin_and_the_target_down_minus_z() -> None:
    view = View(eye=(1.0, 2.0, 3.0), target=(1.0, 2.0, -1.0))

    matrix = view_matrix(view)

    assert np.allclose(transform(matrix, view.eye), 0.0, atol=1e-6)
    assert np.allclose(transform(matrix, view.target), (0.0, 0.0, -4.0), atol=1e-6)
    assert np.allclose(transform(matrix, (1.0, 3.0, 3.0)), (0.0, 1.0, 0.0), atol=1e-6)  # up


def test_an_up_along_the_line_of_sight_still_gives_a_matrix() -> None:
    matrix = view_matrix(View(eye=(0.0, 5.0, 0.0), target=(0.0, 0.0, 0.0)))

    assert np.isfinite(matrix).all()
    assert np.allclose(transform(matrix, (0.0, 0.0, 0.0)), (0.0, 0.0, -5.0), atol=1e-6)


def test_near_and_far_map_to_the_depth_range_and_flip_y_mirrors() -> None:
    view = View(eye=(0.0, 0.0, 0.0), target=(0.0, 0.0, -1.0), near=0.5, far=50.0)

    plain = projection_matrix(view)
    flipped = projection_matrix(view, flip_y=True)

    assert transform(plain, (0.0, 0.0, -0.5))[2] == pytest.approx(-1.0, abs=1e-5)
    assert transform(plain, (0.0, 0.0, -50.0))[2] == pytest.approx(1.0, abs=1e-5)
    top = np.tan(np.radians(view.fov_y_degrees / 2))  # the top edge of the picture at z = -1
    assert transform(plain, (0.0, top, -1.0))[1] == pytest.approx(1.0, abs=1e-5)
    assert transform(flipped, (0.0, top, -1.0))[1] == pytest.approx(-1.0, abs=1e-5)
    right = top * view.width / view.height
    assert transform(plain, (right, 0.0, -1.0))[0] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"width": 158}, "outside"),
        ({"height": 2162}, "outside"),
        ({"width": 641}, "even"),
        ({"fov_y_degrees": 180.0}, "fov"),
        ({"near": 0.0}, "near"),
        ({"near": 10.0, "far": 5.0}, "near"),
        ({"eye": (float("nan"), 0.0, 0.0)}, "non-finite"),
        ({"marker": 65536}, "16-bit"),
        ({"marker": -1}, "16-bit"),
    ],
)
def test_views_that_cannot_be_rendered_are_refused(
    changes: dict[str, object], complaint: str
) -> None:
    view = dataclasses.replace(View(eye=(0.0, 0.0, 3.0), target=(0.0, 0.0, 0.0)), **changes)

    with pytest.raises(ValueError, match=complaint):
        check_view(view)
