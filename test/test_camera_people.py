"""People of one camera over time: placed in the camera frame, identities kept, never reused."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, standing_person

from orpose_ros.camera_people import SINGLE_CAMERA_NOISE_M, CameraPeople, CameraPerson
from orpose_ros.fusion.motion import TrackingState
from orpose_ros.fusion.smoothing import OneEuroOptions
from orpose_ros.fusion.tracking import TrackerOptions
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.geometry.placement import PlacementOptions, place_people
from orpose_ros.poses import DetectedPerson

ROOM = ceiling_room(1)
CAMERA = ROOM.cameras[0]


def _person(position_xy: tuple[float, float], noise_px: float = 0.0, seed: int = 0) -> DetectedPerson:
    keypoints = keypoints_of(CAMERA, standing_person(position_xy))
    keypoints[:, :2] += np.random.default_rng(seed).normal(0.0, noise_px, (17, 2)) if noise_px else 0.0
    return DetectedPerson(score=0.9, bbox=np.zeros(4, np.float32), keypoints_2d=keypoints.astype(np.float32),
                          keypoints_3d=np.full((17, 3), np.nan, np.float32))  # a 2D-only person: the template


def _camera_pelvis(position_xy: tuple[float, float]) -> np.ndarray:
    joints = standing_person(position_xy)
    return CAMERA.to_camera((joints[11] + joints[12]) / 2.0)


def test_people_are_placed_where_they_stand_in_the_camera_frame() -> None:
    people = CameraPeople().update(0.0, [_person((0.5, 0.2)), _person((-0.6, -0.4))], CAMERA, metric=True,
                                   floor=ROOM.floor)
    assert [p.placed for p in people] == [True, True]
    assert [p.method for p in people] == ["skeleton+floor"] * 2
    for person, truth in zip(people, (_camera_pelvis((0.5, 0.2)), _camera_pelvis((-0.6, -0.4))), strict=True):
        assert np.linalg.norm(person.pelvis - truth) < 0.1  # the H36M pelvis lies near the COCO hips' middle
        assert person.joints_h36m.shape == (17, 3)
        assert np.allclose(person.joints_h36m[0], person.pelvis)
        assert person.residual_px < 5.0


def test_identities_follow_people_and_are_never_reused() -> None:
    tracker = CameraPeople()
    seen = []
    for k in range(10):  # two people walking 0.1 m per frame at 10 Hz, in opposite directions
        a, b = (-1.0 + 0.1 * k, 0.3), (1.0 - 0.1 * k, -0.6)
        people = tracker.update(0.1 * k, [_person(a, 1.0, k), _person(b, 1.0, 100 + k)], CAMERA, True, ROOM.floor)
        seen.append([p.id for p in people])
    assert all(ids == seen[0] for ids in seen)
    assert len(set(seen[0])) == 2
    assert min(seen[0]) >= 1
    # gone for longer than max_age (1 s), then back: a new identity, never an old one
    people = tracker.update(3.0, [_person((0.0, 0.0))], CAMERA, True, ROOM.floor)
    assert people[0].id not in seen[0]
    # a replay that starts again (stamps going backwards): tracks restart, ids still never reused
    again = tracker.update(0.0, [_person((0.0, 0.0))], CAMERA, True, ROOM.floor)
    assert tracker.restarts == 1
    assert again[0].id not in {*seen[0], people[0].id}


def test_without_real_intrinsics_nobody_is_placed_but_identities_are_kept() -> None:
    nominal = PinholeCamera.nominal("nominal", 640, 480, 60.0)
    tracker = CameraPeople()
    first = tracker.update(0.0, [_person((0.0, 0.0))], nominal, metric=False)
    second = tracker.update(0.1, [_person((0.05, 0.0))], nominal, metric=False)
    assert not first[0].placed
    assert first[0].method == ""
    assert np.isnan(first[0].pelvis).all()
    assert first[0].id == second[0].id >= 1


def test_smoothing_damps_jitter_of_the_placed_joints() -> None:
    raw, smooth = CameraPeople(), CameraPeople(smoothing=OneEuroOptions(min_cutoff_hz=0.5, beta=0.0))
    raw_pelvis, smooth_pelvis = [], []
    for k in range(30):  # a person standing still, keypoints jittering by 2 px
        person = _person((0.2, 0.1), noise_px=2.0, seed=k)
        raw_pelvis.append(raw.update(k / 30, [person], CAMERA, True, ROOM.floor)[0].pelvis)
        smooth_pelvis.append(smooth.update(k / 30, [person], CAMERA, True, ROOM.floor)[0].pelvis)
    assert np.std(smooth_pelvis[10:], axis=0).sum() < 0.5 * np.std(raw_pelvis[10:], axis=0).sum()


def test_a_frame_without_people_keeps_tracks_alive() -> None:
    tracker = CameraPeople()
    first = tracker.update(0.0, [_person((0.0, 0.0))], CAMERA, True, ROOM.floor)
    assert tracker.update(0.3, [], CAMERA, True, ROOM.floor) == []
    assert tracker.update(0.6, [_person((0.0, 0.0))], CAMERA, True, ROOM.floor)[0].id == first[0].id


@pytest.mark.parametrize("confident", [0, 3])
def test_too_few_keypoints_are_not_placed(confident: int) -> None:
    person = _person((0.0, 0.0))
    keypoints = person.keypoints_2d.copy()
    keypoints[confident:, 2] = 0.0
    lonely = DetectedPerson(0.9, person.bbox, keypoints, person.keypoints_3d)
    (placed,) = CameraPeople().update(0.0, [lonely], CAMERA, True, ROOM.floor)
    assert not placed.placed
    assert np.isnan(placed.joints_h36m).all()
    assert placed.id >= 1


def test_an_unplaced_person_is_nan_everywhere_with_its_identity() -> None:
    for person, expected_id in ((CameraPerson.unplaced(), 0), (CameraPerson.unplaced(7), 7)):
        assert person.id == expected_id
        assert person.placed is False
        assert person.method == ""
        assert person.pelvis.shape == (3,)
        assert np.isnan(person.pelvis).all()
        assert person.joints_h36m.shape == (17, 3)
        assert np.isnan(person.joints_h36m).all()
        assert math.isnan(person.residual_px)


def test_a_person_not_reported_as_placed_has_nan_fields_of_the_documented_shapes() -> None:
    nominal = PinholeCamera.nominal("nominal", 640, 480, 60.0)
    (person,) = CameraPeople().update(0.0, [_person((0.0, 0.0))], nominal, metric=False)
    assert person.pelvis.shape == (3,)
    assert person.joints_h36m.shape == (17, 3)
    assert np.isnan(person.joints_h36m).all()
    assert math.isnan(person.residual_px)


def test_the_tracker_gets_the_placed_pelvis_or_the_fallback_point_on_the_pelvis_ray() -> None:
    placed_person, lonely = _person((0.5, 0.2)), _person((-0.8, -0.5))
    keypoints = lonely.keypoints_2d.copy()
    keypoints[3:, 2] = 0.0  # too few keypoints: not placed
    lonely = DetectedPerson(0.9, lonely.bbox, keypoints, lonely.keypoints_3d)
    people = CameraPeople(fallback_depth_m=4.5)
    placed, unplaced = people.update(0.0, [placed_person, lonely], CAMERA, True, ROOM.floor)
    assert placed.placed
    assert not unplaced.placed
    positions = {t.id: t.position for t in people.tracker.tracks}
    rows = people.tracker.row_tracks
    np.testing.assert_allclose(positions[rows[0]], placed.pelvis, atol=1e-12)
    pelvis_px = (lonely.keypoints_2d[11, :2].astype(np.float64) + lonely.keypoints_2d[12, :2]) / 2
    np.testing.assert_allclose(positions[rows[1]], CAMERA.back_project(pelvis_px[None], 4.5)[0], atol=1e-9)
    assert positions[rows[1]][2] == pytest.approx(4.5)


def test_default_and_given_options_are_the_ones_used() -> None:
    default = CameraPeople()
    assert default.tracking == TrackerOptions(measurement_noise_m=SINGLE_CAMERA_NOISE_M)
    assert default.tracker.options == default.tracking
    assert default.placement == PlacementOptions()
    assert default.smoother is None
    tracking, smoothing = TrackerOptions(max_age_s=2.5), OneEuroOptions(min_cutoff_hz=0.7)
    given = CameraPeople(tracking, PlacementOptions(min_joints=17), smoothing)
    assert given.tracker.options == tracking
    assert given.smoother.options == smoothing
    assert given.smoother.max_age_s == 2.5
    # the given placement options are used: min_joints=17 refuses a person with one keypoint hidden
    person = _person((0.0, 0.0))
    keypoints = person.keypoints_2d.copy()
    keypoints[0, 2] = 0.0
    partial = DetectedPerson(0.9, person.bbox, keypoints, person.keypoints_3d)
    assert CameraPeople().update(0.0, [partial], CAMERA, True, ROOM.floor)[0].placed
    assert not given.update(0.0, [partial], CAMERA, True, ROOM.floor)[0].placed


def test_a_given_3d_skeleton_is_the_one_placed() -> None:
    truth = _person((0.3, -0.2))
    template = place_people(CAMERA, truth.keypoints_2d[None].astype(np.float64), floor=ROOM.floor).joints_h36m[0]
    skeleton = ((template - template[0]) * 0.8).astype(np.float32)  # a smaller body than the template
    person = DetectedPerson(0.9, truth.bbox, truth.keypoints_2d, skeleton)
    (placed,) = CameraPeople().update(0.0, [person], CAMERA, True, ROOM.floor)
    expected = place_people(CAMERA, truth.keypoints_2d[None].astype(np.float64), skeleton[None].astype(np.float64),
                            floor=ROOM.floor, options=PlacementOptions())
    np.testing.assert_allclose(placed.joints_h36m, expected.joints_h36m[0], atol=1e-9)
    assert not np.allclose(placed.joints_h36m, template, atol=1e-3)


def test_an_empty_frame_creates_no_track() -> None:
    people = CameraPeople()
    people.update(0.0, [], CAMERA, True, ROOM.floor)
    assert people.tracker.tracks == []


def test_every_restart_is_counted_and_smoothing_starts_over() -> None:
    smoothing = OneEuroOptions(min_cutoff_hz=0.5, beta=0.0)
    looping = CameraPeople(TrackerOptions(max_age_s=2.5), smoothing=smoothing)
    frames = [_person((0.2, 0.1), noise_px=2.0, seed=k) for k in range(4)]
    for loop in range(3):
        outputs = [looping.update(k / 10, [p], CAMERA, True, ROOM.floor)[0] for k, p in enumerate(frames)]
        assert looping.restarts == loop
        assert looping.smoother.max_age_s == 2.5  # the tracks' max_age, also after a restart
    fresh = CameraPeople(TrackerOptions(max_age_s=2.5), smoothing=smoothing)
    expected = [fresh.update(k / 10, [p], CAMERA, True, ROOM.floor)[0] for k, p in enumerate(frames)]
    for got, want in zip(outputs, expected, strict=True):
        np.testing.assert_allclose(got.joints_h36m, want.joints_h36m, atol=1e-12)
    assert not np.allclose(expected[3].joints_h36m, CameraPeople().update(0.3, [frames[3]], CAMERA, True,
                                                                         ROOM.floor)[0].joints_h36m, atol=1e-6)
def test_velocity_and_tracking_state_in_the_camera_frame() -> None:
    """A person walking 0.6 m/s along world +x (0.06 m per frame at 10 Hz) and one standing still: each person's
    velocity is the world velocity turned into the camera optical frame."""
    tracker = CameraPeople()
    world_velocity = np.array([0.6, 0.0, 0.0])
    expected = CAMERA.T_world_from_camera[:3, :3].T @ world_velocity  # camera from world, a direction
    states, walker, still = [], None, None
    for k in range(30):
        walker, still = tracker.update(0.1 * k, [_person((-1.0 + 0.06 * k, 0.3)), _person((0.8, -0.6))], CAMERA,
                                       True, ROOM.floor)
        states.append((walker.tracking_state, still.tracking_state))
        assert (walker.since_measured_s, still.since_measured_s) == (0.0, 0.0)  # measured now
    assert states[0] == (TrackingState.NEW, TrackingState.NEW)
    assert set(states[1:]) == {(TrackingState.MEASURED, TrackingState.MEASURED)}
    assert np.linalg.norm(walker.velocity - expected) < 0.1
    assert np.linalg.norm(still.velocity) < 0.05
    assert walker.motion is not None
    np.testing.assert_allclose(walker.motion.centre, walker.pelvis, atol=0.05)  # the tracked position: the pelvis


def test_a_first_measurement_has_velocity_zero_and_an_unconfirmed_track_stays_new() -> None:
    first = CameraPeople().update(0.0, [_person((0.0, 0.0))], CAMERA, True, ROOM.floor)[0]
    assert first.tracking_state == TrackingState.NEW
    np.testing.assert_array_equal(first.velocity, np.zeros(3))
    slow = CameraPeople(TrackerOptions(min_hits=3, measurement_noise_m=0.3))
    seen = [slow.update(0.1 * k, [_person((0.05 * k, 0.0))], CAMERA, True, ROOM.floor)[0] for k in range(4)]
    assert [p.id >= 1 for p in seen] == [False, False, True, True]  # confirmed at the third measurement
    assert [p.tracking_state for p in seen] == [TrackingState.NEW, TrackingState.NEW, TrackingState.MEASURED,
                                                TrackingState.MEASURED]


def test_an_unplaced_person_is_tracked_but_has_no_velocity() -> None:
    nominal = PinholeCamera.nominal("nominal", 640, 480, 60.0)
    tracker = CameraPeople()
    for k in range(3):
        (person,) = tracker.update(0.1 * k, [_person((0.05 * k, 0.0))], nominal, metric=False)
    assert person.tracking_state == TrackingState.MEASURED
    assert person.since_measured_s == 0.0
    assert np.isnan(person.velocity).all()  # tracked at a nominal depth: not metric
    assert person.motion is not None
    assert np.all(np.isfinite(person.motion.velocity))  # the tracker has one; it is not reported
