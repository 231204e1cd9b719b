"""RoomCalibration and its file formats: the documented YAML example, MVOR's annotation JSON, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO
from fusion_data import mvor_file

from orpose_ros.evaluation.mvor import MvorDataset, load_mvor
from orpose_ros.geometry import (
    CalibrationError,
    FloorPlane,
    PendingCamera,
    PinholeCamera,
    RoomCalibration,
    load_calibration,
)
from orpose_ros.geometry.calibration_files import mvor_distortion_to_opencv

EXAMPLE = REPO / "config" / "cameras.example.yaml"
K9 = [500.0, 0.0, 319.5, 0.0, 500.0, 239.5, 0.0, 0.0, 1.0]


@pytest.fixture(scope="module")
def mvor_annotations() -> Path:
    return mvor_file("camma_mvor_2018_day1.json")


def test_example_yaml_loads_with_a_pending_camera() -> None:
    cal = load_calibration(EXAMPLE)
    assert cal.world_frame == "or_room"
    assert cal.names == ("ceiling_left", "ceiling_right", "ceiling_back")
    assert cal.pending_names == ("ceiling_back",)
    assert not cal.is_complete
    assert isinstance(cal.cameras[2], PendingCamera)
    left = cal.camera("ceiling_left")
    assert (left.width, left.height, left.image_topic, left.frame_id) == (640, 480, "/ceiling_left/image_raw",
                                                                         "ceiling_left_optical")  # fmt: skip
    assert left.has_distortion
    assert not cal.camera("ceiling_right").has_distortion
    np.testing.assert_allclose(left.centre_world, [0.3, 0.3, 2.6])
    # every camera looks down into the room, towards its middle
    for camera in cal.cameras:
        axis = camera.T_world_from_camera[:3, 2]
        assert axis[2] < -0.3
        assert np.dot(axis[:2], np.array([3.0, 2.5]) - camera.T_world_from_camera[:2, 3]) > 0
    np.testing.assert_allclose(cal.floor.normal_world, [0, 0, 1])
    assert cal.floor.offset_m == 0.0


def test_pending_camera_is_completed_from_camera_info() -> None:
    cal = load_calibration(EXAMPLE)
    with pytest.raises(CalibrationError, match="'ceiling_back': intrinsics: still waiting for camera_info"):
        cal.camera("ceiling_back")
    assert cal.entry("ceiling_back") is cal.cameras[2]  # the pending entry itself, as held
    assert cal.entry("ceiling_left") is cal.camera("ceiling_left")
    with pytest.raises(CalibrationError, match="ceiling_back"):
        cal.complete_cameras()
    done = cal.with_intrinsics("ceiling_back", K9, 640, 480, [0.01, 0.0, 0.0, 0.0])
    assert done.is_complete
    assert not cal.is_complete  # a new calibration; the old one is unchanged
    back = done.camera("ceiling_back")
    assert back.camera_info_topic == "/ceiling_back/camera_info"
    np.testing.assert_array_equal(back.T_world_from_camera, cal.cameras[2].T_world_from_camera)
    # the room centre (3, 2.5, 1) is in front of the camera, near the image centre
    u, v = back.project(np.array([3.0, 2.5, 1.0]))
    assert abs(u - 319.5) < 1
    assert abs(v - 239.5) < 1
    # a later camera_info replaces the intrinsics of a complete camera too
    again = done.with_intrinsics("ceiling_back", [600, 0, 320, 0, 600, 240, 0, 0, 1], 640, 480)
    assert again.camera("ceiling_back").K[0, 0] == 600.0
    with pytest.raises(CalibrationError, match="'ceiling_back': K is singular"):
        cal.with_intrinsics("ceiling_back", [0.0] * 9, 640, 480)


def test_unknown_camera_name_is_named() -> None:
    cal = load_calibration(EXAMPLE)
    with pytest.raises(CalibrationError, match=r"unknown camera 'cam9' \(cameras: ceiling_left, ceiling_right"):
        cal.camera("cam9")
    with pytest.raises(CalibrationError, match=r"unknown camera 'cam9' \(cameras: ceiling_left, ceiling_right"):
        cal.entry("cam9")


def test_image_sizes_rescale_cameras_with_the_same_aspect_ratio() -> None:
    cal = load_calibration(EXAMPLE)
    small = cal.for_image_sizes({"ceiling_left": (53, 40), "ceiling_right": (640, 480)})  # 12x and 2x smaller
    assert (small.camera("ceiling_left").width, small.camera("ceiling_left").height) == (53, 40)
    assert small.camera("ceiling_right").width == 640
    assert small.camera("ceiling_right").K[0, 0] == pytest.approx(540.0)
    with pytest.raises(CalibrationError, match=r"'ceiling_left': image size 640x360 does not match .* 640x480"):
        cal.for_image_sizes({"ceiling_left": (640, 360)})
    with pytest.raises(CalibrationError, match="unknown camera 'nope'"):
        cal.for_image_sizes({"nope": (640, 480)})


def _slug(value: object) -> str:
    """A test id for a parameter: words of a string, "edit" for a function."""
    return "-".join(re.findall(r"[A-Za-z0-9_]+", value))[:60] if isinstance(value, str) else "edit"


def _write(tmp_path: Path, content: dict | str) -> Path:
    path = tmp_path / "cal.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return path


def _example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def _edit(change: Callable[[dict], object]) -> dict:
    content = _example()
    change(content)
    return content


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["cameras"][0].pop("pose"), "camera 'ceiling_left': missing field 'pose'"),
        (lambda c: c["cameras"][0]["intrinsics"].pop("K"), "camera 'ceiling_left': intrinsics: missing field 'K'"),
        (lambda c: c["cameras"][1]["intrinsics"].update(K=[0.0] * 9), "camera 'ceiling_right': K is singular"),
        (lambda c: c["cameras"][1]["intrinsics"].update(K=[1, 2, 3]), r"'ceiling_right': intrinsics.K: expected 9"),
        (lambda c: c["cameras"][0]["intrinsics"].update(width=-640), "'ceiling_left': intrinsics.width: expected a"),
        (
            lambda c: c["cameras"][0]["pose"].update(rotation=[0, 0, 0, 2]),
            r"'ceiling_left': pose.rotation: quaternion norm is 2",
        ),
        (
            lambda c: c["cameras"][0]["pose"].update(rotation=[0, 0, 1]),
            r"'ceiling_left': pose.rotation: expected 4 numbers",
        ),
        (
            lambda c: c["cameras"][0]["pose"].update(translation="here"),
            r"'ceiling_left': pose.translation: expected a list",
        ),
        (lambda c: c["cameras"][2].pop("camera_info_topic"), "'ceiling_back': camera_info_topic: required"),
        (lambda c: c["cameras"][2].update(intrinsics="guess"), "'ceiling_back': intrinsics: expected a mapping"),
        (lambda c: c["cameras"][1].update(name="ceiling_left"), r"duplicate camera names \['ceiling_left'\]"),
        (lambda c: c["cameras"][1].update(fov=60), "'ceiling_right': unknown field 'fov'"),
        (lambda c: c["cameras"][1].pop("name"), r"cameras\[1\]: missing field 'name'"),
        (lambda c: c.pop("world_frame"), "missing field 'world_frame'"),
        (lambda c: c.update(cameras=[]), "cameras: expected a non-empty list"),
        (lambda c: c.update(floor={"normal": [0, 0, 0]}), "floor.normal: must not be zero"),
        (lambda c: c.update(extra=1), "unknown top-level field 'extra'"),
    ],
    ids=_slug,
)
def test_yaml_errors_name_file_camera_and_field(tmp_path: Path, change: Callable[[dict], object], message: str) -> None:
    path = _write(tmp_path, _edit(change))
    with pytest.raises(CalibrationError, match=message) as info:
        load_calibration(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_floor_is_optional_or_unknown(tmp_path: Path) -> None:
    no_floor = _edit(lambda c: c.pop("floor"))
    assert load_calibration(_write(tmp_path, no_floor)).floor.offset_m == 0.0
    unknown = _edit(lambda c: c.update(floor=None))
    assert load_calibration(_write(tmp_path, unknown)).floor is None
    tilted = _edit(lambda c: c.update(floor={"normal": [0, 0, 2], "offset": -1.5}))
    floor = load_calibration(_write(tmp_path, tilted)).floor
    np.testing.assert_allclose(floor.normal_world, [0, 0, 1])
    assert floor.height_of(np.array([1.0, 2.0, 0.0])) == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cameras: [\n  - name: a\n bad", "not valid JSON/YAML"),
        ("{not json", "not valid JSON/YAML"),
        ("just a string", "not a calibration"),
        ("world_frame: x\n", "not a calibration"),
    ],
    ids=_slug,
)
def test_unreadable_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        load_calibration(_write(tmp_path, text))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match=r"nope\.yaml: calibration file not found"):
        load_calibration(tmp_path / "nope.yaml")


def test_mvor_calibration_in_metres_in_the_room_frame(mvor_annotations: Path) -> None:
    raw = json.loads(mvor_annotations.read_text())["cameras_info"]["camParams"]
    cal = load_calibration(mvor_annotations)
    assert cal.names == ("cam1", "cam2", "cam3")
    assert cal.world_frame == "mvor_room"
    assert cal.floor is None
    T_room_from_cam1 = np.array(raw["firstCamToRoomRef"]).reshape(4, 4)
    T_room_from_cam1[:3, 3] /= 1000.0
    np.testing.assert_allclose(cal.camera("cam1").T_world_from_camera, T_room_from_cam1, atol=1e-12)
    T_cam1_from_cam3 = np.array(raw["extrinsics"][2]).reshape(4, 4)
    T_cam1_from_cam3[:3, 3] /= 1000.0
    np.testing.assert_allclose(cal.camera("cam3").T_world_from_camera, T_room_from_cam1 @ T_cam1_from_cam3, atol=1e-12)
    cam2 = cal.camera("cam2")
    intrinsics = raw["intrinsics"][1]
    np.testing.assert_allclose([cam2.K[0, 0], cam2.K[1, 1]], intrinsics["focallength"])
    np.testing.assert_allclose(cam2.K[:2, 2], intrinsics["principalpoint"])
    assert (cam2.width, cam2.height) == tuple(intrinsics["imagesize"])
    assert not cam2.has_distortion
    # ceiling cameras: 1.5 to 1.8 m above the room frame's origin, looking down
    for camera in cal.cameras:
        assert 1.4 < camera.centre_world[2] < 1.9
        assert camera.optical_axis_world[2] < -0.5
    with_distortion = load_calibration(mvor_annotations, mvor_distortion=True)
    k1, k2, k3, p1, p2 = intrinsics["distortion"]
    np.testing.assert_allclose(with_distortion.camera("cam2").distortion, [k1, k2, p1, p2, k3])
    np.testing.assert_allclose(mvor_distortion_to_opencv(np.arange(5.0)), [0, 1, 3, 4, 2])


def _reprojection_errors_px(dataset: MvorDataset, annotations: dict, calibration: RoomCalibration) -> dict[str, float]:
    """Median distance per camera between projected 3D ground truth and the 2D annotations [px]."""
    by_image: dict[int, list] = {}
    for a in annotations["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    names = tuple(annotations["categories"][0]["keypoints"])
    errors: dict[str, list[float]] = {}
    for frame in dataset.frames:
        for person in frame.people:
            for name, image_id in frame.image_ids.items():
                for a in by_image.get(image_id, []):
                    if a["person_id"] != person.person_id or a["only_bbox"]:
                        continue
                    kp = np.array(a["keypoints"]).reshape(len(names), 3)
                    uv = calibration.camera(name).project(person.joints_world)
                    ok = (kp[:, 2] > 0) & np.isfinite(uv[:, 0])
                    errors.setdefault(name, []).extend(np.linalg.norm(uv[ok] - kp[ok, :2], axis=1))
    return {name: float(np.median(e)) for name, e in errors.items()}


def test_mvor_ground_truth_reprojects_better_without_distortion(mvor_annotations: Path) -> None:
    """The measurement behind the pinhole default: MVOR's 3D annotations fall on its 2D annotations."""
    annotations = json.loads(mvor_annotations.read_text())
    dataset = load_mvor(mvor_annotations)
    pinhole = _reprojection_errors_px(dataset, annotations, load_calibration(mvor_annotations))
    distorted = _reprojection_errors_px(dataset, annotations, load_calibration(mvor_annotations, mvor_distortion=True))
    assert set(pinhole) == {"cam1", "cam2", "cam3"}
    assert all(e < 10.0 for e in pinhole.values()), pinhole  # about 7 px: annotation noise
    assert all(pinhole[name] < distorted[name] for name in pinhole), (pinhole, distorted)


def test_non_rigid_mvor_extrinsics_are_refused(tmp_path: Path, mvor_annotations: Path) -> None:
    content = json.loads(mvor_annotations.read_text())
    content["cameras_info"]["camParams"]["extrinsics"][1][0] = 2.0
    path = tmp_path / "mvor.json"
    path.write_text(json.dumps({"cameras_info": content["cameras_info"]}))
    with pytest.raises(CalibrationError, match=r"camera 'cam2': extrinsics: rotation is not orthonormal"):
        load_calibration(path)


def test_floor_plane_validation_and_heights() -> None:
    floor = FloorPlane.horizontal(-1.0)
    np.testing.assert_allclose(floor.height_of(np.array([[0, 0, 0], [3, 4, -1.0]])), [1.0, 0.0])
    with pytest.raises(CalibrationError, match="floor: normal"):
        FloorPlane(np.zeros(3), 0.0)


def test_pending_camera_needs_a_rigid_pose() -> None:
    with pytest.raises(ValueError, match="camera 'x': T_world_from_camera rotation"):
        PendingCamera("x", np.diag([1.0, 1.0, 3.0, 1.0]))
    camera = PendingCamera("x", np.eye(4), frame_id="x_optical").with_intrinsics(K9, 640, 480)
    assert isinstance(camera, PinholeCamera)
    assert camera.frame_id == "x_optical"


def test_docs_show_the_example_calibration_as_it_is() -> None:
    """docs/fusion.md quotes config/cameras.example.yaml; the two must not drift apart."""
    docs = (REPO / "docs" / "fusion.md").read_text()
    block = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert block == EXAMPLE.read_text()


def test_a_pose_in_the_file_is_the_optical_frame_in_the_world_with_an_xyzw_quaternion(tmp_path: Path) -> None:
    # 180 degrees about world x, [x, y, z, w] = [1, 0, 0, 0]: a camera at (1, 2, 3) looking straight down, its
    # image x along world +x and its image y (down) along world -y
    content = {"world_frame": "room", "cameras": [{
        "name": "down", "intrinsics": {"K": K9, "width": 640, "height": 480},
        "pose": {"translation": [1.0, 2.0, 3.0], "rotation": [1.0, 0.0, 0.0, 0.0]}}]}  # fmt: skip
    path = tmp_path / "down.yaml"
    path.write_text(yaml.safe_dump(content))
    camera = load_calibration(path).camera("down")
    np.testing.assert_allclose(camera.centre_world, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(camera.optical_axis_world, [0.0, 0.0, -1.0], atol=1e-12)
    # 3 m below the camera: 0.5 m along world +x is right in the image, 0.5 m along world +y is up in it
    uv = camera.project(np.array([[1.5, 2.0, 0.0], [1.0, 2.5, 0.0]]))
    np.testing.assert_allclose(uv, [[319.5 + 500 * 0.5 / 3, 239.5], [319.5, 239.5 - 500 * 0.5 / 3]], atol=1e-9)


def test_a_camera_pose_is_replaced_and_cameras_left_out() -> None:
    cal = load_calibration(EXAMPLE)
    T = np.eye(4)
    T[:3, 3] = [1.0, 2.0, 3.0]
    moved = cal.with_pose("ceiling_left", T)  # a complete camera: its projection follows the new pose
    camera = moved.camera("ceiling_left")
    np.testing.assert_allclose(camera.centre_world, [1.0, 2.0, 3.0])
    u, v = camera.project(np.array([1.0, 2.0, 4.0]))  # 1 m ahead on the optical axis
    assert abs(u - 319.5) < 1e-6
    assert abs(v - 239.5) < 1e-6
    assert moved.with_pose("ceiling_back", T).pending_names == ("ceiling_back",)  # pending stays pending
    np.testing.assert_array_equal(cal.camera("ceiling_left").T_world_from_camera,
                                  load_calibration(EXAMPLE).camera("ceiling_left").T_world_from_camera)
    with pytest.raises(CalibrationError, match="'ceiling_left': T_world_from_camera"):
        cal.with_pose("ceiling_left", np.diag([1.0, 1.0, -1.0, 1.0]))
    assert cal.without({"ceiling_right"}).names == ("ceiling_left", "ceiling_back")
    with pytest.raises(CalibrationError, match="no camera"):
        cal.without(set(cal.names))
