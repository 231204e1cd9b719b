"""Robust multi-view triangulation: exact recovery, noise, an outlying view, missing and degenerate views."""

from __future__ import annotations

import numpy as np
import pytest
from fusion_data import ceiling_room, look_at

from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.geometry.triangulation import focal_lengths, refine_points, triangulate, triangulate_dlt


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
    assert result.used.all() and (result.num_views == 3).all()
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
    assert np.mean(error) < 0.01 and error.max() < 0.04  # 1 px at ~3.3 m is ~6 mm
    assert 0.3 < np.mean(result.reprojection_error_px) < 1.5


def test_an_outlying_view_is_dropped_when_three_views_agree() -> None:
    cameras, P = rig(4)
    X = points()
    uv = observe(cameras, X)
    uv[2, :5] += [40.0, -30.0]  # view 2 is wrong for the first 5 joints (~0.2 m at the person)
    result = triangulate(P, uv, np.ones((4, 17)))
    np.testing.assert_allclose(result.points, X, atol=1e-9)
    assert not result.used[2, :5].any() and result.used[2, 5:].all()
    assert (result.num_views[:5] == 3).all() and (result.num_views[5:] == 4).all()
    assert (result.ray_distance_m[2, :5] > 0.15).all()


def test_with_two_views_an_outlier_cannot_be_told_apart() -> None:
    cameras, P = rig(2)
    X = points()
    uv = observe(cameras, X)
    uv[1, 0] += [40.0, 0.0]
    result = triangulate(P, uv, np.ones((2, 17)))
    assert result.num_views[0] == 2 and np.linalg.norm(result.points[0] - X[0]) > 0.01
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
    assert np.isnan(result.ray_distance_m[0, 0]) and np.isnan(result.ray_distance_m[:, 2]).all()


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
    assert cameras[1].to_camera(X)[2] > 0 and cameras[0].to_camera(X)[2] < 0
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
