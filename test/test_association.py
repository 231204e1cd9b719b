"""Association across cameras: ray geometry, costs, clusters consistent over three views."""

from __future__ import annotations

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, standing_person

from orpose_ros.fusion.association import (
    AssociationOptions,
    associate,
    body_scales,
    closest_points,
    keypoint_rays,
    pair_costs,
    view_pair_costs,
)
from orpose_ros.fusion.robust import nan_median
from orpose_ros.geometry.body_model import standing_template_coco

POSITIONS = [(-0.9, 0.2), (0.1, -0.6), (0.8, 0.7)]


def scene(num_cameras: int = 3, noise_px: float = 0.0, seed: int = 0) -> tuple[list, list[np.ndarray]]:
    """Three people standing apart; per camera their keypoints, in a shuffled order."""
    cameras = list(ceiling_room(num_cameras).complete_cameras())
    rng = np.random.default_rng(seed)
    people = np.stack([standing_person(p, heading_rad=k) for k, p in enumerate(POSITIONS)])
    keypoints = []
    for camera in cameras:
        kp = keypoints_of(camera, people)
        kp[..., :2] += rng.normal(0.0, noise_px, kp[..., :2].shape)
        keypoints.append(kp)
    return cameras, keypoints


def identities(clusters: list, orders: list[np.ndarray]) -> set[frozenset]:
    """Clusters as sets of (camera, person) with the shuffled detection indices mapped back to people."""
    return {frozenset((v, int(orders[v][i])) for v, i in c) for c in clusters}


def shuffle(keypoints: list[np.ndarray], seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(len(k)) for k in keypoints]
    return [k[o] for k, o in zip(keypoints, orders, strict=True)], orders


def test_closest_points_of_crossing_and_skew_rays() -> None:
    ca, cb = np.zeros(3), np.array([2.0, 0.0, 0.0])
    a = np.array([[[1.0, 1.0, 0.0]]]) / np.sqrt(2)
    b = (
        np.array([[[-1.0, 1.0, 0.0]], [[-1.0, 1.0, 0.5 * np.sqrt(2)]]])
        / np.array([[np.sqrt(2)], [np.sqrt(2.5)]])[..., None]
    )
    distance, range_a, range_b, middle = closest_points(ca, a, cb, b)
    assert distance.shape == (1, 2, 1)
    np.testing.assert_allclose(distance[0, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(middle[0, 0, 0], [1.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(range_a[0, 0], np.sqrt(2)) and np.testing.assert_allclose(range_b[0, 0], np.sqrt(2))
    assert distance[0, 1, 0] > 0.1
    parallel = closest_points(ca, a, cb, a)[0]
    assert np.isnan(parallel).all()


def test_nan_median_and_pair_costs() -> None:
    values = np.array([[1.0, np.nan, 3.0, 2.0], [np.nan, np.nan, np.nan, 5.0], [4.0, 1.0, np.nan, np.nan]])
    np.testing.assert_array_equal(nan_median(values, 1), [2.0, 5.0, 2.5])
    np.testing.assert_array_equal(nan_median(values, 2)[1], np.nan)
    np.testing.assert_array_equal(pair_costs(values, 3), [2.0, np.inf, np.inf])
    assert pair_costs(np.array([[np.inf, np.inf, 1.0]]), 3)[0] == np.inf


def test_body_scale_of_a_skeleton() -> None:
    template = standing_template_coco()
    np.testing.assert_allclose(body_scales(np.stack([template, 0.5 * template, 1.3 * template])), [1.0, 0.5, 1.3])
    few = np.full((17, 3), np.nan)
    few[[5, 7]] = template[[5, 7]]
    assert np.isnan(body_scales(few))


@pytest.mark.parametrize("noise_px", [0.0, 2.0])
def test_three_people_in_three_views_are_grouped(noise_px: float) -> None:
    cameras, keypoints = scene(noise_px=noise_px)
    shuffled, orders = shuffle(keypoints, seed=1)
    clusters = associate(cameras, shuffled)
    expected = {frozenset((v, p) for v in range(3)) for p in range(3)}
    assert identities(clusters, orders) == expected
    assert all([m[0] for m in c] == sorted(m[0] for m in c) for c in clusters)


def test_four_views_with_a_missed_detection_and_a_single_view_person() -> None:
    cameras, keypoints = scene(num_cameras=4, noise_px=1.0)
    keypoints[1] = keypoints[1][[0, 2]]  # camera 1 misses person 1
    extra = keypoints_of(cameras[3], standing_person((0.0, 1.5), 0.0))  # seen by camera 3 only
    keypoints[3] = np.concatenate([keypoints[3], extra[None]])
    clusters = associate(cameras, keypoints)
    as_sets = {frozenset(c) for c in clusters}
    assert frozenset({(0, 1), (2, 1), (3, 1)}) in as_sets
    assert frozenset({(0, 0), (1, 0), (2, 0), (3, 0)}) in as_sets
    assert frozenset({(0, 2), (1, 1), (2, 2), (3, 2)}) in as_sets
    assert frozenset({(3, 3)}) in as_sets
    assert sorted(m for c in clusters for m in c) == sorted(
        (v, i) for v, k in enumerate(keypoints) for i in range(len(k))
    )


def test_views_without_detections_and_unconfident_keypoints() -> None:
    cameras, keypoints = scene()
    assert associate(cameras, [np.zeros((0, 17, 3))] * 3) == []
    clusters = associate(cameras, [keypoints[0], np.zeros((0, 17, 3)), keypoints[2]])
    assert len(clusters) == 3 and all(len(c) == 2 for c in clusters)
    weak = [k.copy() for k in keypoints]
    weak[1][..., 2] = 0.1  # below min_joint_score: camera 1 cannot be compared
    clusters = associate(cameras, weak)
    assert sorted(len(c) for c in clusters) == [1, 1, 1, 2, 2, 2]


def test_a_mismatched_pair_costs_more_than_the_threshold() -> None:
    cameras, keypoints = scene()
    options = AssociationOptions()
    rays = [keypoint_rays(c, k, options.min_joint_score) for c, k in zip(cameras, keypoints, strict=True)]
    costs = view_pair_costs(cameras[0], rays[0], cameras[1], rays[1], options)
    np.testing.assert_allclose(np.diag(costs), 0.0, atol=1e-9)
    off = costs[~np.eye(3, dtype=bool)]
    assert np.all(off > options.max_ray_distance_m)


def test_the_pixel_noise_allowance_widens_the_threshold_for_small_images() -> None:
    cameras, keypoints = scene(noise_px=0.0)
    small = [c.scaled_to(53, 40) for c in cameras]
    rng = np.random.default_rng(5)
    tiny = []
    for k in keypoints:
        k = k.copy()
        k[..., :2] = (k[..., :2] + 0.5) * 53 / 640 - 0.5 + rng.normal(0.0, 1.5, k[..., :2].shape)
        tiny.append(k)
    strict = associate(small, tiny, AssociationOptions(keypoint_noise_px=0.0))
    lenient = associate(small, tiny, AssociationOptions(keypoint_noise_px=1.5))
    assert len(lenient) == 3 and len(strict) > len(lenient)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_joint_score": -0.1}, "min_joint_score"),
        ({"min_common_joints": 0}, "min_common_joints"),
        ({"max_ray_distance_m": 0.0}, "max_ray_distance_m"),
        ({"body_scale_range": (1.2, 0.8)}, "body_scale_range"),
    ],
)
def test_invalid_options(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AssociationOptions(**kwargs)
