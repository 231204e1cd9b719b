"""orpose_fusion_node under bad input, as a new user would try it: a real node process on a 3-camera
calibration, one synthetic walker published at 10 Hz over real DDS, interleaved with one kind of bad
message per test (docs/fusion.md, "Bad input"). Every good moment must come out of /orpose/people, with
the walker where they are and nothing else, the node must stay up, and each cause is logged (throttled).

Run with ``-s`` to print the table of the issue ("FAULTS | kind | good moments served | ...").
"""

from __future__ import annotations

import array
import math
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, standing_person, write_calibration_yaml
from geometry_msgs.msg import Point
from ros_tools.node_harness import NodePeer, diagnostics_value, header, wait_until

from orpose_msgs.msg import Keypoint2D, People3D, Person3D, PersonPose, PersonPoseArray
from orpose_ros.fusion.pipeline import FusionOptions, room_volume
from orpose_ros.ros import processes

pytestmark = [pytest.mark.ros, pytest.mark.timeout(300)]

ROOM = ceiling_room(3)
POSES = "/orpose/poses"
PROBE = "/probe/image_raw"
MOMENTS = 20
EPOCH = 1_795_000_100  # [s]
THROTTLE_S = 5.0  # ThrottledWarnings' period: a cause is logged at most once per this


def _walker(k: int) -> np.ndarray:
    """(17, 3) COCO joints [m] of the walker at moment k (10 Hz)."""
    return standing_person((-1.0 + 0.08 * k, 0.4), heading_rad=0.0)


def _person(keypoints: np.ndarray, score: float = 0.9) -> PersonPose:
    person = PersonPose(score=float(score))
    person.keypoints_2d = [Keypoint2D(x=float(u), y=float(v), score=float(s)) for u, v, s in keypoints]
    person.keypoints_3d = [Point(x=math.nan, y=math.nan, z=math.nan) for _ in range(17)]
    person.bbox = array.array("f", [0.0, 0.0, 1.0, 1.0])
    return person


def _stamp(seconds: float) -> tuple[int, int]:
    ns = round(seconds * 1e9)
    return ns // 10**9, ns % 10**9


def _msg(c: int, k: int, stamp_s: float | None = None, persons: list[PersonPose] | None = None,
         source: str | None = None, size: tuple[int, int] | None = None, factor: int = 1,
         frame_id: str | None = None) -> PersonPoseArray:
    """Camera c's message: by default moment k's, stamped EPOCH + 0.1 k, with the walker."""
    camera = ROOM.cameras[c]
    sec, nanosec = _stamp(EPOCH + 0.1 * k if stamp_s is None else stamp_s)
    width, height = size or (camera.width, camera.height)
    msg = PersonPoseArray(header=header(sec, nanosec, frame_id or f"{camera.name}_optical"),
                          source_topic=source or f"/{camera.name}/image_raw", image_width=width,
                          image_height=height, downsample_factor=factor)
    msg.persons = persons if persons is not None else [_person(keypoints_of(camera, _walker(k)))]
    return msg


def _stranger(c: int) -> np.ndarray:
    """Keypoints of someone else (standing elsewhere) in camera c: a second person if they were used."""
    return keypoints_of(ROOM.cameras[c], standing_person((1.0, -1.0), 2.0))


def _with_nan(c: int, k: int) -> list[PersonPoseArray]:
    kp = _stranger(c)
    kp[3, 0] = math.nan
    return [_msg(c, k, persons=[_person(keypoints_of(ROOM.cameras[c], _walker(k))), _person(kp)])]


def _with_inf_and_negative_score(c: int, k: int) -> list[PersonPoseArray]:
    kp = _stranger(c)
    kp[5, 1] = math.inf
    return [_msg(c, k, persons=[_person(keypoints_of(ROOM.cameras[c], _walker(k))), _person(kp, score=-5.0)])]


def _with_far_keypoints(c: int, k: int) -> list[PersonPoseArray]:
    kp = _stranger(c)
    kp[:, :2] = np.where(np.arange(17)[:, None] % 2, 1e30, -1e30)
    return [_msg(c, k, persons=[_person(keypoints_of(ROOM.cameras[c], _walker(k))), _person(kp)])]


def _with_200_people(c: int, k: int) -> list[PersonPoseArray]:
    walker = keypoints_of(ROOM.cameras[c], _walker(k))
    return [_msg(c, k, persons=[_person(walker, 0.9 - 0.001 * i) for i in range(200)])]


@dataclass(frozen=True)
class Fault:
    """A kind of bad input: ``make(camera, moment)`` -> the messages camera c sends at moment k (before its
    good one, None: the good one is replaced by the first message), sent at the moments ``when`` allows."""

    kind: str
    make: Callable[[int, int], list[PersonPoseArray]]
    when: Callable[[int, int], bool]
    logged: str  # pattern (re) of the warning it must cause ("" = none expected)
    replaces_good: bool = False


def _odd(c: int, k: int) -> bool:
    """Every other moment."""
    return k % 2 == 1


FAULTS = [
    Fault("NaN 2D keypoint (extra person)", _with_nan, lambda c, k: c == 0 and k % 2, "non-finite keypoints",
          replaces_good=True),
    Fault("inf keypoint + score -5 (extra person)", _with_inf_and_negative_score, lambda c, k: c == 1 and k % 2,
          "non-finite keypoints", replaces_good=True),
    Fault("keypoints at +-1e30 px (extra person)", _with_far_keypoints, lambda c, k: c == 2 and k % 2,
          "keypoints beyond x in", replaces_good=True),
    Fault("image size 0x0", lambda c, k: [_msg(c, k, size=(0, 0))], lambda c, k: c == 0 and k % 2,
          "image size 0x0 does not match"),
    Fault("image size 100000x1", lambda c, k: [_msg(c, k, size=(100000, 1))], lambda c, k: c == 1 and k % 2,
          "image size 100000x1 does not match"),
    Fault("downsample factor 0", lambda c, k: [_msg(c, k, factor=0)], lambda c, k: c == 2 and k % 2, "",
          replaces_good=True),
    Fault("200 people in one message", _with_200_people, lambda c, k: c == 0 and k % 2, "", replaces_good=True),
    Fault("source topic of no calibrated camera", lambda c, k: [_msg(c, k, source="/nowhere/image_raw",
                                                                   frame_id="nowhere_optical")],
          lambda c, k: c == 0 and k % 2, "/nowhere/image_raw .*match no camera of the calibration"),
    Fault("one message per camera 1 h in the future", lambda c, k: [_msg(c, k, EPOCH + 0.1 * k + 3600.0)],
          lambda c, k: k == 3 + c, r"cam\d: result stamped \+3(600|599)\.\d+ s"),
    Fault("every camera 1 h in the future, every other moment",
          lambda c, k: [_msg(c, k, EPOCH + 0.1 * k + 3600.0)], _odd, r"cam\d: result stamped \+3(600|599)\.\d+ s"),
    Fault("1 h in the past, every other moment", lambda c, k: [_msg(c, k, EPOCH + 0.1 * k - 3600.0)], _odd,
          r"cam\d: result stamped -3(600|599)\.\d+ s"),
    Fault("0.5 s backwards, every other moment", lambda c, k: [_msg(c, k - 5, EPOCH + 0.1 * (k - 5))],
          lambda c, k: k % 2 and k >= 5, ""),
]


def _start(tmp_path: Path, ros_env: dict) -> tuple[subprocess.Popen, Path, NodePeer]:
    """The fusion node on ROOM, and a peer whose poses it is known to receive (probed with poses of an
    unknown source until the node counts one: a publisher matched one way only loses what it sends)."""
    calibration = write_calibration_yaml(ROOM, tmp_path / "room.yaml")
    log = tmp_path / "fusion.log"
    command = processes.node_command("orpose_ros.ros.fusion_node", {
        "calibration": calibration, "stamp_tolerance_s": 0.02, "max_wait_s": 5.0})  # generous: a loaded machine
    process = subprocess.Popen(command, env=ros_env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    peer = NodePeer(ros_env, {POSES: PersonPoseArray}, listen={"/orpose/people": People3D})
    try:
        assert peer.wait_for_subscriber(POSES, 60), log.read_text()
        assert peer.wait_for_publisher("/orpose/people", 30), log.read_text()
        probe = PersonPoseArray(header=header(0, 0, "probe"), source_topic=PROBE)

        def heard() -> bool:
            peer.publish(POSES, probe)
            return (diagnostics_value(peer.inbox.diagnostics, "fusion", "unknown_camera_frames") or 0) >= 1

        assert wait_until(heard, 60, interval=0.2), log.read_text()
    except BaseException:
        peer.close()
        processes.stop(process)
        raise
    return process, log, peer


def _unknown_after(peer: NodePeer, since: float, timeout: float = 30.0) -> float:
    """unknown_camera_frames of the first diagnostics the node published after wall time ``since`` [s]."""
    def published_after() -> float | None:
        for msg in list(peer.inbox.diagnostics):
            if msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9 > since:
                return diagnostics_value([msg], "fusion", "unknown_camera_frames")
        return None

    assert wait_until(lambda: published_after() is not None, timeout)
    return published_after()


def _joints(person: Person3D) -> np.ndarray:
    return np.array([[j.position.x, j.position.y, j.position.z] for j in person.joints])


@pytest.mark.parametrize("fault", FAULTS, ids=[f.kind for f in FAULTS])
def test_every_good_moment_is_served_whatever_comes_between(fault: Fault, tmp_path: Path, ros_env: dict) -> None:
    process, log, peer = _start(tmp_path, ros_env)
    people: list[People3D] = peer.inbox.other["/orpose/people"]
    good = {_stamp(EPOCH + 0.1 * k) for k in range(MOMENTS)}
    bad_sent = 0

    def served() -> set[tuple[int, int]]:
        return {(m.header.stamp.sec, m.header.stamp.nanosec) for m in list(people)} & good

    try:
        probes = _unknown_after(peer, time.time() + 1.0)  # the probes still in flight counted too
        started = time.monotonic()
        for k in range(MOMENTS):
            for c in range(3):
                good_msg = _msg(c, k)
                if fault.when(c, k):
                    bad = fault.make(c, k)
                    bad_sent += 1
                    if fault.replaces_good:
                        good_msg = bad[0]
                    else:
                        for msg in bad:
                            peer.publish(POSES, msg)
                peer.publish(POSES, good_msg)
            time.sleep(0.1)
        wait_until(lambda: len(served()) == MOMENTS, 60)
        # the node's own count of the groups it published, once it has seen them all: nothing else went out
        assert wait_until(lambda: (diagnostics_value(peer.inbox.diagnostics, "fusion", "groups") or 0) >= MOMENTS,
                          30), log.read_text()[-3000:]
        wait_until(lambda: len(people) >= diagnostics_value(peer.inbox.diagnostics, "fusion", "groups"), 10)
        elapsed = time.monotonic() - started
        alive = process.poll() is None
        diagnostics = {key: diagnostics_value(peer.inbox.diagnostics, "fusion", key) for key in (
            "groups", "late_frames", "unknown_camera_frames", "bad_size_frames", "rejected_people",
            "implausible_stamps_cam1", "implausible_stamps_cam2", "implausible_stamps_cam3", "time_jumps")}
    finally:
        peer.close()
        code = processes.stop(process)
    text = log.read_text()
    warnings = [line for line in text.splitlines() if fault.logged and re.search(fault.logged, line)]
    published = len(people)
    print(f"\nFAULTS | {fault.kind} | {len(served())}/{MOMENTS} | messages published {published}, people "
          f"{sum(len(m.people) for m in people)} | warnings {len(warnings)} | {diagnostics}, probes {probes}")

    assert alive, text[-3000:]
    assert code == 0, text[-3000:]
    assert len(served()) == MOMENTS, text[-3000:]
    assert published == diagnostics["groups"] == MOMENTS, [m.header.stamp for m in people]
    low, high = room_volume(ROOM, FusionOptions().room_margin_m)
    for msg in people:
        k = round((msg.header.stamp.sec - EPOCH + msg.header.stamp.nanosec * 1e-9) / 0.1)
        assert len(msg.people) == 1, (k, len(msg.people), msg.missing_cameras)
        assert msg.missing_cameras == [], (k, len(msg.people), msg.missing_cameras)
        (person,) = msg.people
        joints = _joints(person)
        assert np.all(np.isfinite(joints))
        assert np.all((joints >= low) & (joints <= high))
        truth = _walker(k)
        assert np.abs(joints - truth).max() < 0.05
        assert person.placement == Person3D.PLACEMENT_TRIANGULATED
    assert diagnostics["time_jumps"] == 0
    if fault.logged:  # logged, once per cause and throttle period
        assert 1 <= len(warnings) <= 3 * (1 + math.ceil(elapsed / THROTTLE_S)), warnings
    if "h in the" in fault.kind:  # naming each camera whose clock is wrong
        assert {line.split("]: ")[1][:4] for line in warnings} == {"cam1", "cam2", "cam3"}, warnings
    counted = {"image size": diagnostics["bad_size_frames"],
               "source topic": diagnostics["unknown_camera_frames"] - probes,
               "backwards": diagnostics["late_frames"],
               "(extra person)": diagnostics["rejected_people"],
               "h in the": sum(diagnostics[f"implausible_stamps_cam{c}"] for c in (1, 2, 3))}
    for words, count in counted.items():
        assert count == (bad_sent if words in fault.kind else 0), (words, count, bad_sent)


def test_a_camera_whose_clock_drifts_is_named(tmp_path: Path, ros_env: dict) -> None:
    """cam3's stamps 0.04 s behind the others' (tolerance 0.02 s): never fused with them, and said so."""
    process, log, peer = _start(tmp_path, ros_env)
    try:
        for k in range(MOMENTS):
            for c in range(3):
                peer.publish(POSES, _msg(c, k, EPOCH + 0.1 * k - (0.04 if c == 2 else 0.0)))
            time.sleep(0.1)

        def warned() -> bool:
            for msg in reversed(list(peer.inbox.diagnostics)):
                status = next((s for s in msg.status if s.name.endswith("fusion")), None)
                if status is not None:
                    return status.level == status.WARN and "cam3" in status.message
            return False

        assert wait_until(warned, 30), (log.read_text()[-3000:], [
            (s.message, [(v.key, v.value) for v in s.values]) for s in peer.inbox.diagnostics[-1].status])
        values = {key: diagnostics_value(peer.inbox.diagnostics, "fusion", key) for key in (
            "clock_offset_cam3_median_s", "clock_offset_cam3_max_s", "clock_offset_cam1_median_s")}
    finally:
        peer.close()
        assert processes.stop(process) == 0, log.read_text()
    print(f"\nFAULTS | cam3 0.04 s behind | {values}")
    assert values["clock_offset_cam3_median_s"] == pytest.approx(-0.04, abs=0.006)
    assert values["clock_offset_cam3_max_s"] == pytest.approx(0.04, abs=0.006)
    assert values["clock_offset_cam1_median_s"] == pytest.approx(0.02, abs=0.006)  # the median of 0 and 0.04
    drift = [line for line in log.read_text().splitlines() if "cam3: its stamps are -0.040 s from the other" in line]
    assert 1 <= len(drift) <= 6, drift


def test_a_looping_replay_restarts_grouping_and_tracks(tmp_path: Path, ros_env: dict) -> None:
    """A 1 s replay played twice: time goes back by 1 s (less than the clock bound)."""
    process, log, peer = _start(tmp_path, ros_env)
    people: list[People3D] = peer.inbox.other["/orpose/people"]
    try:
        for _ in range(2):
            for k in range(10):
                for c in range(3):
                    peer.publish(POSES, _msg(c, k))
                time.sleep(0.1)
        assert wait_until(lambda: len(people) >= 19, 60), log.read_text()[-3000:]
        assert wait_until(lambda: diagnostics_value(peer.inbox.diagnostics, "fusion", "time_jumps") == 1, 30)
        late = diagnostics_value(peer.inbox.diagnostics, "fusion", "late_frames")
    finally:
        peer.close()
        assert processes.stop(process) == 0, log.read_text()
    stamps = [round(m.header.stamp.sec - EPOCH + m.header.stamp.nanosec * 1e-9, 1) for m in people]
    assert stamps == [round(0.1 * k, 1) for k in (*range(10), *range(1, 10))], stamps
    assert late == 5  # the second pass's first moment, and its second but for the camera that confirmed the loop
    assert list(people[10].missing_cameras) == ["cam1", "cam2"]
    ids = [{p.id for p in m.people} for m in people]
    # people[10]: cam3 alone, on a new track: a person seen by one camera waits for a second supported frame
    # (single_view_min_frames) before it is published
    assert ids[10] == set()
    assert all(len(i) == 1 for k, i in enumerate(ids) if k != 10), str([sorted(i) for i in ids])
    assert len(set.union(*ids[:10])) == 1
    assert len(set.union(*ids[11:])) == 1
    assert set.union(*ids[11:]).isdisjoint(ids[0])  # new tracks, ids not reused
    for msg, k in zip(people[11:], range(2, 10), strict=True):
        assert np.abs(_joints(msg.people[0]) - _walker(k)).max() < 0.05
    assert "time jumped" in log.read_text()
