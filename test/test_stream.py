"""FusionStream: fused people keep their ids over frames; smoothing is off by default."""

from __future__ import annotations

import numpy as np
from fusion_data import ceiling_room, keypoints_of, standing_person

from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.smoothing import OneEuroOptions
from orpose_ros.fusion.stream import FusionStream, StreamOptions
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
