"""One frame, three tools, one answer: orpose_node, ``orpose-infer --out-bag`` and ``orpose-infer --json``
run the same camera pipeline, so the same frame gives the same people, identities, placements, topic
names and marker namespaces whichever tool made them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from ros_tools.node_harness import NodePeer, header, image_msg, start_node
from ros_tools.session_bags import TYPESTORE, frame
from ros_tools.session_bags import header as bag_header
from ros_tools.session_bags import image as bag_image
from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import StoragePlugin, Writer
from sensor_msgs.msg import Image

from orpose_ros.ros.processes import wait_until

pytestmark = pytest.mark.ros

TOPIC = "/ceiling_left/image_raw"  # a camera of the example calibration, with its intrinsics and floor
FRAME_ID = "ceiling_left_optical"
STAMP = (100, 250_000_000)


def _pipeline_params(stats_path: Path, calibration: Path) -> dict[str, object]:
    return {"image_topics": [TOPIC], "random_weights_seed": 0, "stats": stats_path, "device": "cpu",
            "downsample_factor": 12, "calibration": calibration, "placement_min_keypoint_score": 0.0,
            "publish_debug_image": False}


def _write_bag(path: Path, pixels: np.ndarray) -> None:
    with Writer(path, version=8, storage_plugin=StoragePlugin.SQLITE3) as writer:
        connection = writer.add_connection(TOPIC, "sensor_msgs/msg/Image", typestore=TYPESTORE)
        msg = bag_image(pixels, "bgr8", bag_header(*STAMP, FRAME_ID))
        writer.write(connection, STAMP[0] * 10**9 + STAMP[1], TYPESTORE.serialize_cdr(msg, connection.msgtype))


def _read_bag(path: Path) -> dict[str, list]:
    from orpose_ros.ros.bags import orpose_typestore

    typestore = orpose_typestore()
    records: dict[str, list] = {}
    with AnyReader([path], default_typestore=typestore) as reader:
        for connection, _, raw in reader.messages():
            records.setdefault(connection.topic, []).append(typestore.deserialize_cdr(raw, connection.msgtype))
    return records


def _people(persons: list) -> list[dict]:
    """What must agree, per person (identity, detection, placement), from rclpy or rosbags messages."""
    return [{
        "id": p.id,
        "score": round(float(p.score), 5),
        "bbox": np.round(np.asarray(p.bbox, float), 3).tolist(),
        "keypoints_2d": np.round([[k.x, k.y, k.score] for k in p.keypoints_2d], 3).tolist(),
        "placement": p.placement,
        "position": np.round([p.position.x, p.position.y, p.position.z], 4).tolist(),
        "left_wrist": np.round([p.keypoints_3d_camera[13].x, p.keypoints_3d_camera[13].y,
                                p.keypoints_3d_camera[13].z], 4).tolist(),
        "right_wrist": np.round([p.keypoints_3d_camera[16].x, p.keypoints_3d_camera[16].y,
                                 p.keypoints_3d_camera[16].z], 4).tolist(),
        "tracking_state": p.tracking_state,
        "time_since_measured": _or_none(p.time_since_measured),
        "velocity": [_or_none(v) for v in (p.velocity.x, p.velocity.y, p.velocity.z)],
    } for p in persons]


def _or_none(value: float) -> float | None:
    """``value`` rounded to 0.1 mm, None for NaN (NaN never equals itself in a comparison of lists)."""
    return None if np.isnan(value) else round(float(value), 4)


@pytest.mark.timeout(600)
def test_one_frame_gives_the_same_people_in_the_node_the_bag_and_the_json(
        tmp_path: Path, ros_env: dict, stats_path: Path) -> None:
    calibration = REPO / "config" / "cameras.example.yaml"
    pixels = frame(0)

    # 1. orpose-infer on a bag holding the frame: --out-bag and --json
    bag, out_bag, out_json = tmp_path / "session", tmp_path / "results", tmp_path / "results.json"
    _write_bag(bag, pixels)
    proc = subprocess.run([sys.executable, "-m", "orpose_ros.cli.infer", str(bag), "--random-weights", "0",
                           "--stats", str(stats_path), "--device", "cpu", "--downsample", "12", "--calibration",
                           str(calibration), "--placement-min-keypoint-score", "0", "--out-bag", str(out_bag),
                           "--json", str(out_json)], env=ros_env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = _read_bag(out_bag)
    (bag_poses,) = records["/orpose/poses"]
    (bag_markers,) = records["/orpose/markers"]
    (json_frame,) = json.loads(out_json.read_text())["frames"]

    # 2. orpose_node on the same frame
    log = tmp_path / "node.log"
    node = start_node(_pipeline_params(stats_path, calibration), ros_env, log)
    peer = NodePeer(ros_env, {TOPIC: Image})
    try:
        assert peer.wait_for_subscriber(TOPIC, 120), log.read_text()

        def answered() -> bool:
            if not peer.inbox.poses_with_stamp(*STAMP) or not peer.inbox.markers:
                peer.publish(TOPIC, image_msg(pixels, "bgr8", header(*STAMP, FRAME_ID)))
                return False
            return True

        assert wait_until(answered, 300, interval=3.0), log.read_text()
        (node_poses,) = peer.inbox.poses_with_stamp(*STAMP)[:1]
        node_markers = next(m for m in peer.inbox.markers if m.markers[0].header.stamp.sec == STAMP[0])
    finally:
        peer.close()
        node.send_signal(2)
        node.wait(30)

    people = _people(node_poses.persons)
    assert people, "the crafted random weights should detect people"
    assert any(p["placement"] != 0 for p in people), "the calibrated camera should place someone"
    assert _people(bag_poses.persons) == people
    assert (bag_poses.source_topic, node_poses.source_topic) == (TOPIC, TOPIC)
    assert {m.ns for m in bag_markers.markers} == {m.ns for m in node_markers.markers} == {TOPIC.strip("/")}
    assert [m.id for m in bag_markers.markers] == [m.id for m in node_markers.markers]

    assert [p["id"] for p in json_frame["persons"]] == [p["id"] for p in people]
    for got, want in zip(json_frame["persons"], people, strict=True):
        if want["placement"]:
            np.testing.assert_allclose(got["position"], want["position"], atol=1e-4)
            np.testing.assert_allclose(got["keypoints_3d_camera"][13], want["left_wrist"], atol=1e-4)
            np.testing.assert_allclose(got["keypoints_3d_camera"][16], want["right_wrist"], atol=1e-4)
        else:
            assert got["position"] is None
        # one frame: every person measured now, at the first measurement of their track (PersonPose.msg)
        assert (want["tracking_state"], got["tracking_state"]) == (node_poses.persons[0].TRACKING_NEW, "new")
        assert (want["time_since_measured"], got["time_since_measured_s"]) == (0.0, 0.0)
        assert want["velocity"] == ([0.0, 0.0, 0.0] if want["placement"] else [None, None, None])
        assert got["velocity"] == (want["velocity"] if want["placement"] else None)
    assert (json_frame["camera"], json_frame["metric"]) == ("ceiling_left", True)
