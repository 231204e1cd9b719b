"""Single-camera placement: skeleton fit, floor, both; template; failures; floor self-calibration."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, standing_person

from orpose_ros.geometry.body_model import (
    COCO_RIGID_WHEN_STANDING,
    COCO_SHARED_WITH_H36M,
    body_to_camera_rotations,
    coco_from_h36m,
    pelvis_height_m,
    standing_heights_coco,
    standing_template_coco,
    standing_template_h36m,
    upright_template_from_camera_pose,
)
from orpose_ros.geometry.calibration import FloorPlane
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.geometry.placement import (
    Placement,
    PlacementOptions,
    estimate_floor,
    place_people,
    place_people_of_cameras,
)
from orpose_ros.h36m_stats import H36MStats

UP = np.array([0.0, 0.0, 1.0])
FLOOR = FloorPlane.horizontal(0.0)


@pytest.fixture(scope="module")
def camera() -> PinholeCamera:
    return ceiling_room(3).camera("cam1")


def place(camera: PinholeCamera, joints_world: np.ndarray, method: str, **kwargs: object) -> Placement:
    keypoints = keypoints_of(camera, joints_world)
    floor = kwargs.pop("floor", FLOOR)
    return place_people(
        camera, keypoints[None], floor=floor, up_world=UP, options=PlacementOptions(method=method, **kwargs)
    )


@pytest.mark.parametrize("method", ["skeleton", "skeleton+floor"])
def test_exact_template_person_is_placed_exactly(camera: PinholeCamera, method: str) -> None:
    # heading 60 degrees from facing the camera: on the template's 30-degree search grid
    up_cam = camera.T_world_from_camera[:3, :3].T @ UP
    R = body_to_camera_rotations(up_cam, np.array([np.radians(60.0)]))[0]
    pelvis_cam = camera.to_camera(np.array([0.4, -0.3, pelvis_height_m()]))
    joints_cam = standing_template_coco() @ R.T + pelvis_cam
    placed = place(camera, camera.to_world(joints_cam), method)
    assert placed.success.all()
    assert placed.method[0] == method
    np.testing.assert_allclose(placed.pelvis[0], pelvis_cam, atol=1e-6)
    np.testing.assert_allclose(placed.joints_coco[0], joints_cam, atol=1e-6)
    np.testing.assert_allclose(placed.joints_h36m[0], standing_template_h36m() @ R.T + pelvis_cam, atol=1e-6)
    assert placed.residual_px[0] < 1e-4
    assert placed.num_joints[0] == 13  # arms are not fitted to a template


def test_measured_skeleton_in_any_pose_is_placed_exactly(camera: PinholeCamera) -> None:
    rng = np.random.default_rng(3)
    skeleton = standing_template_h36m() @ np.eye(3)[[0, 2, 1]] * [1, -1, 1] + rng.normal(0, 0.05, (17, 3))
    skeleton -= skeleton[0]
    pelvis_cam = np.array([0.2, 0.5, 3.2])
    joints_cam = coco_from_h36m(skeleton) + pelvis_cam
    keypoints = keypoints_of(camera, camera.to_world(joints_cam))
    placed = place_people(camera, keypoints[None], skeleton[None], options=PlacementOptions(method="skeleton"))
    np.testing.assert_allclose(placed.pelvis[0], pelvis_cam, atol=1e-6)
    np.testing.assert_allclose(placed.joints_h36m[0], skeleton + pelvis_cam, atol=1e-6)
    shared = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
    np.testing.assert_allclose(placed.joints_coco[0, shared], joints_cam[shared], atol=1e-6)


def test_confident_keypoints_are_back_projected_onto_their_rays(camera: PinholeCamera) -> None:
    joints = standing_person((0.3, 0.2), heading_rad=0.7)
    joints[9] += [0.2, 0.3, 0.5]  # a raised wrist, far from the template's hanging arm
    keypoints = keypoints_of(camera, joints)
    placed = place_people(camera, keypoints[None], floor=FLOOR)
    np.testing.assert_allclose(camera.project_camera(placed.joints_coco[0]), keypoints[:, :2], atol=1e-6)


def test_floor_method_finds_a_standing_person(camera: PinholeCamera) -> None:
    joints = standing_person((0.5, -0.4), heading_rad=1.0)
    placed = place(camera, joints, "floor")
    pelvis_world = camera.to_world(placed.pelvis[0])
    assert np.linalg.norm(pelvis_world - (0.5, -0.4, pelvis_height_m())) < 0.05
    assert np.isnan(placed.joints_h36m).all()
    assert np.isnan(placed.residual_px).all()
    # keypoints sit on their rays near the person's vertical axis
    assert np.all(np.linalg.norm(camera.to_world(placed.joints_coco[0])[:, :2] - (0.5, -0.4), axis=-1) < 0.3)


def test_the_floor_corrects_a_wrong_stature(camera: PinholeCamera) -> None:
    """A 1.95 m person fitted with a 1.72 m template: depth from the size alone is ~13 % short; the floor
    prior with a free scale corrects most of it."""
    joints = standing_person((0.3, 0.0), heading_rad=0.0, stature_m=1.95)
    errors = {m: np.linalg.norm(camera.to_world(place(camera, joints, m).pelvis[0])[:2] - (0.3, 0.0))
              for m in ("skeleton", "floor", "skeleton+floor")}  # fmt: skip
    assert errors["skeleton"] > 0.2
    assert errors["skeleton+floor"] < 0.5 * errors["skeleton"]
    assert errors["skeleton+floor"] < errors["floor"]  # the floor alone assumes the template's standing heights


def test_pixel_noise_moves_a_person_little(camera: PinholeCamera) -> None:
    rng = np.random.default_rng(4)
    joints = standing_person((-0.2, 0.3), heading_rad=2.0)
    keypoints = np.repeat(keypoints_of(camera, joints)[None], 50, axis=0)
    keypoints[..., :2] += rng.normal(0.0, 2.0, keypoints[..., :2].shape)
    placed = place_people(camera, keypoints, floor=FLOOR, up_world=UP)
    error = np.linalg.norm(camera.to_world(placed.pelvis) - (-0.2, 0.3, pelvis_height_m()), axis=-1)
    assert placed.success.all()
    assert np.median(error) < 0.1


def test_distortion_is_removed_from_the_keypoints() -> None:
    pinhole = ceiling_room(3).camera("cam2")
    distorted = PinholeCamera(pinhole.name, 640, 480, pinhole.K, np.array([0.05, -0.2, 0.001, 0.0, 0.3]),
                              pinhole.T_world_from_camera)  # fmt: skip
    joints = standing_person((0.0, 0.0), 0.3)
    a = place_people(pinhole, keypoints_of(pinhole, joints)[None], floor=FLOOR)
    b = place_people(distorted, keypoints_of(distorted, joints)[None], floor=FLOOR)
    np.testing.assert_allclose(a.pelvis, b.pelvis, atol=1e-6)


def test_unplaceable_people_fail_cleanly(camera: PinholeCamera) -> None:
    keypoints = np.repeat(keypoints_of(camera, standing_person((0.0, 0.0)))[None], 3, axis=0)
    keypoints[0, 3:, 2] = 0.0  # three face keypoints only
    keypoints[1, :, 2] = 0.05  # nothing confident
    placed = place_people(camera, keypoints, floor=FLOOR)
    np.testing.assert_array_equal(placed.success, [False, False, True])
    assert np.isnan(placed.pelvis[:2]).all()
    assert np.isnan(placed.joints_coco[:2]).all()
    assert np.isnan(placed.residual_px[:2]).all()
    assert np.isnan(placed.joints_h36m[:2]).all()  # no fitted skeleton either
    empty = place_people(camera, np.zeros((0, 17, 3)), floor=FLOOR)
    assert empty.pelvis.shape == (0, 3)
    assert empty.joints_coco.shape == (0, 17, 3)


def test_a_person_behind_the_camera_is_not_placed(camera: PinholeCamera) -> None:
    skeleton = standing_template_h36m() @ np.eye(3)[[0, 2, 1]] * [1, -1, 1]
    joints_cam = coco_from_h36m(skeleton) + np.array([0.0, 0.0, -3.0])
    K = camera.K
    uv = (joints_cam[:, :2] / joints_cam[:, 2:]) @ K[:2, :2].T + K[:2, 2]  # the pinhole's mirror image
    keypoints = np.c_[uv, np.full(17, 0.9)]
    placed = place_people(camera, keypoints[None], skeleton[None], options=PlacementOptions(method="skeleton"))
    assert not placed.success[0]  # neither behind the camera nor as its mirror image in front
    assert np.isnan(placed.pelvis[0]).all()
    # the same person 3 m in front is placed where it stands
    in_front = coco_from_h36m(skeleton) + np.array([0.0, 0.0, 3.0])
    uv = (in_front[:, :2] / in_front[:, 2:]) @ K[:2, :2].T + K[:2, 2]
    placed = place_people(camera, np.c_[uv, np.full(17, 0.9)][None], skeleton[None],
                          options=PlacementOptions(method="skeleton"))  # fmt: skip
    assert placed.success[0]
    np.testing.assert_allclose(placed.pelvis[0], [0.0, 0.0, 3.0], atol=1e-9)


def test_without_floor_the_floor_methods_fall_back_to_the_skeleton(camera: PinholeCamera) -> None:
    placed = place(camera, standing_person((0.0, 0.0)), "skeleton+floor", floor=None)
    assert placed.method[0] == "skeleton"
    assert placed.success[0]


def test_floor_self_calibration_from_standing_people() -> None:
    people = np.stack([standing_person((x, 0.0), x) for x in (-1.0, 0.0, 1.0)]) + np.array([0.0, 0.0, -1.05])
    people[1, :5] = np.nan  # a person without face keypoints still votes
    floor = estimate_floor(people)
    assert floor.offset_m == pytest.approx(-1.05, abs=1e-9)
    np.testing.assert_allclose(floor.normal_world, UP)
    assert estimate_floor(np.zeros((0, 17, 3))) is None


def test_standing_heights_and_template_agree() -> None:
    np.testing.assert_allclose(standing_heights_coco(), standing_template_coco()[:, 2] + pelvis_height_m())
    assert standing_heights_coco(2.0)[0] == pytest.approx(2.0 / 1.72 * standing_heights_coco()[0])


def test_h36m_mean_pose_as_an_upright_template(stats_path: Path) -> None:
    template = upright_template_from_camera_pose(H36MStats.from_json(stats_path).mean_pose_m())
    assert template.shape == (17, 3)
    # upright: the shoulders right above the hips, the nose highest; left and right coincide (mean over headings)
    assert template[0, 2] > template[5, 2] > 0 > template[15, 2]
    assert np.abs(template[:, :2]).max() < 0.02
    options = PlacementOptions(template_coco=template)
    with pytest.raises(ValueError, match="template_coco must be"):
        PlacementOptions(template_coco=np.zeros((3, 3)))
    assert options.template_coco.flags.writeable is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "guess"}, "placement method"),
        ({"min_joint_score": 2.0}, "min_joint_score"),
        ({"min_joints": 1}, "min_joints"),
        ({"height_noise_m": 0.0}, "height_noise_m"),
        ({"headings": 0}, "headings"),
    ],
)
def test_invalid_options(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PlacementOptions(**kwargs)


def level_camera() -> PinholeCamera:
    """A camera 1.5 m high looking horizontally along world +y: its -y axis is world up."""
    T = np.eye(4)
    T[:3, :3] = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # columns: x, y (down), z (ahead)
    T[:3, 3] = [0.0, -3.0, 1.5]
    return PinholeCamera.from_k("level", [600, 0, 319.5, 0, 600, 239.5, 0, 0, 1], 640, 480, T_world_from_camera=T)


def test_without_floor_or_up_the_template_stands_along_the_cameras_minus_y() -> None:
    camera = level_camera()
    keypoints = keypoints_of(camera, standing_person((0.3, 0.5), heading_rad=0.4))[None]
    default = place_people(camera, keypoints)
    for up_world in ([0.0, 0.0, 1.0], [0.0, 0.0, 2.5]):  # world up, in any length
        given = place_people(camera, keypoints, up_world=np.array(up_world))
        np.testing.assert_allclose(default.pelvis, given.pelvis, atol=1e-9)
    truth = camera.to_camera(standing_person((0.3, 0.5), heading_rad=0.4))
    assert np.linalg.norm(default.pelvis[0] - 0.5 * (truth[11] + truth[12])) < 0.1


def test_the_floor_method_weights_each_ray_by_score_and_its_angle_to_the_floor() -> None:
    # the documented estimate: each used keypoint's ray meets its standing height at s = (offset + h) / (n . r);
    # the horizontal parts are averaged with weights score * (n . r_unit)^2, then the pelvis is put at its height
    camera = ceiling_room(3).camera("cam1")
    rng = np.random.default_rng(8)
    keypoints = keypoints_of(camera, standing_person((0.2, -0.4), heading_rad=1.0))
    keypoints[:, :2] += rng.normal(0.0, 3.0, (17, 2))
    keypoints[:, 2] = rng.uniform(0.3, 1.0, 17)
    placed = place_people(camera, keypoints[None], floor=FLOOR, options=PlacementOptions(method="floor"))
    n = camera.T_world_from_camera[:3, :3].T @ UP
    offset = FLOOR.offset_m - UP @ camera.centre_world
    xy = camera.normalised_coordinates(keypoints[:, :2])
    rays = np.c_[xy, np.ones(17)]
    used = COCO_RIGID_WHEN_STANDING & (keypoints[:, 2] >= 0.2)
    s = (offset + standing_heights_coco()) / (rays @ n)
    points = rays * s[:, None]
    horizontal = points - (points @ n)[:, None] * n
    weight = np.where(used, keypoints[:, 2] * (rays @ n) ** 2 / np.sum(rays**2, axis=1), 0.0)
    expected = (weight[:, None] * horizontal).sum(axis=0) / weight.sum() + (offset + pelvis_height_m()) * n
    np.testing.assert_allclose(placed.pelvis[0], expected, atol=1e-9)


def test_the_residual_is_the_rms_of_the_per_keypoint_residuals(camera: PinholeCamera) -> None:
    """Each person's residual is the RMS over their own keypoints (two people: 2 px and 8 px of noise)."""
    keypoints = np.stack([keypoints_of(camera, standing_person((0.1, 0.2))),
                          keypoints_of(camera, standing_person((-0.6, -0.4), heading_rad=1.5))])  # fmt: skip
    rng = np.random.default_rng(9)
    keypoints[0, :, :2] += rng.normal(0.0, 2.0, (17, 2))
    keypoints[1, :, :2] += rng.normal(0.0, 8.0, (17, 2))
    keypoints[1, 15:, 2] = 0.0  # and fewer keypoints
    placed = place_people(camera, keypoints, floor=FLOOR, options=PlacementOptions(method="skeleton"))
    assert placed.success.all()
    for person in range(2):
        per_keypoint = placed.joint_residual_px[person]
        assert np.isfinite(per_keypoint).sum() == placed.num_joints[person]
        finite = per_keypoint[np.isfinite(per_keypoint)]
        assert placed.residual_px[person] == pytest.approx(np.sqrt(np.mean(finite**2)), rel=1e-12)
    assert 1.0 < placed.residual_px[0] < placed.residual_px[1]  # the noise shows, more where there is more


@pytest.mark.parametrize(("confident", "placed_ok"), [(5, True), (4, False)])
def test_a_person_needs_exactly_min_joints_confident_keypoints(
    camera: PinholeCamera, confident: int, placed_ok: bool
) -> None:
    keypoints = keypoints_of(camera, standing_person((0.1, 0.2)))
    used = np.flatnonzero(COCO_RIGID_WHEN_STANDING)
    keypoints[used[confident:], 2] = 0.0
    placed = place_people(camera, keypoints[None], floor=FLOOR, options=PlacementOptions(method="floor", min_joints=5))
    assert placed.num_joints[0] == confident
    assert placed.success[0] == placed_ok


@pytest.mark.parametrize(
    ("kwargs", "valid"),
    [
        ({"min_joint_score": 0.0}, True),
        ({"min_joint_score": 1.0}, True),
        ({"min_joint_score": 1.0 + 1e-9}, False),
        ({"min_joints": 2}, True),
        ({"min_joints": 1}, False),
        ({"headings": 1}, True),
        ({"headings": 0}, False),
        ({"iterations": 0}, True),
        ({"iterations": -1}, False),
    ],
)
def test_option_bounds_on_both_sides(kwargs: dict, valid: bool) -> None:
    name, value = next(iter(kwargs.items()))
    if valid:
        assert getattr(PlacementOptions(**kwargs), name) == value
    else:
        with pytest.raises(ValueError, match=name if name not in ("headings", "iterations") else
                           r"^headings must be >= 1 and iterations >= 0$"):  # fmt: skip
            PlacementOptions(**kwargs)


def test_the_floor_is_estimated_along_the_given_up_direction_of_any_length() -> None:
    joints = np.stack([standing_person((0.0, 0.0)), standing_person((1.0, 0.5))]) + np.array([0.0, 0.0, 0.25])
    default = estimate_floor(joints)
    np.testing.assert_allclose(default.normal_world, UP)
    assert default.offset_m == pytest.approx(0.25, abs=1e-9)
    assert estimate_floor(joints, up_world=np.array([0.0, 0.0, 3.0])).offset_m == pytest.approx(0.25, abs=1e-9)
    # a world with y up: the same people turned so that their z is y
    turned = joints[..., [0, 2, 1]] * [1.0, 1.0, -1.0]
    y_up = estimate_floor(turned, up_world=np.array([0.0, 1.0, 0.0]))
    np.testing.assert_allclose(y_up.normal_world, [0.0, 1.0, 0.0])
    assert y_up.offset_m == pytest.approx(0.25, abs=1e-9)


def test_a_given_up_direction_orients_the_template_of_a_tilted_camera() -> None:
    camera = ceiling_room(3).camera("cam1")  # looks down at the room: its -y axis is not world up
    joints = standing_person((0.3, 0.5), heading_rad=0.4)
    keypoints = keypoints_of(camera, joints)[None]
    given = place_people(camera, keypoints, up_world=UP)
    truth = camera.to_camera(joints)
    assert np.linalg.norm(given.pelvis[0] - 0.5 * (truth[11] + truth[12])) < 0.02  # off the 30-degree grid
    default = place_people(camera, keypoints)  # the camera's -y as up: a leaning template, another fit
    assert np.linalg.norm(default.pelvis[0] - given.pelvis[0]) > 0.2


def _measured_person(camera: PinholeCamera, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A measured H36M skeleton in a non-standing pose (pelvis-relative, camera axes), its camera-frame COCO joints
    with the pelvis at (0.2, 0.5, 3.2) m, and their exact keypoints (17, 3) [px, score 0.9]."""
    rng = np.random.default_rng(seed)
    skeleton = standing_template_h36m() @ np.eye(3)[[0, 2, 1]] * [1, -1, 1] + rng.normal(0, 0.05, (17, 3))
    skeleton -= skeleton[0]
    joints_cam = coco_from_h36m(skeleton) + np.array([0.2, 0.5, 3.2])
    return skeleton, joints_cam, keypoints_of(camera, camera.to_world(joints_cam))


def test_a_measured_skeleton_is_fitted_to_exactly_the_keypoints_it_shares_with_coco(camera: PinholeCamera) -> None:
    skeleton, _, keypoints = _measured_person(camera)
    keypoints[1, 2] = 0.0  # an eye: no H36M joint, not fitted anyway (a template fit would lose a rigid keypoint)
    placed = place_people(camera, keypoints[None], skeleton[None], options=PlacementOptions(method="skeleton"))
    assert placed.num_joints[0] == 13  # the nose and the 12 limb keypoints
    keypoints[9, 2] = 0.0  # an unconfident wrist: not used (a template fit never uses it)
    placed = place_people(camera, keypoints[None], skeleton[None], options=PlacementOptions(method="skeleton"))
    assert placed.num_joints[0] == 12


def test_an_unconfident_keypoint_does_not_pull_the_fit(camera: PinholeCamera) -> None:
    skeleton, joints_cam, keypoints = _measured_person(camera)
    keypoints[[7, 13], 2] = 0.0  # an elbow and a knee: their positions are placeholders, not measurements
    placed = place_people(camera, keypoints[None], skeleton[None], options=PlacementOptions(method="skeleton"))
    np.testing.assert_allclose(placed.pelvis[0], joints_cam[11:13].mean(axis=0) - coco_from_h36m(skeleton)[11:13]
                               .mean(axis=0), atol=1e-6)  # fmt: skip


def test_the_floor_method_carries_a_measured_skeleton_to_the_floor_placed_pelvis(camera: PinholeCamera) -> None:
    skeleton, _, keypoints = _measured_person(camera)
    keypoints[[9, 10], 2] = 0.0  # the wrists: filled from the skeleton
    placed = place_people(camera, keypoints[None], skeleton[None], floor=FLOOR, up_world=UP,
                          options=PlacementOptions(method="floor"))
    assert placed.success[0]
    pelvis = placed.pelvis[0]
    assert np.all(np.isfinite(pelvis))
    assert placed.joints_h36m.dtype == np.float64
    assert placed.joints_coco.dtype == np.float64
    np.testing.assert_allclose(placed.joints_h36m[0], skeleton + pelvis, atol=1e-12)
    np.testing.assert_allclose(placed.joints_coco[0, [9, 10]], coco_from_h36m(skeleton)[[9, 10]] + pelvis, atol=1e-12)
    seen = placed.joints_coco[0, 5]  # a confident keypoint: on its own ray
    ray = camera.normalised_coordinates(keypoints[None, 5, :2])[0]
    np.testing.assert_allclose(seen[:2] / seen[2], ray, atol=1e-12)


def test_the_refined_fit_is_a_stationary_point_of_the_documented_huber_cost(camera: PinholeCamera) -> None:
    """theta = (t, scale) after many Gauss-Newton steps minimises sum_j w_j^2 huber(|r_j|) + ((scale - 1) /
    size_noise)^2 / 2, r_j = (projection - keypoint) in normalised coordinates times the pelvis depth [m],
    w_j = sqrt(score_j) / lateral_noise_m, Huber's threshold huber_m (quadratic below, linear above)."""
    skeleton, _, keypoints = _measured_person(camera, seed=5)
    rng = np.random.default_rng(11)
    keypoints[:, :2] += rng.normal(0.0, 2.0, (17, 2))
    keypoints[:, 2] = rng.uniform(0.5, 1.0, 17)
    keypoints[7, :2] += [40.0, -25.0]  # an outlier far beyond huber_m
    options = PlacementOptions(method="skeleton", iterations=40, huber_m=0.08, lateral_noise_m=0.04, size_noise=0.1)
    placed = place_people(camera, keypoints[None], skeleton[None], options=options)
    t = placed.pelvis[0]
    scale = float(np.linalg.norm(placed.joints_h36m[0, 1:] - t, axis=-1).sum() / np.linalg.norm(skeleton[1:], axis=-1)
                  .sum())  # fmt: skip
    np.testing.assert_allclose(placed.joints_h36m[0], scale * skeleton + t, atol=1e-9)
    used = COCO_SHARED_WITH_H36M.copy()
    used[0] = True  # and the nose (H36M's neck/nose)
    xy = camera.normalised_coordinates(keypoints[:, :2])[used]
    w2 = keypoints[used, 2] / options.lateral_noise_m**2
    skel = coco_from_h36m(skeleton)[used]
    depth = t[2]  # metres per unit of normalised coordinates, held at the solution's (as the steps hold it)

    def residual_sizes(theta: np.ndarray) -> np.ndarray:
        X = theta[3] * skel + theta[:3]
        return np.linalg.norm((X[:, :2] / X[:, 2:] - xy) * depth, axis=-1)

    def cost(theta: np.ndarray) -> float:
        size = residual_sizes(theta)
        h = options.huber_m
        huber = np.where(size <= h, 0.5 * size**2, h * size - 0.5 * h**2)
        return float((w2 * huber).sum() + 0.5 * ((theta[3] - 1.0) / options.size_noise) ** 2)

    def gradient(theta: np.ndarray) -> np.ndarray:
        steps = np.eye(4) * 1e-7
        return np.array([(cost(theta + s) - cost(theta - s)) / 2e-7 for s in steps])

    theta = np.r_[t, scale]
    outlier = np.flatnonzero(used).tolist().index(7)
    assert residual_sizes(theta)[outlier] > 2 * options.huber_m  # Huber's linear part is in play
    nearby = np.abs(gradient(theta + np.array([0.01, 0.0, 0.0, 0.0]))).max()
    assert np.abs(gradient(theta)).max() < 1e-3 * nearby


def test_a_person_with_a_used_joint_nearer_the_camera_than_10_cm_is_not_placed(camera: PinholeCamera) -> None:
    skeleton, _, keypoints = _measured_person(camera)
    near = skeleton.copy()
    near[[2, 3], 2] = [-0.35, -0.5]  # the right knee and ankle (H36M 2, 3) reach towards the camera
    # the ankle at 12 cm, then at 8 cm from the camera; and an ordinary person, placed either way
    people = [keypoints_of(camera, camera.to_world(coco_from_h36m(near) + np.array([0.05, 0.0, pelvis_z])))
              for pelvis_z in (0.62, 0.58)]  # fmt: skip
    placed = place_people(camera, np.stack([*people, keypoints]), np.stack([near, near, skeleton]),
                          options=PlacementOptions(method="skeleton"))
    assert placed.success.tolist() == [True, False, True]
    assert np.isnan(placed.joints_coco[1]).all()
    assert np.all(np.isfinite(placed.joints_coco[2]))


def test_a_keypoint_without_finite_coordinates_is_not_used(camera: PinholeCamera) -> None:
    """A confident keypoint at NaN pixels counts as unconfident, for its own person only."""
    keypoints = np.stack([keypoints_of(camera, standing_person((0.1, 0.2), heading_rad=0.5)),
                          keypoints_of(camera, standing_person((-0.5, 0.4), heading_rad=2.0))])  # fmt: skip
    unconfident = keypoints.copy()
    unconfident[0, 13, 2] = 0.0  # a knee
    keypoints[0, 13, :2] = np.nan
    placed = place_people(camera, keypoints, floor=FLOOR)
    expected = place_people(camera, unconfident, floor=FLOOR)
    assert placed.success.all()
    np.testing.assert_array_equal(placed.num_joints, [12, 13])
    np.testing.assert_array_equal(placed.num_joints, expected.num_joints)
    np.testing.assert_allclose(placed.pelvis, expected.pelvis, atol=1e-12)


@pytest.mark.parametrize("method", ["skeleton", "floor"])
def test_a_keypoint_scoring_exactly_min_joint_score_is_used(camera: PinholeCamera, method: str) -> None:
    """``min_joint_score`` ignores keypoints scoring below it: one at the score itself counts, one an ulp below
    does not (0.5 and its neighbour are exact binary values)."""
    keypoints = keypoints_of(camera, standing_person((0.1, 0.2)), score=0.9)
    keypoints[[5, 6], 2] = 0.5
    keypoints[[11, 12], 2] = np.nextafter(0.5, 0.0)
    options = PlacementOptions(method=method, min_joint_score=0.5)
    placed = place_people(camera, keypoints[None], floor=FLOOR, up_world=UP, options=options)
    assert placed.num_joints[0] == 11  # the 13 template keypoints less both hips
    assert np.isfinite(placed.joints_coco[0, [5, 6]]).all()  # back-projected: they are used
    assert np.isnan(placed.joints_coco[0, [11, 12]]).all()  # unconfident, and no measured skeleton to fill them


def test_a_given_template_is_the_one_fitted(camera: PinholeCamera) -> None:
    """``template_coco`` replaces the anthropometric template: a person built from it is placed exactly; the
    default template (1.72 m) puts the same 1.95 m person too near, as its size alone sets the depth."""
    tall = standing_template_coco(1.95)
    up_cam = camera.T_world_from_camera[:3, :3].T @ UP
    R = body_to_camera_rotations(up_cam, np.array([np.radians(90.0)]))[0]  # on the 30-degree grid
    pelvis_cam = camera.to_camera(np.array([0.2, 0.1, pelvis_height_m(1.95)]))
    keypoints = keypoints_of(camera, camera.to_world(tall @ R.T + pelvis_cam))[None]
    options = PlacementOptions(method="skeleton", template_coco=tall)
    given = place_people(camera, keypoints, up_world=UP, options=options)
    np.testing.assert_allclose(given.pelvis[0], pelvis_cam, atol=1e-6)
    assert given.residual_px[0] < 1e-4
    default = place_people(camera, keypoints, up_world=UP, options=PlacementOptions(method="skeleton"))
    assert np.linalg.norm(default.pelvis[0] - pelvis_cam) > 0.2


@pytest.mark.parametrize("method", ["skeleton", "floor", "skeleton+floor"])
def test_a_measured_skeleton_is_placed_alike_with_one_heading_or_many(camera: PinholeCamera, method: str) -> None:
    """The heading search is the template's: a measured skeleton is placed the same with ``headings=1`` (the
    smallest valid value) as with the default 12."""
    skeleton, _, keypoints = _measured_person(camera)
    keypoints[:, :2] += np.random.default_rng(6).normal(0.0, 2.0, (17, 2))
    results = [place_people(camera, keypoints[None], skeleton[None], floor=FLOOR, up_world=UP,
                            options=PlacementOptions(method=method, headings=k)) for k in (1, 12)]  # fmt: skip
    one, many = results
    assert one.success[0] and many.success[0]
    for name in ("pelvis", "joints_coco", "joints_h36m", "residual_px"):
        np.testing.assert_allclose(getattr(one, name), getattr(many, name), atol=1e-12, equal_nan=True)


def test_a_person_the_floor_method_cannot_place_does_not_fail_the_others(camera: PinholeCamera) -> None:
    keypoints = np.stack([keypoints_of(camera, standing_person((0.1, 0.2))),
                          keypoints_of(camera, standing_person((-0.5, 0.4), heading_rad=2.0))])  # fmt: skip
    keypoints[0, :, 2] = 0.0  # nothing confident: no point on the floor, a NaN pelvis
    placed = place_people(camera, keypoints, floor=FLOOR, options=PlacementOptions(method="floor"))
    np.testing.assert_array_equal(placed.success, [False, True])
    assert np.isnan(placed.pelvis[0]).all()
    assert np.all(np.isfinite(placed.pelvis[1]))


def straight_down_camera() -> PinholeCamera:
    """A camera 3 m above the floor's origin looking straight down (its optical axis along world -z)."""
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])
    T[:3, 3] = [0.0, 0.0, 3.0]
    return PinholeCamera.from_k("down", [500, 0, 319.5, 0, 500, 239.5, 0, 0, 1], 640, 480, T_world_from_camera=T)


@pytest.mark.parametrize("camera_name", ["level", "straight down", "ceiling"])
@pytest.mark.parametrize("method", ["skeleton", "floor", "skeleton+floor"])
def test_placing_raises_no_floating_point_warning(camera: PinholeCamera, camera_name: str, method: str) -> None:
    """No RuntimeWarning on any method (a node would log it every frame): rays of unconfident keypoints
    (the optical axis) parallel to the floor of a level camera or along the up direction of a camera looking
    straight down, and a person without a confident keypoint (no floor point, no residual)."""
    chosen = {"level": level_camera(), "straight down": straight_down_camera(), "ceiling": camera}[camera_name]
    keypoints = np.stack([keypoints_of(chosen, standing_person((0.3, 0.5), heading_rad=0.4))] * 2)
    keypoints[0, [1, 2, 9], 2] = 0.0  # unconfident keypoints
    keypoints[1, :, 2] = 0.0  # nobody
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        placed = place_people(chosen, keypoints, floor=FLOOR, options=PlacementOptions(method=method))
    np.testing.assert_array_equal(placed.success, [True, False])


def test_the_fit_depends_only_on_the_ratios_of_the_noises(camera: PinholeCamera) -> None:
    """The noises weigh the residuals of the keypoints, the size and the floor against each other: scaling all
    three by 10 scales the cost and leaves its minimum, and each Gauss-Newton step, where they were."""
    keypoints = keypoints_of(camera, standing_person((0.2, -0.3), heading_rad=0.9))
    rng = np.random.default_rng(1)
    keypoints[:, :2] += rng.normal(0.0, 3.0, (17, 2))
    keypoints[:, 2] = rng.uniform(0.3, 1.0, 17)
    keypoints[7, :2] += [30.0, -20.0]  # an outlier: the Huber weights are in play
    placed = [place_people(camera, keypoints[None], floor=FLOOR, up_world=UP, options=PlacementOptions(
        lateral_noise_m=0.05 * k, size_noise=0.05 * k, height_noise_m=0.05 * k)) for k in (1.0, 10.0)]  # fmt: skip
    np.testing.assert_allclose(placed[0].pelvis, placed[1].pelvis, atol=1e-9)
    np.testing.assert_allclose(placed[0].joints_h36m, placed[1].joints_h36m, atol=1e-9)


def test_float32_keypoints_are_placed_as_their_float64_values(camera: PinholeCamera) -> None:
    """A detector's float32 keypoints give the placement of the same values in float64 (computed in float64)."""
    keypoints = keypoints_of(camera, standing_person((0.2, -0.3), heading_rad=0.9))
    keypoints[:, 2] = np.random.default_rng(2).uniform(0.3, 1.0, 17)
    single = keypoints.astype(np.float32)[None]
    placed = place_people_of_cameras([camera], [0], single, floor=FLOOR, up_world=UP)
    expected = place_people_of_cameras([camera], [0], single.astype(np.float64), floor=FLOOR, up_world=UP)
    np.testing.assert_array_equal(placed.pelvis, expected.pelvis)
    np.testing.assert_array_equal(placed.joints_coco, expected.joints_coco)
