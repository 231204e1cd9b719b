"""Joint uncertainty: the covariance of a joint from the rays of the views it was placed from (exact cases)."""

from __future__ import annotations

import numpy as np
import pytest
from fusion_data import look_at

from orpose_ros.fusion.uncertainty import UncertaintyOptions, joint_covariances, largest_sigma_m
from orpose_ros.geometry.camera import PinholeCamera

F = 500.0
JOINT = np.array([[0.0, 0.0, 1.0]])


def camera(name: str, centre: tuple[float, float, float]) -> PinholeCamera:
    """A 640x480 camera at ``centre`` [m] looking at the joint (0, 0, 1)."""
    K = np.array([[F, 0.0, 319.5], [0.0, F, 239.5], [0.0, 0.0, 1.0]])
    return PinholeCamera(name, 640, 480, K, T_world_from_camera=look_at(np.array(centre, float), JOINT[0]))


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


OPTIONS = UncertaintyOptions(keypoint_noise_px=2.0, lateral_noise_m=0.05, single_view_depth_noise=0.08,
                             filled_depth_noise_m=0.15)


def lateral_variance(distance_m: float) -> float:
    """The model's variance across a ray of a joint at ``distance_m`` on the camera's optical axis."""
    return (2.0 * distance_m / F) ** 2 + 0.05**2


def test_a_single_view_joint_is_far_less_certain_along_its_ray() -> None:
    cam = camera("a", (4.0, 0.0, 1.0))  # 4 m away, the joint on its optical axis
    covariance = joint_covariances([cam], JOINT, np.ones((1, 1), bool), triangulated=False, options=OPTIONS)[0]
    ray = unit(JOINT[0] - cam.centre_world)
    across = unit(np.cross(ray, [0.0, 0.0, 1.0]))
    assert ray @ covariance @ ray == pytest.approx((0.08 * 4.0) ** 2)
    assert across @ covariance @ across == pytest.approx(lateral_variance(4.0))
    assert np.sqrt(ray @ covariance @ ray) > 5 * np.sqrt(across @ covariance @ across)
    assert largest_sigma_m(covariance) == pytest.approx(0.32)


def test_farther_from_the_camera_is_less_certain() -> None:
    near, far = camera("near", (2.0, 0.0, 1.0)), camera("far", (6.0, 0.0, 1.0))
    sigma = [largest_sigma_m(joint_covariances([c], JOINT, np.ones((1, 1), bool), False, OPTIONS)[0])
             for c in (near, far)]
    assert sigma == pytest.approx([0.16, 0.48])


def test_two_perpendicular_views_pin_a_joint_in_every_direction() -> None:
    a, b = camera("a", (4.0, 0.0, 1.0)), camera("b", (0.0, 3.0, 1.0))
    covariance = joint_covariances([a, b], JOINT, np.ones((2, 1), bool), triangulated=True, options=OPTIONS)[0]
    # x: seen across by b only; y: across by a only; z: across by both
    np.testing.assert_allclose(np.diag(covariance),
                               [lateral_variance(3.0), lateral_variance(4.0),
                                1 / (1 / lateral_variance(3.0) + 1 / lateral_variance(4.0))], rtol=1e-9)
    np.testing.assert_allclose(covariance, covariance.T, atol=1e-15)


def test_near_parallel_rays_leave_a_joint_long_along_them() -> None:
    wide = [camera("a", (4.0, 0.0, 1.0)), camera("b", (0.0, 4.0, 1.0))]
    narrow = [camera("a", (4.0, 0.0, 1.0)), camera("b", (4.0, 0.2, 1.0))]  # rays 2.9 deg apart
    sigma = [largest_sigma_m(joint_covariances(c, JOINT, np.ones((2, 1), bool), True, OPTIONS)[0])
             for c in (wide, narrow)]
    assert sigma[0] < 0.06 < 0.9 < sigma[1]


def test_a_joint_only_one_camera_of_a_triangulated_person_saw_gets_the_fill_depth_noise() -> None:
    a, b = camera("a", (4.0, 0.0, 1.0)), camera("b", (0.0, 3.0, 1.0))
    joints = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    views = np.array([[True, True], [True, False]])  # joint 1 seen by a only
    covariance = joint_covariances([a, b], joints, views, triangulated=True, options=OPTIONS)
    assert covariance[1, 0, 0] == pytest.approx(0.15**2)  # along a's ray (x)
    assert covariance[1, 1, 1] == pytest.approx(lateral_variance(4.0))
    assert covariance[0, 0, 0] == pytest.approx(lateral_variance(3.0))  # two views: no depth term


def test_joints_not_placed_or_seen_by_no_view_have_no_covariance() -> None:
    a = camera("a", (4.0, 0.0, 1.0))
    joints = np.array([[np.nan, np.nan, np.nan], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    views = np.array([[True, False, True]])
    covariance = joint_covariances([a], joints, views, triangulated=False, options=OPTIONS)
    assert np.isnan(covariance[:2]).all()
    assert np.isfinite(covariance[2]).all()
    assert np.isnan(largest_sigma_m(covariance[:2])).all()


def test_options_refuse_non_positive_noise() -> None:
    with pytest.raises(ValueError, match="lateral_noise_m must be positive"):
        UncertaintyOptions(lateral_noise_m=0.0)
