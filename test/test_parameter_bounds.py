"""Every declared parameter's range agrees with the code behind it: both ends of each range are accepted by the
objects the node builds from them (a value the range admits never fails later), and just outside is refused.

(Pure dataclasses and core objects; no node is started. Marked ros: the parameter module imports rclpy.)
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from fusion_data import ceiling_room

from orpose_ros.fusion.floor import parse_floor_choice, stream_floor
from orpose_ros.fusion.grouping import StampGrouper
from orpose_ros.fusion.smoothing import OneEuroFilter
from orpose_ros.fusion.stream import FusionStream
from orpose_ros.fusion.tracking import Tracker
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.privacy import shrink
from orpose_ros.ros.fusion_node import FusionConfig
from orpose_ros.ros.node_config import NodeConfig
from orpose_ros.ros.parameters import Spec
from orpose_ros.ros.privacy_filter_node import PrivacyFilterConfig

pytestmark = pytest.mark.ros


def node_consumers(config: NodeConfig) -> None:
    config.check()
    people = config.camera_people()
    assert people.tracker.update(0.0, np.zeros((1, 3)))[0] == 0
    assert people.smoother(0.0, 0, np.ones((17, 3))).shape == (17, 3)
    assert people.placement.min_joint_score == config.placement_min_keypoint_score
    camera = PinholeCamera.nominal("cam", 640, 480, config.nominal_hfov_deg)
    assert camera.K[0, 0] > 0


def fusion_consumers(config: FusionConfig) -> None:
    options = config.stream_options()
    assert StampGrouper(("cam1", "cam2"), config.stamp_tolerance_s, config.max_wait_s).flush(0.0) == []
    tracker = Tracker(options.tracking)
    tracker.update(0.0, np.zeros((1, 3)))
    assert [t.id for t in tracker.tracks] == [0]
    smoother = OneEuroFilter(options.smoothing)
    np.testing.assert_array_equal(smoother(0.0, np.ones(3)), np.ones(3))
    # the floor self-calibrated from floor_moments moments, the support gate and the joint output policy
    floor, moments, _ = stream_floor(parse_floor_choice("auto"), None, config.floor_moments)
    assert floor is None  # until self-calibrated
    assert moments == config.floor_moments
    stream = FusionStream(ceiling_room(2), dataclasses.replace(options, floor_moments=moments))
    assert stream.process(0.0, {"cam1": [], "cam2": []}) == []
    assert options.support.single_view_min_frames == config.single_view_min_frames
    assert options.output.min_views == config.joint_min_views


def privacy_consumers(config: PrivacyFilterConfig) -> None:
    config.check()
    small = shrink(np.zeros((480, 640, 3), dtype=np.uint8), config.factor)
    assert small.shape == (int(480 / config.factor), int(640 / config.factor), 3)


CONFIGS = [
    (NodeConfig, {"smoothing": True}, node_consumers),
    (FusionConfig, {"smoothing": True, "calibration": "room.yaml"}, fusion_consumers),
    (PrivacyFilterConfig, {}, privacy_consumers),
]
RANGED = [
    (config_type, extra, consumers, field.name, spec)
    for config_type, extra, consumers in CONFIGS
    for field in dataclasses.fields(config_type)
    if (spec := field.metadata.get("spec")) is not None and (spec.int_range or spec.float_range)
]


def test_every_ranged_parameter_is_covered() -> None:
    names = {(c.__name__, name) for c, _, _, name, _ in RANGED}
    assert ("NodeConfig", "track_max_age_s") in names
    assert ("FusionConfig", "stamp_tolerance_s") in names
    assert ("PrivacyFilterConfig", "factor") in names
    for name in ("floor_moments", "single_view_min_frames", "joint_min_views", "joint_max_sigma_m"):
        assert ("FusionConfig", name) in names
    assert len(names) >= 15


@pytest.mark.parametrize(
    ("config_type", "extra", "consumers", "name", "spec"),
    RANGED,
    ids=[f"{c.__name__}.{name}" for c, _, _, name, _ in RANGED],
)
def test_both_ends_of_a_range_work_and_just_outside_is_refused(
    config_type: type, extra: dict, consumers, name: str, spec: Spec
) -> None:
    low, high = spec.int_range or spec.float_range
    for value in (low, high):
        assert spec.problem(value) == ""
        consumers(config_type(**{**extra, name: value}))
    if spec.int_range:
        outside = (low - 1, high + 1)
    else:
        outside = (math.nextafter(low, -math.inf), math.nextafter(high, math.inf))
    for value in outside:
        assert spec.problem(value) == "is out of range"
