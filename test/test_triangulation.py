"""Robust multi-view triangulation: exact recovery, noise, an outlying view, missing and degenerate views."""

from __future__ import annotations

import numpy as np
import pytest
from fusion_data import ceiling_room, look_at
from scipy.optimize import least_squares

from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.geometry.triangulation import (
    focal_lengths,
    refine_points,
    solve_symmetric3,
    triangulate,
    triangulate_dlt,
)


def rig(num_cameras: int = 3) -> tuple[list[PinholeCamera], np.ndarray]:
    cameras = list(ceiling_room(num_cameras).complete_cameras())
    return cameras, np.stack([c.projection_matrix for c in cameras])


def points(n: int = 17, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform([-1.0, -1.0, 0.0], [1.0, 1.0, 1.9], (n, 3))


def observe(cameras: list[PinholeCamera], X: np.ndarray) -> np.ndarray:
    return np.stack([c.project(X) for c in cameras])


def test_exact_observations_give_the_points_back() -> None:
    cameras, P = rig()
    X = points()
    uv = observe(cameras, X)
    w = np.full(uv.shape[:2], 0.8)
    result = triangulate(P, uv, w)
    np.testing.assert_allclose(result.points, X, atol=1e-9)
    np.testing.assert_allclose(result.reprojection_error_px, 0.0, atol=1e-6)
    np.testing.assert_allclose(result.ray_distance_m, 0.0, atol=1e-9)
    assert result.used.all()
    assert (result.num_views == 3).all()
    np.testing.assert_allclose(result.confidence, 0.8)
    np.testing.assert_allclose(triangulate_dlt(P, uv, w), X, atol=1e-9)


def test_dlt_broadcasts_over_leading_axes() -> None:
    cameras, P = rig()
    X = points(12).reshape(2, 6, 3)
    uv = np.stack([observe(cameras, x) for x in X])  # (2, V, 6, 2)
    out = triangulate_dlt(P, uv, np.ones(uv.shape[:-1]))
    assert out.shape == (2, 6, 3)
    np.testing.assert_allclose(out, X, atol=1e-9)


def test_pixel_noise_gives_small_errors_and_refinement_lowers_the_reprojection_error() -> None:
    cameras, P = rig(4)
    X = points(200, seed=1)
    rng = np.random.default_rng(2)
    uv = observe(cameras, X) + rng.normal(0.0, 1.0, (4, 200, 2))
    w = rng.uniform(0.3, 1.0, (4, 200))
    linear = triangulate_dlt(P, uv, w)
    refined = refine_points(P, uv, w, linear, iterations=3)

    def cost(Y: np.ndarray) -> float:
        Yh = np.c_[Y, np.ones(len(Y))]
        proj = np.einsum("vik,jk->vji", P, Yh)
        return float(np.sum(w**2 * np.sum((proj[..., :2] / proj[..., 2:] - uv) ** 2, axis=-1)))

    assert cost(refined) <= cost(linear) + 1e-9
    result = triangulate(P, uv, w)
    error = np.linalg.norm(result.points - X, axis=1)
    assert np.mean(error) < 0.01
    assert error.max() < 0.04  # 1 px at ~3.3 m is ~6 mm
    assert 0.3 < np.mean(result.reprojection_error_px) < 1.5


def test_an_outlying_view_is_dropped_when_three_views_agree() -> None:
    cameras, P = rig(4)
    X = points()
    uv = observe(cameras, X)
    uv[2, :5] += [40.0, -30.0]  # view 2 is wrong for the first 5 joints (~0.2 m at the person)
    result = triangulate(P, uv, np.ones((4, 17)))
    np.testing.assert_allclose(result.points, X, atol=1e-9)
    assert not result.used[2, :5].any()
    assert result.used[2, 5:].all()
    assert (result.num_views[:5] == 3).all()
    assert (result.num_views[5:] == 4).all()
    assert (result.ray_distance_m[2, :5] > 0.15).all()


def test_with_two_views_an_outlier_cannot_be_told_apart() -> None:
    cameras, P = rig(2)
    X = points()
    uv = observe(cameras, X)
    uv[1, 0] += [40.0, 0.0]
    result = triangulate(P, uv, np.ones((2, 17)))
    assert result.num_views[0] == 2
    assert np.linalg.norm(result.points[0] - X[0]) > 0.01
    assert result.reprojection_error_px[0] > 5.0


def test_missing_observations() -> None:
    cameras, P = rig()
    X = points(4)
    uv = observe(cameras, X)
    w = np.ones((3, 4))
    uv[0, 0] = np.nan  # joint 0: seen twice
    w[1, 1] = w[2, 1] = 0.0  # joint 1: seen once
    uv[:, 2] = np.nan  # joint 2: never
    result = triangulate(P, uv, w)
    np.testing.assert_allclose(result.points[[0, 3]], X[[0, 3]], atol=1e-9)
    assert np.isnan(result.points[[1, 2]]).all()
    np.testing.assert_array_equal(result.num_views, [2, 0, 0, 3])
    np.testing.assert_array_equal(result.confidence, [1.0, 0.0, 0.0, 1.0])
    assert np.isnan(result.reprojection_error_px[[1, 2]]).all()
    assert np.isnan(result.ray_distance_m[0, 0])
    assert np.isnan(result.ray_distance_m[:, 2]).all()


def test_nearly_parallel_rays_are_not_triangulated() -> None:
    K = [500, 0, 320, 0, 500, 240, 0, 0, 1]
    a = PinholeCamera.from_k("a", K, 640, 480, T_world_from_camera=look_at(np.array([0.0, -3.0, 1.0]), [0, 0, 1]))
    b = PinholeCamera.from_k("b", K, 640, 480, T_world_from_camera=look_at(np.array([0.05, -3.0, 1.0]), [0, 0, 1]))
    P = np.stack([a.projection_matrix, b.projection_matrix])
    X = np.array([[0.0, 0.0, 1.0]])
    uv = np.stack([a.project(X), b.project(X)])
    assert np.isnan(triangulate(P, uv, np.ones((2, 1))).points).all()  # ~1 degree apart
    assert np.isfinite(triangulate(P, uv, np.ones((2, 1)), min_ray_angle_deg=0.5).points).all()


def test_points_behind_a_camera_are_refused() -> None:
    cameras, P = rig(2)
    X = cameras[0].centre_world - 1.0 * cameras[0].optical_axis_world  # 1 m behind camera 0
    assert cameras[1].to_camera(X)[2] > 0
    assert cameras[0].to_camera(X)[2] < 0
    uvw = P @ np.append(X, 1.0)  # (2, 3): a pinhole maps it to a pixel all the same
    uv = (uvw[:, :2] / uvw[:, 2:])[:, None]
    assert np.isnan(triangulate(P, uv, np.ones((2, 1))).points).all()


def test_focal_lengths_from_projection_matrices() -> None:
    cameras, P = rig()
    np.testing.assert_allclose(focal_lengths(P), [np.sqrt(c.K[0, 0] * c.K[1, 1]) for c in cameras])


def test_shape_mismatch_is_a_clear_error() -> None:
    _, P = rig()
    with pytest.raises(ValueError, match=r"expected P \(V, 3, 4\), uv \(V, J, 2\), w \(V, J\)"):
        triangulate(P, np.zeros((2, 5, 2)), np.zeros((3, 5)))


def ray_distance(camera: PinholeCamera, X: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """The documented ray distance of points X (J, 3) to the rays through uv (J, 2): error_px * depth / f."""
    error_px = np.linalg.norm(camera.project(X) - uv, axis=-1)
    return error_px * camera.to_camera(X)[:, 2] / np.sqrt(camera.K[0, 0] * camera.K[1, 1])


@pytest.mark.parametrize(("factor", "dropped"), [(0.999, False), (1.001, True)])
def test_a_view_is_dropped_exactly_when_its_ray_misses_by_more_than_the_outlier_distance(
    factor: float, dropped: bool
) -> None:
    cameras, P = rig(4)
    X = points(4)
    uv = observe(cameras, X)
    # the other three views are exact: view 1's ray misses their point by error_px * depth / f
    depth = cameras[1].to_camera(X)[:, 2]
    f = np.sqrt(cameras[1].K[0, 0] * cameras[1].K[1, 1])
    for outlier_distance_m in (0.15, 0.05):
        shifted = uv.copy()
        shifted[1, :, 0] += factor * outlier_distance_m * f / depth
        result = triangulate(P, shifted, np.ones((4, 4)), outlier_distance_m=outlier_distance_m, refine_iterations=0)
        np.testing.assert_array_equal(result.num_views, np.full(4, 3 if dropped else 4))
        np.testing.assert_array_equal(result.used[1], np.full(4, not dropped))
        if dropped:
            np.testing.assert_allclose(result.points, X, atol=1e-9)
            np.testing.assert_allclose(result.ray_distance_m[1], factor * outlier_distance_m, rtol=1e-6)


@pytest.mark.parametrize(("margin", "dropped"), [(1.0 + 1e-6, True), (1.0 - 1e-6, False)])
def test_a_view_is_dropped_only_while_the_other_views_agree_within_the_outlier_distance(
    margin: float, dropped: bool
) -> None:
    cameras, P = rig(4)
    X = points(1, seed=5)
    rng = np.random.default_rng(6)
    uv = observe(cameras, X) + rng.normal(0.0, 1.0, (4, 1, 2))  # every view has 1 px of noise
    uv[0, 0] += [60.0, 0.0]  # view 0 is far off
    # the point of views 1-3 and how far their own rays pass from it: the agreement the rule asks for
    others = triangulate_dlt(P[1:], uv[1:], np.ones((3, 1)))
    kept_worst = max(ray_distance(c, others, u)[0] for c, u in zip(cameras[1:], uv[1:], strict=True))
    assert 0.001 < kept_worst < 0.02  # 1 px at ~3 m
    result = triangulate(P, uv, np.ones((4, 1)), outlier_distance_m=margin * kept_worst, refine_iterations=0)
    assert result.used[0, 0] == (not dropped)
    np.testing.assert_array_equal(result.used[1:, 0], [True, True, True])
    if dropped:
        np.testing.assert_allclose(result.points, others, atol=1e-12)


def test_no_view_is_dropped_when_two_of_three_disagree() -> None:
    cameras, P = rig(3)
    X = points(3)
    uv = observe(cameras, X)
    uv[1, :, 0] += 150.0  # two views wrong in different ways (~0.8 m): no two views agree without the third
    uv[2, :, 1] -= 150.0
    result = triangulate(P, uv, np.ones((3, 3)))
    assert result.used.all()
    np.testing.assert_array_equal(result.num_views, [3, 3, 3])


def weighted_reprojection_minimum(P: np.ndarray, uv: np.ndarray, w: np.ndarray, start: np.ndarray) -> np.ndarray:
    """argmin over X of sum_v w_v^2 |project_v(X) - uv_v|^2, by a general least-squares solver."""

    def residuals(X: np.ndarray) -> np.ndarray:
        proj = P @ np.append(X, 1.0)
        return (w[:, None] * (proj[:, :2] / proj[:, 2:] - uv)).ravel()

    return least_squares(residuals, start, xtol=1e-15, ftol=1e-15, gtol=1e-15).x


def test_a_view_of_low_weight_barely_moves_the_point_it_is_wrong_about() -> None:
    cameras, P = rig(3)
    X = points(1, seed=2)
    uv = observe(cameras, X)
    uv[2, 0] += [20.0, 0.0]  # ~0.1 m at the person: less than the outlier distance, so the view is kept
    w = np.array([[1.0], [1.0], [0.01]])
    result = triangulate(P, uv, w)
    assert result.used[:, 0].all()
    expected = weighted_reprojection_minimum(P, uv[:, 0], w[:, 0], X[0])
    np.testing.assert_allclose(result.points[0], expected, atol=1e-7)
    assert np.linalg.norm(result.points[0] - X[0]) < 1e-4  # with equal weights the point moves by centimetres
    np.testing.assert_allclose(result.confidence, [(1.0 + 1.0 + 0.01) / 3])


def test_the_linear_solution_is_the_depth_reweighted_least_squares_of_the_dlt_rows() -> None:
    cameras, P = rig(4)
    X = points(3, seed=4)
    rng = np.random.default_rng(7)
    uv = observe(cameras, X) + rng.normal(0.0, 2.0, (4, 3, 2))
    w = rng.uniform(0.1, 1.0, (4, 3))

    def solve(weights: np.ndarray, j: int) -> np.ndarray:
        rows = np.concatenate(
            [weights[v] * (uv[v, j, :, None] * P[v, 2] - P[v, :2]) for v in range(4)]
        )  # (2V, 4): u P3 - P1, v P3 - P2
        return np.linalg.lstsq(rows[:, :3], -rows[:, 3], rcond=None)[0]

    for j in range(3):
        first = solve(w[:, j], j)
        depths = np.array([c.to_camera(first[None])[0, 2] for c in cameras])
        np.testing.assert_allclose(triangulate_dlt(P, uv, w)[j], solve(w[:, j] / depths, j), atol=1e-10)


def test_errors_and_ray_distances_are_those_of_each_used_view() -> None:
    cameras, P = rig(4)
    X = points(6, seed=8)
    rng = np.random.default_rng(9)
    uv = observe(cameras, X) + rng.normal(0.0, 1.5, (4, 6, 2))
    uv[3, 0] = np.nan
    result = triangulate(P, uv, np.ones((4, 6)))
    errors = np.stack([np.linalg.norm(c.project(result.points) - u, axis=-1) for c, u in zip(cameras, uv, strict=True)])
    np.testing.assert_allclose(result.reprojection_error_px[0], np.mean(errors[:3, 0]), rtol=1e-9)
    np.testing.assert_allclose(result.reprojection_error_px[1:], np.mean(errors[:, 1:], axis=0), rtol=1e-9)
    distances = np.stack([ray_distance(c, result.points, u) for c, u in zip(cameras, uv, strict=True)])
    np.testing.assert_allclose(result.ray_distance_m[:3, 0], distances[:3, 0], rtol=1e-9)
    assert np.isnan(result.ray_distance_m[3, 0])
    np.testing.assert_allclose(result.ray_distance_m[:, 1:], distances[:, 1:], rtol=1e-9)


@pytest.mark.parametrize(("margin", "placed"), [(1.0 - 1e-6, True), (1.0 + 1e-6, False)])
def test_the_smallest_ray_angle_is_a_two_sided_edge(margin: float, placed: bool) -> None:
    cameras, P = rig(2)
    X = np.array([[0.2, -0.1, 1.1]])
    rays = [X[0] - c.centre_world for c in cameras]
    angle = np.degrees(np.arccos(rays[0] @ rays[1] / np.linalg.norm(rays[0]) / np.linalg.norm(rays[1])))
    result = triangulate(P, observe(cameras, X), np.ones((2, 1)), min_ray_angle_deg=margin * angle)
    assert np.isfinite(result.points).all() == placed
    assert result.num_views[0] == (2 if placed else 0)


def test_a_point_behind_a_camera_is_refused_and_not_replaced_by_its_mirror_image() -> None:
    cameras, P = rig(3)
    X = cameras[0].centre_world - 1.0 * cameras[0].optical_axis_world  # 1 m behind camera 0
    uvw = P @ np.append(X, 1.0)
    uv = (uvw[:, :2] / uvw[:, 2:])[:, None]
    result = triangulate(P, uv, np.ones((3, 1)))
    assert np.isnan(result.points).all()
    np.testing.assert_array_equal(result.used[:, 0], [False, False, False])
    # its mirror image through camera 0 is in front of every camera and is placed
    mirror = 2.0 * cameras[0].centre_world - X
    np.testing.assert_allclose(triangulate(P, observe(cameras, mirror[None]), np.ones((3, 1))).points[0], mirror)


def noisy_scene(num_cameras: int = 4, n: int = 5, seed: int = 11) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
    cameras, P = rig(num_cameras)
    X = points(n, seed=seed)
    uv = observe(cameras, X) + np.random.default_rng(seed).normal(0.0, 1.5, (num_cameras, n, 2))
    return cameras, P, X, uv


@pytest.mark.parametrize("iterations", [1, 2])
def test_the_refinement_is_the_given_number_of_gauss_newton_steps_two_by_default(iterations: int) -> None:
    _, P, _, uv = noisy_scene()
    w = np.full((4, 5), 0.7)
    refined = refine_points(P, uv, w, triangulate_dlt(P, uv, w), iterations)
    np.testing.assert_array_equal(triangulate(P, uv, w, refine_iterations=iterations).points, refined)
    if iterations == 2:
        np.testing.assert_array_equal(triangulate(P, uv, w).points, refined)
        np.testing.assert_array_equal(refine_points(P, uv, w, triangulate_dlt(P, uv, w)), refined)


def test_uniformly_scaled_weights_give_the_same_points() -> None:
    _, P, _, uv = noisy_scene()
    ones = triangulate(P, uv, np.ones((4, 5))).points
    np.testing.assert_allclose(triangulate(P, uv, np.full((4, 5), 1e-3)).points, ones, atol=1e-9)


def test_a_missing_observation_leaves_the_weighted_minimum_of_the_others() -> None:
    _, P, _, uv = noisy_scene()
    uv[1, 2] = np.nan
    w = np.random.default_rng(3).uniform(0.3, 1.0, (4, 5))
    result = triangulate(P, uv, w)
    for j in range(5):
        seen = np.isfinite(uv[:, j, 0])
        expected = weighted_reprojection_minimum(P[seen], uv[seen, j], w[seen, j], result.points[j])
        np.testing.assert_allclose(result.points[j], expected, atol=1e-7)


def test_with_three_views_the_one_that_disagrees_is_dropped() -> None:
    cameras, P = rig(3)
    X = points(3)
    uv = observe(cameras, X)
    uv[2, 1] += [40.0, 30.0]
    result = triangulate(P, uv, np.ones((3, 3)))
    np.testing.assert_array_equal(result.num_views, [3, 2, 3])
    np.testing.assert_array_equal(result.used[:, 1], [True, True, False])
    np.testing.assert_allclose(result.points, X, atol=1e-9)


def test_an_unseen_joint_does_not_stop_another_joints_outlier_from_being_dropped() -> None:
    cameras, P = rig(4)
    X = points(2)
    uv = observe(cameras, X)
    uv[:, 0] = np.nan  # joint 0: never seen
    uv[3, 1] += [40.0, -30.0]
    result = triangulate(P, uv, np.ones((4, 2)))
    np.testing.assert_array_equal(result.num_views, [0, 3])
    np.testing.assert_allclose(result.points[1], X[1], atol=1e-9)


def test_focal_lengths_below_one_pixel() -> None:
    cam = PinholeCamera.from_k("tiny", [0.5, 0, 0.2, 0, 0.32, 0.1, 0, 0, 1], 1, 1)
    np.testing.assert_allclose(focal_lengths(cam.projection_matrix[None]), [0.4])


def close_rig() -> tuple[list[PinholeCamera], np.ndarray]:
    """Three cameras 0.4-0.7 m from the point (0, 0, 1): a patient's close-up."""
    K = [500, 0, 320, 0, 500, 240, 0, 0, 1]
    centres = [np.array([0.5, 0.0, 1.2]), np.array([-0.2, 0.6, 1.1]), np.array([-0.3, -0.3, 1.3])]
    cameras = [PinholeCamera.from_k(f"c{k}", K, 640, 480, T_world_from_camera=look_at(c, [0, 0, 1.0]))
               for k, c in enumerate(centres)]  # fmt: skip
    return cameras, np.stack([c.projection_matrix for c in cameras])


def test_close_cameras_reweight_by_depth_and_still_measure_ray_angles() -> None:
    cameras, P = close_rig()
    X = np.array([[0.02, -0.03, 1.01], [-0.05, 0.04, 0.97]])
    rng = np.random.default_rng(4)
    uv = observe(cameras, X) + rng.normal(0.0, 2.0, (3, 2, 2))
    w = np.array([[1.0, 0.5], [0.6, 1.0], [0.9, 0.8]])
    for j in range(2):
        rows = np.concatenate([uv[v, j, :, None] * P[v, 2] - P[v, :2] for v in range(3)])
        first = np.linalg.lstsq(rows[:, :3] * np.repeat(w[:, j], 2)[:, None], -rows[:, 3] * np.repeat(w[:, j], 2),
                                rcond=None)[0]  # fmt: skip
        depths = np.array([c.to_camera(first[None])[0, 2] for c in cameras])
        assert depths.max() < 0.9
        w2 = np.repeat(w[:, j] / depths, 2)
        second = np.linalg.lstsq(rows[:, :3] * w2[:, None], -rows[:, 3] * w2, rcond=None)[0]
        np.testing.assert_allclose(triangulate_dlt(P, uv, w)[j], second, atol=1e-10)
    # rays from cameras under a metre away: the angle between them is still measured correctly
    result = triangulate(P, observe(cameras, X), np.ones((3, 2)), min_ray_angle_deg=60.0)
    np.testing.assert_allclose(result.points, X, atol=1e-9)


def test_the_ray_angle_is_measured_per_point_over_the_views_it_uses() -> None:
    K = [500, 0, 320, 0, 500, 240, 0, 0, 1]
    a = PinholeCamera.from_k("a", K, 640, 480, T_world_from_camera=look_at(np.array([0.0, -3.0, 1.0]), [0, 0, 1]))
    b = PinholeCamera.from_k("b", K, 640, 480, T_world_from_camera=look_at(np.array([0.05, -3.0, 1.0]), [0, 0, 1]))
    c = PinholeCamera.from_k("c", K, 640, 480, T_world_from_camera=look_at(np.array([3.0, 0.0, 1.0]), [0, 0, 1]))
    P = np.stack([a.projection_matrix, b.projection_matrix, c.projection_matrix])
    # point 0 far from a and b (~1 degree apart) and unseen by c; point 1 just in front of them (wide angle)
    X = np.array([[0.0, 0.0, 1.0], [0.025, -2.9, 1.0]])
    uv = np.stack([a.project(X), b.project(X), c.project(X)])
    uv[2] = np.nan
    result = triangulate(P, uv, np.ones((3, 2)))
    assert np.isnan(result.points[0]).all()
    np.testing.assert_allclose(result.points[1], X[1], atol=1e-9)


def test_without_a_smallest_angle_a_point_seen_once_is_still_not_placed() -> None:
    cameras, P = rig(2)
    uv = observe(cameras, points(1))
    uv[1] = np.nan
    result = triangulate(P, uv, np.ones((2, 1)), min_ray_angle_deg=0.0)
    assert np.isnan(result.points).all()
    assert result.num_views[0] == 0


def test_close_cameras_refine_to_the_weighted_minimum() -> None:
    cameras, P = close_rig()
    X = np.array([[0.02, -0.03, 1.01]])
    uv = observe(cameras, X) + np.random.default_rng(5).normal(0.0, 2.0, (3, 1, 2))
    w = np.array([[1.0], [0.5], [0.8]])
    result = triangulate(P, uv, w, refine_iterations=8)
    expected = weighted_reprojection_minimum(P, uv[:, 0], w[:, 0], X[0])
    np.testing.assert_allclose(result.points[0], expected, atol=1e-9)


@pytest.mark.parametrize(("margin", "placed"), [(1.0 - 1e-6, True), (1.0 + 1e-6, False)])
def test_the_ray_angle_rule_of_close_cameras_is_a_two_sided_edge(margin: float, placed: bool) -> None:
    cameras, P = close_rig()
    X = np.array([[0.02, -0.03, 1.01]])
    rays = [(X[0] - c.centre_world) / np.linalg.norm(X[0] - c.centre_world) for c in cameras]
    # a point is kept when SOME pair of its views is at least min_ray_angle_deg apart: the widest pair decides
    widest = max(np.degrees(np.arccos(rays[a] @ rays[b])) for a in range(3) for b in range(a + 1, 3))
    result = triangulate(P, observe(cameras, X), np.ones((3, 1)), min_ray_angle_deg=margin * widest)
    assert np.isfinite(result.points).all() == placed


def test_a_weighted_view_behind_its_camera_does_not_pull_the_refinement() -> None:
    cameras, P = rig(3)
    X = points(4)
    uv = observe(cameras, X) + np.random.default_rng(7).normal(0.0, 2.0, (3, 4, 2))
    w = np.ones((3, 4))
    # a camera under the ceiling looking up: every point of the room is behind it; its pixels are bogus
    away = PinholeCamera.from_k("away", [500, 0, 320, 0, 500, 240, 0, 0, 1], 640, 480,
                                T_world_from_camera=look_at(np.array([0.0, 0.0, 2.6]), [0.1, 0.0, 3.6]))
    projected = np.c_[X, np.ones(4)] @ away.projection_matrix.T
    assert (projected[:, 2] < 0).all()
    uv_away = projected[:, :2] / projected[:, 2:] + [30.0, -20.0]
    start = triangulate_dlt(P, uv, w)
    alone = refine_points(P, uv, w, start)
    with_away = refine_points(np.concatenate([P, away.projection_matrix[None]]), np.concatenate([uv, uv_away[None]]),
                              np.concatenate([w, np.ones((1, 4))]), start)
    np.testing.assert_allclose(with_away, alone, rtol=0.0, atol=1e-12)
    # the same projection with the camera turned to face the room (-P: the same pixels, positive depths) counts
    facing = refine_points(np.concatenate([P, -away.projection_matrix[None]]), np.concatenate([uv, uv_away[None]]),
                           np.concatenate([w, np.ones((1, 4))]), start)
    assert np.abs(facing - alone).max() > 1e-3


def _relative_determinant(P: np.ndarray, X: np.ndarray) -> float:
    """det(H) / (trace(H) / 3)^3 of the normal matrix H = sum of (w / depth)^2 r r^T over the DLT rows'
    first three entries r (u P3 - P1, v P3 - P2) of exact observations of X with unit weights: the
    scale-free size of the system `triangulate_dlt` solves last."""
    H = np.zeros((3, 3))
    for Pv in P:
        x = Pv @ np.append(X, 1.0)
        u, v, depth = x[0] / x[2], x[1] / x[2], x[2]
        for r in (u * Pv[2] - Pv[0], v * Pv[2] - Pv[1]):
            H += np.outer(r[:3], r[:3]) / depth**2
    return float(np.linalg.det(H) / (np.trace(H) / 3.0) ** 3)


@pytest.mark.parametrize(("factor", "placed"), [(0.8, False), (1.25, True)])
def test_the_linear_triangulation_is_singular_below_a_relative_determinant_of_1e_12(factor: float,
                                                                                      placed: bool) -> None:
    # Two cameras 3 m from the point, the same depth, a tiny baseline b: the relative determinant grows with b.
    X = np.array([0.0, 0.0, 1.0])
    K = [500, 0, 320, 0, 500, 240, 0, 0, 1]

    def pair(b: float) -> np.ndarray:
        return np.stack([PinholeCamera.from_k(f"c{s}", K, 640, 480,
                                              T_world_from_camera=look_at(np.array([s * b, -3.0, 1.0]), X))
                         .projection_matrix for s in (-1.0, 1.0)])

    low, high = 1e-9, 1e-3  # baselines [m] on both sides of the target
    target = factor * 1e-12
    assert _relative_determinant(pair(low), X) < target < _relative_determinant(pair(high), X)
    for _ in range(200):
        middle = np.sqrt(low * high)
        low, high = (middle, high) if _relative_determinant(pair(middle), X) < target else (low, middle)
    P = pair(high)
    assert _relative_determinant(P, X) == pytest.approx(target, rel=0.01)
    uv = np.stack([(Pv @ np.append(X, 1.0))[:2] / (Pv @ np.append(X, 1.0))[2] for Pv in P])[:, None]
    point = triangulate_dlt(P, uv, np.ones((2, 1)))[0]
    assert np.isfinite(point).all() == placed


@pytest.mark.parametrize("factor", [1e-6, 1e6])
def test_the_linear_triangulation_does_not_depend_on_the_scale_of_the_weights(factor: float) -> None:
    """Weighted least squares is invariant to a common weight factor, so the singularity rule must be relative."""
    _, P, _, uv = noisy_scene()
    w = np.random.default_rng(6).uniform(0.3, 1.0, (4, 5))
    expected = triangulate_dlt(P, uv, w)
    assert np.isfinite(expected).all()
    np.testing.assert_allclose(triangulate_dlt(P, uv, w * factor), expected, rtol=0.0, atol=1e-9)


@pytest.mark.parametrize(
    ("H", "b"),
    [
        (np.zeros((3, 3)), np.zeros(3)),  # every solution entry 0 / 0
        (np.diag([1.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])),  # cofactor solution (0, 0, 1) over det 0
    ],
)
def test_a_singular_system_is_refused_without_a_floating_point_error(H: np.ndarray, b: np.ndarray) -> None:
    """Where det(H) is 0 the solution is NaN and refused, without dividing by zero."""
    x = np.zeros(3)
    with np.errstate(all="raise"):
        solvable = solve_symmetric3(H, b, x)
    assert solvable is False
    assert np.isnan(x).all()


def test_a_solvable_system_is_solved_from_its_upper_triangle() -> None:
    H = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    b = np.array([1.0, -2.0, 0.5])
    lower_ignored = np.triu(H) + np.tril(np.full((3, 3), 99.0), -1)
    x = np.full(3, np.nan)
    assert solve_symmetric3(lower_ignored, b, x) is True
    np.testing.assert_allclose(x, np.linalg.solve(H, b), rtol=1e-12)


def test_refine_points_leaves_a_point_without_weighted_views_unchanged() -> None:
    """A point with no weighted observation (weights 0, or pixels missing) has singular normal equations."""
    _, P, X, uv = noisy_scene(n=3)
    w = np.ones((4, 3))
    w[:, 0] = 0.0
    uv[:, 1] = np.nan
    refined = refine_points(P, uv, w, X + 0.05, iterations=3)
    np.testing.assert_array_equal(refined[:2], X[:2] + 0.05)
    assert np.linalg.norm(refined[2] - X[2]) < 0.02  # the seen point is refined towards its views


def test_float32_inputs_give_the_float64_result() -> None:
    """float32 arrays are read as float64: every output is that of the same values in float64."""
    _, P, _, uv = noisy_scene()
    w = np.random.default_rng(8).uniform(0.3, 1.0, (4, 5)).astype(np.float32)
    uv32, P32 = uv.astype(np.float32), P.astype(np.float32)
    single = triangulate(P32, uv32, w)
    double = triangulate(P32.astype(np.float64), uv32.astype(np.float64), w.astype(np.float64))
    for field in ("points", "reprojection_error_px", "ray_distance_m", "confidence"):
        assert getattr(single, field).dtype == np.float64, field
        np.testing.assert_array_equal(getattr(single, field), getattr(double, field), err_msg=field)


def test_a_refused_point_has_no_ray_distances() -> None:
    """ray_distance_m is NaN where the point is NaN, also in the views that observed it."""
    K = [500, 0, 320, 0, 500, 240, 0, 0, 1]
    a = PinholeCamera.from_k("a", K, 640, 480, T_world_from_camera=look_at(np.array([0.0, -3.0, 1.0]), [0, 0, 1]))
    b = PinholeCamera.from_k("b", K, 640, 480, T_world_from_camera=look_at(np.array([0.05, -3.0, 1.0]), [0, 0, 1]))
    P = np.stack([a.projection_matrix, b.projection_matrix])
    X = np.array([[0.0, 0.0, 1.0], [0.3, 0.0, 1.2]])
    uv = np.stack([a.project(X), b.project(X)])
    uv[1, 1] += [3.0, 0.0]  # a point off both rays: its distances are not 0 before it is refused
    result = triangulate(P, uv, np.ones((2, 2)))  # rays ~1 degree apart: both points refused
    assert np.isnan(result.points).all()
    assert np.isnan(result.ray_distance_m).all()
    kept = triangulate(P, uv, np.ones((2, 2)), min_ray_angle_deg=0.5)
    assert np.isfinite(kept.ray_distance_m).all()


@pytest.mark.parametrize("joint", [0, 2])
def test_the_outlier_rule_at_exactly_the_outlier_distance(joint: int) -> None:
    """A miss of exactly outlier_distance_m is no outlier, and agreement within exactly it still is agreement."""
    _, P, _, uv = noisy_scene(n=3)
    uv[2] += [6.0, -4.0]  # view 2 misses by a few centimetres
    w = np.ones((4, 3))
    # the point of the other views, unrefined, and each view's ray distance to it
    others = w.copy()
    others[2] = 0.0
    distance = triangulate(P, uv, others, refine_iterations=0, outlier_distance_m=10.0).ray_distance_m[:, joint]
    miss, agreement = distance[2], distance[[0, 1, 3]].max()
    assert agreement < miss

    def used(threshold: float) -> bool:
        return bool(triangulate(P, uv, w, refine_iterations=0, outlier_distance_m=threshold).used[2, joint])

    assert used(miss)  # missing by exactly the threshold: kept
    assert not used(np.nextafter(miss, 0.0))  # one ulp more than the threshold: dropped
    assert not used(agreement)  # the others agree within exactly the threshold: dropped
    assert used(np.nextafter(agreement, 0.0))  # one ulp less: they disagree, nothing is dropped


@pytest.mark.parametrize("baseline", np.geomspace(5e-6, 4e-5, 12))
def test_the_linear_triangulation_does_not_depend_on_the_world_origin(baseline: float) -> None:
    """Moving the world origin moves the point with it, also for systems near the singularity rule's edge."""
    X = np.array([0.0, 0.0, 1.0])
    K = [500, 0, 320, 0, 500, 240, 0, 0, 1]
    # two nearly collinear cameras 3 and 9 m from the point: the baselines span the edge of the singularity rule
    centres = [np.array([0.0, -3.0, 1.0]), np.array([baseline, -9.0, 1.0])]
    P = np.stack([PinholeCamera.from_k(f"c{k}", K, 640, 480, T_world_from_camera=look_at(c, X)).projection_matrix
                  for k, c in enumerate(centres)])  # fmt: skip
    uv = np.stack([(Pv @ np.append(X, 1.0))[:2] / (Pv @ np.append(X, 1.0))[2] for Pv in P])[:, None]
    w = np.array([[1.0], [3.0]])  # equal after the reweighting by depth
    found = []
    for origin in ([0.0, 0.0, 0.0], [0.0, -2.9, 1.0], [0.0, -8.9, 1.0], [0.0, 5.0, 0.0]):
        shift = np.eye(4)
        shift[:3, 3] = origin  # world point of the new frame = new coordinates + origin
        found.append(triangulate_dlt(P @ shift, uv, w)[0] + origin)
    finite = [bool(np.isfinite(point).all()) for point in found]
    assert finite == [finite[0]] * 4
    if finite[0]:
        np.testing.assert_allclose(found, [X] * 4, atol=1e-6)


@pytest.mark.parametrize("weight_scale", [1e-8, 1e8])
def test_the_refinement_does_not_depend_on_the_scale_of_the_weights(weight_scale: float) -> None:
    """Gauss-Newton steps are the same for weights scaled by any factor (its singularity rule is relative)."""
    _, P, _, uv = noisy_scene()
    w = np.random.default_rng(2).uniform(0.3, 1.0, (4, 5))
    start = triangulate_dlt(P, uv, w)
    expected = refine_points(P, uv, w, start)
    assert np.abs(expected - start).max() > 1e-6  # the steps move the points
    np.testing.assert_allclose(refine_points(P, uv, weight_scale * w, start), expected, rtol=0.0, atol=1e-9)


def test_a_view_behind_its_camera_keeps_its_weight_in_the_depth_reweighting() -> None:
    """-P projects to the same pixels as P with negative depths: the first linear solve is unchanged, and the
    second keeps that view's weight (dividing it by a depth <= 1e-9 m would change the point)."""
    cameras, P = rig(4)
    X = points(3, seed=4)
    rng = np.random.default_rng(7)
    uv = observe(cameras, X) + rng.normal(0.0, 2.0, (4, 3, 2))
    w = rng.uniform(0.1, 1.0, (4, 3))
    flipped = P.copy()
    flipped[1] *= -1.0

    def solve(weights: np.ndarray, j: int) -> np.ndarray:
        rows = np.concatenate([weights[v] * (uv[v, j, :, None] * flipped[v, 2] - flipped[v, :2]) for v in range(4)])
        return np.linalg.lstsq(rows[:, :3], -rows[:, 3], rcond=None)[0]

    for j in range(3):
        first = solve(w[:, j], j)
        depths = np.array([flipped[v, 2] @ np.append(first, 1.0) for v in range(4)])
        assert depths[1] < 0 < depths[[0, 2, 3]].min()
        kept = np.where(depths > 1e-9, w[:, j] / depths, w[:, j])
        np.testing.assert_allclose(triangulate_dlt(flipped, uv, w)[j], solve(kept, j), atol=1e-10)
        assert np.abs(solve(w[:, j] / np.abs(depths), j) - solve(kept, j)).max() > 1e-6  # the rule matters here


def test_a_view_behind_its_camera_does_not_stop_the_refinement_of_the_views_after_it() -> None:
    """The same as with the view last (`test_a_weighted_view_behind_its_camera_does_not_pull_the_refinement`),
    the view behind its camera first: the views after it still refine the point."""
    _, P, _, uv = noisy_scene(num_cameras=3, n=4)
    w = np.ones((3, 4))
    start = triangulate_dlt(P, uv, w) + 0.05
    behind = P[:1].copy()
    behind[0, 2] *= -1.0  # every point of the room at a negative depth
    first = refine_points(np.concatenate([behind, P]), np.concatenate([uv[:1], uv]), np.concatenate([w[:1], w]), start)
    np.testing.assert_allclose(first, refine_points(P, uv, w, start), rtol=0.0, atol=1e-12)
    assert np.abs(first - start).max() > 1e-3


def test_a_view_that_does_not_see_the_joint_does_not_stop_an_outlier_of_a_later_view_from_being_dropped() -> None:
    cameras, P = rig(5)
    X = points(1)
    uv = observe(cameras, X)
    uv[0] = np.nan  # the first view does not see the joint
    uv[4, 0] += [40.0, -30.0]  # the last one is wrong
    result = triangulate(P, uv, np.ones((5, 1)))
    np.testing.assert_allclose(result.points, X, atol=1e-9)
    np.testing.assert_array_equal(result.used[:, 0], [False, True, True, True, False])


def test_the_triangulation_arrays_have_their_documented_types() -> None:
    cameras, P = rig(3)
    result = triangulate(P, observe(cameras, points(4)), np.ones((3, 4)))
    assert result.used.dtype == np.bool_ and result.num_views.dtype == np.int64
    for name in ("points", "reprojection_error_px", "ray_distance_m", "confidence"):
        assert getattr(result, name).dtype == np.float64


@pytest.mark.parametrize(("factor", "solvable"), [(0.99, False), (1.01, True)])
def test_a_system_is_solvable_above_a_determinant_of_1e_12_times_the_cube_of_a_third_of_its_trace(
        factor: float, solvable: bool) -> None:
    """diag(1, 1, e): det = e, trace / 3 = (2 + e) / 3; solvable exactly when e > 1e-12 ((2 + e) / 3)^3."""
    e = factor * 1e-12 * (2.0 / 3.0) ** 3
    x = np.zeros(3)
    assert solve_symmetric3(np.diag([1.0, 1.0, e]), np.array([1.0, 2.0, e]), x) is solvable
    if solvable:
        np.testing.assert_allclose(x, [1.0, 2.0, 1.0], rtol=1e-12)
