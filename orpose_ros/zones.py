"""Zones of the operating room and who is in them: ROS-free (numpy, shapely, PyYAML).

A zones file (YAML, `load_zones`) names regions of the room in its world frame (z up, metres):

- ``polygon``: a polygon on the floor plane (x, y vertices) and a height range ``z: [min, max]``;
- ``cylinder``: a vertical cylinder, ``centre: [x, y]``, ``radius``, and ``z``;
- ``box``: ``centre: [x, y, z]``, ``size: [x, y, z]`` (full lengths) and ``yaw_deg`` about the vertical.

A person is inside a zone when any of the zone's chosen ``joints`` (COCO-17 names; default: all) is inside
it, boundary included; a joint that is not placed (NaN) counts nowhere. Per moment and zone `ZoneMonitor`
reports the ids inside, their count, the chosen joint closest to the zone (its distance [m], 0 inside, the
person's id and the joint's name), and the people who entered and left since the previous moment (a person
whose id is no longer published has left). Predicted people (occluded, still tracked) count like measured
ones; their entries say so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import yaml

from orpose_ros.fusion.motion import TrackingState
from orpose_ros.fusion.pipeline import FusedPerson
from orpose_ros.fusion.tracking import published_id
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES

#: Zone colours, RGBA 0..1: free (green) and occupied (red), translucent so that people inside stay visible.
#: The RViz markers of orpose_zone_monitor and the pictures of ``orpose-fuse --zones`` both use them.
FREE_RGBA = (0.2, 0.8, 0.3, 0.25)
OCCUPIED_RGBA = (0.9, 0.15, 0.1, 0.4)


class ZoneError(ValueError):
    """A zones file the monitor cannot use: one line naming the file, the zone and the field."""


class ZoneShape(StrEnum):
    POLYGON = "polygon"
    CYLINDER = "cylinder"
    BOX = "box"


@dataclass(frozen=True, eq=False)
class Zone:
    """One named zone in the world frame.

    Attributes:
        name: unique name.
        shape: how it was given (`ZoneShape`).
        footprint: its outline on the floor plane, world x, y [m] (a cylinder's: a 64-sided polygon, for
            drawing only; its membership and distances are exact).
        z_min, z_max: its height range in the world frame [m].
        joints: (17,) bool, the COCO-17 joints that count.
        centre_xy, radius: a cylinder's axis (2,) and radius [m]; unused otherwise.
    """

    name: str
    shape: ZoneShape
    footprint: shapely.Polygon
    z_min: float
    z_max: float
    joints: np.ndarray
    centre_xy: np.ndarray = field(default_factory=lambda: np.zeros(2))
    radius: float = 0.0

    def horizontal_distance(self, xy: np.ndarray) -> np.ndarray:
        """(N,) distance [m] of (N, 2) points of the floor plane to the footprint; 0 inside or on it."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        if self.shape == ZoneShape.CYLINDER:
            return np.maximum(np.linalg.norm(xy - self.centre_xy, axis=1) - self.radius, 0.0)
        return shapely.distance(self.footprint, shapely.points(xy))

    def distance(self, points: np.ndarray) -> np.ndarray:
        """(...,) distance [m] of (..., 3) world points to the zone; 0 inside or on its boundary; NaN for NaN."""
        points = np.asarray(points, dtype=np.float64)
        flat = points.reshape(-1, 3)
        finite = np.all(np.isfinite(flat), axis=1)
        out = np.full(len(flat), np.nan)
        if finite.any():
            p = flat[finite]
            vertical = np.maximum(np.maximum(self.z_min - p[:, 2], p[:, 2] - self.z_max), 0.0)
            out[finite] = np.hypot(self.horizontal_distance(p[:, :2]), vertical)
        return out.reshape(points.shape[:-1])


@dataclass(frozen=True)
class Zones:
    """The zones of a file and the world frame they are in."""

    frame_id: str
    zones: tuple[Zone, ...]
    source: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(z.name for z in self.zones)


@dataclass(frozen=True)
class PersonInRoom:
    """What the monitor needs of a person: id (0 = not yet confirmed), (17, 3) COCO-17 joints in the world frame
    [m] (NaN where not placed), and whether the position is predicted rather than measured."""

    id: int
    joints: np.ndarray
    predicted: bool = False


@dataclass(frozen=True)
class ZoneState:
    """One zone at one moment.

    Attributes:
        name: the zone.
        ids: ids (>= 1) of the people inside, ascending.
        predicted: per id, whether that person is only predicted (occluded, still tracked).
        count: people inside, unconfirmed ones (id 0) included.
        closest_distance_m: distance [m] from the zone to the closest chosen joint of anyone (0 inside); inf
            when nobody has a placed chosen joint.
        closest_id: that person's id (0 when nobody, or unconfirmed).
        closest_joint: that joint's COCO name ('' when nobody).
    """

    name: str
    ids: tuple[int, ...]
    predicted: tuple[bool, ...]
    count: int
    closest_distance_m: float
    closest_id: int
    closest_joint: str


class ZoneEventKind(StrEnum):
    ENTERED = "entered"
    LEFT = "left"


@dataclass(frozen=True)
class ZoneEvent:
    """A person (id >= 1) entered or left a zone at the moment ``stamp_s`` [s]; ``predicted``: that person's
    position was predicted then (an entry or exit while occluded, or a track ending)."""

    zone: str
    id: int
    kind: ZoneEventKind
    stamp_s: float
    predicted: bool = False


def fused_people_in_room(people: Sequence[FusedPerson]) -> list[PersonInRoom]:
    """The monitor's input from fused people (world frame): the ids and tracking states that orpose_fusion_node
    publishes for them (`fusion.tracking.published_id`; predicted: `TrackingState.PREDICTED`)."""
    return [PersonInRoom(published_id(p.id), np.asarray(p.joints, dtype=np.float64),
                         p.motion is not None and p.motion.state == TrackingState.PREDICTED) for p in people]


def zone_state(zone: Zone, people: Sequence[PersonInRoom]) -> ZoneState:
    """Who is in ``zone`` (see module doc)."""
    inside: list[tuple[int, bool]] = []
    count = 0
    best = (math.inf, 0, "")
    for person in people:
        distance = zone.distance(np.asarray(person.joints, dtype=np.float64))
        distance = np.where(zone.joints, distance, np.nan)
        if np.all(np.isnan(distance)):
            continue
        j = int(np.nanargmin(distance))
        if distance[j] < best[0]:
            best = (float(distance[j]), int(person.id), COCO_KEYPOINT_NAMES[j])
        if distance[j] == 0.0:
            count += 1
            if person.id >= 1:
                inside.append((int(person.id), bool(person.predicted)))
    inside.sort()
    return ZoneState(zone.name, tuple(i for i, _ in inside), tuple(p for _, p in inside), count, *best)


class ZoneMonitor:
    """Zone states and enter/leave events moment after moment (call `update` in stamp order)."""

    def __init__(self, zones: Zones) -> None:
        self.zones = zones
        self._inside: dict[str, dict[int, bool]] = {z.name: {} for z in zones.zones}  # zone -> id -> predicted

    def update(self, stamp_s: float, people: Sequence[PersonInRoom]) -> tuple[list[ZoneState], list[ZoneEvent]]:
        """The state of every zone at ``stamp_s`` [s], and the events since the previous update: per zone in the
        file's order, people who left (ascending ids), then people who entered."""
        states, events = [], []
        predicted_now = {int(p.id): bool(p.predicted) for p in people}
        for zone in self.zones.zones:
            state = zone_state(zone, people)
            before, now = self._inside[zone.name], dict(zip(state.ids, state.predicted, strict=True))
            events += [ZoneEvent(zone.name, i, ZoneEventKind.LEFT, stamp_s, predicted_now.get(i, before[i]))
                       for i in sorted(set(before) - set(now))]
            events += [ZoneEvent(zone.name, i, ZoneEventKind.ENTERED, stamp_s, now[i])
                       for i in sorted(set(now) - set(before))]
            self._inside[zone.name] = now
            states.append(state)
        return states, events


def zone_state_to_dict(state: ZoneState) -> dict[str, Any]:
    """One zone's state in JSON form (the fields of orpose_msgs/ZoneState; distance [m] rounded to 0.1 mm,
    null when nobody has a placed chosen joint)."""
    distance = state.closest_distance_m
    return {"name": state.name, "ids": list(state.ids), "predicted": list(state.predicted), "count": state.count,
            "closest_distance_m": round(distance, 4) if math.isfinite(distance) else None,
            "closest_id": state.closest_id, "closest_joint": state.closest_joint}


def zone_event_to_dict(event: ZoneEvent) -> dict[str, Any]:
    """One enter/leave event in JSON form (the fields of orpose_msgs/ZoneEvent; its moment is the frame's)."""
    return {"zone": event.zone, "id": event.id, "event": str(event.kind), "predicted": event.predicted}


# --- the zones file -------------------------------------------------------------------------------------------

Fail = Callable[[str, str], ZoneError]  # (field, problem) -> the one-line error naming the zone
_COMMON_KEYS = {"name", "joints", "z"}
_SHAPE_KEYS = {ZoneShape.POLYGON: {"polygon"}, ZoneShape.CYLINDER: {"cylinder"}, ZoneShape.BOX: {"box"}}
_CYLINDER_KEYS = {"centre", "radius"}
_BOX_KEYS = {"centre", "size", "yaw_deg"}
_FILE_KEYS = {"frame_id", "zones"}


def load_zones(path: str | Path) -> Zones:
    """The zones of a YAML file (module doc; ``config/zones.example.yaml``). Raises ZoneError (one line naming the
    file, the zone and the field) for anything it cannot use: unknown keys included, nothing is ignored."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ZoneError(f"{path}: cannot read the zones file: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise ZoneError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from None
    return zones_from_dict(data, str(path))


def zones_from_dict(data: Any, source: str = "zones") -> Zones:
    """`Zones` from the parsed content of a zones file (see `load_zones`)."""
    if not isinstance(data, Mapping):
        raise ZoneError(f"{source}: expected a mapping with 'frame_id' and 'zones'")
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise ZoneError(f"{source}: unknown key(s) {sorted(map(str, unknown))}; expected {sorted(_FILE_KEYS)}")
    frame_id = data.get("frame_id")
    if not isinstance(frame_id, str) or not frame_id:
        raise ZoneError(f"{source}: 'frame_id' must be the world frame's name (the people's header frame_id)")
    entries = data.get("zones")
    if not isinstance(entries, list) or not entries:
        raise ZoneError(f"{source}: 'zones' must be a non-empty list")
    zones: list[Zone] = []
    for index, entry in enumerate(entries):
        zone = _zone(entry, f"{source}: zone {index + 1}")
        if zone.name in {z.name for z in zones}:
            raise ZoneError(f"{source}: zone '{zone.name}': name: used twice")
        zones.append(zone)
    return Zones(frame_id, tuple(zones), source)


def _zone(entry: Any, where: str) -> Zone:
    if not isinstance(entry, Mapping):
        raise ZoneError(f"{where}: expected a mapping")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ZoneError(f"{where}: name: missing or empty")
    where = f"{where.split(': zone ')[0]}: zone '{name}'"

    def fail(field_name: str, problem: str) -> ZoneError:
        return ZoneError(f"{where}: {field_name}: {problem}")

    shapes = [s for s, keys in _SHAPE_KEYS.items() if keys & set(entry)]
    if len(shapes) != 1:
        raise fail("shape", "give exactly one of polygon, cylinder, box")
    shape = shapes[0]
    accepted = (_COMMON_KEYS - ({"z"} if shape == ZoneShape.BOX else set())) | _SHAPE_KEYS[shape]
    unknown = set(entry) - accepted
    if unknown:
        raise fail(sorted(map(str, unknown))[0], f"not a key of a {shape} zone (it takes {sorted(accepted)})")
    joints = _joints(entry.get("joints"), fail)
    if shape == ZoneShape.BOX:
        return _box(name, entry["box"], joints, fail)
    z_min, z_max = _z_range(entry.get("z"), fail)
    if shape == ZoneShape.POLYGON:
        xy = _numbers(entry["polygon"], "polygon", fail, columns=2)
        if len(xy) < 3:
            raise fail("polygon", f"needs at least 3 [x, y] vertices, got {len(xy)}")
        polygon = shapely.Polygon(xy)
        if not polygon.is_valid or polygon.area <= 0:
            raise fail("polygon", f"is not a simple polygon with an area ({shapely.is_valid_reason(polygon)})")
        return Zone(name, shape, polygon, z_min, z_max, joints)
    cylinder = entry["cylinder"]
    if not isinstance(cylinder, Mapping) or set(cylinder) != _CYLINDER_KEYS:
        raise fail("cylinder", f"expected a mapping with exactly {sorted(_CYLINDER_KEYS)}")
    centre = _numbers(cylinder["centre"], "cylinder.centre", fail, length=2)
    radius = _number(cylinder["radius"], "cylinder.radius", fail)
    if radius <= 0:
        raise fail("cylinder.radius", f"must be positive, got {radius}")
    footprint = shapely.Point(centre).buffer(radius, quad_segs=16)
    return Zone(name, shape, footprint, z_min, z_max, joints, np.asarray(centre), radius)


def _box(name: str, box: Any, joints: np.ndarray, fail: Fail) -> Zone:
    if not isinstance(box, Mapping) or not {"centre", "size"} <= set(box) or set(box) - _BOX_KEYS:
        raise fail("box", f"expected a mapping with centre, size and optionally yaw_deg, got {_keys(box)}")
    centre = _numbers(box["centre"], "box.centre", fail, length=3)
    size = _numbers(box["size"], "box.size", fail, length=3)
    if np.any(size <= 0):
        raise fail("box.size", f"must be positive lengths [m], got {size.tolist()}")
    yaw = math.radians(_number(box.get("yaw_deg", 0.0), "box.yaw_deg", fail))
    rotation = np.array([[math.cos(yaw), -math.sin(yaw)], [math.sin(yaw), math.cos(yaw)]])
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * size[:2] / 2 @ rotation.T + centre[:2]
    return Zone(name, ZoneShape.BOX, shapely.Polygon(corners), float(centre[2] - size[2] / 2),
                float(centre[2] + size[2] / 2), joints)


def _keys(value: Any) -> str:
    return str(sorted(map(str, value))) if isinstance(value, Mapping) else type(value).__name__


def _joints(value: Any, fail: Fail) -> np.ndarray:
    if value is None:
        return np.ones(len(COCO_KEYPOINT_NAMES), dtype=bool)
    if not isinstance(value, list) or not value:
        raise fail("joints", "must be a non-empty list of COCO-17 joint names (or omitted: all joints)")
    unknown = [v for v in value if v not in COCO_KEYPOINT_NAMES]
    if unknown:
        raise fail("joints", f"unknown joint {unknown[0]!r}; COCO-17 names are {', '.join(COCO_KEYPOINT_NAMES)}")
    return np.array([n in value for n in COCO_KEYPOINT_NAMES])


def _z_range(value: Any, fail: Fail) -> tuple[float, float]:
    if value is None:
        raise fail("z", "missing: give the height range [min, max] in metres")
    low, high = _numbers(value, "z", fail, length=2)
    if not low < high:
        raise fail("z", f"must be [min, max] with min < max, got {[float(low), float(high)]}")
    return float(low), float(high)


def _number(value: Any, field_name: str, fail: Fail) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise fail(field_name, f"must be a finite number, got {value!r}")
    return float(value)


def _numbers(value: Any, field_name: str, fail: Fail, length: int | None = None,
             columns: int | None = None) -> np.ndarray:
    """A list of numbers (``length`` of them) or of rows of ``columns`` numbers, as an array."""
    shape_text = f"a list of {length} numbers" if columns is None else f"a list of [{', '.join('xyz'[:columns])}]"
    if not isinstance(value, list):
        raise fail(field_name, f"must be {shape_text}, got {value!r}")
    rows = value if columns is not None else [value]
    for row in rows:
        if not isinstance(row, list) or len(row) != (columns or length):
            raise fail(field_name, f"must be {shape_text}, got {value!r}")
        for v in row:
            _number(v, field_name, fail)
    array = np.array(rows, dtype=np.float64)
    return array if columns is not None else array[0]
