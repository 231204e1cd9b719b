"""The compiled test of whether a single-camera detection's keypoint rays pass through a fused person's joints
(`pipeline._rays_through_people`), on rays and joints written out by hand."""

from __future__ import annotations

import numpy as np

from orpose_ros.fusion.pipeline import _rays_through_people

ALONG_Z = np.array([0.0, 0.0, 1.0])


def through(joints: np.ndarray, rays: np.ndarray, max_ray_distance_m: float = 0.125, min_depth_m: float = 0.3,
            min_common_joints: int = 3) -> bool:
    """One detection from a camera at the origin (focal 500 px, no pixel noise) against one person."""
    return bool(_rays_through_people(joints[None], np.zeros((1, 3)), rays[None], np.array([500.0]),
                                     max_ray_distance_m, 0.0, min_depth_m, min_common_joints)[0])


def test_a_median_distance_of_exactly_the_threshold_passes_through() -> None:
    rays = np.tile(ALONG_Z, (17, 1))
    joints = np.tile([0.125, 0.0, 2.0], (17, 1))  # 0.125 m off every ray, exactly (binary values)
    assert through(joints, rays)
    joints[:, 0] = np.nextafter(0.125, 1.0)
    assert not through(joints, rays)


def test_unseen_keypoints_anywhere_are_skipped() -> None:
    rays = np.tile(ALONG_Z, (17, 1))
    rays[[0, 1, 2, 3, 4, 10]] = np.nan  # the face and one wrist not seen
    joints = np.tile([0.05, 0.0, 2.0], (17, 1))
    assert through(joints, rays)
    assert through(joints, rays, min_common_joints=11)
    assert not through(joints, rays, min_common_joints=12)  # 11 keypoints compared


def test_joints_nearer_than_min_depth_count_against_by_their_median() -> None:
    rays = np.tile(ALONG_Z, (17, 1))
    joints = np.tile([0.0, 0.0, 2.0], (17, 1))
    near = [0, 1, 2, 3, 4, 5, 6, 7, 9]  # nine of seventeen, around the middle one (8): the median is inf
    joints[near, 2] = 0.2
    assert not through(joints, rays)
    joints[9, 2] = 2.0  # eight: the median is a ray distance of 0
    assert through(joints, rays)
    joints[near, 2] = 0.3  # exactly min_depth_m is too near too
    assert not through(joints, rays)
    assert through(joints, rays, min_depth_m=np.nextafter(0.3, 0.0))
