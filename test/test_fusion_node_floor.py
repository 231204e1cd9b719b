"""One floor rule (issue 16, item 5): orpose_fusion_node (a real process) and orpose-fuse, given the same
detections of a room whose calibration has no floor, self-calibrate the same floor from the same first
moments and publish the same people, a person only one camera sees included (placed on that floor)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, standing_person, write_calibration_yaml
from ros_tools.node_harness import NodePeer, camera_poses_msg, start_fusion_node, wait_until

from orpose_msgs.msg import People3D, PersonPoseArray
from orpose_ros.cli.fuse import main as fuse_main
from orpose_ros.ros import processes

pytestmark = [pytest.mark.ros, pytest.mark.timeout(300)]

ROOM = ceiling_room(3).with_floor(None)
POSES = "/orpose/poses"
MOMENTS, FLOOR_MOMENTS = 8, 3
FLOOR_Z = -0.4  # where the people stand [m]; the calibration says nothing of it
LIFT = np.array([0.0, 0.0, FLOOR_Z])  # [m]
EPOCH = 1_795_000_050


def _people(camera_index: int, k: int) -> list[np.ndarray]:
    """(17, 3) joints [m] of the people camera ``camera_index`` sees at moment k: two walkers every camera sees,
    and a third person only cam1 sees."""
    people = [standing_person((-1.0 + 0.05 * k, 0.3)), standing_person((0.8, -0.6), 1.0)]
    if camera_index == 0:
        people.append(standing_person((0.2, 1.2), 2.0))
    return [p + LIFT for p in people]


def _poses_msg(camera_index: int, k: int) -> PersonPoseArray:
    return camera_poses_msg(ROOM.cameras[camera_index], _people(camera_index, k), EPOCH + k // 10,
                            (k % 10) * 100_000_000)


def _write_results(folder: Path) -> list[Path]:
    """The same detections as orpose-infer JSON, one file per camera."""
    paths = []
    for c, camera in enumerate(ROOM.cameras):
        frames = [{"source": f"{camera.name}/{k:04d}.png", "width": camera.width, "height": camera.height,
                   "persons": [{"score": 0.9, "bbox": [0, 0, 1, 1], "keypoints_2d": keypoints_of(camera, j).tolist()}
                               for j in _people(c, k)]} for k in range(MOMENTS)]
        paths.append(folder / f"{camera.name}.json")
        paths[-1].write_text(json.dumps({"frames": frames}))
    return paths


def _joints(msg: People3D) -> list[tuple[int, np.ndarray]]:
    """(placement, (17, 3) joints [m], NaN where not placed) of each person, sorted by placement and x."""
    out = []
    for p in msg.people:
        joints = np.array([[j.position.x, j.position.y, j.position.z] if j.views else [np.nan] * 3
                           for j in p.joints])
        out.append((p.placement, joints))
    return sorted(out, key=lambda item: (item[0], float(np.nanmean(item[1][:, 0]))))


def test_node_and_orpose_fuse_self_calibrate_the_same_floor_and_people(tmp_path: Path, ros_env: dict) -> None:
    calibration = write_calibration_yaml(ROOM, tmp_path / "room.yaml")
    fused = tmp_path / "fused.json"
    assert fuse_main(["--calibration", str(calibration), *map(str, _write_results(tmp_path)), "--json", str(fused),
                      "--floor-moments", str(FLOOR_MOMENTS), "--fps", "10"]) == 0
    offline = json.loads(fused.read_text())

    log = tmp_path / "fusion.log"
    process = start_fusion_node(ros_env, log, calibration=calibration, floor_moments=FLOOR_MOMENTS,
                                stamp_tolerance_s=0.02, max_wait_s=2.0, publish_tf=False)
    peer = NodePeer(ros_env, {POSES: PersonPoseArray}, listen={"/orpose/people": People3D})
    people = peer.inbox.other["/orpose/people"]
    try:
        assert peer.wait_for_subscriber(POSES, 60), log.read_text()
        assert peer.wait_for_publisher("/orpose/people", 30), log.read_text()
        for k in range(MOMENTS):
            for c in range(3):
                peer.publish(POSES, _poses_msg(c, k))
            # one moment at a time: each is fused before the next comes
            assert wait_until(lambda k=k: len(people) >= k + 1, 30), log.read_text()[-3000:]
    finally:
        peer.close()
        assert processes.stop(process) == 0, log.read_text()

    text = log.read_text()
    assert "floor: self-calibrated (the calibration has no floor)" in text
    logged = re.findall(r"floor self-calibrated under (\d+) people of the first (\d+) moments .*: (-?\d+\.\d+) m", text)
    assert len(logged) == 1, text  # logged once, with its value
    assert int(logged[0][1]) == FLOOR_MOMENTS
    assert float(logged[0][2]) == pytest.approx(offline["floor"]["offset_m"], abs=1e-4)  # logged to 0.1 mm
    assert offline["floor"]["offset_m"] == pytest.approx(FLOOR_Z, abs=0.03)
    assert len(people) == MOMENTS
    single = 0
    for k, (msg, frame) in enumerate(zip(people, offline["frames"], strict=True)):
        theirs = sorted(((1 if p["placement"] == "triangulated" else 2,
                          np.array([v[:3] if v is not None else [np.nan] * 3 for v in p["keypoints_3d"]]))
                         for p in frame["persons"]), key=lambda item: (item[0], float(np.nanmean(item[1][:, 0]))))
        mine = _joints(msg)
        assert [m[0] for m in mine] == [t[0] for t in theirs], k
        for (_, a), (_, b) in zip(mine, theirs, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-4 + 1e-6)  # orpose-fuse's JSON rounds to 0.1 mm
        single += sum(m[0] == 2 for m in mine)
    assert single >= MOMENTS - FLOOR_MOMENTS  # the lone person, placed on the floor once it is fixed
