"""Local transforms: matrices composed from position, rotation and scale as glTF does, and
a file's node matrices split back into them."""

from __future__ import annotations

import numpy as np
import pytest
from trimesh.transformations import quaternion_matrix, random_quaternion

from renderhub.host.runtime.transforms import compose, decompose, quaternion_of, trs_matrix


def test_compose_matches_trimesh_for_random_transforms() -> None:
    rng = np.random.default_rng(3)
    positions = rng.uniform(-10, 10, (50, 3))
    quaternions = np.array([random_quaternion(rng.random(3)) for _ in range(50)])  # w x y z
    scales = rng.uniform(0.1, 3, (50, 3))

    matrices = compose(positions, quaternions[:, [1, 2, 3, 0]], scales)

    for i in range(50):
        expected = quaternion_matrix(quaternions[i]) @ np.diag([*scales[i], 1.0])
        expected[:3, 3] = positions[i]
        np.testing.assert_allclose(matrices[i], expected, atol=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_decompose_gives_back_what_was_composed(seed: int) -> None:
    rng = np.random.default_rng(seed)
    position = rng.uniform(-5, 5, 3)
    quaternion = random_quaternion(rng.random(3))[[1, 2, 3, 0]]
    scale = rng.uniform(0.2, 4, 3) * (-1 if seed % 4 == 0 else 1)  # some mirrored
    matrix = compose(position[None], quaternion[None], scale[None])[0]

    got_position, got_rotation, got_scale = decompose(matrix)

    assert got_rotation[3] >= 0 and np.linalg.norm(got_rotation) == pytest.approx(1.0)
    rebuilt = compose(got_position[None], got_rotation[None], got_scale[None])[0]
    np.testing.assert_allclose(rebuilt, matrix, atol=1e-9)
    if seed % 4:
        np.testing.assert_allclose(got_scale, scale, atol=1e-9)


def test_a_zero_scale_keeps_its_zero_and_the_identity_rotation() -> None:
    matrix = trs_matrix((1.0, 2.0, 3.0), (0.0, 0.0, 0.7071068, 0.7071068), (2.0, 0.0, 1.0))

    position, rotation, scale = decompose(matrix)

    np.testing.assert_allclose(position, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(rotation, [0.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(scale, [2.0, 0.0, 1.0])


@pytest.mark.parametrize("axis", range(3))
def test_half_turns_about_each_axis_are_found(axis: int) -> None:
    """The cases where the trace is the smallest candidate (Shepperd's other branches)."""
    expected = np.zeros(4)
    expected[axis] = 1.0  # a half turn: w = 0
    rotation = compose(np.zeros((1, 3)), expected[None], np.ones((1, 3)))[0][:3, :3]

    assert np.abs(quaternion_of(rotation)) == pytest.approx(np.abs(expected))
