"""Rigid transforms: direction of T_a_from_b, quaternion order (x, y, z, w), and the two checks' edges."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orpose_ros.geometry.transforms import (
    QUATERNION_NORM_TOLERANCE,
    ROTATION_TOLERANCE,
    invert_rigid,
    quaternion_norm_problem,
    rigid_from_translation_quaternion,
    rigidity_problem,
    transform_points,
    translation_quaternion_from_rigid,
)


def rotation_z(angle: float) -> np.ndarray:
    """(3, 3) rotation by ``angle`` [rad] about z, written out (counter-clockwise seen from +z)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_x(angle: float) -> np.ndarray:
    """(3, 3) rotation by ``angle`` [rad] about x, written out."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rigid(R: np.ndarray, t: tuple[float, float, float]) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = t
    return T


# Asymmetric on purpose: no axis, sign or order swap maps it onto itself.
T_A_FROM_B = rigid(rotation_z(0.7) @ rotation_x(-0.4), (1.5, -0.25, 2.0))


def test_transform_points_maps_frame_b_into_frame_a() -> None:
    # b's x axis is a's (0, 1, 0) after a quarter turn about z; then the translation is added.
    T = rigid(rotation_z(math.pi / 2), (1.0, 2.0, 3.0))
    np.testing.assert_allclose(transform_points(T, [1.0, 0.0, 0.0]), [1.0, 3.0, 3.0], atol=1e-12)
    np.testing.assert_allclose(transform_points(T, [0.0, 0.0, 0.5]), [1.0, 2.0, 3.5], atol=1e-12)


def test_transform_points_takes_any_leading_shape_and_keeps_nan() -> None:
    rng = np.random.default_rng(3)
    points = rng.uniform(-2.0, 2.0, (2, 5, 3))
    points[1, 3, 1] = np.nan
    out = transform_points(T_A_FROM_B, points)
    assert out.shape == (2, 5, 3)
    homogeneous = np.concatenate([points, np.ones((2, 5, 1))], axis=-1) @ T_A_FROM_B.T
    finite = np.isfinite(points).all(axis=-1)
    np.testing.assert_allclose(out[finite], homogeneous[finite][:, :3], atol=1e-12)
    assert np.isnan(out[1, 3]).all()


def test_invert_rigid_gives_the_transform_in_the_other_direction() -> None:
    T_b_from_a = invert_rigid(T_A_FROM_B)
    np.testing.assert_allclose(T_b_from_a, np.linalg.inv(T_A_FROM_B), atol=1e-12)
    np.testing.assert_allclose(T_b_from_a @ T_A_FROM_B, np.eye(4), atol=1e-12)
    np.testing.assert_array_equal(T_b_from_a[3], [0.0, 0.0, 0.0, 1.0])
    p_b = np.array([0.3, -1.2, 0.8])
    np.testing.assert_allclose(transform_points(T_b_from_a, transform_points(T_A_FROM_B, p_b)), p_b, atol=1e-12)


def test_a_quaternion_is_read_in_x_y_z_w_order() -> None:
    # A quarter turn about z is (0, 0, sin 45, cos 45) in (x, y, z, w); it takes x to y.
    half = math.sqrt(0.5)
    T = rigid_from_translation_quaternion(np.array([0.5, -1.0, 2.0]), np.array([0.0, 0.0, half, half]))
    np.testing.assert_allclose(T, rigid(rotation_z(math.pi / 2), (0.5, -1.0, 2.0)), atol=1e-12)


def test_a_quaternion_is_normalised_before_use() -> None:
    angle = 0.9
    q = np.array([math.sin(angle / 2), 0.0, 0.0, math.cos(angle / 2)])
    T = rigid_from_translation_quaternion([0.0, 0.0, 0.0], 3.0 * q)
    np.testing.assert_allclose(T[:3, :3], rotation_x(angle), atol=1e-12)


def test_translation_and_quaternion_come_back_from_a_transform() -> None:
    translation, q = translation_quaternion_from_rigid(T_A_FROM_B)
    np.testing.assert_allclose(translation, [1.5, -0.25, 2.0])
    np.testing.assert_allclose(np.linalg.norm(q), 1.0, atol=1e-12)
    np.testing.assert_allclose(rigid_from_translation_quaternion(translation, q), T_A_FROM_B, atol=1e-12)
    # A quarter turn about z comes back in (x, y, z, w) order, w last (up to the sign of q).
    _, q_z = translation_quaternion_from_rigid(rigid(rotation_z(math.pi / 2), (0.0, 0.0, 0.0)))
    half = math.sqrt(0.5)
    np.testing.assert_allclose(q_z * np.sign(q_z[3]), [0.0, 0.0, half, half], atol=1e-12)


def test_the_returned_translation_is_a_copy() -> None:
    T = T_A_FROM_B.copy()
    translation, _ = translation_quaternion_from_rigid(T)
    translation[:] = 0.0
    np.testing.assert_array_equal(T[:3, 3], [1.5, -0.25, 2.0])


def test_a_rigid_transform_has_no_problem() -> None:
    assert rigidity_problem(T_A_FROM_B) is None
    assert rigidity_problem(np.eye(4)) is None


def test_shape_and_finiteness_problems_are_named() -> None:
    assert rigidity_problem(np.eye(4)[:3]) == "must be a 4x4 matrix, got shape (3, 4)"
    assert rigidity_problem(np.eye(3)) == "must be a 4x4 matrix, got shape (3, 3)"
    T = T_A_FROM_B.copy()
    T[1, 3] = np.inf
    assert rigidity_problem(T) == "has non-finite values"
    T[1, 3] = np.nan
    assert rigidity_problem(T) == "has non-finite values"


@pytest.mark.parametrize("column", [0, 1, 2, 3])
def test_the_last_row_is_checked_to_the_rotation_tolerance_on_both_sides(column: int) -> None:
    inside, outside = T_A_FROM_B.copy(), T_A_FROM_B.copy()
    inside[3, column] += 0.9 * ROTATION_TOLERANCE
    outside[3, column] -= 1.1 * ROTATION_TOLERANCE
    assert rigidity_problem(inside) is None
    assert rigidity_problem(outside) == f"last row must be [0, 0, 0, 1], got {outside[3].tolist()}"


def test_orthonormality_is_checked_to_the_tolerance_on_both_sides() -> None:
    # R = I + s e_0 e_1^T: R^T R - I has largest entry s (and s^2), det R = 1.
    def sheared(s: float) -> np.ndarray:
        T = np.eye(4)
        T[0, 1] = s
        return T

    assert rigidity_problem(sheared(0.9 * ROTATION_TOLERANCE)) is None
    problem = rigidity_problem(sheared(1.1 * ROTATION_TOLERANCE))
    assert problem == "rotation is not orthonormal (max |R^T R - I| = 1.1e-05)"
    assert rigidity_problem(sheared(-1.1 * ROTATION_TOLERANCE)) is not None


def test_the_determinant_is_checked_to_the_tolerance_on_both_sides() -> None:
    # R = (1 + a) I: max |R^T R - I| = 2a + a^2 (within the tolerance here), det R - 1 = 3a + 3a^2 + a^3.
    def scaled(a: float) -> np.ndarray:
        T = np.eye(4)
        T[:3, :3] *= 1.0 + a
        return T

    assert rigidity_problem(scaled(0.3 * ROTATION_TOLERANCE)) is None
    det = (1.0 + 0.4 * ROTATION_TOLERANCE) ** 3
    assert 2 * 0.4 * ROTATION_TOLERANCE < ROTATION_TOLERANCE < det - 1.0
    assert rigidity_problem(scaled(0.4 * ROTATION_TOLERANCE)) == f"rotation has det {det:.6g}, not 1 (a reflection?)"
    assert rigidity_problem(scaled(-0.4 * ROTATION_TOLERANCE)) is not None


def test_a_reflection_is_refused() -> None:
    T = np.eye(4)
    T[0, 0] = -1.0
    assert rigidity_problem(T) == "rotation has det -1, not 1 (a reflection?)"


def test_rigidity_uses_the_tolerance_it_is_given() -> None:
    T = np.eye(4)
    T[0, 1] = 1e-4
    assert rigidity_problem(T) is not None
    assert rigidity_problem(T, tolerance=2e-4) is None
    assert rigidity_problem(T, tolerance=0.5e-4) is not None


def test_a_unit_quaternion_has_no_problem() -> None:
    assert quaternion_norm_problem([0.0, 0.0, 0.0, 1.0]) is None
    assert quaternion_norm_problem([0.5, -0.5, 0.5, 0.5]) is None


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_the_quaternion_norm_is_checked_to_its_tolerance_on_both_sides(sign: float) -> None:
    q = np.array([0.1, -0.7, 0.2, 0.4])
    q /= np.linalg.norm(q)
    inside = q * (1.0 + sign * 0.9 * QUATERNION_NORM_TOLERANCE)
    outside = q * (1.0 + sign * 1.1 * QUATERNION_NORM_TOLERANCE)
    assert quaternion_norm_problem(inside) is None
    norm = 1.0 + sign * 1.1 * QUATERNION_NORM_TOLERANCE
    assert quaternion_norm_problem(outside) == f"norm is {norm:.6g}, expected 1 (x, y, z, w order)"


def test_quaternion_shape_finiteness_and_tolerance_argument() -> None:
    assert quaternion_norm_problem([0.0, 0.0, 1.0]) == "must hold 4 values (x, y, z, w), got 3"
    assert quaternion_norm_problem(np.eye(2)) == "must hold 4 values (x, y, z, w), got 4"
    assert quaternion_norm_problem([0.0, np.nan, 0.0, 1.0]) == "has non-finite values"
    assert quaternion_norm_problem([0.0, 0.0, 0.0, 1.01], tolerance=0.02) is None
    assert quaternion_norm_problem([0.0, 0.0, 0.0, 1.01], tolerance=0.005) is not None


def test_a_deviation_of_exactly_the_tolerance_is_accepted() -> None:
    # The tolerances are the largest deviations accepted: equal passes, these values are exact in binary.
    tolerance = 2.0**-17
    last_row = np.eye(4)
    last_row[3, 0] = tolerance
    assert rigidity_problem(last_row, tolerance=tolerance) is None
    assert rigidity_problem(last_row, tolerance=tolerance / 2) is not None
    sheared = np.eye(4)
    sheared[0, 1] = tolerance  # max |R^T R - I| is exactly the shear; det R = 1
    assert rigidity_problem(sheared, tolerance=tolerance) is None
    assert rigidity_problem(sheared, tolerance=tolerance / 2) is not None
    # (1 + a) I: det - 1 (about 3a) is larger than max |R^T R - I| (about 2a), so only the det rule decides.
    scaled = np.eye(4)
    scaled[:3, :3] *= 1.0 + tolerance
    det_deviation = abs(float(np.linalg.det(scaled[:3, :3])) - 1.0)
    assert rigidity_problem(scaled, tolerance=det_deviation) is None
    assert rigidity_problem(scaled, tolerance=det_deviation * (1 - 1e-9)).startswith("rotation has det")
    assert quaternion_norm_problem([0.0, 0.0, 0.0, 1.25], tolerance=0.25) is None
    assert quaternion_norm_problem([0.0, 0.0, 0.0, 1.25], tolerance=0.25 * (1 - 1e-9)) is not None
