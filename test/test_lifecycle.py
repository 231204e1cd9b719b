"""The managed nodes as a lifecycle manager sees them: each node runs in its own process with autostart false
and is driven through every transition by its real lifecycle_msgs services (change_state, get_state,
get_available_transitions) over real DDS. In every state the ROS graph shows what it subscribes to and
publishes, data flows only while it is active, a bad parameter fails configure with one line and leaves it
unconfigured until the parameter is fixed, and orpose_node's model is held only between configure and cleanup
(the process's resident memory)."""

from __future__ import annotations

import array
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import yaml
from builtin_interfaces.msg import Time
from fusion_data import ceiling_room, write_calibration_yaml
from ros_tools.lifecycle_peer import LifecyclePeer, failure_lines, rss_mb
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from orpose_msgs.msg import People3D, PersonPoseArray, ZoneStates
from orpose_ros.ros import processes

pytestmark = [pytest.mark.ros, pytest.mark.timeout(900)]

EPOCH = 1_795_000_300
#: The lifecycle transitions each primary state offers (their labels).
OFFERED = {"unconfigured": {"configure", "shutdown"}, "inactive": {"activate", "cleanup", "shutdown"},
           "active": {"deactivate", "shutdown"}, "finalized": set()}
#: orpose_node's model (ResNet-50 FPN keypoint R-CNN, ~59 M float32 weights, ~230 MiB) is held: resident
#: memory when configured minus after cleanup is above this [MiB] (measured: ~490); a model that stayed loaded
#: leaves ~0. Before the first configure torch is not even imported (configured minus that: ~1150).
MODEL_MIB = 100.0
NOTHING: tuple[set[str], set[str]] = (set(), set())

try:
    import tf2_msgs.msg  # noqa: F401  (the fusion node publishes TF only with it)

    TF_TOPICS = {"/tf", "/tf_static"}
except ImportError:
    TF_TOPICS = set()


def _stamp(k: int) -> Time:
    return Time(sec=EPOCH + k, nanosec=0)


@dataclass
class Case:
    """One managed node, as the test drives it.

    Attributes:
        module, name: its module and node name.
        bad, fix: parameters at start with which configure fails (its one line says ``says``), and the
            values set before configuring again.
        active: (subscribed, published) topics while active (besides /rosout, /parameter_events and
            its transition_event).
        topic, make: the input topic and a message of it stamped with moment k.
        output, output_type: the output topic answering an input with the input's stamp.
        ends_from: the state from which it is shut down at the end.
    """

    module: str
    name: str
    bad: dict[str, object]
    fix: dict[str, object]
    says: str
    active: tuple[set[str], set[str]]
    topic: str
    input_type: type
    make: Callable[[int], object]
    output: str
    output_type: type
    ends_from: str
    extra: dict[str, object] = field(default_factory=dict)


def _image(k: int, height: int = 96, width: int = 120) -> Image:
    pixels = np.full((height, width, 3), 40 + k, np.uint8)
    return Image(header=Header(stamp=_stamp(k), frame_id="cam_optical"), height=height, width=width,
                 encoding="bgr8", step=width * 3, data=array.array("B", pixels.tobytes()))


def _people(k: int) -> People3D:
    return People3D(header=Header(stamp=_stamp(k), frame_id="room"))


def _poses(k: int) -> PersonPoseArray:
    return PersonPoseArray(header=Header(stamp=_stamp(k), frame_id="cam1_optical"), source_topic="/cam1/image_raw",
                           image_width=640, image_height=480, downsample_factor=1)


def _privacy_case(tmp_path: Path) -> Case:
    return Case("orpose_ros.ros.privacy_filter_node", "orpose_privacy_filter",
                bad={"image_topics": ["/cam/image_raw", "/other/image_raw"],
                     "camera_info_topics": ["/cam/camera_info"]},
                fix={"image_topics": ["/cam/image_raw"]}, says="parameter 'camera_info_topics'",
                active=({"/cam/image_raw", "/cam/camera_info"},
                        {"/cam/lowres/image_raw", "/cam/lowres/camera_info", "/diagnostics"}),
                topic="/cam/image_raw", input_type=Image, make=_image, output="/cam/lowres/image_raw",
                output_type=Image, ends_from="active", extra={"qos_reliability": "reliable", "qos_depth": 10})


def _zone_case(tmp_path: Path) -> Case:
    zones = tmp_path / "zones.yaml"
    zones.write_text(yaml.safe_dump({"frame_id": "room", "zones": [
        {"name": "table", "polygon": [[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0]], "z": [0.0, 2.0]}]}))
    return Case("orpose_ros.ros.zone_monitor_node", "orpose_zone_monitor",
                bad={"zones_file": str(tmp_path / "nowhere.yaml")}, fix={"zones_file": str(zones)},
                says="parameter 'zones_file'",
                active=({"/orpose/people"}, {"/orpose/zones", "/orpose/zone_events", "/orpose/zone_markers",
                                             "/diagnostics"}),
                topic="/orpose/people", input_type=People3D, make=_people, output="/orpose/zones",
                output_type=ZoneStates, ends_from="inactive")


def _fusion_case(tmp_path: Path) -> Case:
    calibration = write_calibration_yaml(ceiling_room(2), tmp_path / "room.yaml")
    return Case("orpose_ros.ros.fusion_node", "orpose_fusion_node",
                bad={"calibration": str(tmp_path / "nowhere.yaml")}, fix={"calibration": str(calibration)},
                says="parameter 'calibration'",
                active=({"/orpose/poses"}, {"/orpose/people", "/orpose/people/tracked", "/orpose/people_markers",
                                            "/diagnostics", *TF_TOPICS}),
                topic="/orpose/poses", input_type=PersonPoseArray, make=_poses, output="/orpose/people",
                output_type=People3D, ends_from="unconfigured", extra={"max_wait_s": 0.2})


CASES = {"privacy_filter": _privacy_case, "zone_monitor": _zone_case, "fusion_node": _fusion_case}


def _stamped(inbox: list, k: int) -> bool:
    return any(msg.header.stamp == _stamp(k) for msg in list(inbox))


def _drive(case: Case, env: dict, log: Path, on_state: Callable[[str, int], None] = lambda state, pid: None) -> None:
    """Every transition of ``case``'s node, checking state, offered transitions, graph and data flow."""
    command = processes.node_command(case.module, {"autostart": False, **case.extra, **case.bad})
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    peer = LifecyclePeer(env, case.name, publish={case.topic: case.input_type},
                         listen={case.output: case.output_type})
    inbox = peer.inbox[case.output]

    def expect(state: str, topics: tuple[set[str], set[str]]) -> None:
        assert peer.state() == state, log.read_text()
        assert peer.available() == OFFERED[state]
        assert peer.wait_for_topics(*topics), (state, peer.topics(), log.read_text())
        on_state(state, process.pid)

    def flows(k: int) -> None:
        assert peer.publish_until(case.topic, lambda: case.make(k), lambda: _stamped(inbox, k)), log.read_text()

    try:
        expect("unconfigured", NOTHING)
        assert not peer.change("configure")
        assert peer.state() == "unconfigured"
        lines = failure_lines(log, "configure")
        assert len(lines) == 1, log.read_text()
        assert case.says in lines[0], lines[0]
        assert "Traceback" not in log.read_text()
        assert process.poll() is None, "a failed configure must not end the process"

        assert all(r.successful for r in peer.set_parameters(**case.fix)), log.read_text()
        assert peer.change("configure"), log.read_text()
        expect("inactive", NOTHING)
        assert peer.change("activate"), log.read_text()
        expect("active", case.active)
        flows(1)

        assert peer.change("deactivate"), log.read_text()
        expect("inactive", NOTHING)
        for _ in range(10):  # nobody subscribes: never delivered, never answered
            peer.publishers[case.topic].publish(case.make(2))
        assert peer.change("activate"), log.read_text()
        expect("active", case.active)
        flows(3)
        assert not _stamped(inbox, 2), "an input sent while inactive was answered"

        assert peer.change("deactivate"), log.read_text()
        assert peer.change("cleanup"), log.read_text()
        expect("unconfigured", NOTHING)
        if case.ends_from != "unconfigured":
            assert peer.change("configure"), log.read_text()
        if case.ends_from == "active":
            assert peer.change("activate"), log.read_text()
            expect("active", case.active)
        assert peer.change("shutdown"), log.read_text()
        expect("finalized", NOTHING)
        assert process.poll() is None, "finalized: the process runs until it is stopped"
        assert processes.stop(process, 30) == 0, log.read_text()
        assert "Traceback" not in log.read_text()
        assert len(failure_lines(log, "configure")) == 1
    finally:
        peer.close()
        if process.poll() is None:
            process.kill()


@pytest.mark.parametrize("node", sorted(CASES))
def test_every_transition_through_the_lifecycle_services(node: str, tmp_path: Path, ros_env: dict) -> None:
    _drive(CASES[node](tmp_path), ros_env, tmp_path / "node.log")


def test_orpose_node_holds_its_model_from_configure_to_cleanup(tmp_path: Path, ros_env: dict, stats_path: Path) -> None:
    case = Case("orpose_ros.ros.node", "orpose_node",
                bad={"weights": str(tmp_path / "nowhere.pth")}, fix={"weights": "", "random_weights_seed": 0},
                says="weights file not found",
                active=({"/camera/image_raw"}, {"/orpose/poses", "/orpose/markers", "/orpose/debug_image",
                                                "/diagnostics"}),
                topic="/camera/image_raw", input_type=Image, make=lambda k: _image(k, 240, 320),
                output="/orpose/poses", output_type=PersonPoseArray, ends_from="unconfigured",
                extra={"stats": str(stats_path), "device": "cpu", "qos_reliability": "reliable", "qos_depth": 1,
                       "publish_debug_image": False})
    resident: list[tuple[str, float]] = []
    _drive(case, ros_env, tmp_path / "node.log", on_state=lambda state, pid: resident.append((state, rss_mb(pid))))
    print(f"orpose_node resident memory [MiB] by state: {resident}")
    states = [state for state, _ in resident]
    assert states == ["unconfigured", "inactive", "active", "inactive", "active", "unconfigured", "finalized"]
    before, loaded, released = resident[0][1], resident[1][1], resident[5][1]
    assert loaded - before > MODEL_MIB, resident
    assert loaded - released > MODEL_MIB, resident
