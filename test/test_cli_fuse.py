"""orpose-fuse: orpose-infer results of three cameras -> tracked people in the room (JSON, pictures)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from conftest import REPO
from fusion_data import ceiling_room, keypoints_of, mvor_file, standing_person

from orpose_ros.cli.fuse import main
from orpose_ros.drawing.room import id_colour
from orpose_ros.geometry.body_model import standing_template_h36m
from orpose_ros.geometry.transforms import translation_quaternion_from_rigid

FRAMES = 6


def write_calibration(path: Path) -> None:
    """The synthetic ceiling room in the documented YAML format."""
    cameras = []
    for camera in ceiling_room(3).complete_cameras():
        t, q = translation_quaternion_from_rigid(camera.T_world_from_camera)
        cameras.append({
            "name": camera.name,
            "frame_id": f"{camera.name}_optical",
            "intrinsics": {"K": camera.K.ravel().tolist(), "distortion": [], "width": 640, "height": 480},
            "pose": {"translation": t.tolist(), "rotation": q.tolist()},
        })  # fmt: skip
    path.write_text(yaml.safe_dump({"world_frame": "room", "cameras": cameras}))


def write_results(folder: Path, size: tuple[int, int] = (640, 480)) -> list[Path]:
    """orpose-infer JSON of two people walking, per camera; keypoints in pixels of ``size``."""
    calibration = ceiling_room(3)
    paths = []
    for camera in calibration.complete_cameras():
        small = camera.scaled_to(*size)
        frames = []
        for i in range(FRAMES):
            people = [standing_person((-1.0 + 0.05 * i, 0.0), 0.0), standing_person((1.0, 0.5), 2.0)]
            persons = []
            for k, joints in enumerate(people):
                person = {"score": 0.9, "bbox": [0, 0, 1, 1], "keypoints_2d": keypoints_of(small, joints).tolist()}
                if k == 0:
                    person["keypoints_3d"] = standing_template_h36m().tolist()  # axes do not matter here
                persons.append(person)
            frames.append({"source": f"/data/{camera.name}/{i:04d}.png", "width": size[0], "height": size[1],
                           "persons": persons})  # fmt: skip
        path = folder / f"{camera.name}.json"
        path.write_text(json.dumps({"frames": frames}))
        paths.append(path)
    return paths


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, list[Path]]:
    calibration = tmp_path / "room.yaml"
    write_calibration(calibration)
    return calibration, write_results(tmp_path)


def test_fused_people_as_json_with_stable_ids(inputs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    calibration, results = inputs
    out = tmp_path / "fused.json"
    assert main(["--calibration", str(calibration), *map(str, results), "--json", str(out), "--fps", "5"]) == 0
    fused = json.loads(out.read_text())
    assert fused["world_frame"] == "room"
    assert fused["cameras"] == ["cam1", "cam2", "cam3"]
    assert len(fused["frames"]) == FRAMES
    assert fused["frames"][1]["stamp"] == 0.2
    ids = [sorted(p["id"] for p in f["persons"]) for f in fused["frames"]]
    assert all(i == [1, 2] for i in ids)  # published ids, as on /orpose/people (0 would be unconfirmed)
    person = fused["frames"][0]["persons"][0]
    assert person["views"] == ["cam1", "cam2", "cam3"]
    assert person["placement"] == "triangulated"
    assert len(person["keypoints_3d"]) == 17
    assert len(person["keypoints_3d"][5]) == 4
    walker = next(p for p in fused["frames"][-1]["persons"] if p["keypoints_3d"][5][0] < 0)
    expected = standing_person((-1.0 + 0.05 * (FRAMES - 1), 0.0), 0.0)[5]
    np.testing.assert_allclose(walker["keypoints_3d"][5][:3], expected, atol=1e-3)


def test_named_inputs_smaller_images_and_rendering(tmp_path: Path) -> None:
    calibration = tmp_path / "room.yaml"
    write_calibration(calibration)
    results = write_results(tmp_path, size=(320, 240))  # keypoints of half-size images
    images = []
    for name in ("cam1", "cam2"):
        folder = tmp_path / f"img_{name}"
        folder.mkdir()
        for i in range(FRAMES):
            cv2.imwrite(str(folder / f"{i:04d}.png"), np.full((240, 320, 3), 40, np.uint8))
        images.append(folder)
    out, render = tmp_path / "fused.json", tmp_path / "render"
    args = ["--calibration", str(calibration), f"cam2={results[1]}", f"cam1={results[0]}", "--json", str(out),
            "--render", str(render), "--images", *map(str, images[::-1]), "--smooth"]  # fmt: skip
    assert main(args) == 0
    fused = json.loads(out.read_text())
    assert fused["cameras"] == ["cam2", "cam1"]
    assert all(len(f["persons"]) == 2 for f in fused["frames"])
    pngs = sorted(render.glob("*.png"))
    assert len(pngs) == FRAMES
    picture = cv2.imread(str(pngs[0]))
    assert picture.shape[0] == 360
    assert picture.shape[1] > 2 * 360  # top view + two camera panels


def test_video_rendering(inputs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    calibration, results = inputs
    video = tmp_path / "out.mp4"
    assert main(["--calibration", str(calibration), *map(str, results), "--json", str(tmp_path / "f.json"),
                 "--render", str(video)]) == 0  # fmt: skip
    capture = cv2.VideoCapture(str(video))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES


def test_mvor_detection_file_is_read_directly_with_a_self_calibrated_floor(tmp_path: Path, capsys) -> None:
    out = tmp_path / "mvor.json"
    args = ["--calibration", str(mvor_file("camma_mvor_2018_day1.json")), "--mvor-detections",
            str(mvor_file("openpose_kps_day1.json")), "--json", str(out)]
    assert main([*args, "--floor", "auto"]) == 0
    fused = json.loads(out.read_text())
    assert fused["cameras"] == ["cam1", "cam2", "cam3"]
    assert len(fused["frames"]) == 57
    people = sum(len(f["persons"]) for f in fused["frames"])
    # 97 annotated in 3D (about 94 % found), plus people MVOR annotates only in 2D, less single-camera people
    # without a seen torso (the support rule)
    assert 100 <= people <= 160
    floor = float(re.search(r"floor (-?\d+\.\d+) m", capsys.readouterr().out).group(1))
    assert -1.3 < floor < -0.8  # MVOR's room frame has its origin about a metre above the floor
    assert main([*args, "--floor", "none"]) == 0
    assert "floor none" in capsys.readouterr().out
    assert main([*args, "--floor", "-1.0"]) == 0
    assert "floor -1.000 m" in capsys.readouterr().out
    assert main([*args, str(out)]) == 2
    assert "either RESULTS files or --mvor-detections" in capsys.readouterr().err


def test_render_frames_the_whole_run(tmp_path: Path) -> None:
    """A person who walks out of where frame 0's people stood stays in the picture (and is drawn)."""
    calibration = tmp_path / "room.yaml"
    write_calibration(calibration)
    results = write_results(tmp_path)
    for path in results:  # the walker of the last frame jumps 6 m away, beyond every camera
        content = json.loads(path.read_text())
        camera = ceiling_room(3).camera(path.stem)
        content["frames"][-1]["persons"][0]["keypoints_2d"] = keypoints_of(camera, standing_person((6.0, 0.0))).tolist()
        path.write_text(json.dumps(content))
    out, render = tmp_path / "fused.json", tmp_path / "render"
    assert main(["--calibration", str(calibration), *map(str, results), "--json", str(out), "--render",
                 str(render), "--floor", "0"]) == 0  # fmt: skip
    last = json.loads(out.read_text())["frames"][-1]["persons"]
    far = next(p for p in last if p["keypoints_3d"][11] and p["keypoints_3d"][11][0] > 5.0)
    picture = cv2.imread(str(sorted(render.glob("*.png"))[-1]))
    colour = np.array(id_colour(far["id"]))
    right = picture[:, int(0.8 * picture.shape[1]) :].reshape(-1, 3)
    assert (np.abs(right.astype(int) - colour).max(axis=1) <= 40).sum() > 20  # its skeleton, on the right


BAD_INPUTS = [
    ("count", "2 result files for 3 cameras"),
    ("name", "unknown camera 'cam9'"),
    ("frames", "different frame counts"),
    ("json", "not valid JSON"),
    ("missing", "no such file"),
    ("aspect", r"image size 640x360 does not match"),
    ("pending", "intrinsics come from camera_info"),
    ("images", "--images needs --render"),
    ("person", r"frame 0: person 0: .*keypoints_2d must be \(17, 3\)"),
]


@pytest.mark.parametrize(("change", "message"), [pytest.param(c, m, id=c) for c, m in BAD_INPUTS])
def test_bad_inputs_are_one_line_exit_2(
    inputs: tuple[Path, list[Path]], tmp_path: Path, change: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    calibration, results = inputs
    args = ["--calibration", str(calibration), *map(str, results), "--json", str(tmp_path / "f.json")]
    if change == "count":
        args = ["--calibration", str(calibration), *map(str, results[:2]), "--json", str(tmp_path / "f.json")]
    elif change == "name":
        args[2] = f"cam9={results[0]}"
        args[3:5] = [f"cam2={results[1]}", f"cam3={results[2]}"]
    elif change == "frames":
        data = json.loads(results[1].read_text())
        results[1].write_text(json.dumps({"frames": data["frames"][:2]}))
    elif change == "json":
        results[0].write_text("{oops")
    elif change == "missing":
        results[2].unlink()
    elif change == "aspect":
        data = json.loads(results[0].read_text())
        for frame in data["frames"]:
            frame["height"] = 360
        results[0].write_text(json.dumps(data))
    elif change == "pending":
        args[1] = str(REPO / "config" / "cameras.example.yaml")
    elif change == "images":
        args += ["--images", str(tmp_path), str(tmp_path), str(tmp_path)]
    elif change == "person":
        data = json.loads(results[0].read_text())
        data["frames"][0]["persons"][0]["keypoints_2d"] = [[0, 0]]
        results[0].write_text(json.dumps(data))
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("orpose-fuse: error:")
    assert "\n" not in err
    assert re.search(message, err), err


def test_absurd_detections_get_the_nodes_verdicts(inputs: tuple[Path, list[Path]], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """The person-level bad input of test_fusion_faults, offline: set aside alone, counted, logged once."""
    calibration, results = inputs
    clean = tmp_path / "clean.json"
    assert main(["--calibration", str(calibration), *map(str, results), "--json", str(clean)]) == 0
    for path in results:
        raw = json.loads(path.read_text())
        for frame in raw["frames"][1::2]:  # every other frame
            walker = frame["persons"][0]
            nan = np.array(frame["persons"][1]["keypoints_2d"])
            nan[3, 0] = np.nan
            inf = nan.copy()
            inf[3, 0] = np.inf
            far = np.where(np.arange(17)[:, None] % 2, 1e30, -1e30) * np.ones((17, 3))
            far[:, 2] = 0.9
            frame["persons"] += [{"score": 0.9, "keypoints_2d": nan.tolist()},
                                 {"score": -5.0, "keypoints_2d": inf.tolist()},
                                 {"score": 0.9, "keypoints_2d": far.tolist()}]
            frame["persons"] += [dict(walker, score=0.8 - 0.001 * k) for k in range(200)]  # repeats of the walker
        path.write_text(json.dumps(raw))  # NaN and Infinity as Python's json writes them
    capsys.readouterr()
    caplog.clear()
    out = tmp_path / "fused.json"
    assert main(["--calibration", str(calibration), *map(str, results), "--json", str(out)]) == 0
    stdout = capsys.readouterr().out
    fused, reference = json.loads(out.read_text()), json.loads(clean.read_text())
    assert [f["persons"] for f in fused["frames"]] == [f["persons"] for f in reference["frames"]]
    assert fused["set_aside"] == {"keypoints far outside the image": 9, "non-finite values": 18}
    assert "27 set aside" not in stdout
    assert "18 set aside: non-finite values" in stdout
    warnings = [r.getMessage() for r in caplog.records if r.name == "orpose-fuse"]
    assert len(warnings) == 6, warnings  # once per camera and cause
    assert warnings[0] == "frame 1: cam1: person 2: non-finite keypoints or score: ignored (further ones counted, " \
                          "not logged)"
    assert reference["set_aside"] == {}
