"""FusionStream: fused people keep their ids over frames; smoothing is off by default; absurd detections and
joints outside the room are set aside."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, standing_person

from orpose_ros.fusion.association import AssociationOptions
from orpose_ros.fusion.detections import NON_FINITE, OUTSIDE_IMAGE, SCORE_RANGE, PersonDetection
from orpose_ros.fusion.pipeline import TRIANGULATED, FusionOptions, room_volume, within_room
from orpose_ros.fusion.smoothing import JointSmoother, OneEuroOptions
from orpose_ros.fusion.stream import OUTSIDE_ROOM, CameraMoment, FusionStream, StreamOptions
from orpose_ros.fusion.support import SupportOptions
from orpose_ros.fusion.tracking import TrackerOptions
from orpose_ros.fusion.uncertainty import UncertaintyOptions, joint_covariances
from orpose_ros.geometry.calibration import RoomCalibration
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES

LEFT_WRIST = COCO_KEYPOINT_NAMES.index("left_wrist")


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


def test_the_fusion_options_reach_every_frame_from_the_minimum_person_score() -> None:
    calibration = ceiling_room(3)  # every detection of `frame` scores 0.9
    at_edge = FusionStream(calibration, StreamOptions(FusionOptions(min_person_score=0.9)))
    assert len(at_edge.process(0.0, frame(calibration, 0.0))) == 2
    above = FusionStream(calibration, StreamOptions(FusionOptions(min_person_score=0.9 + 1e-9)))
    assert above.process(0.0, frame(calibration, 0.0)) == []


def test_the_tracking_options_reach_the_tracker() -> None:
    calibration = ceiling_room(3)
    stream = FusionStream(calibration, StreamOptions(tracking=TrackerOptions(min_hits=2)))
    assert [p.id for p in stream.process(0.0, frame(calibration, 0.0))] == [-1, -1]  # one hit: not confirmed
    assert sorted(p.id for p in stream.process(0.1, frame(calibration, 0.1))) == [0, 1]


def _raw_and_smoothed(smoothing: OneEuroOptions, tracking: TrackerOptions, stamps: list[float],
                      times: list[float]) -> tuple[list, list]:
    """Each moment's people (by id) of a stream without smoothing, and of one with ``smoothing``."""
    calibration = ceiling_room(3)
    raw = FusionStream(calibration, StreamOptions(tracking=tracking))
    smooth = FusionStream(calibration, StreamOptions(tracking=tracking, smoothing=smoothing))
    raw_out, smooth_out = [], []
    for stamp, t in zip(stamps, times, strict=True):
        raw_out.append({p.id: p for p in raw.process_moment(stamp, _moment(calibration, t))})
        smooth_out.append({p.id: p for p in smooth.process_moment(stamp, _moment(calibration, t))})
    return raw_out, smooth_out


def test_the_smoothing_options_and_the_tracks_max_age_reach_the_smoother_also_after_a_restart() -> None:
    """Each output is the One-Euro filter (`JointSmoother`: its own options, filters dropped after the tracks'
    max age) of the unsmoothed stream's joints, per id; a gap of 1.8 s is within the tracks' 3 s, so the
    filters keep their state over it (the smoother's default max age is 1 s); the restart (stamps going
    back) starts a new smoother with the same options."""
    options = OneEuroOptions(min_cutoff_hz=0.3, beta=0.2, derivative_cutoff_hz=2.0)
    tracking = TrackerOptions(max_age_s=3.0)
    stamps = [1.0, 1.1, 1.2, 3.0, 0.5, 0.6, 0.7, 2.5]  # 3.0 -> 0.5: a replay looping
    times = [0.0, 0.1, 0.2, 0.4, 0.0, 0.1, 0.2, 0.4]  # where the people are (`frame`)
    raw, smoothed = _raw_and_smoothed(options, tracking, stamps, times)
    reference = JointSmoother(options, 3.0)
    for k, stamp in enumerate(stamps):
        if k == 4:
            reference = JointSmoother(options, 3.0)
        reference.prune(stamp)
        assert sorted(smoothed[k]) == sorted(raw[k])
        for i, person in raw[k].items():
            np.testing.assert_allclose(smoothed[k][i].joints, reference(stamp, i, person.joints), atol=1e-9)
    # the filters did smooth across the gap and after the restart: outputs differ from the raw joints
    for k in (3, 5, 7):
        for i in raw[k]:
            assert np.nanmax(np.abs(smoothed[k][i].joints - raw[k][i].joints)) > 1e-3


def test_every_restart_is_counted_and_a_new_stream_has_no_rejections() -> None:
    calibration = ceiling_room(3)
    stream = FusionStream(calibration)
    assert stream.rejections == []
    for stamp in (1.0, 0.5, 2.0, 0.2):  # back twice
        stream.process_moment(stamp, _moment(calibration, 0.0))
    assert stream.restarts == 2


def test_joints_outside_the_room_are_reported_with_the_fused_cameras_and_the_volume_to_a_decimetre() -> None:
    calibration = ceiling_room(3)
    centres = np.array([c.T_world_from_camera[:3, 3] for c in calibration.cameras])
    inside = FusionStream(calibration).process(0.0, frame(calibration, 0.0))  # default margin: all inside
    for margin in (2.0, 0.01):
        low, high = centres.min(axis=0) - margin, centres.max(axis=0) + margin
        stream = FusionStream(calibration, StreamOptions(FusionOptions(room_margin_m=margin)))
        stream.process(0.0, frame(calibration, 0.0))
        details = []
        for person in inside:
            placed = np.all(np.isfinite(person.joints), axis=1)
            outside = placed & np.any((person.joints < low) | (person.joints > high), axis=1)
            gone = "; nothing left of the person" if outside.sum() == placed.sum() else ""
            details.append(f"cam1,cam2,cam3: {outside.sum()} fused joint(s) outside the room volume (x, y, z in "
                           f"{[round(v, 1) for v in low.tolist()]}..{[round(v, 1) for v in high.tolist()]} m): "
                           f"unplaced{gone}")
        assert [r.camera for r in stream.rejections] == ["cam1,cam2,cam3"] * 2
        assert [r.detail for r in stream.rejections] == details
        # 2 m: the legs below 0.6 m go; 1 cm: the whole person
        assert [d.endswith("; nothing left of the person") for d in details] == [margin == 0.01] * 2


def test_a_moment_without_cameras_matches_at_the_options_own_noise() -> None:
    calibration = ceiling_room(3)
    stream = FusionStream(calibration)
    moment = _moment(calibration, 0.0, factor=4)
    stream.process_moment(0.0, moment)
    assert stream.options.fusion.association.keypoint_noise_px == 4.0
    assert stream.process_moment(0.1, {}) == []
    assert stream.options.fusion.association.keypoint_noise_px == 1.0


def test_a_moment_is_fused_with_the_calibration_it_is_given_also_when_it_restarts() -> None:
    calibration = ceiling_room(3)
    shift = np.array([1.0, -0.5, 0.0])
    moved = RoomCalibration("moved", tuple(
        replace(c, T_world_from_camera=np.vstack([np.hstack([c.T_world_from_camera[:3, :3],
                                                            (c.T_world_from_camera[:3, 3] + shift)[:, None]]),
                                                  [0.0, 0.0, 0.0, 1.0]]))
        for c in calibration.cameras), calibration.floor)
    base = sorted(FusionStream(calibration).process(0.0, frame(calibration, 0.0)), key=lambda p: p.centre[0])
    stream = FusionStream(calibration)
    for stamp in (1.0, 0.5):  # the second one goes back: the stream restarts and processes it again
        people = sorted(stream.process_moment(stamp, _moment(calibration, 0.0, scale=0.5), moved),
                        key=lambda p: p.centre[0])
        assert len(people) == 2
        for a, b in zip(base, people, strict=True):  # the whole scene moves with the cameras
            np.testing.assert_allclose(b.joints, a.joints + shift, atol=1e-6)
    assert stream.restarts == 1


@pytest.mark.parametrize("factor", [1, 5])
def test_joint_covariances_use_the_uncertainty_options_at_the_coarser_of_the_two_noises(factor: int) -> None:
    """noise = max(the uncertainty's keypoint_noise_px, the matching's, itself widened to the privacy factor)."""
    calibration = ceiling_room(3)
    uncertainty = UncertaintyOptions(keypoint_noise_px=2.0, lateral_noise_m=0.09, filled_depth_noise_m=0.3)
    fusion = FusionOptions(association=AssociationOptions(keypoint_noise_px=1.5))
    stream = FusionStream(calibration, StreamOptions(fusion, uncertainty=uncertainty))
    moment = _moment(calibration, 0.0, factor=factor)
    for name in ("cam2", "cam3"):  # the left wrists only cam1 sees: filled from cam1 at a neighbour's depth
        detections = []
        for detection in moment[name].detections:
            keypoints = np.array(detection.keypoints_2d)
            keypoints[LEFT_WRIST, 2] = 0.01
            detections.append(PersonDetection(keypoints, detection.score, None, detection.index))
        moment[name] = replace(moment[name], detections=detections)
    people = stream.process_moment(0.0, moment)
    noise = max(2.0, 1.5, factor)
    assert len(people) == 2
    for person in people:
        assert person.placement == TRIANGULATED
        assert person.num_views[LEFT_WRIST] == 1
        cameras = [calibration.camera(name) for name in person.cameras]
        expected = joint_covariances(cameras, person.joints, person.joint_views, True, uncertainty, noise)
        np.testing.assert_allclose(person.joint_covariance, expected, rtol=1e-12, equal_nan=True)
        # the filled wrist's depth noise is the triangulated person's (filled_depth_noise_m), not single-view's
        single = joint_covariances(cameras, person.joints, person.joint_views, False, uncertainty, noise)
        assert np.abs(single[LEFT_WRIST] - expected[LEFT_WRIST]).max() > 1e-4


def test_a_person_the_support_rule_holds_back_is_never_predicted() -> None:
    """A person seen by one camera is published from its second frame (`single_view_min_frames`); one seen
    once and then gone was never published, so it is not predicted either."""
    calibration = ceiling_room(3)
    options = StreamOptions(predicted=True, support=SupportOptions(single_view_min_frames=2))
    one_camera = {"cam1": frame(calibration, 0.0)["cam1"][:1]}
    held_back = FusionStream(calibration, options)
    assert held_back.process(0.0, one_camera) == []
    assert held_back.process(0.1, {}) == []
    published = FusionStream(calibration, options)
    published.process(0.0, one_camera)
    assert len(published.process(0.1, one_camera)) == 1
    assert len(published.process(0.2, {})) == 1  # published once: predicted
