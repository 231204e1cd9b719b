"""FusionStream: fused people keep their ids over frames; smoothing is off by default; absurd detections and
joints outside the room are set aside."""

from __future__ import annotations

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, standing_person

from orpose_ros.fusion.detections import NON_FINITE, OUTSIDE_IMAGE, SCORE_RANGE, PersonDetection
from orpose_ros.fusion.pipeline import FusionOptions, room_volume, within_room
from orpose_ros.fusion.smoothing import OneEuroOptions
from orpose_ros.fusion.stream import OUTSIDE_ROOM, CameraMoment, FusionStream, StreamOptions
from orpose_ros.geometry.calibration import RoomCalibration


def frame(calibration: RoomCalibration, t: float) -> dict[str, list[PersonDetection]]:
    people = [standing_person((-1.0 + 0.5 * t, 0.0), 0.0), standing_person((1.0, -0.5 + 0.3 * t), 1.0)]
    return {
        name: [PersonDetection(keypoints_of(calibration.camera(name), p), 0.9, None, k) for k, p in enumerate(people)]
        for name in calibration.names
    }


def test_ids_follow_people_over_frames() -> None:
    calibration = ceiling_room(3)
    stream = FusionStream(calibration)
    assert stream.smoother is None
    previous = None
    for k in range(10):
        people = stream.process(0.1 * k, frame(calibration, 0.1 * k))
        by_x = {p.id: p.centre[0] for p in people}
        assert sorted(by_x) == [0, 1]
        if previous is not None:
            assert all(abs(by_x[i] - previous[i]) < 0.1 for i in by_x)
        previous = by_x


def test_smoothing_when_asked_for() -> None:
    calibration = ceiling_room(3)
    stream = FusionStream(calibration, StreamOptions(smoothing=OneEuroOptions()))
    for k in range(5):
        people = stream.process(0.1 * k, frame(calibration, 0.0))
    assert len(stream.smoother) == 2
    assert all(np.isfinite(p.joints).all() for p in people)


def test_absurd_detections_are_set_aside_alone_and_the_rest_of_the_frame_is_used() -> None:
    calibration = ceiling_room(3)
    good = frame(calibration, 0.0)
    far = np.array(good["cam1"][0].keypoints_2d)
    far[:, :2] = 1e30
    nan = np.array(good["cam2"][0].keypoints_2d)
    nan[2, 0] = np.nan
    bad = {"cam1": [*good["cam1"], PersonDetection(far, 0.9, None, 7)],
           "cam2": [*good["cam2"], PersonDetection(nan, 0.9, None, 8),
                    PersonDetection(good["cam2"][1].keypoints_2d, -5.0, None, 9)],
           "cam3": good["cam3"]}
    stream = FusionStream(calibration)
    people = stream.process(0.0, bad)
    reference = FusionStream(calibration).process(0.0, good)
    assert len(people) == 2
    assert all(p.cameras == ("cam1", "cam2", "cam3") for p in people)
    for p, q in zip(people, reference, strict=True):
        np.testing.assert_allclose(p.joints, q.joints)
    assert [(r.camera, r.cause) for r in stream.rejections] == [
        ("cam1", OUTSIDE_IMAGE), ("cam2", NON_FINITE), ("cam2", SCORE_RANGE)]
    assert stream.rejections[0].detail.startswith("cam1: person 7: keypoints beyond x in [-640, 1280]")
    assert stream.process(0.1, good)
    assert stream.rejections == []  # per frame


def test_fused_joints_never_leave_the_room_volume() -> None:
    calibration = ceiling_room(3)  # cameras at 2.6 m, 3 m around the centre
    low, high = room_volume(calibration, 2.0)
    assert low[2] == pytest.approx(0.6)
    assert high[2] == pytest.approx(4.6)
    stream = FusionStream(calibration, StreamOptions(FusionOptions(room_margin_m=2.0)))
    people = stream.process(0.0, frame(calibration, 0.0))
    assert len(people) == 2
    for person in people:  # the legs below 0.6 m are unplaced, the rest is kept
        placed = np.all(np.isfinite(person.joints), axis=-1)
        assert (person.joints[placed, 2] >= 0.6).all()
        assert (~placed).sum() >= 2
        assert placed.sum() >= 10
        assert (person.num_views[~placed] == 0).all()
        assert (person.confidence[~placed] == 0).all()
    assert {r.cause for r in stream.rejections} == {OUTSIDE_ROOM}
    assert len(stream.rejections) == 2
    nobody = FusionStream(calibration, StreamOptions(FusionOptions(room_margin_m=0.01)))
    assert nobody.process(0.0, frame(calibration, 0.0)) == []  # nothing of them inside: dropped
    assert all("nothing left of the person" in r.detail for r in nobody.rejections)


def test_within_room_from_both_sides_of_the_edge() -> None:
    calibration = ceiling_room(3)
    person = FusionStream(calibration).process(0.0, frame(calibration, 0.0))[0]
    top = float(np.nanmax(person.joints[:, 2]))
    low, high = np.full(3, -10.0), np.array([10.0, 10.0, top])
    assert within_room(person, low, high) == (person, 0)
    kept, unplaced = within_room(person, low, high - 1e-9)
    assert unplaced >= 1
    assert kept is not None
    assert np.isnan(kept.joints[np.argmax(person.joints[:, 2])]).all()


def _moment(calibration: RoomCalibration, t: float, scale: float = 1.0, factor: int = 1) -> dict[str, CameraMoment]:
    """`frame` as the pose nodes send it: keypoints in images ``scale`` times the calibrated size."""
    moment = {}
    for name, people in frame(calibration, t).items():
        camera = calibration.camera(name)
        scaled = []
        for person in people:
            keypoints = np.array(person.keypoints_2d, dtype=float)
            keypoints[:, :2] = (keypoints[:, :2] + 0.5) * scale - 0.5  # pixel centres, as images are resized
            scaled.append(PersonDetection(keypoints, person.score, None, person.index))
        moment[name] = CameraMoment(scaled, round(camera.width * scale), round(camera.height * scale), factor)
    return moment


def test_a_moment_is_fused_at_its_own_image_size() -> None:
    calibration = ceiling_room(3)
    full = FusionStream(calibration).process(0.0, frame(calibration, 0.0))
    half = FusionStream(calibration).process_moment(0.0, _moment(calibration, 0.0, scale=0.5))
    assert len(half) == len(full) == 2
    for a, b in zip(sorted(full, key=lambda p: p.centre[0]), sorted(half, key=lambda p: p.centre[0]), strict=True):
        np.testing.assert_allclose(b.joints, a.joints, atol=1e-6)


def test_the_matching_is_widened_to_the_coarsest_privacy_factor() -> None:
    calibration = ceiling_room(3)
    stream = FusionStream(calibration)
    moment = _moment(calibration, 0.0)
    moment["cam2"] = CameraMoment(moment["cam2"].detections, 640, 480, 12)
    stream.process_moment(0.0, moment)
    assert stream.options.fusion.association.keypoint_noise_px == 12.0
    stream.process_moment(0.1, _moment(calibration, 0.1, factor=1))
    assert stream.options.fusion.association.keypoint_noise_px == 1.0


def test_stamps_going_back_restart_the_tracks_and_their_smoothing() -> None:
    calibration = ceiling_room(3)
    stream = FusionStream(calibration, StreamOptions(smoothing=OneEuroOptions(1.0, 0.0)))
    for k in range(3):
        before = stream.process_moment(1.0 + 0.1 * k, _moment(calibration, 0.1 * k))
    smoother = stream.smoother
    after = stream.process_moment(0.5, _moment(calibration, 0.0))  # a replay looping
    assert stream.restarts == 1
    assert stream.smoother is not smoother  # the smoothing starts over with the tracks
    assert min(p.id for p in after) > max(p.id for p in before)  # new tracks, ids never reused
    # the restarted smoother holds no state of the old tracks: the first value passes unchanged
    raw = FusionStream(calibration).process_moment(0.5, _moment(calibration, 0.0))
    for a, b in zip(sorted(after, key=lambda p: p.centre[0]), sorted(raw, key=lambda p: p.centre[0]), strict=True):
        np.testing.assert_allclose(a.joints, b.joints, atol=1e-9)
