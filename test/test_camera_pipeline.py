"""One camera from frame to people (ROS-free): which camera model a frame gets (calibration, camera_info,
nominal), the frame result of a camera's pipeline, one batched inference for several cameras."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, standing_person

from orpose_ros.camera_people import CameraPerson
from orpose_ros.camera_pipeline import (
    NOMINAL_HFOV_DEG,
    CameraFrame,
    CameraModels,
    CameraPipeline,
    FrameResult,
    PersonResult,
    check_frame,
    process_frames,
)
from orpose_ros.geometry.calibration import PendingCamera, RoomCalibration
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.poses import DetectedPerson, FramePoses

ROOM = ceiling_room(2)
TOPIC = "/cam1/image_raw"


def calibration() -> RoomCalibration:
    """ROOM with cam1 on TOPIC and cam2 a camera whose intrinsics come from camera_info (on /cam2/image_raw)."""
    cam1, cam2 = ROOM.cameras
    calibrated = PinholeCamera(cam1.name, cam1.width, cam1.height, cam1.K, cam1.distortion,
                               cam1.T_world_from_camera, image_topic=TOPIC)
    pending = PendingCamera(cam2.name, cam2.T_world_from_camera, image_topic="/cam2/image_raw")
    return RoomCalibration("room", (calibrated, pending), ROOM.floor)


def scaled_k(K: np.ndarray, from_size: tuple[int, int], to_size: tuple[int, int]) -> np.ndarray:
    """K of a resized image: pixel centres map as u' = (u + 0.5) * s - 0.5 (cv2.resize), so f' = f s and
    c' = (c + 0.5) s - 0.5 per axis."""
    sx, sy = to_size[0] / from_size[0], to_size[1] / from_size[1]
    return np.array([[K[0, 0] * sx, K[0, 1] * sx, (K[0, 2] + 0.5) * sx - 0.5],
                     [0.0, K[1, 1] * sy, (K[1, 2] + 0.5) * sy - 0.5], [0.0, 0.0, 1.0]])


def nominal_k(width: int, height: int, hfov_deg: float) -> np.ndarray:
    f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def test_a_calibrated_topic_takes_the_calibrations_camera_name_and_floor() -> None:
    room = calibration()
    models = CameraModels.of_topic(TOPIC, room, index=4, nominal_hfov_deg=75.0)
    assert models.name == "cam1"
    assert models.calibrated is room.cameras[0]
    assert models.floor is room.floor
    assert models.nominal_hfov_deg == 75.0
    assert models.info_camera is None


@pytest.mark.parametrize(("topic", "name"), [("/other/image_raw", "other/image_raw"), ("", "camera_4")])
def test_an_unknown_topic_is_named_by_its_marker_namespace_without_a_floor(topic: str, name: str) -> None:
    for room in (calibration(), None):
        models = CameraModels.of_topic(topic, room, index=4)
        assert models.name == name
        assert models.calibrated is None
        assert models.floor is None
        assert models.nominal_hfov_deg == NOMINAL_HFOV_DEG
    assert CameraModels.of_topic("", None).name == "camera_0"  # the first camera by default


def test_a_calibrated_camera_is_scaled_to_the_frame_and_metric() -> None:
    room = calibration()
    camera, metric = CameraModels.of_topic(TOPIC, room).at(320, 240)
    assert metric is True
    assert (camera.width, camera.height) == (320, 240)
    np.testing.assert_allclose(camera.K, scaled_k(room.cameras[0].K, (640, 480), (320, 240)), atol=1e-12)
    np.testing.assert_array_equal(camera.T_world_from_camera, room.cameras[0].T_world_from_camera)


def test_a_pending_camera_is_completed_by_camera_info_then_scaled() -> None:
    room = calibration()
    models = CameraModels.of_topic("/cam2/image_raw", room)
    assert models.name == "cam2"
    # no camera_info yet: a nominal camera of the frame's size, not metric
    camera, metric = models.at(800, 600)
    assert metric is False
    np.testing.assert_allclose(camera.K, nominal_k(800, 600, NOMINAL_HFOV_DEG), atol=1e-12)
    assert camera.name == "cam2"
    info_k = np.array([[500.0, 0.0, 319.5], [0.0, 505.0, 241.5], [0.0, 0.0, 1.0]])
    models.info_camera = PinholeCamera("info", 640, 480, info_k, np.array([-0.1, 0.01, 0.0, 0.0, 0.0]))
    camera, metric = models.at(1280, 960)
    assert metric is True
    np.testing.assert_allclose(camera.K, scaled_k(info_k, (640, 480), (1280, 960)), atol=1e-12)
    np.testing.assert_array_equal(camera.distortion, [-0.1, 0.01, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(camera.T_world_from_camera, room.cameras[1].T_world_from_camera)  # the pose
    assert camera.name == "cam2"


def test_without_calibration_the_camera_info_else_a_nominal_camera_of_the_given_field_of_view() -> None:
    models = CameraModels.of_topic("/x/image_raw", None, nominal_hfov_deg=90.0)
    camera, metric = models.at(640, 480)
    assert metric is False
    np.testing.assert_allclose(camera.K, nominal_k(640, 480, 90.0), atol=1e-12)
    assert camera.K[0, 0] == pytest.approx(320.0)  # 90 degrees: f is half the width
    assert camera.name == "x/image_raw"
    info = PinholeCamera("info", 320, 240, np.array([[300.0, 0.0, 160.0], [0.0, 300.0, 120.0], [0.0, 0.0, 1.0]]))
    models.info_camera = info
    camera, metric = models.at(640, 480)
    assert metric is True
    np.testing.assert_allclose(camera.K, scaled_k(info.K, (320, 240), (640, 480)), atol=1e-12)


def _detected(camera: PinholeCamera, xy: tuple[float, float], score: float) -> DetectedPerson:
    keypoints = keypoints_of(camera, standing_person(xy))
    return DetectedPerson(score=score, bbox=np.zeros(4, np.float32), keypoints_2d=keypoints.astype(np.float32),
                          keypoints_3d=np.full((17, 3), np.nan, np.float32))


def test_a_pipelines_result_places_the_models_people_at_the_frames_stamp_and_size() -> None:
    room = calibration()
    pipeline = CameraPipeline(TOPIC, CameraModels.of_topic(TOPIC, room))
    camera = room.cameras[0]
    people = (_detected(camera, (0.4, 0.2), 0.9), _detected(camera, (-0.7, -0.3), 0.8))
    view = np.zeros((480, 640, 3), np.uint8)
    result = pipeline.result(1_500_000_000, "cam1_optical", FramePoses(640, 480, 4, people, view))
    assert (result.stamp_ns, result.source, result.frame_id) == (1_500_000_000, TOPIC, "cam1_optical")
    assert (result.width, result.height, result.downsample_factor) == (640, 480, 4)
    assert result.metric is True
    np.testing.assert_allclose(result.camera.K, camera.K, atol=1e-12)
    assert result.model_view is view
    assert [p.detection for p in result.people] == list(people)
    assert [p.location.method for p in result.people] == ["skeleton+floor"] * 2  # with the room's floor
    assert pipeline.people.tracker.stamp_s == pytest.approx(1.5, abs=1e-12)  # ns -> s
    for person, xy in zip(result.people, ((0.4, 0.2), (-0.7, -0.3)), strict=True):
        joints = standing_person(xy)
        truth = camera.to_camera((joints[11] + joints[12]) / 2.0)
        assert np.linalg.norm(person.location.pelvis - truth) < 0.1
    assert result.people[0].id == result.people[0].location.id
    poses = result.poses
    assert (poses.width, poses.height, poses.downsample_factor) == (640, 480, 4)
    assert poses.persons == people
    assert poses.model_view is view


def test_skeletons_are_drawn_where_placed_else_at_the_fallback_depth_on_the_pelvis_ray() -> None:
    camera = PinholeCamera.nominal("cam", 640, 480, 60.0)
    keypoints = np.zeros((17, 3), np.float32)
    keypoints[11] = (300.0, 200.0, 0.9)  # left hip
    keypoints[12] = (340.0, 220.0, 0.7)  # right hip
    skeleton = np.arange(51, dtype=np.float32).reshape(17, 3) / 100.0
    detected = DetectedPerson(0.9, np.zeros(4, np.float32), keypoints, skeleton)
    placed_joints = np.full((17, 3), 2.0)
    placed = CameraPerson(5, True, "skeleton", placed_joints[0], placed_joints, 1.0)
    unplaced = CameraPerson.unplaced(6)
    result = FrameResult(0, "/cam/image_raw", "cam", 640, 480, 1, camera, True,
                         (PersonResult(detected, placed), PersonResult(detected, unplaced)))
    drawn = result.skeletons_to_draw(3.0)
    assert [person_id for person_id, _ in drawn] == [5, 6]
    np.testing.assert_array_equal(drawn[0][1], placed_joints)
    # the pelvis: the hips' middle (320, 210) px, 3 m deep: x = (u - cx) z / f, y = (v - cy) z / f
    f, cx, cy = camera.K[0, 0], camera.K[0, 2], camera.K[1, 2]
    anchor = np.array([(320.0 - cx) * 3.0 / f, (210.0 - cy) * 3.0 / f, 3.0])
    np.testing.assert_allclose(drawn[1][1], skeleton + anchor, atol=1e-6)


class RecordingBackend:
    """A pose backend that returns the given poses per frame and records what it was asked."""

    def __init__(self, poses: dict[int, FramePoses]) -> None:
        self.poses = poses  # by the frame's first pixel value
        self.calls: list[tuple] = []

    def predict(self, frames: list[np.ndarray], *, restore_to: list | None = None,
                return_model_view: bool = False) -> list[FramePoses]:
        self.calls.append(("predict", [int(f[0, 0, 0]) for f in frames], restore_to, return_model_view))
        return [self.poses[int(f[0, 0, 0])] for f in frames]

    def check_frame(self, frame: np.ndarray, restore_to: object = None) -> int:
        self.calls.append(("check", int(frame[0, 0, 0]), restore_to))
        if frame.shape[0] < 2:
            raise ValueError("frame too small")
        return 1


def test_frames_of_several_cameras_go_through_one_batched_inference_then_each_cameras_pipeline() -> None:
    room = calibration()
    cam1 = room.cameras[0]
    first = CameraPipeline(TOPIC, CameraModels.of_topic(TOPIC, room))
    second = CameraPipeline("/x/image_raw", CameraModels.of_topic("/x/image_raw", room))
    image_a, image_b = np.full((480, 640, 3), 1, np.uint8), np.full((240, 320, 3), 2, np.uint8)
    poses = {1: FramePoses(640, 480, 1, (_detected(cam1, (0.2, 0.1), 0.9),)), 2: FramePoses(320, 240, 2)}
    backend = RecordingBackend(poses)
    frames = [check_frame(backend, first, image_a, 10, "a_optical"),
              check_frame(backend, second, image_b, 20, "b_optical", restore_to=(480, 640))]
    assert backend.calls == [("check", 1, None), ("check", 2, (480, 640))]
    assert frames[1] == CameraFrame(second, image_b, 20, "b_optical", (480, 640))
    results = process_frames(backend, frames, return_model_view=True)
    assert backend.calls[2:] == [("predict", [1, 2], [None, (480, 640)], True)]
    assert [(r.source, r.stamp_ns, r.frame_id) for r in results] == [(TOPIC, 10, "a_optical"),
                                                                      ("/x/image_raw", 20, "b_optical")]
    assert [r.metric for r in results] == [True, False]  # the second camera is not calibrated
    assert [len(r.people) for r in results] == [1, 0]
    assert results[1].downsample_factor == 2
    process_frames(backend, frames)
    assert backend.calls[-1][3] is False  # the model view only when asked for
    calls = len(backend.calls)
    assert process_frames(backend, []) == []
    assert len(backend.calls) == calls  # no frame: no inference


def test_a_frame_the_backend_cannot_take_is_refused_before_inference() -> None:
    backend = RecordingBackend({})
    pipeline = CameraPipeline(TOPIC, CameraModels.of_topic(TOPIC, calibration()))
    frame = check_frame(backend, pipeline, np.zeros((4, 4, 3), np.uint8), 5)
    assert (frame.frame_id, frame.restore_to) == ("", None)  # unknown frame id, a full-resolution frame
    with pytest.raises(ValueError, match="frame too small"):
        check_frame(backend, pipeline, np.zeros((1, 4, 3), np.uint8), 0)


def test_the_fallback_pelvis_is_the_hips_middle_in_double_precision_through_the_lens_distortion() -> None:
    K = np.array([[550.0, 0.0, 319.5], [0.0, 550.0, 239.5], [0.0, 0.0, 1.0]])
    camera = PinholeCamera("cam", 640, 480, K, np.array([-0.2, 0.05, 0.0, 0.0, 0.0]))
    keypoints = np.zeros((17, 3), np.float32)
    keypoints[11] = (500.1, 400.3, 0.9)  # far from the centre: the distortion matters
    keypoints[12] = (540.7, 420.9, 0.6)
    skeleton = np.zeros((17, 3), np.float32)
    detected = DetectedPerson(0.9, np.zeros(4, np.float32), keypoints, skeleton)
    result = FrameResult(0, "/cam/image_raw", "cam", 640, 480, 1, camera, True,
                         (PersonResult(detected, CameraPerson.unplaced(1)),))
    ((_, joints),) = result.skeletons_to_draw(2.5)
    hips = keypoints[[11, 12], :2].astype(np.float64)  # the float32 pixels, averaged in float64
    expected = camera.back_project((hips[0] + hips[1]) / 2.0, 2.5)
    pinhole = ((hips[0] + hips[1]) / 2.0 - K[:2, 2]) * 2.5 / 550.0  # what the ray would be without distortion
    assert np.linalg.norm(expected[:2] - pinhole) > 0.01  # far off-centre the distortion moves it by centimetres
    np.testing.assert_allclose(joints, np.broadcast_to(expected, (17, 3)), rtol=0, atol=1e-13)
