"""Zones and who is in them -> orpose_msgs (ZoneStates, ZoneEvent) and RViz markers; People3D -> the
monitor's plain input. Pure functions of `orpose_ros.zones` results."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from orpose_msgs.msg import People3D, Person3D, ZoneEvent, ZoneState, ZoneStates
from orpose_ros.zones import FREE_RGBA, OCCUPIED_RGBA, PersonInRoom, Zone, ZoneEventKind, Zones
from orpose_ros.zones import ZoneEvent as PlainZoneEvent
from orpose_ros.zones import ZoneState as PlainZoneState

#: Zone colours (`orpose_ros.zones.FREE_RGBA`, `OCCUPIED_RGBA`): free green, occupied red, translucent.
FREE = ColorRGBA(r=FREE_RGBA[0], g=FREE_RGBA[1], b=FREE_RGBA[2], a=FREE_RGBA[3])
OCCUPIED = ColorRGBA(r=OCCUPIED_RGBA[0], g=OCCUPIED_RGBA[1], b=OCCUPIED_RGBA[2], a=OCCUPIED_RGBA[3])
NAMESPACE = "zones"
OUTLINE_WIDTH_M = 0.02
LABEL_HEIGHT_M = 0.15
_EVENTS = {ZoneEventKind.ENTERED: ZoneEvent.ENTERED, ZoneEventKind.LEFT: ZoneEvent.LEFT}


def people_in_room(msg: People3D) -> list[PersonInRoom]:
    """The people of a /orpose/people message as the monitor's input (joints in the message's frame [m])."""
    return [PersonInRoom(int(p.id), np.array([[j.position.x, j.position.y, j.position.z] for j in p.joints]),
                         p.tracking_state == Person3D.TRACKING_PREDICTED)
            for p in msg.people]


def zone_state_to_msg(state: PlainZoneState) -> ZoneState:
    return ZoneState(name=state.name, ids=list(state.ids), predicted=list(state.predicted), count=state.count,
                     closest_distance=float(state.closest_distance_m), closest_id=int(state.closest_id),
                     closest_joint=state.closest_joint)


def zone_states_to_msg(header: Header, states: Sequence[PlainZoneState]) -> ZoneStates:
    """The /orpose/zones message of one moment; ``header``: the people message's."""
    return ZoneStates(header=header, zones=[zone_state_to_msg(s) for s in states])


def zone_event_to_msg(header: Header, event: PlainZoneEvent) -> ZoneEvent:
    """One /orpose/zone_events message; ``header``: the people message's in which it happened."""
    return ZoneEvent(header=header, zone=event.zone, id=int(event.id), event=_EVENTS[event.kind],
                     predicted=bool(event.predicted))


def zone_markers(header: Header, zones: Zones, states: Sequence[PlainZoneState]) -> MarkerArray:
    """Each zone as a translucent prism (TRIANGLE_LIST: its footprint's triangulation at both heights and its
    sides), green when free and red when occupied, with an outline and a label ``name: count``; stamped with
    ``header`` (the world frame)."""
    markers = [Marker(header=header, ns=NAMESPACE, action=Marker.DELETEALL)]
    for i, (zone, state) in enumerate(zip(zones.zones, states, strict=True)):
        colour = OCCUPIED if state.count else FREE
        markers.append(_prism(header, 3 * i, zone, colour))
        markers.append(_outline(header, 3 * i + 1, zone, colour))
        markers.append(_label(header, 3 * i + 2, zone, f"{zone.name}: {state.count}"))
    return MarkerArray(markers=markers)


def _point(xy: np.ndarray, z: float) -> Point:
    return Point(x=float(xy[0]), y=float(xy[1]), z=float(z))


def _marker(header: Header, marker_id: int, kind: int) -> Marker:
    marker = Marker(header=header, ns=NAMESPACE, id=marker_id, type=kind, action=Marker.ADD,
                    lifetime=Duration(sec=0))
    marker.pose.orientation.w = 1.0
    return marker


def _ring(zone: Zone) -> np.ndarray:
    """(K, 2) footprint vertices [m], counter-clockwise, not repeated."""
    ring = np.asarray(zone.footprint.exterior.coords)[:-1]
    signed_area = 0.5 * np.sum(ring[:, 0] * np.roll(ring[:, 1], -1) - np.roll(ring[:, 0], -1) * ring[:, 1])
    return ring if signed_area > 0 else ring[::-1]


def _prism(header: Header, marker_id: int, zone: Zone, colour: ColorRGBA) -> Marker:
    marker = _marker(header, marker_id, Marker.TRIANGLE_LIST)
    marker.scale.x = marker.scale.y = marker.scale.z = 1.0
    marker.color = colour
    points: list[Point] = []
    triangles = shapely.constrained_delaunay_triangles(zone.footprint)
    for triangle in triangles.geoms:
        corners = np.asarray(triangle.exterior.coords)[:3]
        for z in (zone.z_min, zone.z_max):
            points += [_point(xy, z) for xy in corners]
    ring = _ring(zone)
    for a, b in zip(ring, np.roll(ring, -1, axis=0), strict=True):
        low_a, low_b = _point(a, zone.z_min), _point(b, zone.z_min)
        high_a, high_b = _point(a, zone.z_max), _point(b, zone.z_max)
        points += [low_a, low_b, high_b, low_a, high_b, high_a]
    marker.points = points
    return marker


def _outline(header: Header, marker_id: int, zone: Zone, colour: ColorRGBA) -> Marker:
    marker = _marker(header, marker_id, Marker.LINE_LIST)
    marker.scale.x = OUTLINE_WIDTH_M
    marker.color = ColorRGBA(r=colour.r, g=colour.g, b=colour.b, a=1.0)
    ring = _ring(zone)
    points = []
    for a, b in zip(ring, np.roll(ring, -1, axis=0), strict=True):
        for z in (zone.z_min, zone.z_max):
            points += [_point(a, z), _point(b, z)]
        points += [_point(a, zone.z_min), _point(a, zone.z_max)]
    marker.points = points
    return marker


def _label(header: Header, marker_id: int, zone: Zone, text: str) -> Marker:
    marker = _marker(header, marker_id, Marker.TEXT_VIEW_FACING)
    centre = zone.footprint.centroid
    marker.pose.position = Point(x=float(centre.x), y=float(centre.y), z=zone.z_max + 0.1)
    marker.scale.z = LABEL_HEIGHT_M
    marker.color = ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0)
    marker.text = text
    return marker
