"""orpose_privacy_filter as deployed: a separate process beside the camera, then orpose_node fed only its
output (frames that arrive shrunk): the poses equal those of the full frame processed with the same factor."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from ros_tools.node_harness import NodePeer, header, image_msg, start_node, wait_until
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from orpose_ros import privacy
from orpose_ros.ros import processes
from orpose_ros.ros.image_conversion import compressed_msg_to_bgr, image_msg_to_pixels
from orpose_ros.synthetic_scene import synthetic_frame

pytestmark = [pytest.mark.ros, pytest.mark.timeout(600)]

RAW, COMPRESSED, INFO = "/cam/image_raw", "/cam2/image_raw/compressed", "/cam/camera_info"
LOW_RAW, LOW_INFO = "/cam/lowres/image_raw", "/cam/lowres/camera_info"
LOW_COMPRESSED = "/cam2/lowres/image_raw/compressed"


def _frame(index: int) -> np.ndarray:
    frame = synthetic_frame(index).astype(np.int16)
    return np.clip(frame + np.random.default_rng(index).integers(-30, 30, frame.shape), 0, 255).astype(np.uint8)


def _start_filter(env: dict, log: Path, **params: object) -> subprocess.Popen:
    command = processes.node_command("orpose_ros.ros.privacy_filter_node", params)
    return subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def test_the_filter_imports_neither_torch_nor_the_model() -> None:
    code = ("import sys, orpose_ros.ros.privacy_filter_node; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'detectron2', 'torchvision'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_only_shrunk_frames_and_rescaled_camera_info_leave_the_filter(tmp_path: Path, ros_env: dict) -> None:
    log = tmp_path / "filter.log"
    process = _start_filter(ros_env, log, image_topics=[RAW, COMPRESSED], camera_info_topics=[INFO, ""], factor=12,
                            qos_reliability="reliable")
    peer = NodePeer(ros_env, {RAW: Image, COMPRESSED: CompressedImage, INFO: CameraInfo},
                    listen={LOW_RAW: Image, LOW_COMPRESSED: CompressedImage, LOW_INFO: CameraInfo})
    try:
        assert all(peer.wait_for_subscriber(t, 60) for t in (RAW, COMPRESSED, INFO)), log.read_text()
        assert all(peer.wait_for_publisher(t, 30) for t in (LOW_RAW, LOW_COMPRESSED, LOW_INFO)), log.read_text()
        frame = _frame(0)
        info = CameraInfo(header=header(5, 0, "cam"), width=640, height=480,
                          k=[500.0, 0.0, 320.0, 0.0, 500.0, 240.0, 0.0, 0.0, 1.0])
        png = CompressedImage(header=header(5, 2, "cam2"), format="png", data=cv2.imencode(".png", frame)[1].tobytes())
        other = peer.inbox.other

        def all_received() -> bool:  # sent again until then: the filter's outputs may match the peer late
            if not (other[LOW_RAW] and other[LOW_COMPRESSED] and other[LOW_INFO]):
                peer.publish(INFO, info)
                peer.publish(RAW, image_msg(frame, "bgr8", header(5, 1, "cam")))
                peer.publish(COMPRESSED, png)
                time.sleep(0.5)
            return bool(other[LOW_RAW] and other[LOW_COMPRESSED] and other[LOW_INFO])

        assert wait_until(all_received, 30), log.read_text()
        raw, compressed, small_info = other[LOW_RAW][0], other[LOW_COMPRESSED][0], other[LOW_INFO][0]
        assert (raw.width, raw.height, raw.encoding) == (53, 40, "bgr8")
        assert (raw.header.stamp.sec, raw.header.stamp.nanosec, raw.header.frame_id) == (5, 1, "cam")
        np.testing.assert_array_equal(image_msg_to_pixels(raw), privacy.shrink(frame, 12))
        np.testing.assert_array_equal(compressed_msg_to_bgr(compressed), privacy.shrink(frame, 12))
        assert (small_info.width, small_info.height) == (53, 40)
        assert small_info.k[0] == pytest.approx(500.0 * 53 / 640)
    finally:
        peer.close()
        assert processes.stop(process) == 0, log.read_text()


def test_a_bad_parameter_is_one_line(tmp_path: Path, ros_env: dict) -> None:
    log = tmp_path / "filter.log"
    assert _start_filter(ros_env, log, factor=1).wait(60) == 1
    fatal = [line for line in log.read_text().splitlines() if "FATAL" in line]
    assert len(fatal) == 1
    assert "'factor': 1 is out of range; expected an integer in [2, 64]" in fatal[0]


def test_the_pose_node_on_the_filter_output_equals_the_full_frame_pipeline(tmp_path: Path, ros_env: dict,
                                                                           stats_path: Path) -> None:
    """Camera -> filter (12x) -> orpose_node (restore_size 640x480) gives exactly the poses of the full frame
    through the 12x pipeline: the two share the restore step."""
    from orpose_ros.model import OrPosePredictor

    filter_log, node_log = tmp_path / "filter.log", tmp_path / "node.log"
    filter_process = _start_filter(ros_env, filter_log, image_topics=[RAW], factor=12, qos_reliability="reliable")
    node = start_node({"image_topics": [LOW_RAW], "restore_size": "640x480", "random_weights_seed": 0,
                       "stats": stats_path, "downsample_factor": 12, "device": "cpu", "qos_reliability": "reliable",
                       "publish_debug_image": False}, ros_env, node_log)
    peer = NodePeer(ros_env, {RAW: Image})
    frame = _frame(3)
    try:
        assert peer.wait_for_subscriber(RAW, 60), filter_log.read_text()
        assert wait_until(lambda: "ready:" in node_log.read_text(), 180), node_log.read_text()
        assert wait_until(lambda: "frames arrive shrunk" in node_log.read_text(), 5)

        def poses_arrived() -> bool:  # the frame is sent again until the filter's output has matched the node
            if not peer.inbox.poses_with_stamp(77, 0):
                peer.publish(RAW, image_msg(frame, "bgr8", header(77, 0, "cam")))
                time.sleep(3.0)
            return bool(peer.inbox.poses_with_stamp(77, 0))

        assert wait_until(poses_arrived, 180), node_log.read_text()[-3000:]
        msg = peer.inbox.poses_with_stamp(77, 0)[0]
    finally:
        peer.close()
        processes.stop(node)
        processes.stop(filter_process)
    predictor = OrPosePredictor.with_random_weights(0, stats_path, device="cpu", downsample_factor=12)
    expected = predictor.predict([frame])[0]
    assert (msg.image_width, msg.image_height, msg.downsample_factor) == (640, 480, 12)
    assert len(msg.persons) == len(expected.persons) > 0
    for got, want in zip(msg.persons, expected.persons, strict=True):
        # float32 sums in two processes may differ by tens of ulps (a CI run: 1.25e-6); a wrong frame: far more
        assert got.score == pytest.approx(want.score, abs=1e-5)
        np.testing.assert_allclose([[k.x, k.y, k.score] for k in got.keypoints_2d], want.keypoints_2d, atol=1e-4)
        np.testing.assert_allclose([[p.x, p.y, p.z] for p in got.keypoints_3d], want.keypoints_3d, atol=1e-6)
