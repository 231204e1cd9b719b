"""fuse_frame: triangulated and single-camera people in the world frame, without duplicates; errors."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, look_at, mvor_file, standing_person

from orpose_ros.evaluation.mvor import load_mvor
from orpose_ros.evaluation.mvor_evaluation import Evaluation
from orpose_ros.fusion.association import AssociationOptions
from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.pipeline import (
    TRIANGULATED,
    FusedPerson,
    FusionOptions,
    _hop_distances,
    _remove_close_people,
    floor_under,
    fuse_frame,
    person_centres,
    self_calibrated_floor,
    within_room,
)
from orpose_ros.geometry.calibration import CalibrationError, FloorPlane, PendingCamera, RoomCalibration
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.geometry.placement import PlacementOptions, place_people
from orpose_ros.geometry.triangulation import triangulate
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES

LEFT_ELBOW, LEFT_WRIST = COCO_KEYPOINT_NAMES.index("left_elbow"), COCO_KEYPOINT_NAMES.index("left_wrist")

POSITIONS = [(-0.9, 0.2), (0.1, -0.6), (0.8, 0.7)]


def people() -> np.ndarray:
    return np.stack([standing_person(p, heading_rad=k) for k, p in enumerate(POSITIONS)])


def detections_of(
    calibration: RoomCalibration, joints: np.ndarray, cameras: dict[str, list[int]] | None = None
) -> dict[str, list[PersonDetection]]:
    """Detections of the people ``joints`` (N, 17, 3): by default every camera sees everyone (shuffled)."""
    out = {}
    for name in calibration.names:
        seen = range(len(joints)) if cameras is None else cameras.get(name, [])
        camera = calibration.camera(name)
        out[name] = [PersonDetection(keypoints_of(camera, joints[p]), 0.9, None, index=10 + p) for p in seen][::-1]
    return out


def test_people_seen_by_all_cameras_are_triangulated_exactly() -> None:
    calibration = ceiling_room(3)
    truth = people()
    fused = fuse_frame(calibration, detections_of(calibration, truth))
    assert len(fused) == 3
    assert all(p.placement == TRIANGULATED for p in fused)
    for person in fused:
        k = int(np.argmin(np.linalg.norm(person_centres(truth) - person.centre, axis=1)))
        np.testing.assert_allclose(person.joints, truth[k], atol=1e-6)
        assert person.cameras == ("cam1", "cam2", "cam3")
        assert person.detection_indices == (10 + k,) * 3
        assert (person.num_views == 3).all()
        assert np.allclose(person.confidence, 0.9)
        assert np.nanmax(person.reprojection_error_px) < 1e-4
        assert person.id == -1
        assert person.score == 0.9


def test_a_person_seen_by_one_camera_is_placed_on_the_floor() -> None:
    calibration = ceiling_room(3)
    truth = people()
    seen = {"cam1": [0, 1, 2], "cam2": [0, 1, 2], "cam3": [0, 1]}
    lonely = standing_person((0.0, 1.4), 2.5)
    detections = detections_of(calibration, truth, seen)
    detections["cam3"].append(PersonDetection(keypoints_of(calibration.camera("cam3"), lonely), 0.7, None, 99))
    fused = fuse_frame(calibration, detections)
    assert [p.placement for p in fused] == [TRIANGULATED] * 3 + ["single-view skeleton+floor"]
    single = fused[-1]
    assert single.cameras == ("cam3",)
    assert single.detection_indices == (99,)
    assert single.score == 0.7
    assert np.linalg.norm(single.centre[:2] - (0.0, 1.4)) < 0.1
    assert set(np.unique(single.num_views)) <= {0, 1}
    found = single.num_views == 1
    assert found.sum() >= 12
    np.testing.assert_array_equal(single.confidence, np.where(found, 0.9, 0.0))  # its keypoints' score
    # the placement's residual per keypoint it fitted (shoulders, hips, legs among them), NaN where not placed
    fitted = [COCO_KEYPOINT_NAMES.index(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip",
                                                     "left_knee", "right_knee", "left_ankle", "right_ankle")]
    assert (single.reprojection_error_px[fitted] < 2.0).all()
    assert np.isnan(single.reprojection_error_px[~found]).all()


def test_repeated_and_unassociated_detections_of_one_person_give_one_person() -> None:
    calibration = ceiling_room(3)
    truth = people()[:1]
    detections = detections_of(calibration, truth)
    # camera 1 repeats its detection; camera 3's is shifted by 25 px: too far for association, not for duplicates
    detections["cam1"].append(PersonDetection(detections["cam1"][0].keypoints_2d, 0.3, None, 5))
    shifted = detections["cam3"][0].keypoints_2d.copy()
    shifted[:, 0] += 25.0
    detections["cam3"] = [PersonDetection(shifted, 0.9, None, 7)]
    fused = fuse_frame(calibration, detections)
    assert len(fused) == 1
    assert fused[0].placement == TRIANGULATED
    assert fused[0].cameras == ("cam1", "cam2")


def test_single_view_people_can_be_switched_off_and_methods_chosen() -> None:
    calibration = ceiling_room(3)
    detections = detections_of(calibration, people(), {"cam2": [0, 1]})
    assert fuse_frame(calibration, detections, FusionOptions(single_view=False)) == []
    fused = fuse_frame(calibration, detections, FusionOptions(placement=PlacementOptions(method="floor")))
    assert [p.placement for p in fused] == ["single-view floor"] * 2
    no_floor = fuse_frame(calibration.with_floor(None), detections)
    assert [p.placement for p in no_floor] == ["single-view skeleton"] * 2


def test_joints_one_camera_of_a_group_sees_are_filled_in() -> None:
    calibration = ceiling_room(3)
    truth = people()[:1]
    detections = detections_of(calibration, truth)
    for name in ("cam2", "cam3"):  # only camera 1 sees the left wrist
        kp = detections[name][0].keypoints_2d.copy()
        kp[9, 2] = 0.0
        detections[name] = [PersonDetection(kp, 0.9, None, 0)]
    fused = fuse_frame(calibration, detections)[0]
    assert fused.num_views[9] == 1
    assert np.linalg.norm(fused.joints[9] - truth[0, 9]) < 0.15
    bare = fuse_frame(calibration, detections, FusionOptions(fill_single_view_joints=False))[0]
    assert bare.num_views[9] == 0
    assert np.isnan(bare.joints[9]).all()


def test_inputs_that_name_no_known_camera_or_lack_intrinsics_are_refused() -> None:
    calibration = ceiling_room(3)
    with pytest.raises(CalibrationError, match=r"unknown camera 'cam7' \(cameras: cam1, cam2, cam3\)"):
        fuse_frame(calibration, {"cam7": []})
    assert fuse_frame(calibration, {}) == []
    assert fuse_frame(calibration, {"cam1": []}) == []
    pending = calibration.with_camera(PendingCamera("cam2", calibration.camera("cam2").T_world_from_camera))
    with pytest.raises(CalibrationError, match="'cam2': intrinsics: still waiting for camera_info"):
        fuse_frame(pending, {"cam2": []})


def test_people_too_close_to_be_two_are_one() -> None:
    calibration = ceiling_room(3)
    close = np.stack([standing_person((0.0, 0.0)), standing_person((0.2, 0.0))])
    detections = {
        "cam1": detections_of(calibration, close[:1])["cam1"],
        "cam2": detections_of(calibration, close[1:])["cam2"],
    }
    assert len(fuse_frame(calibration, detections)) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_person_score": 1.5}, "min_person_score"),
        ({"outlier_distance_m": 0.0}, "outlier_distance_m"),
        ({"min_ray_angle_deg": 95.0}, "min_ray_angle_deg"),
        ({"min_triangulated_joints": 0}, "min_triangulated_joints"),
    ],
)
def test_invalid_options(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FusionOptions(**kwargs)


def test_mvor_day1_regression() -> None:
    """Real operating-room geometry and OpenPose detections: recall and false positives stay good."""
    dataset = load_mvor(mvor_file("camma_mvor_2018_day1.json"), mvor_file("openpose_kps_day1.json"))
    calibration = dataset.calibration.with_floor(FloorPlane.horizontal(-1.05))  # about the self-calibrated floor
    evaluation = Evaluation(dataset.joint_names, calibration)
    for frame in dataset.frames:
        evaluation.add_frame(frame, fuse_frame(calibration, frame.detections))
    summary = evaluation.summary()
    assert summary["splits"]["all"]["recall_percent"] >= 90.0
    assert summary["splits"]["3"]["arms_error_cm_triangulated_joints"] <= 7.0
    assert summary["false_positives_per_frame_excluding_2d_only_people"] <= 0.15


def test_hop_distances_count_the_bones_between_joints() -> None:
    """A chain 0-1-2-3 and a joint 4 on no bone: |i - j| along the chain, 0 to itself, inf to the loose one."""
    hops = _hop_distances(((0, 1), (2, 1), (2, 3)), 5)
    expected = np.array([[abs(i - j) for j in range(4)] + [np.inf] for i in range(4)] + [[np.inf] * 4 + [0.0]])
    np.testing.assert_array_equal(hops, expected)


@pytest.mark.parametrize("kwargs", [
    {"min_person_score": 0.0}, {"min_person_score": 1.0}, {"min_ray_angle_deg": 0.0}, {"min_ray_angle_deg": 0.5},
    {"min_ray_angle_deg": 89.999}, {"refine_iterations": 0}, {"min_triangulated_joints": 1}])
def test_option_values_at_the_edges_of_their_ranges_are_accepted(kwargs: dict) -> None:
    options = FusionOptions(**kwargs)
    assert getattr(options, next(iter(kwargs))) == next(iter(kwargs.values()))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"min_person_score": -1e-9}, "min_person_score must be in \\[0, 1\\]"),
    ({"min_person_score": 1.0 + 1e-9}, "min_person_score must be in \\[0, 1\\]"),
    ({"min_ray_angle_deg": -1e-9}, "min_ray_angle_deg must be in \\[0, 90\\)"),
    ({"min_ray_angle_deg": 90.0}, "min_ray_angle_deg must be in \\[0, 90\\)"),
    ({"refine_iterations": -1}, "^refine_iterations must be >= 0 and min_triangulated_joints >= 1$"),
    ({"min_triangulated_joints": 0}, "^refine_iterations must be >= 0 and min_triangulated_joints >= 1$"),
])
def test_option_values_just_outside_their_ranges_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FusionOptions(**kwargs)


def test_a_centre_is_the_mean_of_the_placed_torso_joints_else_of_every_placed_joint_per_person() -> None:
    torso = standing_person((0.5, -0.3))
    arms_only = np.full((17, 3), np.nan)
    arms_only[[LEFT_ELBOW, LEFT_WRIST]] = [[1.0, 2.0, 1.2], [1.2, 2.4, 1.0]]
    nothing = np.full((17, 3), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a person with nothing placed gives NaN, not a floating-point warning
        centres = person_centres(np.stack([torso, arms_only, nothing]))
    hips_shoulders = [COCO_KEYPOINT_NAMES.index(n) for n in ("left_shoulder", "right_shoulder", "left_hip",
                                                                 "right_hip")]
    np.testing.assert_allclose(centres[0], torso[hips_shoulders].mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(centres[1], [1.1, 2.2, 1.1], atol=1e-12)
    assert np.isnan(centres[2]).all()


def _person(joints: np.ndarray, views: int = 2, score: float = 0.8) -> FusedPerson:
    placed = np.all(np.isfinite(joints), axis=1)
    return FusedPerson(joints, np.where(placed, 0.7, 0.0), np.where(placed, views, 0),
                       np.where(placed, 1.5, np.nan), score, ("a", "b"), (0, 1), TRIANGULATED)


def test_within_room_unplaces_exactly_the_joints_beyond_the_box_and_keeps_the_rest_of_each_field() -> None:
    joints = np.array([[0.0, 0.0, 1.0]] * 17)
    joints[3] = np.nan  # not placed: neither inside nor outside
    joints[4] = [-1.0, 0.0, 1.0]  # on the lower x face: inside
    joints[5] = [-1.0 - 1e-9, 0.0, 1.0]  # just below it
    joints[6] = [0.0, 2.0 + 1e-9, 1.0]  # just beyond the upper y face
    person = _person(joints)
    low, high = np.array([-1.0, -2.0, 0.0]), np.array([1.0, 2.0, 2.0])
    kept, unplaced = within_room(person, low, high)
    assert unplaced == 2
    assert kept is not None
    gone = np.zeros(17, dtype=bool)
    gone[[5, 6]] = True
    assert np.isnan(kept.joints[gone]).all()
    np.testing.assert_array_equal(kept.joints[~gone], joints[~gone])
    np.testing.assert_array_equal(kept.confidence, np.where(gone, 0.0, person.confidence))
    np.testing.assert_array_equal(kept.num_views, np.where(gone, 0, person.num_views))
    np.testing.assert_array_equal(kept.reprojection_error_px, np.where(gone, np.nan, person.reprojection_error_px))
    only_unplaced_and_inside = _person(np.where(gone[:, None], 0.5, joints))
    assert within_room(only_unplaced_and_inside, low, high) == (only_unplaced_and_inside, 0)


def test_of_people_too_close_the_one_with_most_views_then_joints_then_score_is_kept() -> None:
    """Centres on the floor plane (the up direction's component removed): people at least the distance apart
    are all kept (the distance itself included)."""
    up = np.array([0.0, 0.0, 1.0])

    def at(x: float, z: float = 1.0, views: int = 2, joints: int = 17, score: float = 0.8) -> FusedPerson:
        j = np.tile([x, 0.0, z], (17, 1))  # every joint on the centre: it is exactly (x, 0, z)
        j[joints:] = np.nan
        return _person(j, views, score)

    many_views, few_views = at(0.0, views=2), at(0.25, views=3)
    assert _remove_close_people([many_views, few_views], up, 0.5) == [few_views]
    more_joints, fewer_joints = at(0.0, joints=17), at(0.25, joints=14)
    assert _remove_close_people([fewer_joints, more_joints], up, 0.5) == [more_joints]
    one_view_more_joints, one_view_fewer_joints = at(0.0, views=1, joints=17, score=0.6), at(0.25, views=1, joints=14)
    assert _remove_close_people([one_view_fewer_joints, one_view_more_joints], up, 0.5) == [one_view_more_joints]
    low, high = at(0.0, score=0.6), at(0.25, score=0.7)
    assert _remove_close_people([low, high], up, 0.5) == [high]
    above = at(0.0, z=2.5, score=0.7)  # above another on the same floor spot: as close as can be
    assert _remove_close_people([low, above], up, 0.5) == [above]
    apart = at(0.5, score=0.7)  # exactly the distance apart: both kept, best first
    assert _remove_close_people([low, apart], up, 0.5) == [apart, low]
    nearly = at(0.5 - 2**-20, score=0.7)
    assert _remove_close_people([low, nearly], up, 0.5) == [nearly]
    assert _remove_close_people([], up, 0.5) == []


def test_the_floor_under_standing_people_is_at_their_feet_for_their_stature_and_none_without_people() -> None:
    lift = np.array([0.0, 0.0, 0.3])  # both stand on a floor 0.3 m up
    tall = [standing_person(xy, heading, stature_m=1.9) + lift for xy, heading in (((0, 0), 0), ((1, 0), 1))]
    floor = floor_under(tall, 1.9)
    np.testing.assert_allclose(floor.normal_world, [0.0, 0.0, 1.0], atol=1e-9)
    assert floor.offset_m == pytest.approx(0.3, abs=1e-6)
    assert floor_under([], 1.9) is None


def test_the_self_calibrated_floor_fuses_with_the_given_options() -> None:
    calibration = ceiling_room(3)
    frames = [detections_of(calibration, people())]  # every detection scores 0.9
    floor = self_calibrated_floor(calibration, frames)
    assert floor.offset_m == pytest.approx(0.0, abs=1e-3)
    assert self_calibrated_floor(calibration, frames, FusionOptions(min_person_score=0.95)) is None


def _scores(detections: dict, scores: dict[str, dict[int, float]]) -> dict:
    """``detections`` (one per camera) with the keypoint scores ``scores[camera][keypoint]``."""
    out = {}
    for name, (detection,) in detections.items():
        kp = detection.keypoints_2d.copy()
        for keypoint, score in scores.get(name, {}).items():
            kp[keypoint, 2] = score
        out[name] = [PersonDetection(kp, detection.score, None, detection.index)]
    return out


def test_keypoints_from_exactly_the_minimum_score_are_triangulated_and_filled() -> None:
    calibration = ceiling_room(3)
    truth = people()[:1]
    edge = AssociationOptions().min_joint_score
    everywhere = {name: dict.fromkeys(range(17), edge) for name in calibration.names}
    (person,) = fuse_frame(calibration, _scores(detections_of(calibration, truth), everywhere))
    assert (person.num_views == 3).all()
    for score, views in ((edge, 1), (np.nextafter(edge, 0.0), 0)):  # the wrist seen by cam1 alone
        hidden = {"cam2": {LEFT_WRIST: 0.0}, "cam3": {LEFT_WRIST: 0.0}, "cam1": {LEFT_WRIST: score}}
        (person,) = fuse_frame(calibration, _scores(detections_of(calibration, truth), hidden))
        assert person.num_views[LEFT_WRIST] == views


def test_a_joint_only_the_weakest_view_sees_is_filled_from_it_at_its_neighbours_depth_with_its_score() -> None:
    """The views fill in order of their score sums; a later view still fills what the earlier ones do not
    see: the wrist goes on cam3's ray at the depth (in cam3) of its triangulated neighbour, the elbow."""
    calibration = ceiling_room(3)
    truth = people()[:1]
    weak = {"cam3": {**dict.fromkeys(range(17), 0.5), LEFT_WRIST: 0.45},
            "cam1": {LEFT_WRIST: 0.0}, "cam2": {LEFT_WRIST: 0.0}}
    (person,) = fuse_frame(calibration, _scores(detections_of(calibration, truth), weak))
    assert person.cameras == ("cam1", "cam2", "cam3")
    assert person.num_views[LEFT_WRIST] == 1
    assert person.confidence[LEFT_WRIST] == pytest.approx(0.45)
    others = np.arange(17) != LEFT_WRIST  # triangulated from all three: the mean of their scores
    np.testing.assert_allclose(person.confidence[others], (0.9 + 0.9 + 0.5) / 3, atol=1e-12)
    np.testing.assert_array_equal(person.joint_views[2], np.ones(17, dtype=bool))  # cam3: all, wrist included
    np.testing.assert_array_equal(person.joint_views[0], np.arange(17) != LEFT_WRIST)
    camera = calibration.camera("cam3")
    R, t = camera.T_world_from_camera[:3, :3], camera.T_world_from_camera[:3, 3]
    depth = (R.T @ (person.joints[LEFT_ELBOW] - t))[2]
    u, v = keypoints_of(camera, truth[0])[LEFT_WRIST, :2]
    expected = R @ (np.linalg.solve(camera.K, [u, v, 1.0]) * depth) + t
    np.testing.assert_allclose(person.joints[LEFT_WRIST], expected, atol=1e-9)


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_a_group_is_triangulated_from_exactly_min_triangulated_joints(order: tuple[int, int]) -> None:
    """Person 1's left arm is seen by cam1 alone: 15 joints triangulated (its elbow and wrist are filled)."""
    calibration = ceiling_room(3)
    truth = people()[:2][list(order)]
    detections = detections_of(calibration, truth)
    arm = order.index(1)
    for name in ("cam2", "cam3"):
        for k, detection in enumerate(detections[name]):
            if detection.index == 10 + arm:
                kp = detection.keypoints_2d.copy()
                kp[[LEFT_ELBOW, LEFT_WRIST], 2] = 0.0
                detections[name][k] = PersonDetection(kp, detection.score, None, detection.index)
    at_edge = fuse_frame(calibration, detections, FusionOptions(min_triangulated_joints=15))
    assert [p.placement for p in at_edge] == [TRIANGULATED] * 2
    above = fuse_frame(calibration, detections, FusionOptions(min_triangulated_joints=16))
    assert above[0].placement == TRIANGULATED
    assert [p.detection_indices for p in above if p.placement == TRIANGULATED] == [(10 + 1 - arm,) * 3]
    assert len(above) == 2  # the other one placed from single cameras, once
    assert above[1].placement.startswith("single-view")


def test_people_are_sorted_triangulated_first_then_by_decreasing_score() -> None:
    calibration = ceiling_room(3)
    truth = people()
    detections = {name: [PersonDetection(d.keypoints_2d, (0.7, 0.9, 0.8)[d.index - 10], None, d.index)
                         for d in dets] for name, dets in detections_of(calibration, truth).items()}
    for k, (xy, score) in enumerate((((0.0, 1.6), 0.6), ((-1.2, -1.4), 0.65))):
        lonely = standing_person(xy, 2.0)
        detections["cam3"].append(PersonDetection(keypoints_of(calibration.camera("cam3"), lonely), score, None,
                                                  50 + k))
    fused = fuse_frame(calibration, detections)
    assert [p.score for p in fused] == pytest.approx([0.9, 0.8, 0.7, 0.65, 0.6])
    assert [p.placement == TRIANGULATED for p in fused] == [True] * 3 + [False] * 2


def test_a_single_camera_detection_whose_rays_meet_a_triangulated_person_is_that_person() -> None:
    """Camera 3 sees the person twice, the second time 15 px off (too far to be a repeat in the image): the
    group takes one detection per camera, the other is left alone, but its rays pass within the threshold of
    the triangulated joints: it is not a second person, even where people may stand as close as 1 mm."""
    calibration = ceiling_room(3)
    truth = people()[:1]
    detections = detections_of(calibration, truth)
    shifted = detections["cam3"][0].keypoints_2d.copy()
    shifted[:, 0] += 15.0
    detections["cam3"].append(PersonDetection(shifted, 0.5, None, 7))
    fused = fuse_frame(calibration, detections, FusionOptions(min_person_distance_m=1e-3))
    assert [p.detection_indices for p in fused] == [(10, 10, 10)]


def _noisy(detections: dict, px: float) -> dict:
    rng = np.random.default_rng(7)
    out = {}
    for name, dets in detections.items():
        out[name] = []
        for d in dets:
            kp = d.keypoints_2d.copy()
            kp[:, :2] += rng.uniform(-px, px, kp[:, :2].shape)
            out[name].append(PersonDetection(kp, d.score, None, d.index))
    return out


def test_the_triangulation_and_matching_options_reach_their_stages() -> None:
    calibration = ceiling_room(3)
    detections = _noisy(detections_of(calibration, people()[:1]), 2.0)
    P = np.stack([c.projection_matrix for c in calibration.cameras])
    uv = np.stack([detections[name][0].keypoints_2d[:, :2] for name in calibration.names])
    for steps in (0, 2):  # the linear solution, and two Gauss-Newton steps from it
        (person,) = fuse_frame(calibration, detections, FusionOptions(refine_iterations=steps))
        expected = triangulate(P, uv, np.full((3, 17), 0.9), refine_iterations=steps).points
        np.testing.assert_allclose(person.joints, expected, atol=1e-12)
    # cam1's wrist 15 px off: its ray misses by a few cm, within the default 0.1 m, beyond 1 cm
    off = {name: list(dets) for name, dets in detections_of(calibration, people()[:1]).items()}
    kp = off["cam1"][0].keypoints_2d.copy()
    kp[LEFT_WRIST, 0] += 15.0
    off["cam1"] = [PersonDetection(kp, 0.9, None, 10)]
    assert fuse_frame(calibration, off)[0].num_views[LEFT_WRIST] == 3
    assert fuse_frame(calibration, off, FusionOptions(outlier_distance_m=0.01))[0].num_views[LEFT_WRIST] == 2
    # the nose unsure in cam1 and cam2: every pair of cameras shares 16 confident keypoints, and 17 are asked for
    unsure = _scores(detections_of(calibration, people()[:1]), {"cam1": {0: 0.0}, "cam2": {0: 0.0}})
    assert fuse_frame(calibration, unsure)[0].placement == TRIANGULATED
    strict = FusionOptions(association=AssociationOptions(min_common_joints=17))
    assert [p.placement == TRIANGULATED for p in fuse_frame(calibration, unsure, strict)] == [False]


def test_cameras_with_lens_distortion_triangulate_exactly() -> None:
    base = ceiling_room(3)
    calibration = RoomCalibration("room", tuple(replace(c, distortion=np.array([-0.12, 0.03, 0.001, -0.002, 0.0]))
                                                for c in base.cameras), base.floor)
    truth = people()
    fused = fuse_frame(calibration, detections_of(calibration, truth))
    assert [p.placement for p in fused] == [TRIANGULATED] * 3
    for person in fused:
        k = int(np.argmin(np.linalg.norm(person_centres(truth) - person.centre, axis=1)))
        np.testing.assert_allclose(person.joints, truth[k], atol=1e-6)


def test_a_single_camera_person_that_cannot_be_placed_leaves_the_others_placed() -> None:
    calibration = ceiling_room(3)
    detections = {"cam3": []}
    for k, xy in enumerate(((0.0, 1.4), (-1.0, -1.0))):
        kp = keypoints_of(calibration.camera("cam3"), standing_person(xy, 1.0))
        if k == 0:
            kp[3:, 2] = 0.0  # 3 confident keypoints: fewer than the placement's min_joints
        detections["cam3"].append(PersonDetection(kp, 0.9, None, 60 + k))
    fused = fuse_frame(calibration, detections)
    assert [p.detection_indices for p in fused] == [(61,)]


def test_a_single_camera_person_is_placed_with_the_3d_skeleton_its_detection_carries() -> None:
    calibration = ceiling_room(3)
    camera = calibration.camera("cam3")
    kp = keypoints_of(camera, standing_person((0.3, -0.2), 1.0))
    template = place_people(camera, kp[None], floor=calibration.floor).joints_h36m[0]
    skeleton = (template - template[0]) * 0.8  # a smaller body than the template, pelvis-relative
    fused = fuse_frame(calibration, {"cam3": [PersonDetection(kp, 0.9, skeleton, 3)]})
    expected = place_people(camera, kp[None], skeleton[None], floor=calibration.floor, options=PlacementOptions())
    np.testing.assert_allclose(fused[0].joints, camera.to_world(expected.joints_coco[0]), atol=1e-9)
    plain = fuse_frame(calibration, {"cam3": [PersonDetection(kp, 0.9, None, 3)]})
    assert np.nanmax(np.abs(plain[0].joints - fused[0].joints)) > 1e-3


def test_views_fill_in_order_of_their_score_sums_each_at_its_nearest_placed_neighbours_depth() -> None:
    """cam2 (the highest score sum) alone sees the left wrist, cam1 (the lowest) alone the left elbow. cam2
    fills first: its wrist at the depth of the nearest placed joint, the shoulder (2 bones; the elbow is not
    placed yet); then cam1's elbow at the shoulder's depth (1 bone, ahead of the now placed wrist: ties go to
    the lower joint index)."""
    calibration = ceiling_room(3)
    truth = people()[:1]
    shoulder = COCO_KEYPOINT_NAMES.index("left_shoulder")
    scores = {"cam1": {**dict.fromkeys(range(17), 0.5), LEFT_WRIST: 0.0},
              "cam2": {**dict.fromkeys(range(17), 0.9), LEFT_ELBOW: 0.0},
              "cam3": {**dict.fromkeys(range(17), 0.7), LEFT_ELBOW: 0.0, LEFT_WRIST: 0.0}}
    (person,) = fuse_frame(calibration, _scores(detections_of(calibration, truth), scores))
    assert person.num_views[LEFT_ELBOW] == person.num_views[LEFT_WRIST] == 1

    def at_depth_of(name: str, keypoint: int, neighbour: int) -> np.ndarray:
        camera = calibration.camera(name)
        R, t = camera.T_world_from_camera[:3, :3], camera.T_world_from_camera[:3, 3]
        depth = (R.T @ (person.joints[neighbour] - t))[2]
        u, v = keypoints_of(camera, truth[0])[keypoint, :2]
        return R @ (np.linalg.solve(camera.K, [u, v, 1.0]) * depth) + t

    np.testing.assert_allclose(person.joints[LEFT_WRIST], at_depth_of("cam2", LEFT_WRIST, shoulder), atol=1e-9)
    np.testing.assert_allclose(person.joints[LEFT_ELBOW], at_depth_of("cam1", LEFT_ELBOW, shoulder), atol=1e-9)


def test_joints_seen_under_rays_closer_than_min_ray_angle_are_not_triangulated() -> None:
    """Two cameras 0.3 m apart, 3 m from the person: each joint's rays meet at about 5-6 degrees. Just below
    the smallest of those angles every joint is triangulated; just above the largest none is."""
    K = np.array([[544.0, 0.0, 319.5], [0.0, 544.5, 239.5], [0.0, 0.0, 1.0]])
    centres = [np.array([3.0, y, 2.0]) for y in (-0.15, 0.15)]
    cameras = tuple(PinholeCamera(f"cam{k + 1}", 640, 480, K, T_world_from_camera=look_at(c, [0.0, 0.0, 1.0]))
                    for k, c in enumerate(centres))
    calibration = RoomCalibration("pair", cameras, FloorPlane.horizontal(0.0))
    truth = standing_person((0.0, 0.0), 0.5)
    detections = {c.name: [PersonDetection(keypoints_of(c, truth), 0.9, None, 0)] for c in cameras}
    a, b = truth - centres[0], truth - centres[1]
    cosine = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    angles = np.degrees(np.arccos(cosine))
    assert 4.0 < angles.min() < angles.max() < 7.0
    (below,) = fuse_frame(calibration, detections, FusionOptions(min_ray_angle_deg=angles.min() - 1e-6))
    assert below.placement == TRIANGULATED
    assert (below.num_views == 2).all()
    above = fuse_frame(calibration, detections, FusionOptions(min_ray_angle_deg=angles.max() + 1e-6))
    assert [p.placement != TRIANGULATED for p in above] == [True]


def test_a_camera_close_to_the_person_fills_a_joint_at_its_neighbours_depth_under_a_metre() -> None:
    """cam3, 0.7 m in front of the person, alone sees the left wrist: it is filled on cam3's ray at the depth
    (in cam3, 0.68 m) of its triangulated neighbour, the elbow; any depth in front of the camera counts."""
    base = ceiling_room(2)
    truth = standing_person((0.0, 0.0), 0.0)
    middle = truth.mean(axis=0)
    K = np.array([[300.0, 0.0, 319.5], [0.0, 300.0, 239.5], [0.0, 0.0, 1.0]])
    close = PinholeCamera("cam3", 640, 480, K, T_world_from_camera=look_at(middle - np.array([0.0, 0.7, 0.0]), middle))
    calibration = RoomCalibration("room", (*base.cameras, close), base.floor)
    detections = {}
    for camera in calibration.cameras:
        kp = keypoints_of(camera, truth)
        if camera.name != "cam3":
            kp[LEFT_WRIST, 2] = 0.0
        detections[camera.name] = [PersonDetection(kp, 0.9, None, 0)]
    (person,) = fuse_frame(calibration, detections)
    assert person.num_views[LEFT_WRIST] == 1
    R, t = close.T_world_from_camera[:3, :3], close.T_world_from_camera[:3, 3]
    depth = (R.T @ (person.joints[LEFT_ELBOW] - t))[2]
    assert 0.5 < depth < 1.0
    u, v = keypoints_of(close, truth)[LEFT_WRIST, :2]
    np.testing.assert_allclose(person.joints[LEFT_WRIST], R @ (np.linalg.solve(K, [u, v, 1.0]) * depth) + t,
                               atol=1e-9)


def test_people_are_too_close_by_their_distance_on_the_floor_plane_whatever_their_heights() -> None:
    """One person stands 0.3 m from another on a platform 1 m up: on a horizontal floor plane (or +z without a
    floor) their centres are 0.3 m apart, closer than two bodies allow; on a floor tilted by 45 degrees they
    are 0.9 m apart on its plane, so two people."""
    calibration = ceiling_room(3)
    truth = np.stack([standing_person((0.0, 0.0), 0.0), standing_person((0.0, 0.3), 1.5) + np.array([0.0, 0.0, 1.0])])
    detections = detections_of(calibration, truth)
    tilted = np.array([0.0, -np.sqrt(0.5), np.sqrt(0.5)])
    d = person_centres(truth)[1] - person_centres(truth)[0]
    for up, apart in ((np.array([0.0, 0.0, 1.0]), 1), (tilted, 2)):
        on_plane = np.linalg.norm(d - (d @ up) * up)
        assert (on_plane >= FusionOptions().min_person_distance_m) == (apart == 2)
    assert len(fuse_frame(calibration, detections)) == 1
    assert len(fuse_frame(calibration.with_floor(None), detections)) == 1
    assert len(fuse_frame(calibration.with_floor(FloorPlane(tilted, 0.0)), detections)) == 2


def test_a_single_camera_persons_unsure_keypoints_are_not_placed_and_have_no_confidence() -> None:
    calibration = ceiling_room(3)
    kp = keypoints_of(calibration.camera("cam3"), standing_person((0.0, 1.4), 2.5))
    kp[:5, 2] = 0.0  # the head's five keypoints unsure
    (person,) = fuse_frame(calibration, {"cam3": [PersonDetection(kp, 0.9, None, 1)]})
    head = np.arange(17) < 5
    assert np.isnan(person.joints[head]).all()
    assert np.isfinite(person.joints[~head]).all()
    np.testing.assert_array_equal(person.num_views, np.where(head, 0, 1))
    assert person.num_views.dtype == np.int64  # (17,) int, as documented (views are counted, not measured)
    np.testing.assert_array_equal(person.confidence, np.where(head, 0.0, 0.9))
    assert np.isnan(person.reprojection_error_px[head]).all()
