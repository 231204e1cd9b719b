"""End to end through TF, real processes and real DDS: three calibrated cameras report five synthetic people who
walk (one hidden from every camera for 0.5 s, one walking into a zone and out); orpose_fusion_node and
orpose_zone_monitor run as separate processes. A subscriber on /tf and /tf_static composes the transforms and
finds each body_<id> where the person's hips were at that stamp (within three of the fusion's own standard
deviations) facing the way they walked, in the world frame and seen from a camera; the hidden person stays
published as predicted with the same id; the zone's events come in order at the true crossing moments."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from fusion_data import look_at, write_calibration_yaml
from ros_tools.node_harness import NodePeer, header, wait_until
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from orpose_msgs.msg import People3D, Person3D, PersonPoseArray, TrackedIds, ZoneEvent, ZoneStates
from orpose_ros.geometry.calibration import FloorPlane, RoomCalibration
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.geometry.frame_tree import FrameTree
from orpose_ros.geometry.transforms import rigid_from_translation_quaternion, transform_points
from orpose_ros.room_scene import DetectorNoise, RoomScene, Walker
from orpose_ros.ros import processes
from orpose_ros.ros.pose_messages import frame_result_to_msg
from orpose_ros.ros.room_demo import detected
from orpose_ros.ros.tf_publishing import TF_STATIC_QOS

pytestmark = [pytest.mark.ros, pytest.mark.timeout(600)]

EPOCH = 1_795_001_000
MOMENTS = 50  # 5 s at 10 Hz
HIDDEN, HIDDEN_MOMENTS = 2, range(15, 20)  # walker 2 is hidden from every camera for 0.5 s
ZONE_WALKER = 3
ZONE_CENTRE, ZONE_RADIUS = np.array([4.8, 1.0]), 0.4  # the walker turns at x = 5, inside
#: Largest error of a body frame's origin, in standard deviations of the fusion's hip uncertainty.
MAX_SIGMAS = 3.0
#: Largest heading error of any body frame, and of a person's median [deg] (hips and shoulders ~0.3 m wide).
MAX_HEADING_DEG, MAX_MEDIAN_HEADING_DEG = 45.0, 10.0

K = np.array([[400.0, 0.0, 319.5], [0.0, 400.0, 239.5], [0.0, 0.0, 1.0]])
ROOM = RoomCalibration("room", tuple(
    PinholeCamera(name, 640, 480, K, T_world_from_camera=look_at(np.array(centre), [4.0, 3.0, 0.9]))
    for name, centre in (("cam1", (0.3, 0.3, 2.8)), ("cam2", (7.7, 0.3, 2.8)), ("cam3", (4.0, 5.7, 2.8)))),
    FloorPlane.horizontal(0.0))
# five routes in an 8 m x 6 m room, apart from each other; walker 3 walks along y = 1 into the zone and back
WALKERS = [Walker((2.5, 2.4), (0.8, 0.5), 0.6, 1, 0.0, 1.80),
           Walker((5.5, 2.6), (0.6, 0.5), 0.5, -1, 0.3, 1.65),
           Walker((5.0, 4.0), (1.0, 0.0), 0.5, 1, 0.05, 1.72),
           Walker((3.5, 1.0), (1.5, 0.0), 0.8, 1, 0.1, 1.58),
           Walker((2.2, 4.4), (0.9, 0.0), 0.4, -1, 0.6, 1.85)]
SCENE = RoomScene(ROOM, noise=DetectorNoise(keypoint_px=2.0, miss_rate=0.05), walkers=WALKERS)


def scene_time(stamp) -> float:
    """The scene's time [s] of a message stamp (moment k is stamped EPOCH + k / 10 s)."""
    return stamp.sec - EPOCH + stamp.nanosec * 1e-9


def hips(t_s: float) -> np.ndarray:
    """(5, 3) true hip centres [m, world] at scene time ``t_s``."""
    coco, _ = SCENE.people(t_s)
    return coco[:, [11, 12]].mean(axis=1)


def in_zone(t_s: float) -> bool:
    """Whether the zone walker's hips are in the zone (a cylinder) at ``t_s``."""
    coco, _ = SCENE.people(t_s)
    return bool(np.any(np.linalg.norm(coco[ZONE_WALKER, [11, 12], :2] - ZONE_CENTRE, axis=1) <= ZONE_RADIUS))


def moment_msgs(k: int) -> list[PersonPoseArray]:
    """What the three pose nodes publish for moment ``k`` (the hidden walker missing from every camera)."""
    stamp = header(EPOCH + k // 10, (k % 10) * 100_000_000, "").stamp
    poses = SCENE.detections(0.1 * k, hidden={HIDDEN} if k in HIDDEN_MOMENTS else ())
    msgs = []
    for camera in ROOM.cameras:
        hdr = Header(stamp=stamp, frame_id=f"{camera.name}_optical")
        result = detected(poses[camera.name], camera, hdr)
        msg = frame_result_to_msg(result, hdr)
        msg.source_topic = f"/{camera.name}/image_raw"
        msgs.append(msg)
    return msgs


def matrix(t) -> np.ndarray:
    r = t.transform.rotation
    return rigid_from_translation_quaternion([t.transform.translation.x, t.transform.translation.y,
                                              t.transform.translation.z], [r.x, r.y, r.z, r.w])


def heading_error_deg(T_world_from_body: np.ndarray, heading_rad: float) -> float:
    yaw = math.atan2(T_world_from_body[1, 0], T_world_from_body[0, 0])  # the body's x axis: where it faces
    return abs(math.degrees((yaw - heading_rad + math.pi) % (2 * math.pi) - math.pi))


def test_people_found_through_tf_hidden_one_predicted_zone_events_in_order(tmp_path: Path, ros_env: dict) -> None:
    calibration = write_calibration_yaml(ROOM, tmp_path / "room.yaml")
    zones = tmp_path / "zones.yaml"
    zones.write_text(yaml.safe_dump({"frame_id": "room", "zones": [{
        "name": "door", "cylinder": {"centre": ZONE_CENTRE.tolist(), "radius": ZONE_RADIUS}, "z": [0.0, 2.2],
        "joints": ["left_hip", "right_hip"]}]}))
    with processes.ProcessGroup(ros_env, tmp_path / "logs") as group:
        group.start("fusion", processes.node_command("orpose_ros.ros.fusion_node", {
            "calibration": calibration, "stamp_tolerance_s": 0.02, "max_wait_s": 2.0}))
        group.start("zones", processes.node_command("orpose_ros.ros.zone_monitor_node", {"zones_file": zones}))
        peer = NodePeer(ros_env, {"/orpose/poses": PersonPoseArray},
                        listen={"/orpose/people": People3D, "/orpose/people/tracked": TrackedIds, "/tf": TFMessage,
                                "/orpose/zone_events": ZoneEvent, "/orpose/zones": ZoneStates})
        inbox = peer.inbox.other
        statics: list[TFMessage] = []
        peer.node.create_subscription(TFMessage, "/tf_static", statics.append, TF_STATIC_QOS)
        logs = lambda: group.log_tail("fusion", 40) + group.log_tail("zones", 40)  # noqa: E731
        try:
            assert peer.wait_for_subscriber("/orpose/poses", 60), logs()
            for topic in inbox:
                assert peer.wait_for_publisher(topic, 60), (topic, logs())
            # the zone monitor hears /orpose/people too (ours and its subscription)
            assert wait_until(lambda: peer.node.count_subscribers("/orpose/people") >= 2, 60), logs()
            for k in range(MOMENTS):  # one moment at a time: each is answered before the next
                for msg in moment_msgs(k):
                    peer.publish("/orpose/poses", msg)
                assert wait_until(lambda k=k: len(inbox["/orpose/people"]) > k, 60), logs()
            last = inbox["/orpose/people"][-1].header.stamp
            assert wait_until(lambda: any(m.header.stamp == last for m in inbox["/orpose/zones"]), 60), logs()
            assert wait_until(lambda: any(m.header.stamp == last for m in inbox["/orpose/people/tracked"]), 60)
            assert wait_until(lambda: bool(statics), 30), logs()
            people, tracked = list(inbox["/orpose/people"]), list(inbox["/orpose/people/tracked"])
            tf, events = list(inbox["/tf"]), list(inbox["/orpose/zone_events"])
        finally:
            peer.close()
        codes = group.stop_all()
    assert codes == {"zones": 0, "fusion": 0}, logs()
    assert len(people) == MOMENTS

    # the cameras from /tf_static and every body frame from /tf, composed per stamp
    camera_edges = [(t.header.frame_id, t.child_frame_id, matrix(t)) for msg in statics for t in msg.transforms]
    assert sorted(child for _, child, _ in camera_edges) == ["cam1_optical", "cam2_optical", "cam3_optical"]
    bodies: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    for msg in tf:
        for t in msg.transforms:
            assert t.header.frame_id == "room"
            bodies.setdefault((t.header.stamp.sec, t.header.stamp.nanosec), {})[t.child_frame_id] = matrix(t)
    tracked_by_stamp = {(m.header.stamp.sec, m.header.stamp.nanosec): m for m in tracked}

    ids_of = {p: set() for p in range(len(WALKERS))}  # walker -> the ids found at its place
    headings = {p: [] for p in range(len(WALKERS))}
    hidden_states = []
    for msg in people:
        key = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        t_s = scene_time(msg.header.stamp)
        truth = hips(t_s)
        frames = bodies.get(key, {})
        listed = tracked_by_stamp[key]
        assert list(listed.ids) == [p.id for p in msg.people if p.id >= 1]
        assert sorted(f for f in listed.frame_ids if f) == sorted(frames)  # the live frames are the ones sent
        tree = FrameTree()
        for parent, child, T in camera_edges:
            tree.set(parent, child, T)
        for child, T in frames.items():
            tree.set("room", child, T)
        for person in msg.people:
            if person.id < 1:
                continue
            frame = f"body_{person.id}"
            assert frame in frames, (key, frame)
            T_world_from_body = tree.lookup("room", frame).T_target_from_source
            distance = np.linalg.norm(truth - T_world_from_body[:3, 3], axis=1)
            walker = int(distance.argmin())
            sigma = max(person.joints[11].uncertainty, person.joints[12].uncertainty)  # the hips' own
            assert distance[walker] <= MAX_SIGMAS * sigma, (t_s, walker, distance[walker], sigma)
            # the same body seen from a camera: the chain body -> room -> cam2_optical
            T_cam_from_body = tree.lookup("cam2_optical", frame).T_target_from_source
            in_camera = transform_points(ROOM.camera("cam2").T_camera_from_world, truth[walker])
            assert np.linalg.norm(T_cam_from_body[:3, 3] - in_camera) <= MAX_SIGMAS * sigma
            _, heading = WALKERS[walker].position_heading(t_s)
            headings[walker].append(heading_error_deg(T_world_from_body, heading))
            ids_of[walker].add(person.id)
            if walker == HIDDEN and round(t_s * 10) in (*HIDDEN_MOMENTS, HIDDEN_MOMENTS[-1] + 1):
                hidden_states.append((round(t_s * 10), person.tracking_state, person.id))
    # each walker found under one id, five different ids
    assert all(len(ids) == 1 for ids in ids_of.values()), ids_of
    assert len({next(iter(ids)) for ids in ids_of.values()}) == len(WALKERS), ids_of
    assert all(max(h) <= MAX_HEADING_DEG for h in headings.values()), headings
    assert all(np.median(h) <= MAX_MEDIAN_HEADING_DEG for h in headings.values()), headings
    # the hidden walker: predicted (same id) while no camera sees it, measured again after
    (hidden_id,) = ids_of[HIDDEN]
    assert [k for k, _, _ in hidden_states] == [*HIDDEN_MOMENTS, HIDDEN_MOMENTS[-1] + 1]
    assert [state for _, state, _ in hidden_states] == [Person3D.TRACKING_PREDICTED] * len(HIDDEN_MOMENTS) + [
        Person3D.TRACKING_MEASURED]
    assert {person_id for _, _, person_id in hidden_states} == {hidden_id}
    # zone events: the zone walker enters, then leaves, at the first moments the truth is in / out again
    (zone_id,) = ids_of[ZONE_WALKER]
    assert [(e.zone, e.id, e.event) for e in events] == [("door", zone_id, ZoneEvent.ENTERED),
                                                         ("door", zone_id, ZoneEvent.LEFT)]
    inside = [in_zone(0.1 * k) for k in range(MOMENTS)]
    entered, left = inside.index(True), inside.index(False, inside.index(True))
    assert 0 < entered < left < MOMENTS - 1
    assert abs(scene_time(events[0].header.stamp) - 0.1 * entered) <= 0.15
    assert abs(scene_time(events[1].header.stamp) - 0.1 * left) <= 0.15
    assert not any(e.predicted for e in events)
