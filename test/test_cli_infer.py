"""orpose-infer: its pieces on synthetic data, then real processes on the shared 12x frames.

The model runs on CPU (~1-3 s per frame), so only six frames in all go through it here.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from orpose_ros.arguments import parse_size
from orpose_ros.camera_people import CameraPerson
from orpose_ros.camera_pipeline import FrameResult, PersonResult
from orpose_ros.cli import infer
from orpose_ros.cli.infer import frame_to_dict
from orpose_ros.fusion.motion import PersonMotion, TrackingState
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.poses import DetectedPerson

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m orpose_ros.cli.infer ARGS`` as a real process."""
    cmd = [sys.executable, "-m", "orpose_ros.cli.infer", *map(str, args)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=timeout)


# ------------------------------------------------------------------------------------------
# Pieces, without the model


def test_parse_size() -> None:
    assert parse_size("640x480") == (640, 480)
    assert parse_size("1920X1080") == (1920, 1080)
    for bad in ("640", "640x", "x480", "0x480", "640x-1", "640*480", "a x b", "1x2x3"):
        with pytest.raises(Exception, match=r"640x480|positive"):
            parse_size(bad)


def test_batched_keeps_order_and_remainder() -> None:
    batches = list(infer.batched(range(7), 3))  # type: ignore[arg-type]
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]


def test_frame_to_dict_has_the_exact_layout() -> None:
    kps2 = np.arange(51, dtype=np.float32).reshape(17, 3)
    kps3 = np.full((17, 3), 0.25, np.float32)
    kps3[4, 2] = np.nan
    person = DetectedPerson(score=np.float32(0.75), bbox=np.array([1, 2, 30, 40], np.float32),
                        keypoints_2d=kps2, keypoints_3d=kps3)  # fmt: skip
    joints = np.arange(51, dtype=float).reshape(17, 3) / 100.0  # asymmetric: a left/right swap shows
    motion = PersonMotion(TrackingState.MEASURED, joints[0], np.array([0.5, -0.25, 1.5]), np.eye(3), np.eye(3))
    placed = CameraPerson(4, True, "skeleton+floor", joints[0], joints, 1.5, motion)
    unplaced = CameraPerson(0, False, "", np.full(3, np.nan), np.full((17, 3), np.nan), float("nan"),
                            PersonMotion(TrackingState.NEW, np.zeros(3), np.zeros(3), np.eye(3), np.eye(3)))
    untracked = CameraPerson(0, False, "", np.full(3, np.nan), np.full((17, 3), np.nan), float("nan"))
    camera = PinholeCamera.nominal("cam_a", 640, 480, 60.0)
    result = FrameResult(0, "/a/image_raw", "a_optical", 640, 480, 12, camera, True,
                         (PersonResult(person, placed), PersonResult(person, unplaced),
                          PersonResult(person, untracked)))
    out = frame_to_dict("a/b.png", result)
    common = {
        "score": 0.75,
        "bbox": [1.0, 2.0, 30.0, 40.0],
        "keypoints_2d": kps2.tolist(),
        "keypoints_3d": [[0.25, 0.25, None if i == 4 else 0.25] for i in range(17)],
    }
    assert out == {
        "source": "a/b.png",
        "width": 640,
        "height": 480,
        "downsample_factor": 12,
        "camera": "cam_a",
        "metric": True,
        "persons": [
            {"id": 4, **common, "placement": "skeleton+floor", "position": [0.0, 0.01, 0.02],
             "keypoints_3d_camera": joints.tolist(), "tracking_state": "measured", "time_since_measured_s": 0.0,
             "velocity": [0.5, -0.25, 1.5]},
            {"id": 0, **common, "placement": "", "position": None, "keypoints_3d_camera": None,
             "tracking_state": "new", "time_since_measured_s": 0.0, "velocity": None},
            {"id": 0, **common, "placement": "", "position": None, "keypoints_3d_camera": None,
             "tracking_state": None, "time_since_measured_s": None, "velocity": None},
        ],
    }
    assert type(out["persons"][0]["score"]) is float
    json.dumps(out, allow_nan=False)  # valid strict JSON


# ------------------------------------------------------------------------------------------
# Errors of the real command: one line, exit status 2, no traceback, no model run


def test_missing_weights_names_the_path(mvor_frames: list[Path], tmp_path: Path) -> None:
    missing = tmp_path / "orpose_fixed_12x_model_final.pth"
    proc = _cli(mvor_frames[0], "--weights", missing, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"orpose-infer: error: --weights: file not found: {missing} " + (
        "(see models/README.md: orpose-download-models)"
    )
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--random-weights", "0", "--downsample", "12", "--restore-size", "640x480"], "not allowed with"),
        (["--random-weights", "0", "--restore-size", "640by480"], "expected WIDTHxHEIGHT"),
        (["--restore-size", "640x480"], "one of the arguments --weights --random-weights is required"),
        (["--random-weights", "0", "--batch", "0"], "expected a positive integer"),
    ],
)
def test_usage_errors(mvor_frames: list[Path], extra: list[str], message: str) -> None:
    proc = _cli(mvor_frames[0], *extra, timeout=60)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unreadable_input_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "frame.png"
    bad.write_bytes(b"\x89PNG broken")
    proc = _cli(bad, "--random-weights", "0", timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"orpose-infer: error: cannot read {bad}: not an image or a video OpenCV can open"
    ]


# ------------------------------------------------------------------------------------------
# End to end with a random checkpoint (crafted by the model package to detect people)


def _assert_number(value: object) -> float:
    assert type(value) is float, value
    assert math.isfinite(value), value
    return value


def test_five_frames_to_json_and_mp4(mvor_frames: list[Path], stats_path: Path, tmp_path: Path) -> None:
    frames = mvor_frames[:5]
    out_json, out_mp4 = tmp_path / "out.json", tmp_path / "out.mp4"
    proc = _cli(*frames, "--random-weights", "0", "--stats", stats_path, "--restore-size", "640x480",
                "--json", out_json, "--render", out_mp4)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "random" in proc.stderr.lower(), "no loud warning about random weights"
    assert proc.stdout.startswith("orpose-infer: 5 frames, ")

    result = json.loads(out_json.read_text())
    assert list(result) == ["frames"]
    assert len(result["frames"]) == 5
    persons_total = 0
    for frame, path in zip(result["frames"], frames, strict=True):
        assert list(frame) == ["source", "width", "height", "downsample_factor", "camera", "metric", "persons"]
        assert frame["source"] == str(path)
        assert (frame["camera"], frame["metric"]) == ("camera", False)  # no calibration: a nominal camera
        assert (frame["width"], frame["height"]) == (640, 480)
        for person in frame["persons"]:
            assert list(person) == ["id", "score", "bbox", "keypoints_2d", "keypoints_3d", "placement", "position",
                                    "keypoints_3d_camera", "tracking_state", "time_since_measured_s", "velocity"]
            assert person["placement"] == ""  # not metric: nobody is placed
            assert person["tracking_state"] in ("new", "measured")  # tracked all the same
            assert person["time_since_measured_s"] == 0.0
            assert person["velocity"] is None  # not placed: no metric velocity
            assert person["id"] >= 0
            assert 0.5 <= _assert_number(person["score"]) <= 1.0
            x1, y1, x2, y2 = (_assert_number(v) for v in person["bbox"])
            assert 0 <= x1 <= x2 <= 640
            assert 0 <= y1 <= y2 <= 480
            for key in ("keypoints_2d", "keypoints_3d"):
                assert len(person[key]) == 17
                assert all(len(row) == 3 for row in person[key])
                for row in person[key]:
                    for v in row:
                        _assert_number(v)
            pelvis = person["keypoints_3d"][0]
            assert max(abs(v) for v in pelvis) < 1e-6  # pelvis-relative
        persons_total += len(frame["persons"])
    assert persons_total > 0, "no one found with the crafted random weights"

    capture = cv2.VideoCapture(str(out_mp4))
    assert capture.isOpened()
    video = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        video.append(image)
    capture.release()
    assert len(video) == 5
    assert all(im.shape == (480, 640, 3) for im in video)
    # Drawn on the restored 640x480 frame: close to it (mp4 noise aside) except where boxes are.
    from orpose_ros import privacy

    restored = privacy.restore(cv2.imread(str(frames[0])), (480, 640)).astype(np.int16)
    diff = np.abs(video[0].astype(np.int16) - restored).max(axis=2)
    assert np.median(diff) < 10
    if result["frames"][0]["persons"]:
        assert np.count_nonzero(diff > 80) > 500, "no boxes drawn"


def test_downsampled_render_shows_the_privacy_view_not_the_original(stats_path: Path, tmp_path: Path) -> None:
    from orpose_ros import privacy

    rng = np.random.default_rng(3)
    original = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)  # all detail, nothing smooth
    src = tmp_path / "full.png"
    cv2.imwrite(str(src), original)
    render = tmp_path / "render"
    proc = _cli(src, "--random-weights", "0", "--stats", stats_path, "--downsample", "12", "--render", render,
                "--json", tmp_path / "one.json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (png,) = render.iterdir()
    drawn = cv2.imread(str(png)).astype(np.int16)
    view = privacy.restore(privacy.shrink(original, 12), (480, 640)).astype(np.int16)
    # Where nothing is drawn the render is the blurred privacy view, nowhere near the original.
    assert np.median(np.abs(drawn - view)) <= 1
    assert np.median(np.abs(drawn - original)) > 40
    frame = json.loads((tmp_path / "one.json").read_text())["frames"][0]
    assert (frame["width"], frame["height"]) == (640, 480)


# ------------------------------------------------------------------------------------------
# Recorded sessions (rosbag2, written with rosbags)


@pytest.mark.ros
def test_a_session_bag_gives_the_poses_of_its_frames_as_files(stats_path: Path, tmp_path: Path) -> None:
    """MCAP here; the sqlite3 storage goes through the same reader in test_cli_privacy_filter.py."""
    from ros_tools.session_bags import COMPRESSED, RAW, frame, write_session
    from rosbags.highlevel import AnyReader

    from orpose_ros import privacy
    from orpose_ros.ros.bags import orpose_typestore

    session = tmp_path / "session"
    write_session(session, "mcap", frames=1)
    out_json, out_bag = tmp_path / "bag.json", tmp_path / "results"
    proc = _cli(session, "--topics", f"{RAW},{COMPRESSED}", "--random-weights", "0", "--stats", stats_path,
                "--downsample", "12", "--json", out_json, "--out-bag", out_bag, "--out-bag-frames")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"skipped 1 on {RAW}" in proc.stdout
    assert "Traceback" not in proc.stderr  # the truncated frame
    from_bag = json.loads(out_json.read_text())["frames"]
    assert [f["source"] for f in from_bag] == [f"{RAW}@100.000000000", f"{COMPRESSED}@100.500000000"]
    assert [(f["topic"], f["stamp"]) for f in from_bag] == [(RAW, "100.000000000"), (COMPRESSED, "100.500000000")]

    files = [tmp_path / "cam1.png", tmp_path / "cam2.png"]
    for path, image in zip(files, (frame(0), frame(10)), strict=True):
        cv2.imwrite(str(path), image)  # lossless, as the bag's raw and png frames
    proc = _cli(*files, "--random-weights", "0", "--stats", stats_path, "--downsample", "12", "--json",
                tmp_path / "files.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    from_files = json.loads((tmp_path / "files.json").read_text())["frames"]
    # the model's people are the same; identities differ (two cameras in the bag, one camera of two files)
    detected = ("score", "bbox", "keypoints_2d", "keypoints_3d")
    assert [[{k: p[k] for k in detected} for p in f["persons"]] for f in from_bag] == \
        [[{k: p[k] for k in detected} for p in f["persons"]] for f in from_files]
    assert sum(len(f["persons"]) for f in from_bag) > 0

    typestore = orpose_typestore()
    with AnyReader([out_bag], default_typestore=typestore) as reader:
        assert all(c.msgdef.data for c in reader.connections)  # definitions embedded, orpose_msgs' included
        records: dict[str, list] = {}
        for connection, stamp, raw in reader.messages():
            records.setdefault(connection.topic, []).append((stamp, typestore.deserialize_cdr(raw, connection.msgtype)))
    poses = records["/orpose/poses"]
    assert [stamp for stamp, _ in poses] == [100 * 10**9, 100 * 10**9 + 5 * 10**8]  # the images' log times
    for (_, msg), expected in zip(poses, from_bag, strict=True):
        assert msg.source_topic == expected["topic"]
        assert f"{msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d}" == expected["stamp"]
        assert (msg.image_width, msg.image_height, msg.downsample_factor) == (640, 480, 12)
        assert len(msg.persons) == len(expected["persons"])
    assert len(records["/orpose/markers"]) == 2
    for topic, image in (("/cam1/lowres/image_raw", frame(0)), ("/cam2/lowres/image_raw", frame(10))):
        (_, small), = records[topic]
        assert (small.width, small.height, small.encoding) == (53, 40, "bgr8")
        np.testing.assert_array_equal(small.data.reshape(40, 53, 3), privacy.shrink(image, 12))


@pytest.mark.ros
def test_bad_session_arguments_are_one_line(tmp_path: Path, mvor_frames: list[Path]) -> None:
    from ros_tools.session_bags import write_session

    session = tmp_path / "session"
    write_session(session, "sqlite3", frames=1, broken=False)
    missing = _cli(session, "--topics", "/nope/image_raw", "--random-weights", "0")
    assert missing.returncode == 2
    assert "topic /nope/image_raw is not in" in missing.stderr
    not_images = _cli(session, "--topics", "/session/notes", "--random-weights", "0")
    assert not_images.returncode == 2
    assert "holds std_msgs/msg/String, not images" in not_images.stderr
    mixed = _cli(session, mvor_frames[0], "--random-weights", "0")
    assert mixed.returncode == 2
    assert "a bag is processed alone" in mixed.stderr
    no_bag = _cli(mvor_frames[0], "--random-weights", "0", "--out-bag", tmp_path / "x")
    assert no_bag.returncode == 2
    assert "need a bag as the input" in no_bag.stderr
    for proc in (missing, not_images, mixed, no_bag):
        assert "Traceback" not in proc.stderr
