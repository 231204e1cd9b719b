"""Zone message builders: states and events copy the plain results; markers draw each zone as a closed prism
coloured by occupancy; People3D -> the monitor's input."""

from __future__ import annotations

import numpy as np
import pytest
from geometry_msgs.msg import Point
from std_msgs.msg import Header

from orpose_msgs.msg import Joint3D, People3D, Person3D, ZoneEvent
from orpose_ros.ros.zone_messages import FREE, OCCUPIED, people_in_room, zone_event_to_msg, zone_markers
from orpose_ros.zones import ZoneEvent as PlainZoneEvent
from orpose_ros.zones import ZoneEventKind, ZoneState, zones_from_dict

pytestmark = pytest.mark.ros

ZONES = zones_from_dict({"frame_id": "room", "zones": [
    {"name": "table", "box": {"centre": [1.0, 2.0, 0.5], "size": [2.0, 1.0, 1.0]}},
    {"name": "door", "cylinder": {"centre": [5.0, 0.0], "radius": 0.5}, "z": [0.0, 2.0]}]})


def test_markers_are_closed_prisms_coloured_by_occupancy() -> None:
    states = [ZoneState("table", (4,), (False,), 1, 0.0, 4, "left_wrist"),
              ZoneState("door", (), (), 0, 1.5, 4, "left_wrist")]
    markers = zone_markers(Header(frame_id="room"), ZONES, states).markers
    assert markers[0].action == markers[0].DELETEALL
    assert len(markers) == 7
    table, door = markers[1], markers[4]
    assert table.color == OCCUPIED
    assert door.color == FREE
    assert markers[3].text == "table: 1"
    # a box: 2 triangles at the bottom, 2 at the top, 2 per side
    assert len(table.points) == 3 * (2 + 2 + 4 * 2)
    corners = {(p.x, p.y, p.z) for p in table.points}
    assert corners == {(x, y, z) for x in (0.0, 2.0) for y in (1.5, 2.5) for z in (0.0, 1.0)}
    assert {round(p.z, 9) for p in door.points} == {0.0, 2.0}
    assert all(abs(np.hypot(p.x - 5.0, p.y) - 0.5) < 1e-9 for p in door.points)


def test_events_and_people_in_room() -> None:
    header = Header(frame_id="room")
    msg = zone_event_to_msg(header, PlainZoneEvent("door", 7, ZoneEventKind.LEFT, 3.0, True))
    assert (msg.zone, msg.id, msg.event, msg.predicted) == ("door", 7, ZoneEvent.LEFT, True)
    person = Person3D(id=7, tracking_state=Person3D.TRACKING_PREDICTED,
                      joints=[Joint3D(position=Point(x=float(k), y=1.0, z=2.0)) for k in range(17)])
    (plain,) = people_in_room(People3D(header=header, people=[person]))
    assert plain.id == 7
    assert plain.predicted
    assert plain.joints.shape == (17, 3)
    assert plain.joints[16, 0] == 16.0
