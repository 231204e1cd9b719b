"""Zone message builders: states and events copy the plain results; markers draw each zone as a closed prism
coloured by occupancy; People3D -> the monitor's input."""

from __future__ import annotations

import numpy as np
import pytest
from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker

from orpose_msgs.msg import Joint3D, People3D, Person3D, ZoneEvent
from orpose_ros.ros.zone_messages import (
    FREE,
    LABEL_HEIGHT_M,
    NAMESPACE,
    OCCUPIED,
    OUTLINE_WIDTH_M,
    people_in_room,
    zone_event_to_msg,
    zone_markers,
    zone_states_to_msg,
)
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


HEADER = Header(frame_id="room", stamp=Time(sec=12, nanosec=345))
#: Counter-clockwise footprints (positive shoelace sum): a convex pentagon far from the origin, a small
#: quadrilateral (area < 1 m^2) and a triangle (where a sum over vertices i and i + 2 is one over i and i - 1).
PENTAGON = [(10.0, -7.0), (13.0, -6.5), (13.5, -4.0), (11.0, -2.5), (9.5, -4.5)]
SMALL = [(0.0, 0.0), (0.6, 0.1), (0.5, 0.7), (0.1, 0.5)]
TRIANGLE = [(1.0, 1.0), (4.0, 1.5), (2.0, 3.0)]


def shoelace(vertices: list[tuple[float, float]]) -> float:
    """Signed area [m^2] of a polygon, positive when counter-clockwise."""
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(vertices, vertices[1:] + vertices[:1],
                                                                          strict=True))


def polygon_zones(*vertex_lists: list[tuple[float, float]]) -> list:
    return list(zones_from_dict({"frame_id": "room", "zones": [
        {"name": f"p{k}", "polygon": [list(v) for v in vertices], "z": [0.25, 1.75]}
        for k, vertices in enumerate(vertex_lists)]}).zones)


def free(name: str) -> ZoneState:
    return ZoneState(name, (), (), 0, 2.0, 0, "")


def xyz(point: Point) -> tuple[float, float, float]:
    return (point.x, point.y, point.z)


def test_zone_states_copy_every_field_of_every_state_in_order_under_the_given_header() -> None:
    states = [ZoneState("table", (3, 5), (True, False), 3, 0.0, 3, "left_wrist"),
              ZoneState("door", (), (), 0, 1.25, 8, "right_ankle")]
    msg = zone_states_to_msg(HEADER, states)
    assert msg.header == HEADER
    assert [z.name for z in msg.zones] == ["table", "door"]
    table, door = msg.zones
    assert list(table.ids) == [3, 5]
    assert list(table.predicted) == [True, False]
    assert table.count == 3
    assert door.count == 0
    assert table.closest_distance == 0.0
    assert door.closest_distance == 1.25
    assert table.closest_id == 3
    assert door.closest_id == 8
    assert table.closest_joint == "left_wrist"
    assert door.closest_joint == "right_ankle"
    assert list(door.ids) == []


def test_a_zone_event_keeps_the_people_messages_header_and_names_its_kind() -> None:
    entered = zone_event_to_msg(HEADER, PlainZoneEvent("table", 4, ZoneEventKind.ENTERED, 12.0, False))
    assert entered.header == HEADER
    assert (entered.zone, entered.id, entered.event, entered.predicted) == ("table", 4, ZoneEvent.ENTERED, False)


def test_every_marker_has_the_header_the_zones_namespace_and_three_ids_per_zone() -> None:
    states = [ZoneState("table", (4,), (False,), 1, 0.0, 4, "left_wrist"), free("door")]
    markers = zone_markers(HEADER, ZONES, states).markers
    assert markers[0].header == HEADER
    assert markers[0].ns == NAMESPACE
    drawn = markers[1:]
    assert [m.id for m in drawn] == [0, 1, 2, 3, 4, 5]
    assert [m.type for m in drawn] == [Marker.TRIANGLE_LIST, Marker.LINE_LIST, Marker.TEXT_VIEW_FACING] * 2
    for marker in drawn:
        assert marker.header == HEADER
        assert marker.ns == NAMESPACE
        assert marker.action == Marker.ADD
        assert marker.lifetime == Duration(sec=0, nanosec=0)
        # the points are given in the header's frame: identity pose (a label's position aside)
        assert (marker.pose.orientation.x, marker.pose.orientation.y, marker.pose.orientation.z,
                marker.pose.orientation.w) == (0.0, 0.0, 0.0, 1.0)


def test_the_states_must_match_the_zones_one_to_one() -> None:
    with pytest.raises(ValueError):
        zone_markers(HEADER, ZONES, [free("table")])
    with pytest.raises(ValueError):
        zone_markers(HEADER, ZONES, [free("table"), free("door"), free("table")])


@pytest.mark.parametrize("vertices", [PENTAGON, PENTAGON[::-1], SMALL, SMALL[::-1], TRIANGLE, TRIANGLE[::-1]],
                         ids=["ccw", "cw", "small-ccw", "small-cw", "triangle-ccw", "triangle-cw"])
def test_the_prism_is_the_footprint_at_both_heights_and_sides_facing_outwards(vertices: list) -> None:
    (zone,) = polygon_zones(vertices)
    prism = zone_markers(HEADER, type(ZONES)("room", (zone,)), [free("p0")]).markers[1]
    assert (prism.scale.x, prism.scale.y, prism.scale.z) == (1.0, 1.0, 1.0)
    ccw = vertices if shoelace(vertices) > 0 else vertices[::-1]
    k = len(ccw)
    points = [xyz(p) for p in prism.points]
    # caps: the footprint's k - 2 triangles at z_min, then at z_max; then 2 triangles per side
    assert len(points) == 3 * (2 * (k - 2) + 2 * k)
    caps, sides = points[:6 * (k - 2)], points[6 * (k - 2):]
    bottom = [caps[i:i + 3] for i in range(0, len(caps), 6)]
    top = [caps[i + 3:i + 6] for i in range(0, len(caps), 6)]
    assert {p[2] for tri in bottom for p in tri} == {0.25}
    assert {p[2] for tri in top for p in tri} == {1.75}
    assert [[p[:2] for p in tri] for tri in bottom] == [[p[:2] for p in tri] for tri in top]
    cap_area = sum(abs(shoelace([p[:2] for p in tri])) for tri in bottom)
    assert cap_area == pytest.approx(abs(shoelace(vertices)), rel=1e-12)
    # each side: the quad low a, low b, high b / low a, high b, high a of a counter-clockwise edge a -> b, so
    # that its triangles' normals (p1 - p0) x (p2 - p0) point out of the zone
    expected = set()
    for (ax, ay), (bx, by) in zip(ccw, ccw[1:] + ccw[:1], strict=True):
        low_a, low_b, high_a, high_b = (ax, ay, 0.25), (bx, by, 0.25), (ax, ay, 1.75), (bx, by, 1.75)
        expected.add((low_a, low_b, high_b, low_a, high_b, high_a))
    got = {tuple(sides[i:i + 6]) for i in range(0, len(sides), 6)}
    assert got == expected
    centre = np.mean(np.array(ccw), axis=0)
    for i in range(0, len(sides), 3):
        p0, p1, p2 = (np.array(p) for p in sides[i:i + 3])
        normal = np.cross(p1 - p0, p2 - p0)
        assert np.dot(normal[:2], p0[:2] - centre) > 0


@pytest.mark.parametrize("vertices", [PENTAGON, PENTAGON[::-1]], ids=["ccw", "cw"])
def test_the_outline_is_every_edge_at_both_heights_and_a_vertical_at_every_vertex(vertices: list) -> None:
    (zone,) = polygon_zones(vertices)
    outline = zone_markers(HEADER, type(ZONES)("room", (zone,)), [free("p0")]).markers[2]
    assert outline.scale.x == OUTLINE_WIDTH_M
    points = [xyz(p) for p in outline.points]
    k = len(vertices)
    assert len(points) == 2 * 3 * k  # LINE_LIST: two points per segment, three segments per vertex
    segments = sorted(tuple(sorted(points[i:i + 2])) for i in range(0, len(points), 2))
    expected = []
    for (ax, ay), (bx, by) in zip(vertices, vertices[1:] + vertices[:1], strict=True):
        for z in (0.25, 1.75):
            expected.append(tuple(sorted([(ax, ay, z), (bx, by, z)])))
        expected.append(((ax, ay, 0.25), (ax, ay, 1.75)))
    assert segments == sorted(expected)


def test_the_outline_has_the_zones_colour_opaque_and_the_label_is_white() -> None:
    states = [ZoneState("table", (4,), (False,), 1, 0.0, 4, "left_wrist"), free("door")]
    markers = zone_markers(HEADER, ZONES, states).markers
    table_outline, door_outline = markers[2], markers[5]
    assert table_outline.color == ColorRGBA(r=OCCUPIED.r, g=OCCUPIED.g, b=OCCUPIED.b, a=1.0)
    assert door_outline.color == ColorRGBA(r=FREE.r, g=FREE.g, b=FREE.b, a=1.0)
    for label in (markers[3], markers[6]):
        assert label.color == ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0)
        assert label.scale.z == LABEL_HEIGHT_M
    assert markers[6].text == "door: 0"


def test_the_label_floats_a_decimetre_above_the_zone_over_its_footprints_centroid() -> None:
    (zone,) = polygon_zones(PENTAGON)
    label = zone_markers(HEADER, type(ZONES)("room", (zone,)), [free("p0")]).markers[3]
    # centroid of a polygon: sum over edges of (p_i + p_i+1) (x_i y_i+1 - x_i+1 y_i) / (6 A)
    area = shoelace(PENTAGON)
    cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(PENTAGON, PENTAGON[1:] + PENTAGON[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    assert label.pose.position.x == pytest.approx(cx / (6 * area), abs=1e-9)
    assert label.pose.position.y == pytest.approx(cy / (6 * area), abs=1e-9)
    assert label.pose.position.z == pytest.approx(1.75 + 0.1, abs=1e-12)
