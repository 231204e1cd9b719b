"""orpose_node as users run it: a separate process with real DDS, fed and watched by this process.

One node serves most tests: two cameras (a raw Image topic and a CompressedImage one), privacy
factor 12, random weights crafted to detect people, CPU.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from ros_tools.node_harness import (
    NodePeer,
    diagnostics_value,
    header,
    image_msg,
    node_command,
    start_node,
    wait_until,
)
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from visualization_msgs.msg import Marker

from orpose_msgs.msg import PersonPose
from orpose_ros import privacy
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.geometry.placement import PlacementOptions, place_people
from orpose_ros.synthetic_scene import synthetic_frame

RAW, COMPRESSED = "/cam_a/image_raw", "/cam_b/image_raw/compressed"
INFO_A, INFO_B = "/cam_a/camera_info", "/cam_b/camera_info"
FACTOR = 12
WAIT = 120.0  # s: first inference on a cold 2-core CPU included

pytestmark = [pytest.mark.ros, pytest.mark.timeout(600)]


def _frame(index: int) -> np.ndarray:
    """A 640x480 scene with fine detail, so that a shrunk-and-restored copy is far from it."""
    frame = synthetic_frame(index).astype(np.int16)
    noise = np.random.default_rng(index).integers(-40, 40, frame.shape)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def _png(frame: np.ndarray, hdr) -> CompressedImage:
    ok, data = cv2.imencode(".png", frame)  # lossless, so the debug image can be predicted
    assert ok
    return CompressedImage(header=hdr, format="png", data=data.tobytes())


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, stats_path: Path, ros_env_module: dict) -> Iterator[tuple]:
    log = tmp_path_factory.mktemp("node") / "node.log"
    params = {
        "image_topics": [RAW, COMPRESSED], "random_weights_seed": 0, "stats": stats_path,
        "downsample_factor": FACTOR, "device": "cpu", "qos_reliability": "reliable", "qos_depth": 1,
        "camera_info_topics": [INFO_A, INFO_B], "marker_depth": 2.5,
        "placement_min_keypoint_score": 0.0,  # random weights score keypoints ~0.002: place them all the same
    }
    process = start_node(params, ros_env_module, log)
    peer = NodePeer(ros_env_module, {RAW: Image, COMPRESSED: CompressedImage, INFO_A: CameraInfo},
                    best_effort_topics={INFO_B: CameraInfo})
    try:
        assert peer.wait_for_subscriber(RAW, 120), log.read_text()
        assert peer.wait_for_subscriber(COMPRESSED, 30), log.read_text()
        yield process, peer, log
    finally:
        peer.close()
        process.send_signal(2)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def _await_poses(peer: NodePeer, stamp: tuple[int, int], log: Path):
    assert wait_until(lambda: peer.inbox.poses_with_stamp(*stamp), WAIT), log.read_text()[-3000:]
    return peer.inbox.poses_with_stamp(*stamp)[0]


def test_poses_for_two_cameras_keep_each_frames_header(running) -> None:
    _, peer, log = running
    frame = _frame(0)
    peer.publish(RAW, image_msg(frame, "bgr8", header(101, 1, "cam_a_optical")))
    peer.publish(COMPRESSED, _png(frame, header(101, 2, "cam_b_optical")))
    for stamp, frame_id, topic in (((101, 1), "cam_a_optical", RAW), ((101, 2), "cam_b_optical", COMPRESSED)):
        msg = _await_poses(peer, stamp, log)
        assert msg.header.frame_id == frame_id
        assert msg.source_topic == topic
        assert (msg.image_width, msg.image_height, msg.downsample_factor) == (640, 480, FACTOR)
        assert len(msg.persons) >= 1, "the crafted random weights should detect people"
        for person in msg.persons:
            assert len(person.keypoints_2d) == 17
            assert len(person.keypoints_3d) == 17
            x1, y1, x2, y2 = person.bbox
            assert 0 <= x1 <= x2 <= 640
            assert 0 <= y1 <= y2 <= 480
            assert all(0 <= k.x <= 640 and 0 <= k.y <= 480 for k in person.keypoints_2d)
            assert person.keypoints_3d[0].x == person.keypoints_3d[0].y == person.keypoints_3d[0].z == 0.0
            assert 0.5 <= person.score <= 1.0
        ids = [p.id for p in msg.persons]
        assert min(ids) >= 1
        assert len(set(ids)) == len(ids)  # tracked: distinct identities


def _markers_with_stamp(peer: NodePeer, sec: int) -> list:
    return [m for m in list(peer.inbox.markers) if m.markers and m.markers[0].header.stamp.sec == sec]


def test_markers_start_with_deleteall_and_carry_the_image_stamp(running) -> None:
    _, peer, log = running
    peer.publish(RAW, image_msg(_frame(5), "bgr8", header(111, 0, "cam_a_optical")))
    _await_poses(peer, (111, 0), log)
    assert wait_until(lambda: _markers_with_stamp(peer, 111), 30)
    for array_msg in _markers_with_stamp(peer, 111):
        first = array_msg.markers[0]
        assert first.action == Marker.DELETEALL
        assert first.ns in (RAW.strip("/"), COMPRESSED.strip("/"))
        kinds = [m.type for m in array_msg.markers[1:]]
        assert kinds
        assert kinds == [Marker.LINE_LIST, Marker.SPHERE_LIST, Marker.TEXT_VIEW_FACING] * (len(kinds) // 3)
        assert all(m.header.stamp == first.header.stamp for m in array_msg.markers)


def _expected_placement(poses, k: list[float], info_size: tuple[int, int]) -> list:
    """What the node's placement gives for these poses with this K (at info_size), recomputed here."""
    camera = PinholeCamera.from_k("cam", k, *info_size).scaled_to(poses.image_width, poses.image_height)
    keypoints = np.array([[[p.x, p.y, p.score] for p in person.keypoints_2d] for person in poses.persons])
    skeletons = np.array([[[p.x, p.y, p.z] for p in person.keypoints_3d] for person in poses.persons])
    return place_people(camera, keypoints, skeletons, options=PlacementOptions(min_joint_score=0.0))


def _joints(points) -> np.ndarray:
    return np.array([[p.x, p.y, p.z] for p in points])


def test_camera_info_places_people_metrically(running) -> None:
    """cam_a gets a CameraInfo (at twice the image resolution: the node rescales K); the published
    placement and the markers are the ones this K gives."""
    _, peer, log = running
    k = [1000.0, 0.0, 600.0, 0.0, 1100.0, 500.0, 0.0, 0.0, 1.0]
    info = CameraInfo(header=header(0, 0, "cam_a_optical"), width=1280, height=960, k=k)
    assert peer.wait_for_subscriber(INFO_A, 30)
    for _ in range(3):  # the node listens best effort (as drivers publish): say it a few times
        peer.publish(INFO_A, info)
        time.sleep(0.3)
    peer.publish(RAW, image_msg(_frame(4), "bgr8", header(150, 0, "cam_a_optical")))
    poses = _await_poses(peer, (150, 0), log)
    assert poses.persons
    expected = _expected_placement(poses, k, (1280, 960))
    assert expected.success.any(), "nobody placed: the test would prove nothing"
    for i, person in enumerate(poses.persons):
        assert person.placement == (PersonPose.PLACEMENT_SKELETON if expected.success[i] else PersonPose.PLACEMENT_NONE)
        if not expected.success[i]:
            continue
        np.testing.assert_allclose(_joints(person.keypoints_3d_camera), expected.joints_h36m[i], atol=1e-4)
        np.testing.assert_allclose([person.position.x, person.position.y, person.position.z],
                                   expected.pelvis[i], atol=1e-4)
        assert person.placement_error == pytest.approx(expected.residual_px[i], rel=1e-3)
    assert wait_until(lambda: _markers_with_stamp(peer, 150), 30), "no markers for the frame"
    markers = _markers_with_stamp(peer, 150)
    spheres = [m for m in markers[0].markers if m.type == Marker.SPHERE_LIST]
    first = int(np.argmax(expected.success))
    np.testing.assert_allclose(_joints(spheres[first].points), expected.joints_h36m[first], atol=1e-4)


def test_debug_image_in_privacy_mode_is_the_restored_low_resolution_frame(running) -> None:
    _, peer, log = running
    frame = _frame(1)
    peer.publish(RAW, image_msg(frame, "bgr8", header(202, 0, "cam_a_optical")))
    poses = _await_poses(peer, (202, 0), log)
    assert wait_until(lambda: any(m.header.stamp.sec == 202 for m in peer.inbox.debug), 30)
    debug_msg = next(m for m in peer.inbox.debug if m.header.stamp.sec == 202)
    assert (debug_msg.width, debug_msg.height, debug_msg.encoding) == (640, 480, "bgr8")
    debug = np.frombuffer(debug_msg.data, np.uint8).reshape(480, 640, 3)

    restored = privacy.shrink_and_restore(frame, FACTOR)
    # where the drawing may differ: the boxes with a margin for line width, and the score label
    # drawn just above each box (pushed inside the image near its border)
    drawn = np.zeros((480, 640), bool)
    for person in poses.persons:
        x1, y1, x2, y2 = (int(v) for v in person.bbox)
        drawn[max(0, y1 - 8): y2 + 9, max(0, x1 - 8): x2 + 9] = True
        label_x = min(max(x1, 0), 640 - 100)
        drawn[max(0, min(y1, 40) - 40): max(y1, 40) + 9, label_x: label_x + 100] = True
    outside = ~drawn
    assert outside.mean() > 0.1, "boxes cover nearly the whole frame: the test would prove nothing"
    np.testing.assert_array_equal(debug[outside], restored[outside])
    assert np.abs(debug[outside].astype(int) - frame[outside]).mean() > 10  # not the original


def test_bad_inputs_are_skipped_with_a_warning_and_the_node_serves_on(running) -> None:
    process, peer, log = running
    good = _frame(2)
    bad = [
        ("16UC1", image_msg(np.zeros((48, 64, 2), np.uint8), "16UC1", header(300, 1, "a"))),
        ("32FC1", image_msg(np.zeros((48, 64, 4), np.uint8), "32FC1", header(300, 2, "a"))),
        ("yuv422", image_msg(np.zeros((48, 64, 2), np.uint8), "yuv422", header(300, 3, "a"))),
        ("bayer_rggb8", image_msg(np.zeros((48, 64, 1), np.uint8), "bayer_rggb8", header(300, 4, "a"))),
        ("empty", image_msg(np.zeros((0, 0, 3), np.uint8), "bgr8", header(300, 5, "a"), step=0)),
        ("needs", image_msg(good[:100], "bgr8", header(300, 6, "a"), step=640 * 3)),
    ]
    bad[-1][1].height = 480  # claims a whole frame, carries 100 rows
    rejected_before = diagnostics_value(peer.inbox.diagnostics, RAW, "rejected") or 0
    for word, msg in bad:  # one at a time: the node keeps only the newest frame of a camera
        peer.publish(RAW, msg)
        assert wait_until(lambda word=word: word in log.read_text(), WAIT), f"no warning naming '{word}'"
    peer.publish(COMPRESSED, CompressedImage(header=header(300, 7, "b"), format="jpeg", data=b"garbage"))
    assert wait_until(lambda: "could not decode" in log.read_text(), WAIT)
    peer.publish(RAW, image_msg(good, "rgb8", header(301, 0, "cam_a_optical")))
    msg = _await_poses(peer, (301, 0), log)
    assert msg.image_width == 640
    assert process.poll() is None
    assert COMPRESSED in log.read_text()
    assert not peer.inbox.poses_with_stamp(300, 1)
    assert wait_until(lambda: (diagnostics_value(peer.inbox.diagnostics, RAW, "rejected") or 0)
                      >= rejected_before + len(bad), 10)


def test_a_frame_too_small_to_shrink_costs_only_its_own_camera(running) -> None:
    """A 100000x1 frame cannot be shrunk 12x; the other camera's frame of the same moment is served."""
    _, peer, log = running
    peer.publish(RAW, image_msg(np.zeros((1, 100000, 3), np.uint8), "bgr8", header(320, 1, "cam_a_optical")))
    peer.publish(COMPRESSED, _png(_frame(6), header(320, 2, "cam_b_optical")))
    assert _await_poses(peer, (320, 2), log).source_topic == COMPRESSED
    assert wait_until(lambda: "too small to shrink" in log.read_text(), WAIT)
    assert not peer.inbox.poses_with_stamp(320, 1)


def test_bad_camera_info_is_refused_alone_and_counted(running) -> None:
    _, peer, log = running
    assert peer.wait_for_subscriber(INFO_A, 30)
    before = diagnostics_value(peer.inbox.diagnostics, RAW, "camera_info_rejected") or 0
    nan_k = [500.0, 0.0, 320.0, 0.0, float("nan"), 240.0, 0.0, 0.0, 1.0]
    for _ in range(3):  # the node listens best effort (as drivers publish): say each a few times
        peer.publish(INFO_A, CameraInfo(header=header(0, 0, "cam_a_optical"), width=0, height=480, k=[500.0] * 9))
        time.sleep(0.2)
        peer.publish(INFO_A, CameraInfo(header=header(0, 0, "cam_a_optical"), width=640, height=480, k=nan_k))
        time.sleep(0.2)
    assert wait_until(lambda: (diagnostics_value(peer.inbox.diagnostics, RAW, "camera_info_rejected") or 0)
                      >= before + 2, 30), log.read_text()[-2000:]
    text = log.read_text()
    assert "image size 0x480 is not positive" in text
    assert "K has non-finite values" in text
    peer.publish(RAW, image_msg(_frame(7), "bgr8", header(330, 0, "cam_a_optical")))
    peer.publish(COMPRESSED, _png(_frame(7), header(330, 1, "cam_b_optical")))
    _await_poses(peer, (330, 0), log)
    _await_poses(peer, (330, 1), log)
    assert wait_until(lambda: _markers_with_stamp(peer, 330), 30)
    for array_msg in _markers_with_stamp(peer, 330):
        points = np.array([[p.x, p.y, p.z] for m in array_msg.markers for p in m.points])
        assert np.all(np.isfinite(points))


def test_a_best_effort_camera_info_publisher_is_heard(running) -> None:
    """Camera drivers often publish camera_info best effort; the node's subscription must match it."""
    _, peer, log = running
    assert peer.wait_for_subscriber(INFO_B, 30)
    k = [400.0, 0.0, 330.0, 0.0, 400.0, 250.0, 0.0, 0.0, 1.0]
    for _ in range(3):
        peer.publish(INFO_B, CameraInfo(header=header(0, 0, "cam_b_optical"), width=640, height=480, k=k))
        time.sleep(0.2)
    peer.publish(COMPRESSED, _png(_frame(8), header(340, 0, "cam_b_optical")))
    poses = _await_poses(peer, (340, 0), log)
    assert poses.persons
    expected = _expected_placement(poses, k, (640, 480))
    np.testing.assert_allclose(_joints(poses.persons[0].keypoints_3d_camera), expected.joints_h36m[0], atol=1e-4)


def test_runtime_parameters_change_through_the_parameter_service(running) -> None:
    _, peer, log = running
    ok = peer.set_parameters(score_threshold=1.0, publish_markers=False)
    assert all(r.successful for r in ok), [r.reason for r in ok]
    try:
        peer.publish(RAW, image_msg(_frame(9), "bgr8", header(350, 0, "cam_a_optical")))
        assert _await_poses(peer, (350, 0), log).persons == []  # no score is above 1.0
        time.sleep(1.0)
        assert not _markers_with_stamp(peer, 350)
        refused = peer.set_parameters(score_threshold=1.5)[0]
        assert not refused.successful
        assert "score_threshold" in refused.reason
        read_only = peer.set_parameters(device="cuda")[0]
        assert not read_only.successful
        assert "read-only" in read_only.reason
    finally:
        restored = peer.set_parameters(score_threshold=0.5, publish_markers=True)
        assert all(r.successful for r in restored)
    peer.publish(RAW, image_msg(_frame(9), "bgr8", header(351, 0, "cam_a_optical")))
    assert _await_poses(peer, (351, 0), log).persons
    assert wait_until(lambda: _markers_with_stamp(peer, 351), 30)
    assert "score_threshold 1.0 -> 0.5" in log.read_text()


def test_only_the_newest_frame_is_kept_when_frames_come_faster_than_inference(running) -> None:
    _, peer, _ = running
    started = len(peer.inbox.poses)
    sent_at = []
    end = time.monotonic() + 20.0
    while time.monotonic() < end:  # 10 Hz, far above CPU inference speed
        now = time.time()
        sec, nanosec = int(now), int((now % 1) * 1e9)
        peer.publish(RAW, image_msg(_frame(3), "bgr8", header(sec, nanosec, "cam_a_optical")))
        sent_at.append(now)
        time.sleep(0.1)
    assert wait_until(lambda: len(peer.inbox.poses) > started + 2, WAIT)
    time.sleep(3.0)
    received = [(t, m) for t, m in peer.inbox.poses[started:] if m.source_topic == RAW]
    latencies = [t - (m.header.stamp.sec + m.header.stamp.nanosec * 1e-9) for t, m in received]
    assert len(received) < len(sent_at) / 2, "the node should have dropped most frames"
    dropped = diagnostics_value(peer.inbox.diagnostics, RAW, "dropped")
    assert dropped is not None
    assert dropped >= len(sent_at) / 2
    # a queue would make every latency longer than the previous one; newest-only keeps them flat
    assert max(latencies[-2:]) < 2.5 * min(latencies[:2]) + 1.0, latencies


def test_missing_weights_file_exits_with_instructions(tmp_path: Path, ros_env: dict) -> None:
    missing = tmp_path / "orpose_fixed_12x_model_final.pth"
    log = tmp_path / "node.log"
    process = start_node({"weights": missing, "device": "cpu"}, ros_env, log)
    assert process.wait(120) == 1
    text = log.read_text()
    assert str(missing) in text
    assert "orpose-download-models" in text


@pytest.mark.timeout(180)
def test_cuda_without_a_gpu_falls_back_to_the_cpu_loudly(tmp_path: Path, ros_env: dict, stats_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    log = tmp_path / "node.log"
    process = start_node({"random_weights_seed": 0, "stats": stats_path, "device": "cuda"}, ros_env, log)
    try:
        assert wait_until(lambda: "ready:" in log.read_text() or process.poll() is not None, 150), log.read_text()
        assert process.poll() is None, log.read_text()
        text = log.read_text()
        assert "falling back to the CPU" in text
        assert "device cpu" in text
    finally:
        process.send_signal(2)
        process.wait(30)


def test_no_weights_at_all_exits_with_instructions(tmp_path: Path, ros_env: dict) -> None:
    log = tmp_path / "node.log"
    assert start_node({"device": "cpu"}, ros_env, log).wait(120) == 1
    assert "no model weights configured" in log.read_text()


@pytest.mark.timeout(300)
def test_sigint_during_a_long_inference_exits_cleanly_within_launch_grace(
    tmp_path: Path, ros_env: dict, stats_path: Path
) -> None:
    """ros2 launch sends SIGINT and escalates after 5 s: the node must be gone, with code 0, before that."""
    topics = [f"/sig{i}/image_raw" for i in range(8)]
    log = tmp_path / "node.log"
    process = start_node({"image_topics": topics, "random_weights_seed": 0, "stats": stats_path,
                          "downsample_factor": FACTOR, "device": "cpu", "qos_reliability": "reliable"}, ros_env, log)
    peer = NodePeer(ros_env, dict.fromkeys(topics, Image))
    try:
        assert all(peer.wait_for_subscriber(t, 120) for t in topics), log.read_text()
        for i, topic in enumerate(topics):
            peer.publish(topic, image_msg(_frame(i), "bgr8", header(400, i, "cam")))
        # eight CPU frames take seconds each here, one batch or two: the last camera's forward pass is running
        time.sleep(1.5)
        assert process.poll() is None
        assert not peer.inbox.poses_with_stamp(400, len(topics) - 1)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        code = process.wait(15)
        elapsed = time.monotonic() - started
    finally:
        peer.close()
        if process.poll() is None:
            process.kill()
    text = log.read_text()
    assert code == 0, (code, elapsed, text[-2000:])
    assert elapsed < 5.0, (code, elapsed, text[-2000:])
    assert "terminate called" not in text
    assert "Traceback" not in text


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"downsample_factor": 12.0}, ["'downsample_factor'", "12.0", "expected an integer in [0, 64]"]),
        ({"image_topics": []}, ["'image_topics'", "empty list", "expected a non-empty list"]),
        ({"score_threshold": 2.0}, ["'score_threshold'", "2.0 is out of range", "[0.0, 1.0]"]),
        ({"qos_depth": 0}, ["'qos_depth'", "0 is out of range", "[1, 100]"]),
        ({"restore_size": "big"}, ["'restore_size'", "'big'", "WxH"]),
    ],
)
def test_start_up_errors_are_one_line_naming_the_parameter(tmp_path: Path, ros_env: dict, params: dict,
                                                          words: list[str]) -> None:
    log = tmp_path / "node.log"
    assert start_node({"random_weights_seed": 0, **params}, ros_env, log).wait(60) == 1
    text = log.read_text()
    fatal = [line for line in text.splitlines() if "FATAL" in line]
    assert len(fatal) == 1, text
    assert "Traceback" not in text, text
    assert all(word in fatal[0] for word in words), fatal[0]


def test_malformed_ros_arguments_are_one_line(ros_env: dict) -> None:
    result = subprocess.run([*node_command({}), "--no-such-flag"], env=ros_env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "unknown ROS arguments" in result.stderr
    assert "--no-such-flag" in result.stderr
