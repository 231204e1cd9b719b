"""Association across cameras: ray geometry, costs, clusters consistent over three views."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, standing_person

from orpose_ros.fusion.association import (
    AssociationOptions,
    associate,
    body_scale,
    cost_table,
    keypoint_rays,
    median_cost,
    ray_gap,
    view_pair_costs,
)
from orpose_ros.geometry.body_model import standing_template_coco
from orpose_ros.geometry.camera import PinholeCamera

POSITIONS = [(-0.9, 0.2), (0.1, -0.6), (0.8, 0.7)]


def closest_points(centre_a: np.ndarray, rays_a: np.ndarray, centre_b: np.ndarray,
                   rays_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`ray_gap` of every pair of rays of the four arrays (..., 3) broadcast against each other: distances,
    ranges along a and b (...), midpoints (..., 3)."""
    arrays = np.broadcast_arrays(centre_a, rays_a, centre_b, rays_b)
    shape = arrays[0].shape[:-1]
    flat = [np.ascontiguousarray(a.reshape(-1, 3), dtype=np.float64) for a in arrays]
    gaps, middle = np.empty((len(flat[0]), 3)), np.empty((len(flat[0]), 3))
    for i in range(len(flat[0])):
        gaps[i] = ray_gap(flat[0][i], flat[1][i], flat[2][i], flat[3][i], middle[i])
    return gaps[:, 0].reshape(shape), gaps[:, 1].reshape(shape), gaps[:, 2].reshape(shape), middle.reshape(*shape, 3)


def pair_costs(distances: np.ndarray, min_common_joints: int) -> np.ndarray:
    """`median_cost` of each row of (P, 17) per-keypoint distances, NaN where not compared."""
    rows = [np.ascontiguousarray(row[~np.isnan(row)]) for row in np.atleast_2d(distances)]
    return np.array([median_cost(np.append(row, 0.0), len(row), min_common_joints) for row in rows])


def body_scales(joints: np.ndarray) -> np.ndarray:
    """`body_scale` (at least 3 limbs) of (..., 17, 3) joints."""
    flat = np.ascontiguousarray(joints, dtype=np.float64).reshape(-1, 17, 3)
    scales = np.array([body_scale(j, 3, np.empty(17)) for j in flat])
    return scales.reshape(joints.shape[:-2])


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
    distance, range_a, range_b, middle = closest_points(ca, a[:, None], cb, b[None])  # every a with every b
    assert distance.shape == (1, 2, 1)
    np.testing.assert_allclose(distance[0, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(middle[0, 0, 0], [1.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(range_a[0, 0], np.sqrt(2))
    np.testing.assert_allclose(range_b[0, 0], np.sqrt(2))
    assert distance[0, 1, 0] > 0.1
    parallel = closest_points(ca, a, cb, a)[0]
    assert np.isnan(parallel).all()


def test_pair_costs_are_medians_of_enough_keypoints() -> None:
    values = np.array([[1.0, np.nan, 3.0, 2.0], [np.nan, np.nan, np.nan, 5.0], [4.0, 1.0, np.nan, np.nan]])
    np.testing.assert_array_equal(pair_costs(values, 1), [2.0, 5.0, 2.5])
    np.testing.assert_array_equal(pair_costs(values, 2), [2.0, np.inf, 2.5])
    np.testing.assert_array_equal(pair_costs(values, 3), [2.0, np.inf, np.inf])
    assert pair_costs(np.array([[np.inf, np.inf, 1.0]]), 3)[0] == np.inf
    np.testing.assert_array_equal(pair_costs(np.array([[np.nan], [2.0]]), 0), [np.inf, 2.0])  # never of none


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
    assert sorted(len(c) for c in clusters) == [2, 2, 2]
    weak = [k.copy() for k in keypoints]
    weak[1][..., 2] = 0.1  # below min_joint_score: camera 1 cannot be compared
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # clusters with nothing comparable: no 0/0 warning either
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
    assert len(lenient) == 3
    assert len(strict) > len(lenient)


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


def two_view_pair(joints: np.ndarray, shift_px: float = 0.0) -> tuple[list, list[np.ndarray]]:
    """Two cameras of the room and the keypoints of one person (17, 3) in each; camera 1's shifted in x [px]."""
    cameras = list(ceiling_room(3).complete_cameras())[:2]
    keypoints = [keypoints_of(c, joints)[None] for c in cameras]
    keypoints[1][..., 0] += shift_px
    return cameras, keypoints


def pair_cost(cameras: list, keypoints: list[np.ndarray], options: AssociationOptions) -> float:
    rays = [keypoint_rays(c, k, options.min_joint_score) for c, k in zip(cameras, keypoints, strict=True)]
    return float(view_pair_costs(cameras[0], rays[0], cameras[1], rays[1], options)[0, 0])


@pytest.mark.parametrize(
    ("scale", "matches"),
    [(0.67 * (1 - 1e-6), False), (0.67 * (1 + 1e-6), True), (1.4 * (1 - 1e-6), True), (1.4 * (1 + 1e-6), False)],
)
def test_rays_meeting_in_a_skeleton_outside_the_body_scale_range_are_no_match(scale: float, matches: bool) -> None:
    # exact keypoints of a skeleton scaled about its pelvis: the rays meet in it, so its body scale is ``scale``
    template = standing_template_coco()
    joints = scale * (template - template[11:13].mean(axis=0)) + np.array([0.2, 0.1, 1.0])
    cameras, keypoints = two_view_pair(joints)
    cost = pair_cost(cameras, keypoints, AssociationOptions())
    assert cost == (pytest.approx(0.0, abs=1e-9) if matches else np.inf)


def test_the_pair_cost_is_the_median_ray_distance_scaled_by_the_pixel_noise_allowance() -> None:
    cameras, keypoints = two_view_pair(standing_person((0.3, -0.2)), shift_px=4.0)
    options = AssociationOptions(keypoint_noise_px=2.5, max_ray_distance_m=0.08)
    rays = [keypoint_rays(c, k, options.min_joint_score) for c, k in zip(cameras, keypoints, strict=True)]
    distance, range_a, range_b, _ = closest_points(cameras[0].centre_world, rays[0], cameras[1].centre_world, rays[1])
    f = [np.sqrt(c.K[0, 0] * c.K[1, 1]) for c in cameras]
    # the allowance: max_ray_distance_m^2 plus (3 sigma_px range / f)^2 per view
    allowance = np.sqrt(0.08**2 + (3 * 2.5 * range_a / f[0]) ** 2 + (3 * 2.5 * range_b / f[1]) ** 2)
    expected = np.median(distance[0] * 0.08 / allowance[0])
    assert pair_cost(cameras, keypoints, options) == pytest.approx(expected, rel=1e-12)
    assert 0.005 < expected < 0.08  # the shift matters, and the pair still matches


@pytest.mark.parametrize(("margin", "together"), [(1.0 + 1e-6, True), (1.0 - 1e-6, False)])
def test_two_detections_join_exactly_when_their_cost_is_within_the_threshold(margin: float, together: bool) -> None:
    cameras, keypoints = two_view_pair(standing_person((0.3, -0.2)), shift_px=6.0)
    cost = pair_cost(cameras, keypoints, AssociationOptions(keypoint_noise_px=0.0))  # then the cost is in metres
    assert 0.01 < cost < 0.2
    options = AssociationOptions(keypoint_noise_px=0.0, max_ray_distance_m=margin * cost)
    clusters = associate(cameras, keypoints, options)
    assert clusters == ([[(0, 0), (1, 0)]] if together else [[(0, 0)], [(1, 0)]])


def test_keypoints_are_compared_from_exactly_the_minimum_score() -> None:
    camera = ceiling_room(1).cameras[0]
    keypoints = keypoints_of(camera, standing_person((0.0, 0.0)))[None]
    keypoints[0, :, 2] = 0.2
    keypoints[0, 3, 2] = 0.2 - 1e-9
    rays = keypoint_rays(camera, keypoints, 0.2)
    assert np.isnan(rays[0, 3]).all()
    assert np.isfinite(np.delete(rays[0], 3, axis=0)).all()


def test_a_pair_needs_exactly_min_common_joints() -> None:
    distances = np.full((2, 17), np.nan)
    distances[0, :3] = [0.01, 0.03, 0.02]
    distances[1, :2] = [0.01, 0.03]
    np.testing.assert_array_equal(pair_costs(distances, 3), [0.02, np.inf])
    np.testing.assert_array_equal(pair_costs(distances, 2), [0.02, 0.02])


def test_rays_must_meet_at_least_min_depth_in_front_of_both_cameras() -> None:
    cameras, keypoints = two_view_pair(standing_person((0.3, -0.2)))
    ranges = np.stack([np.linalg.norm(standing_person((0.3, -0.2)) - c.centre_world, axis=-1) for c in cameras])
    near, far = ranges.min(), ranges.max()
    assert pair_cost(cameras, keypoints, AssociationOptions(min_depth_m=near * (1 - 1e-6))) == pytest.approx(
        0, abs=1e-9
    )
    assert pair_cost(cameras, keypoints, AssociationOptions(min_depth_m=far * (1 + 1e-6))) == np.inf
    # more than half of the keypoints too near: the median is infinite
    assert pair_cost(cameras, keypoints, AssociationOptions(min_depth_m=np.median(ranges.min(axis=0)) * 1.2)) == np.inf


@pytest.mark.parametrize(
    ("kwargs", "valid"),
    [
        ({"min_joint_score": 0.0}, True),
        ({"min_joint_score": 1.0}, True),
        ({"min_joint_score": 1.0 + 1e-9}, False),
        ({"min_common_joints": 1}, True),
        ({"max_ray_distance_m": 1e-9}, True),
        ({"keypoint_noise_px": 0.0}, True),
        ({"keypoint_noise_px": -1e-9}, False),
        ({"min_depth_m": 0.0}, True),
        ({"min_depth_m": -1e-9}, False),
        ({"body_scale_range": (0.0, 1e-9)}, True),
        ({"body_scale_range": (-1e-9, 1.0)}, False),
        ({"body_scale_range": (1.0, 1.0)}, False),
    ],
)
def test_option_bounds_on_both_sides(kwargs: dict, valid: bool) -> None:
    name, value = next(iter(kwargs.items()))
    if valid:
        assert getattr(AssociationOptions(**kwargs), name) == value
    else:
        with pytest.raises(ValueError, match=name):
            AssociationOptions(**kwargs)


def test_ray_gaps_add_every_coordinate() -> None:
    # a ray along +y through the origin, one along +z through (0.7, 0, 0): 0.7 m apart along x
    middle = np.empty(3)
    distance, range_a, range_b = ray_gap(np.array([0.0, -1.0, 0.0]), np.array([0.0, 1.0, 0.0]),
                                         np.array([0.7, 0.0, -2.0]), np.array([0.0, 0.0, 1.0]), middle)
    assert (distance, range_a, range_b) == pytest.approx((0.7, 1.0, 2.0), abs=1e-15)
    np.testing.assert_allclose(middle, [0.35, 0.0, 0.0], atol=1e-15)


def test_a_body_scale_of_one_limb_when_one_is_enough() -> None:
    one = np.full((17, 3), np.nan)
    one[[5, 7]] = 1.5 * standing_template_coco()[[5, 7]]  # the left upper arm
    assert body_scale(one, 1, np.empty(17)) == pytest.approx(1.5, rel=1e-12)
    assert np.isnan(body_scale(one, 2, np.empty(17)))


def test_the_cost_table_judges_the_body_scale_from_exactly_three_limbs() -> None:
    template = standing_template_coco()
    joints = 2.0 * (template - template[11:13].mean(axis=0)) + np.array([0.2, 0.1, 2.0])  # twice an adult
    cameras, keypoints = two_view_pair(joints)
    for k in keypoints:
        k[0, [j for j in range(17) if j not in (5, 7, 9, 13, 15)], 2] = 0.0  # upper arm, forearm, shin
    options = AssociationOptions()
    rays = [keypoint_rays(c, k, options.min_joint_score) for c, k in zip(cameras, keypoints, strict=True)]
    assert cost_table(cameras, rays, options)[0, 1] == np.inf
    keypoints[0][0, 15, 2] = keypoints[1][0, 15, 2] = 0.0  # two limbs: no size to judge, the rays meet
    rays = [keypoint_rays(c, k, options.min_joint_score) for c, k in zip(cameras, keypoints, strict=True)]
    assert cost_table(cameras, rays, options)[0, 1] == pytest.approx(0.0, abs=1e-9)


def test_a_body_scale_needs_exactly_three_limbs() -> None:
    template = standing_template_coco()
    three = np.full((17, 3), np.nan)
    three[[5, 7, 9, 13, 15]] = 1.25 * template[[5, 7, 9, 13, 15]]  # upper arm, forearm, shin
    assert body_scales(three) == pytest.approx(1.25, rel=1e-12)
    two = three.copy()
    two[15] = np.nan
    assert np.isnan(body_scales(two))


def test_rays_of_a_distorted_camera_come_from_the_pixels_only() -> None:
    camera = ceiling_room(1).cameras[0]
    distorted = PinholeCamera(camera.name, camera.width, camera.height, camera.K, np.array([-0.2, 0.05, 0.001, -0.002]),
                              camera.T_world_from_camera)  # fmt: skip
    keypoints = keypoints_of(distorted, standing_person((0.0, 0.0)))[None]
    np.testing.assert_allclose(keypoint_rays(distorted, keypoints, 0.2), distorted.rays_world(keypoints[..., :2]))


def test_rays_must_meet_in_front_of_each_camera_not_just_one() -> None:
    joints = standing_person((1.8, 0.55))  # near camera 1, far from camera 2
    cameras, keypoints = two_view_pair(joints)
    ranges = np.stack([np.linalg.norm(joints - c.centre_world, axis=-1) for c in cameras])
    min_depth = ranges[0].max() * (1 + 1e-6)
    assert ranges[1].min() > min_depth  # every keypoint far enough from camera 2, none from camera 1
    assert pair_cost(cameras, keypoints, AssociationOptions(min_depth_m=min_depth)) == np.inf
    near_enough = AssociationOptions(min_depth_m=ranges[0].min() * (1 - 1e-6))
    assert pair_cost(cameras, keypoints, near_enough) == pytest.approx(0.0, abs=1e-9)


def test_the_cheaper_of_two_acceptable_detections_joins_the_cluster() -> None:
    cameras, keypoints = two_view_pair(standing_person((0.3, -0.2)))
    shifted = keypoints[1].copy()
    shifted[..., 0] += 3.0  # also within the threshold, but costlier
    assert 0.0 < pair_cost(cameras, [keypoints[0], shifted], AssociationOptions()) < 0.1
    clusters = associate(cameras, [keypoints[0], np.concatenate([shifted, keypoints[1]])])
    assert clusters == [[(0, 0), (1, 1)], [(1, 0)]]


def test_option_errors_say_what_is_expected() -> None:
    with pytest.raises(ValueError, match=r"^max_ray_distance_m must be positive, keypoint_noise_px and min_depth_m "
                                         r"non-negative$"):  # fmt: skip
        AssociationOptions(min_depth_m=-1.0)


def test_keypoints_one_view_does_not_see_are_left_out_of_the_median() -> None:
    cameras, keypoints = two_view_pair(standing_person((0.3, -0.2)))
    keypoints[1][0, 5:, 2] = 0.0  # camera 2 is confident of 5 of 17 keypoints only
    assert pair_cost(cameras, keypoints, AssociationOptions()) == pytest.approx(0.0, abs=1e-9)
    keypoints[1][0, 2:, 2] = 0.0  # 2 left: fewer than min_common_joints
    assert pair_cost(cameras, keypoints, AssociationOptions()) == np.inf


def test_a_detection_must_agree_with_every_member_of_a_cluster_not_just_on_average() -> None:
    cameras = list(ceiling_room(3).complete_cameras())
    joints = standing_person((0.3, -0.2))
    # camera 3 sees the person 0.25 m farther along camera 1's optical axis: its rays still meet camera 1's
    # nearly, but miss camera 2's
    moved = joints + 0.25 * cameras[0].optical_axis_world
    keypoints = [keypoints_of(cameras[0], joints)[None], keypoints_of(cameras[1], joints)[None],
                 keypoints_of(cameras[2], moved)[None]]  # fmt: skip
    options = AssociationOptions(keypoint_noise_px=0.0)  # costs in metres, whatever the threshold
    c13 = pair_cost([cameras[0], cameras[2]], [keypoints[0], keypoints[2]], options)
    c23 = pair_cost([cameras[1], cameras[2]], [keypoints[1], keypoints[2]], options)
    assert c13 < c23
    threshold = ((c13 + c23) / 2 + c23) / 2  # above the mean cost against the cluster, below camera 2's
    assert c13 < threshold
    clusters = associate(cameras, keypoints, AssociationOptions(keypoint_noise_px=0.0, max_ray_distance_m=threshold))
    assert clusters == [[(0, 0), (1, 0)], [(2, 0)]]


def test_a_member_that_cannot_be_compared_does_not_count_against_a_detection() -> None:
    cameras = list(ceiling_room(3).complete_cameras())
    joints = standing_person((0.3, -0.2))
    keypoints = [keypoints_of(c, joints)[None] for c in cameras]
    keypoints[1][0, 5:, 2] = 0.0  # camera 2 is confident of the face only
    keypoints[2][0, :11, 2] = 0.0  # camera 3 of the legs only: cameras 2 and 3 share no keypoint
    clusters = associate(cameras, keypoints)
    assert clusters == [[(0, 0), (1, 0), (2, 0)]]


def _one_keypoint(keypoints: list[np.ndarray], joint: int) -> list[np.ndarray]:
    """The keypoints with every score but ``joint``'s set to 0 (not compared)."""
    out = [k.copy() for k in keypoints]
    for k in out:
        k[..., np.arange(17) != joint, 2] = 0.0
    return out


def _exact_ranges(cameras: list, keypoints: list[np.ndarray], options: AssociationOptions) -> tuple:
    """The ranges along both rays [m] and the midpoints, (17,) (17,) (17, 3), computed as the costs compute them."""
    rays = [keypoint_rays(c, k, options.min_joint_score) for c, k in zip(cameras, keypoints, strict=True)]
    _, range_a, range_b, middle = closest_points(cameras[0].centre_world, rays[0], cameras[1].centre_world, rays[1])
    return range_a[0], range_b[0], middle[0]


@pytest.mark.parametrize("swap", [False, True], ids=["first_camera_nearer", "second_camera_nearer"])
def test_a_ray_is_in_front_from_exactly_min_depth_on(swap: bool) -> None:
    joints = standing_person((1.8, 0.55))  # nearer camera 1 than camera 2
    cameras, keypoints = two_view_pair(joints)
    keypoints = _one_keypoint(keypoints, 0)
    if swap:
        cameras, keypoints = cameras[::-1], keypoints[::-1]
    ranges = _exact_ranges(cameras, keypoints, AssociationOptions())
    near, other = (ranges[1][0], ranges[0][0]) if swap else (ranges[0][0], ranges[1][0])
    assert other > near + 0.5  # the edge is the nearer camera's alone
    at_edge = AssociationOptions(min_common_joints=1, min_depth_m=float(near))
    assert pair_cost(cameras, keypoints, at_edge) == pytest.approx(0.0, abs=1e-9)
    beyond = AssociationOptions(min_common_joints=1, min_depth_m=float(np.nextafter(near, np.inf)))
    assert pair_cost(cameras, keypoints, beyond) == np.inf


@pytest.mark.parametrize("edge", ["low", "high"])
def test_a_body_scale_matches_from_exactly_the_ends_of_its_range_on(edge: str) -> None:
    template = standing_template_coco()
    joints = 1.1 * (template - template[11:13].mean(axis=0)) + np.array([0.2, 0.1, 1.0])
    cameras, keypoints = two_view_pair(joints)
    scale = float(body_scales(_exact_ranges(cameras, keypoints, AssociationOptions())[2]))
    assert scale == pytest.approx(1.1, rel=1e-6)
    inside = (scale, 2.0) if edge == "low" else (0.5, scale)
    outside = (float(np.nextafter(scale, np.inf)), 2.0) if edge == "low" else (0.5, float(np.nextafter(scale, 0.0)))
    assert pair_cost(cameras, keypoints, AssociationOptions(body_scale_range=inside)) == pytest.approx(0.0, abs=1e-9)
    assert pair_cost(cameras, keypoints, AssociationOptions(body_scale_range=outside)) == np.inf


def test_rays_are_parallel_below_one_micro_radian_squared() -> None:
    # 1 - cos^2 = sin^2 of the angle between the rays: below 1e-12 (1 urad) the rays count as parallel
    centre_a, centre_b = np.zeros(3), np.array([0.0, 1.0, 0.0])
    a = np.array([1.0, 0.0, 0.0])
    for angle, parallel in ((0.9e-6, True), (1.1e-6, False)):
        b = np.array([np.cos(angle), np.sin(angle), 0.0])
        distance = closest_points(centre_a, a, centre_b, b)[0]
        assert np.isnan(distance) == parallel, angle


def test_detections_of_one_camera_are_never_compared() -> None:
    cameras, keypoints = scene()
    options = AssociationOptions()
    rays = [keypoint_rays(c, k, options.min_joint_score) for c, k in zip(cameras, keypoints, strict=True)]
    table = cost_table(cameras, rays, options)
    assert table.shape == (9, 9)
    for v in range(3):
        block = slice(3 * v, 3 * v + 3)
        assert np.isnan(table[block, block]).all()
        for w in range(v + 1, 3):
            other = slice(3 * w, 3 * w + 3)
            np.testing.assert_array_equal(table[block, other], table[other, block].T)
            np.testing.assert_allclose(np.diag(table[block, other]), 0.0, atol=1e-9)  # the same person
            assert (table[block, other][~np.eye(3, dtype=bool)] > options.max_ray_distance_m).all()
    lone = cost_table(cameras, [rays[0], rays[1][:0], rays[2][:0]], options)  # one camera has detections
    assert lone.shape == (3, 3)
    assert np.isnan(lone).all()


def test_one_keypoint_array_per_camera() -> None:
    cameras, keypoints = scene()
    with pytest.raises(ValueError, match="zip"):
        associate(cameras, keypoints[:2])


def _fixed_threshold(cameras: list, keypoints: list[np.ndarray]) -> float | None:
    """A threshold m (within 64 ulps of the pair's cost) at which the pair costs exactly m: with keypoint_noise_px
    0 the cost is d * m / sqrt(m^2), which rounds to d or a neighbour of d; None when there is none."""
    first = pair_cost(cameras, keypoints, AssociationOptions(keypoint_noise_px=0.0))
    for k in range(-64, 65):
        m = first + k * np.spacing(first)
        if pair_cost(cameras, keypoints, AssociationOptions(keypoint_noise_px=0.0, max_ray_distance_m=m)) == m:
            return m
    return None


def test_two_detections_join_at_a_cost_exactly_at_the_threshold() -> None:
    for shift_px in (5.0, 6.0, 7.0):
        cameras, keypoints = two_view_pair(standing_person((0.3, -0.2)), shift_px=shift_px)
        threshold = _fixed_threshold(cameras, keypoints)
        if threshold is not None:
            break
    assert threshold is not None
    joined = associate(cameras, keypoints, AssociationOptions(keypoint_noise_px=0.0, max_ray_distance_m=threshold))
    assert joined == [[(0, 0), (1, 0)]]
    below = float(np.nextafter(threshold, 0.0))
    options = AssociationOptions(keypoint_noise_px=0.0, max_ray_distance_m=below)
    assert pair_cost(cameras, keypoints, options) > below
    assert associate(cameras, keypoints, options) == [[(0, 0)], [(1, 0)]]
