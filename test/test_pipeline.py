"""fuse_frame: triangulated and single-camera people in the world frame, without duplicates; errors."""

from __future__ import annotations

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, mvor_file, standing_person

from orpose_ros.evaluation.mvor import load_mvor
from orpose_ros.evaluation.mvor_evaluation import Evaluation
from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.pipeline import TRIANGULATED, FusionOptions, fuse_frame, person_centres
from orpose_ros.geometry.calibration import CalibrationError, FloorPlane, PendingCamera, RoomCalibration
from orpose_ros.geometry.placement import PlacementOptions

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
