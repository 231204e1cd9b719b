"""orpose_zone_monitor as deployed: a separate process fed with /orpose/people over real DDS; a walker
enters and leaves a zone, a person standing in another one is occluded (predicted) and then lost; the zone
states, the events in order, the markers' colours; a bad zones file is one line, at start and at run time."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from geometry_msgs.msg import Point
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from ros_tools.node_harness import NodePeer, diagnostics_value, header, wait_until
from visualization_msgs.msg import Marker, MarkerArray

from orpose_msgs.msg import Joint3D, People3D, Person3D, ZoneEvent, ZoneStates
from orpose_ros.ros import processes
from orpose_ros.ros.zone_messages import OCCUPIED

pytestmark = [pytest.mark.ros, pytest.mark.timeout(300)]

PEOPLE = "/orpose/people"
EPOCH = 1_795_000_200
ZONES = {"frame_id": "room", "zones": [
    {"name": "table", "polygon": [[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0]], "z": [0.0, 2.0],
     "joints": ["left_ankle", "right_ankle"]},
    {"name": "door", "cylinder": {"centre": [5.0, 0.5], "radius": 0.5}, "z": [0.0, 2.2]},
]}
#: The walker's feet, moment by moment: outside, 1 mm inside (entered), inside, 1 mm outside (left), away.
WALKER_X = [-0.5, 0.001, 1.0, 2.001, 3.0, 3.0, 3.0]


def _person(person_id: int, feet_xy: tuple[float, float], state: int = Person3D.TRACKING_MEASURED) -> Person3D:
    """A person whose ankles stand at ``feet_xy`` (z = 0.05 m) and whose other joints are 0.3-1.6 m above them."""
    joints = np.zeros((17, 3))
    joints[:, :2] = feet_xy
    joints[:, 2] = np.linspace(1.6, 0.3, 17)
    joints[15:17, 2] = 0.05  # ankles
    return Person3D(id=person_id, placement=Person3D.PLACEMENT_TRIANGULATED, tracking_state=state,
                    joints=[Joint3D(position=Point(x=float(x), y=float(y), z=float(z))) for x, y, z in joints])


def _moment(k: int, frame_id: str = "room") -> People3D:
    people = [_person(3, (WALKER_X[k], 0.5))]
    if k < 4:
        people.append(_person(5, (5.0, 0.5), Person3D.TRACKING_MEASURED if k < 2 else Person3D.TRACKING_PREDICTED))
    return People3D(header=header(EPOCH + k, 0, frame_id), people=people)


def _start(env: dict, log: Path, zones_file: Path | None = None) -> subprocess.Popen:
    params = {} if zones_file is None else {"zones_file": zones_file}
    command = processes.node_command("orpose_ros.ros.zone_monitor_node", params)
    return subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def test_a_walker_enters_and_leaves_in_order(tmp_path: Path, ros_env: dict) -> None:
    zones_file = tmp_path / "zones.yaml"
    zones_file.write_text(yaml.safe_dump(ZONES))
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(yaml.safe_dump({"frame_id": "room", "zones": [{**ZONES["zones"][0], "z": [2.0, 0.0]}]}))
    log = tmp_path / "zones.log"
    process = _start(ros_env, log, zones_file)
    peer = NodePeer(ros_env, {PEOPLE: People3D}, listen={
        "/orpose/zones": ZoneStates, "/orpose/zone_events": ZoneEvent, "/orpose/zone_markers": MarkerArray})
    states, events = peer.inbox.other["/orpose/zones"], peer.inbox.other["/orpose/zone_events"]
    markers = peer.inbox.other["/orpose/zone_markers"]
    set_parameters = peer.node.create_client(SetParameters, "/orpose_zone_monitor/set_parameters")
    try:
        assert peer.wait_for_subscriber(PEOPLE, 60), log.read_text()
        for topic in ("/orpose/zones", "/orpose/zone_events", "/orpose/zone_markers"):
            assert peer.wait_for_publisher(topic, 30), log.read_text()
        peer.publish(PEOPLE, _moment(0, frame_id="elsewhere"))  # another frame: warned, counted, not used
        # discovery is not instant both ways: moments without anybody until the node's outputs reach us
        nobody = People3D(header=header(EPOCH - 10, 0, "room"))
        assert wait_until(lambda: peer.publish(PEOPLE, nobody) or (len(states) > 0 and len(markers) > 0), 60,
                          interval=0.5), log.read_text()[-3000:]
        counts: list[int] = []  # until the last empty moment has come back (no new output for a second)
        assert wait_until(lambda: counts.append(len(states) + len(markers)) or counts[-5:] == [counts[-1]] * 5,
                          30, interval=0.25)
        del states[:], markers[:]  # the empty moments: no zone occupied
        assert events == []
        for k in range(len(WALKER_X)):
            peer.publish(PEOPLE, _moment(k))
            assert wait_until(lambda k=k: len(states) > k and len(markers) > k, 60), log.read_text()[-3000:]
        assert wait_until(lambda: (diagnostics_value(peer.inbox.diagnostics, "zones", "wrong_frame") or 0) >= 1, 10)
        # a bad file at run time is refused with the zone and the field; the zones in use stay
        assert set_parameters.wait_for_service(timeout_sec=30)
        future = set_parameters.call_async(SetParameters.Request(
            parameters=[Parameter("zones_file", value=str(bad_file)).to_parameter_msg()]))
        assert wait_until(future.done, 30)
        (result,) = future.result().results
        assert not result.successful
        assert "zone 'table': z: must be [min, max] with min < max" in result.reason
        peer.publish(PEOPLE, _moment(len(WALKER_X) - 1))
        assert wait_until(lambda: len(states) > len(WALKER_X), 30), log.read_text()[-3000:]
    finally:
        peer.close()
        assert processes.stop(process) == 0, log.read_text()

    assert "people in frame 'elsewhere' but the zones are in 'room'" in log.read_text()
    assert [(e.header.stamp.sec - EPOCH, e.zone, e.id, e.event, e.predicted) for e in events] == [
        (0, "door", 5, ZoneEvent.ENTERED, False),
        (1, "table", 3, ZoneEvent.ENTERED, False),
        (3, "table", 3, ZoneEvent.LEFT, False),
        (4, "door", 5, ZoneEvent.LEFT, True),  # its track ended while it was predicted
    ]
    table = [msg.zones[0] for msg in states]
    door = [msg.zones[1] for msg in states]
    assert [list(z.ids) for z in table] == [[], [3], [3], [], [], [], [], []]
    assert [z.count for z in door] == [1, 1, 1, 1, 0, 0, 0, 0]
    assert list(door[2].predicted) == [True]
    assert table[0].closest_id == 3
    assert table[0].closest_joint in ("left_ankle", "right_ankle")
    assert table[0].closest_distance == pytest.approx(0.5)
    assert table[3].closest_distance == pytest.approx(0.001, abs=1e-6)
    assert all(msg.header.frame_id == "room" for msg in states)
    prisms = [[m for m in msg.markers if m.type == Marker.TRIANGLE_LIST] for msg in markers]
    assert [p[0].color.r == pytest.approx(OCCUPIED.r) for p in prisms[:4]] == [False, True, True, False]


def test_a_bad_zones_file_at_start_is_one_line(tmp_path: Path, ros_env: dict) -> None:
    bad = tmp_path / "zones.yaml"
    bad.write_text(yaml.safe_dump({"frame_id": "room", "zones": [{"name": "door", "cylinder": {
        "centre": [0, 0], "radius": -1}, "z": [0, 2]}]}))
    log = tmp_path / "zones.log"
    assert _start(ros_env, log, bad).wait(60) == 1
    fatal = [line for line in log.read_text().splitlines() if "FATAL" in line]
    assert len(fatal) == 1
    assert "parameter 'zones_file'" in fatal[0]
    assert "zone 'door': cylinder.radius: must be positive, got -1.0" in fatal[0]
    assert _start(ros_env, log).wait(60) == 1  # not given: the default, an empty name
    assert "parameter 'zones_file': '' is empty; expected a zones file" in log.read_text()
