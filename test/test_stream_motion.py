"""FusionStream's motion output: velocity, centre covariance, tracking state (new / measured / predicted), time
since last measured, joint covariances; people occluded for up to the track's max age are predicted."""

from __future__ import annotations

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, standing_person

from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.motion import TrackingState
from orpose_ros.fusion.pipeline import TRIANGULATED
from orpose_ros.fusion.stream import FusionStream, StreamOptions
from orpose_ros.fusion.support import SupportOptions
from orpose_ros.fusion.tracking import TrackerOptions
from orpose_ros.fusion.uncertainty import largest_sigma_m
from orpose_ros.geometry.calibration import RoomCalibration

ROOM = ceiling_room(3)
SPEED = 0.8  # m/s along x


def walker(t: float) -> np.ndarray:
    return standing_person((-1.0 + SPEED * t, 0.3), heading_rad=0.0)


def frame(calibration: RoomCalibration, t: float, cameras: tuple[str, ...] | None = None) -> dict:
    names = calibration.names if cameras is None else cameras
    return {name: [PersonDetection(keypoints_of(calibration.camera(name), walker(t)), 0.9, None, 0)] for name in names}


def centre(joints: np.ndarray) -> np.ndarray:
    return joints[[5, 6, 11, 12]].mean(axis=0)


def walk(stream: FusionStream, frames: int, dt: float = 0.1) -> list:
    return [stream.process(dt * k, frame(ROOM, dt * k)) for k in range(frames)]


def test_a_walker_is_new_then_measured_with_its_velocity_and_a_shrinking_covariance() -> None:
    stream = FusionStream(ROOM, StreamOptions(predicted=True))
    frames = walk(stream, 20)
    assert all(len(people) == 1 for people in frames)
    first, last = frames[0][0], frames[-1][0]
    assert first.motion.state == TrackingState.NEW
    assert np.allclose(first.motion.velocity, 0.0)
    assert all(f[0].motion.state == TrackingState.MEASURED and f[0].motion.since_measured_s == 0.0 for f in frames[1:])
    np.testing.assert_allclose(last.motion.velocity, [SPEED, 0.0, 0.0], atol=0.05)
    np.testing.assert_allclose(last.motion.centre, centre(walker(1.9)), atol=0.02)
    first_var = np.linalg.eigvalsh(first.motion.centre_covariance)
    last_var = np.linalg.eigvalsh(last.motion.centre_covariance)
    assert first_var == pytest.approx([0.01] * 3)  # the measurement noise, 0.1 m
    assert 0 < last_var.max() < 0.5 * 0.01
    assert np.allclose(last.motion.centre_covariance, last.motion.centre_covariance.T)
    assert np.all(np.linalg.eigvalsh(last.motion.velocity_covariance) > 0)


def test_joints_carry_their_covariance_tight_when_triangulated_long_along_the_ray_from_one_camera() -> None:
    stream = FusionStream(ROOM)
    three = stream.process(0.0, frame(ROOM, 0.0))[0]
    assert three.placement == TRIANGULATED
    assert three.joint_views.shape == (3, 17)
    assert np.all(largest_sigma_m(three.joint_covariance) < 0.05)
    at_once = StreamOptions(support=SupportOptions(single_view_min_frames=1))  # a single-camera person at once
    single = FusionStream(ROOM, at_once).process(0.0, frame(ROOM, 0.0, cameras=("cam1",)))[0]
    assert single.placement.startswith("single-view")
    assert single.joint_views.shape == (1, 17)
    wrist = single.joints[9]
    ray = (wrist - ROOM.camera("cam1").centre_world) / np.linalg.norm(wrist - ROOM.camera("cam1").centre_world)
    along = np.sqrt(ray @ single.joint_covariance[9] @ ray)
    assert along > 3 * np.sqrt(np.linalg.eigvalsh(single.joint_covariance[9])[0])
    assert along > 0.15


def test_an_occluded_walker_is_predicted_until_the_max_age_then_dropped() -> None:
    stream = FusionStream(ROOM, StreamOptions(tracking=TrackerOptions(max_age_s=1.0), predicted=True))
    measured = walk(stream, 11)[-1][0]  # last measured at t = 1.0 s
    seen_id = measured.id
    covariance = measured.motion.centre_covariance
    for t in (1.3, 1.999):  # 0.999 s unseen: 1 ms inside the max age
        (person,) = stream.process(t, {})
        assert person.id == seen_id
        assert person.motion.state == TrackingState.PREDICTED
        assert person.motion.since_measured_s == pytest.approx(t - 1.0)
        assert person.cameras == ()
        assert person.detection_indices == ()
        assert person.joint_views is None  # no camera of this moment placed a joint
        # the skeleton follows the walk, the uncertainty grows
        np.testing.assert_allclose(centre(person.joints), centre(walker(t)), atol=0.05)
        assert np.linalg.eigvalsh(person.motion.centre_covariance)[0] > np.linalg.eigvalsh(covariance)[-1]
        grown = person.joint_covariance - measured.joint_covariance
        centre_growth = person.motion.centre_covariance - measured.motion.centre_covariance
        np.testing.assert_allclose(grown, np.broadcast_to(centre_growth, grown.shape), atol=1e-12)
        covariance = person.motion.centre_covariance
    assert stream.process(2.001, {}) == []  # 1.001 s unseen: 1 ms past the max age


def test_a_returning_walker_is_measured_again_under_its_id_and_predictions_are_opt_in() -> None:
    stream = FusionStream(ROOM, StreamOptions(predicted=True))
    first_id = walk(stream, 5)[-1][0].id
    assert stream.process(0.6, {})[0].motion.state == TrackingState.PREDICTED
    (back,) = stream.process(0.7, frame(ROOM, 0.7))
    assert back.id == first_id
    assert back.motion.state == TrackingState.MEASURED
    assert back.motion.since_measured_s == 0
    quiet = FusionStream(ROOM)  # default: measured people only
    walk(quiet, 5)
    assert quiet.process(0.6, {}) == []


def test_the_tracker_reports_each_row_track_and_its_covariances() -> None:
    stream = FusionStream(ROOM)
    walk(stream, 3)
    (track,) = stream.tracker.tracks
    assert stream.tracker.row_tracks.tolist() == [track.id]
    assert stream.tracker.stamp_s == pytest.approx(0.2)
    assert track.position_covariance.shape == track.velocity_covariance.shape == (3, 3)
    stream.process(0.3, {})
    assert stream.tracker.row_tracks.tolist() == []
