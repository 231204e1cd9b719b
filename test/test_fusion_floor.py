"""One floor rule (issue 16, item 5): the floor choice, and the floor a stream self-calibrates from its first
moments with the estimate the offline tools use (`pipeline.self_calibrated_floor`)."""

from __future__ import annotations

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, standing_person

from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.floor import OnlineFloor, fixed_floor, parse_floor_choice, stream_floor
from orpose_ros.fusion.pipeline import FusionOptions, fuse_frame, self_calibrated_floor
from orpose_ros.fusion.stream import FusionStream, StreamOptions
from orpose_ros.geometry.calibration import FloorPlane

ROOM = ceiling_room(3)  # floor z = 0 in the calibration
FLOOR_Z = -0.4  # where the simulated people really stand [m]
LIFT = np.array([0.0, 0.0, FLOOR_Z])  # [m]


def _frame(k: int, lone: bool = True) -> dict[str, list[PersonDetection]]:
    """Two people seen by every camera, standing on z = FLOOR_Z, and (``lone``) a third only cam1 sees."""
    people = [standing_person((-1.0 + 0.05 * k, 0.3)), standing_person((0.8, -0.6), 1.0)]
    people = [p + LIFT for p in people]
    frame = {c.name: [PersonDetection(keypoints_of(c, p), 0.9, np.full((17, 3), np.nan), i)
                      for i, p in enumerate(people)] for c in ROOM.cameras}
    if lone:
        third = standing_person((0.2, 1.2), 2.0) + LIFT
        frame["cam1"].append(PersonDetection(keypoints_of(ROOM.cameras[0], third), 0.9, np.full((17, 3), np.nan), 2))
    return frame


@pytest.mark.parametrize("text, expected", [("calibration", "calibration"), ("auto", "auto"), ("none", "none"),
                                            ("-1.25", -1.25), ("0", 0.0)])
def test_floor_choices_are_read(text: str, expected: str | float) -> None:
    assert parse_floor_choice(text) == expected


@pytest.mark.parametrize("text", ["", "Auto", "floor", "nan", "inf", "1m"])
def test_other_floor_choices_are_refused_in_one_line(text: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_floor_choice(text)


def test_the_calibration_floor_is_self_calibrated_only_when_it_has_none() -> None:
    given = FloorPlane.horizontal(0.3)
    assert fixed_floor("calibration", given) == (given, False)
    assert fixed_floor("calibration", None) == (None, True)
    assert fixed_floor("auto", given) == (None, True)
    assert fixed_floor("none", given) == (None, False)
    floor, self_calibrate = fixed_floor(-1.5, given)
    assert floor.offset_m == -1.5
    assert not self_calibrate
    assert stream_floor("calibration", None, 7)[:2] == (None, 7)
    assert stream_floor("calibration", given, 7)[:2] == (given, 0)
    assert "0.3000 m" in stream_floor("calibration", given, 7)[2]
    assert stream_floor("none", given, 7)[:2] == (None, 0)


def test_online_floor_is_fixed_after_its_moments_with_the_offline_estimate() -> None:
    unfloored = ROOM.with_floor(None)
    online = OnlineFloor(3, FusionOptions().placement.stature_m)
    with pytest.raises(ValueError, match="moments"):
        OnlineFloor(0, 1.7)
    assert online.add([]) is None  # a moment without anybody triangulated does not count
    lone_only = {"cam1": _frame(0)["cam1"]}
    assert online.add(fuse_frame(unfloored, lone_only)) is None  # single-camera people do not count either
    assert online.add(fuse_frame(unfloored, _frame(0))) is None
    assert online.add(fuse_frame(unfloored, _frame(1))) is None
    assert not online.fixed
    floor = online.add(fuse_frame(unfloored, _frame(2)))  # the third moment with triangulated people
    assert online.fixed
    expected = self_calibrated_floor(ROOM, [_frame(0), _frame(1), _frame(2)])
    assert floor.offset_m == pytest.approx(expected.offset_m, abs=1e-12)
    assert floor.offset_m == pytest.approx(FLOOR_Z, abs=0.03)
    assert online.add(fuse_frame(unfloored, _frame(9))) is floor  # fixed: later people change nothing


def test_a_stream_fuses_without_a_floor_until_it_is_self_calibrated_then_with_it() -> None:
    moments = 2
    stream = FusionStream(ROOM, StreamOptions(floor_moments=moments))  # the calibration's z = 0 is ignored
    with pytest.raises(ValueError, match="floor_moments"):
        StreamOptions(floor_moments=-1)
    unfloored = FusionStream(ROOM.with_floor(None))
    expected = self_calibrated_floor(ROOM, [_frame(k) for k in range(moments)])
    floored = FusionStream(ROOM.with_floor(expected))
    for k in range(5):
        people = stream.process(0.1 * k, _frame(k))
        reference = (unfloored if k < moments else floored).process(0.1 * k, _frame(k))
        other = (floored if k < moments else unfloored).process(0.1 * k, _frame(k))
        lone = [p for p in people if p.cameras == ("cam1",)]
        assert len(people) == len(reference)
        for mine, theirs in zip(people, reference, strict=True):
            np.testing.assert_array_equal(mine.joints, theirs.joints)
        assert len(lone) == (k >= 1)  # published from its second moment (support rule)
        if lone:  # a single-camera person is placed differently with the floor than without
            placed = [p for p in other if p.cameras == ("cam1",)]
            assert not np.allclose(np.nan_to_num(lone[0].joints), np.nan_to_num(placed[0].joints), atol=1e-3)
        assert stream.online_floor.fixed == (k >= moments - 1)
    assert stream.online_floor.floor.offset_m == pytest.approx(expected.offset_m, abs=1e-12)
