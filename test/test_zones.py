"""Zones: membership and distances exact at the edges (1 mm inside / outside), the chosen joints, enter and
leave events in order, and one-line errors naming the zone and the field for bad zones files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO

from orpose_ros.skeleton import COCO_KEYPOINT_NAMES
from orpose_ros.zones import (
    PersonInRoom,
    Zone,
    ZoneError,
    ZoneEventKind,
    ZoneMonitor,
    ZoneShape,
    load_zones,
    zone_state,
    zones_from_dict,
)

LEFT_WRIST, LEFT_ANKLE = COCO_KEYPOINT_NAMES.index("left_wrist"), COCO_KEYPOINT_NAMES.index("left_ankle")


def zones(*entries: dict) -> tuple:
    return zones_from_dict({"frame_id": "room", "zones": list(entries)}).zones


SQUARE = {"name": "square", "polygon": [[0, 0], [2, 0], [2, 2], [0, 2]], "z": [0.0, 2.0]}
CYLINDER = {"name": "round", "cylinder": {"centre": [5.0, 5.0], "radius": 1.0}, "z": [0.0, 2.0]}
BOX = {"name": "table", "box": {"centre": [0.0, 0.0, 0.5], "size": [2.0, 1.0, 1.0], "yaw_deg": 90.0}}


def one_joint(xyz: tuple[float, float, float], person_id: int = 1, joint: int = LEFT_WRIST,
              predicted: bool = False) -> PersonInRoom:
    """A person with only ``joint`` placed, at ``xyz`` [m]."""
    joints = np.full((17, 3), np.nan)
    joints[joint] = xyz
    return PersonInRoom(person_id, joints, predicted)


@pytest.mark.parametrize(("zone", "inside", "outside"), [
    (SQUARE, (1.999, 1.0, 1.0), (2.001, 1.0, 1.0)),   # polygon side
    (SQUARE, (1.0, 1.0, 1.999), (1.0, 1.0, 2.001)),   # top of its height range
    (SQUARE, (0.0, 1.0, 1.0), (1.0, -0.001, 1.0)),     # on the boundary counts inside
    (CYLINDER, (5.999, 5.0, 1.0), (6.001, 5.0, 1.0)),  # radius, exact (not the drawn polygon)
    (CYLINDER, (5.0, 5.0, 0.001), (5.0, 5.0, -0.001)),
    (BOX, (0.499, 0.9, 0.5), (0.501, 0.0, 0.5)),       # turned 90 deg: 1 m wide along x, 2 m along y
    (BOX, (0.0, 0.999, 0.5), (0.0, 1.001, 0.5)),
], ids=["polygon", "height", "boundary", "cylinder", "cylinder-bottom", "box-x", "box-y"])
def test_a_joint_1_mm_inside_counts_and_1_mm_outside_does_not(zone: dict, inside: tuple, outside: tuple) -> None:
    (z,) = zones(zone)
    state = zone_state(z, [one_joint(inside, 7)])
    assert (state.ids, state.count, state.closest_distance_m, state.closest_id) == ((7,), 1, 0.0, 7)
    state = zone_state(z, [one_joint(outside, 7)])
    assert (state.ids, state.count, state.closest_id, state.closest_joint) == ((), 0, 7, "left_wrist")
    assert state.closest_distance_m == pytest.approx(0.001, abs=1e-9)


def test_distances_combine_the_floor_plane_and_the_height() -> None:
    (square,) = zones(SQUARE)
    assert square.distance(np.array([5.0, 1.0, 6.0])) == pytest.approx(5.0)  # 3 m beside, 4 m above
    assert np.isnan(square.distance(np.array([np.nan, 0.0, 0.0])))


def test_only_the_chosen_joints_count_and_the_closest_is_named() -> None:
    (feet,) = zones({**SQUARE, "joints": ["left_ankle", "right_ankle"]})
    wrist_in = one_joint((1.0, 1.0, 1.0), 3, LEFT_WRIST)
    wrist_in.joints[LEFT_ANKLE] = (2.5, 1.0, 0.05)  # the foot 0.5 m outside
    state = zone_state(feet, [wrist_in])
    assert state.ids == ()
    assert state.count == 0
    assert (state.closest_id, state.closest_joint) == (3, "left_ankle")
    assert state.closest_distance_m == pytest.approx(0.5)


def test_nobody_placed_and_unconfirmed_people() -> None:
    (square,) = zones(SQUARE)
    empty = zone_state(square, [PersonInRoom(4, np.full((17, 3), np.nan))])
    assert (empty.count, empty.closest_distance_m, empty.closest_id, empty.closest_joint) == (0, np.inf, 0, "")
    unconfirmed = zone_state(square, [one_joint((1.0, 1.0, 1.0), 0)])
    assert unconfirmed.count == 1
    assert unconfirmed.ids == ()  # counted, but no id to list


def test_a_walker_enters_then_leaves_and_a_vanished_person_leaves() -> None:
    monitor = ZoneMonitor(zones_from_dict({"frame_id": "room", "zones": [SQUARE, CYLINDER]}))
    events = []
    for k, x in enumerate([-0.5, -0.001, 0.5, 1.999, 2.001, 3.0]):
        states, new = monitor.update(float(k), [one_joint((x, 1.0, 1.0), 2), one_joint((5.0, 5.0, 1.0), 9)])
        events += new
        assert [s.name for s in states] == ["square", "round"]
    assert [(e.zone, e.id, e.kind, e.stamp_s) for e in events] == [
        ("round", 9, ZoneEventKind.ENTERED, 0.0),
        ("square", 2, ZoneEventKind.ENTERED, 2.0), ("square", 2, ZoneEventKind.LEFT, 4.0)]
    states, events = monitor.update(6.0, [one_joint((5.0, 5.0, 1.0), 9, predicted=True)])
    assert events == []
    assert states[1].ids == (9,)
    assert states[1].predicted == (True,)  # occluded: still inside
    states, events = monitor.update(7.0, [])  # its track ended
    assert [(e.zone, e.id, e.kind, e.predicted) for e in events] == [("round", 9, ZoneEventKind.LEFT, True)]


@pytest.mark.parametrize(("content", "message"), [
    ({"frame_id": "room", "zones": [{**SQUARE, "polygon": [[0, 0], [1, 0]]}]},
     "zone 'square': polygon: needs at least 3 [x, y] vertices, got 2"),
    ({"frame_id": "room", "zones": [{**SQUARE, "polygon": [[0, 0], [1, 1], [1, 0], [0, 1]]}]},
     "zone 'square': polygon: is not a simple polygon with an area (Self-intersection"),
    ({"frame_id": "room", "zones": [{**SQUARE, "z": [2.0, 1.0]}]},
     "zone 'square': z: must be [min, max] with min < max, got [2.0, 1.0]"),
    ({"frame_id": "room", "zones": [{**SQUARE, "z": None}]}, "zone 'square': z: missing"),
    ({"frame_id": "room", "zones": [{**SQUARE, "colour": "red"}]},
     "zone 'square': colour: not a key of a polygon zone"),
    ({"frame_id": "room", "zones": [{**BOX, "z": [0, 1]}]}, "zone 'table': z: not a key of a box zone"),
    ({"frame_id": "room", "zones": [{**SQUARE, "joints": ["left_hand"]}]},
     "zone 'square': joints: unknown joint 'left_hand'"),
    ({"frame_id": "room", "zones": [SQUARE, SQUARE]}, "zone 'square': name: used twice"),
    ({"frame_id": "room", "zones": [{**SQUARE, **CYLINDER, "name": "both"}]},
     "zone 'both': shape: give exactly one of polygon, cylinder, box"),
    ({"frame_id": "room", "zones": [{**CYLINDER, "cylinder": {"centre": [0, 0], "radius": 0}}]},
     "zone 'round': cylinder.radius: must be positive, got 0.0"),
    ({"frame_id": "room", "zones": [{**BOX, "box": {"centre": [0, 0, 0], "size": [1, -1, 1]}}]},
     "zone 'table': box.size: must be positive lengths"),
    ({"frame_id": "room", "zones": [{**SQUARE, "polygon": [[0, 0], [1, "a"], [1, 1]]}]},
     "zone 'square': polygon: must be a finite number, got 'a'"),
    ({"frame_id": "room", "zones": [{"polygon": [[0, 0], [1, 0], [1, 1]], "z": [0, 1]}]}, "zone 1: name: missing"),
    ({"zones": [SQUARE]}, "'frame_id' must be the world frame's name"),
    ({"frame_id": "room", "zones": []}, "'zones' must be a non-empty list"),
    ({"frame_id": "room", "zones": [SQUARE], "units": "mm"}, "unknown key(s) ['units']"),
])
def test_a_bad_zones_file_is_one_line_naming_the_zone_and_the_field(tmp_path: Path, content: dict,
                                                                      message: str) -> None:
    path = tmp_path / "zones.yaml"
    path.write_text(yaml.safe_dump(content))
    with pytest.raises(ZoneError) as error:
        load_zones(path)
    text = str(error.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: ")
    assert message in text


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ZoneError, match="cannot read the zones file"):
        load_zones(tmp_path / "nowhere.yaml")
    (tmp_path / "bad.yaml").write_text("zones: [\n")
    with pytest.raises(ZoneError, match="not valid YAML"):
        load_zones(tmp_path / "bad.yaml")


def test_the_example_zones_file_loads() -> None:
    example = load_zones(REPO / "config" / "zones.example.yaml")
    assert example.frame_id == "or_room"
    assert len(example.zones) >= 3
    assert {z.shape for z in example.zones} == {"polygon", "cylinder", "box"}


def _box_zone(box: dict) -> Zone:
    (zone,) = zones_from_dict({"frame_id": "room", "zones": [{"name": "table", "box": box}]}).zones
    return zone


def test_a_box_is_its_centre_plus_the_turned_half_sizes_and_its_height_range() -> None:
    zone = _box_zone({"centre": [1.0, -2.0, 0.75], "size": [4.0, 2.0, 0.5], "yaw_deg": 30.0})
    yaw = math.radians(30.0)
    R = np.array([[math.cos(yaw), -math.sin(yaw)], [math.sin(yaw), math.cos(yaw)]])
    expected = [np.array([1.0, -2.0]) + R @ (np.array(signs) * [2.0, 1.0])
                for signs in ((-1, -1), (1, -1), (1, 1), (-1, 1))]  # counter-clockwise from the back right
    np.testing.assert_allclose(np.array(zone.footprint.exterior.coords)[:4], expected, atol=1e-12)
    assert zone.name == "table"
    assert zone.shape == ZoneShape.BOX
    assert (zone.z_min, zone.z_max) == (0.5, 1.0)  # 0.75 -+ 0.25
    upright = _box_zone({"centre": [1.0, -2.0, 0.75], "size": [4.0, 2.0, 0.5]})  # yaw_deg omitted: 0
    np.testing.assert_allclose(np.array(upright.footprint.exterior.coords)[:4],
                               [[-1.0, -3.0], [3.0, -3.0], [3.0, -1.0], [-1.0, -1.0]], atol=1e-12)


@pytest.mark.parametrize(("box", "message"), [
    ([1, 2], "zone 'table': box: expected a mapping with centre, size and optionally yaw_deg, got list"),
    ({"centre": [0, 0, 0]}, "zone 'table': box: expected a mapping with centre, size and optionally yaw_deg, "
                            "got ['centre']"),
    ({"centre": [0, 0, 0], "size": [1, 1, 1], "colour": "red"},
     "zone 'table': box: expected a mapping with centre, size and optionally yaw_deg, got ['centre', 'colour', "
     "'size']"),
    ({"centre": [0, 0], "size": [1, 1, 1]}, "zone 'table': box.centre: must be a list of 3 numbers, got [0, 0]"),
    ({"centre": [0, 0, 0], "size": 5}, "zone 'table': box.size: must be a list of 3 numbers, got 5"),
    ({"centre": [0, 0, 0], "size": [1, 0, 1]},
     "zone 'table': box.size: must be positive lengths [m], got [1.0, 0.0, 1.0]"),
    ({"centre": [0, 0, 0], "size": [1, 1, 1], "yaw_deg": "x"}, "zone 'table': box.yaw_deg: must be a finite number, "
                                                               "got 'x'"),
])  # fmt: skip
def test_a_bad_box_is_one_line_naming_its_field(box: object, message: str) -> None:
    with pytest.raises(ZoneError) as error:
        _box_zone(box)
    assert str(error.value) == f"zones: {message}"


CYLINDER_ENTRY = {"name": "round", "cylinder": {"centre": [1.0, 2.0], "radius": 0.5}, "z": [0.0, 2.0]}
TRIANGLE = {"name": "tri", "polygon": [[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]], "z": [0.0, 1.0]}


@pytest.mark.parametrize(("entry", "message"), [
    ({**CYLINDER_ENTRY, "cylinder": [1, 2]}, "zone 'round': cylinder: expected a mapping with exactly "
                                             "['centre', 'radius']"),
    ({**CYLINDER_ENTRY, "cylinder": {"centre": [0, 0]}}, "zone 'round': cylinder: expected a mapping with exactly "
                                                         "['centre', 'radius']"),
    ({**CYLINDER_ENTRY, "cylinder": {"centre": [0, 0, 0], "radius": 1}},
     "zone 'round': cylinder.centre: must be a list of 2 numbers, got [0, 0, 0]"),
    ({**CYLINDER_ENTRY, "cylinder": {"centre": [0, 0], "radius": "big"}},
     "zone 'round': cylinder.radius: must be a finite number, got 'big'"),
    ({**CYLINDER_ENTRY, "joints": []},
     "zone 'round': joints: must be a non-empty list of COCO-17 joint names (or omitted: all joints)"),
    ({**CYLINDER_ENTRY, "joints": "nose"},
     "zone 'round': joints: must be a non-empty list of COCO-17 joint names (or omitted: all joints)"),
    ({**CYLINDER_ENTRY, "joints": ["hand"]},
     f"zone 'round': joints: unknown joint 'hand'; COCO-17 names are {', '.join(COCO_KEYPOINT_NAMES)}"),
    ({**CYLINDER_ENTRY, "z": [1.0]}, "zone 'round': z: must be a list of 2 numbers, got [1.0]"),
    ({**CYLINDER_ENTRY, "z": [1.0, 1.0]}, "zone 'round': z: must be [min, max] with min < max, got [1.0, 1.0]"),
    ({**TRIANGLE, "polygon": [[0, 0], [1, 0, 5], [0, 1]]},
     "zone 'tri': polygon: must be a list of [x, y], got [[0, 0], [1, 0, 5], [0, 1]]"),
    ({**TRIANGLE, "polygon": [[0, 0], [1, 1], [2, 2]]},
     "zone 'tri': polygon: is not a simple polygon with an area (Self-intersection"),
])  # fmt: skip
def test_each_bad_field_is_named_in_one_line(entry: dict, message: str) -> None:
    with pytest.raises(ZoneError) as error:
        zones(entry)
    assert str(error.value).startswith(f"zones: {message}")


def test_three_vertices_make_a_polygon_and_a_cylinder_outline_has_64_sides() -> None:
    (tri,) = zones(TRIANGLE)
    assert tri.footprint.area == pytest.approx(1.0)
    (round_zone,) = zones(CYLINDER_ENTRY)
    assert len(round_zone.footprint.exterior.coords) == 64 + 1  # closed ring
    assert round_zone.footprint.area == pytest.approx(math.pi * 0.25, rel=0.01)
    np.testing.assert_array_equal(round_zone.centre_xy, [1.0, 2.0])
    assert round_zone.joints.dtype == bool
    assert round_zone.joints.shape == (17,)
    assert round_zone.joints.all()
    (ankles,) = zones({**CYLINDER_ENTRY, "joints": ["left_ankle", "right_ankle"]})
    assert np.flatnonzero(ankles.joints).tolist() == [LEFT_ANKLE, LEFT_ANKLE + 1]


def _at(x: float, person_id: int, predicted: bool = False) -> PersonInRoom:
    """A person with every joint at (x, 1, 1) [m]."""
    return PersonInRoom(person_id, np.tile([x, 1.0, 1.0], (17, 1)), predicted)


def test_the_state_counts_everyone_inside_lists_ids_from_1_and_skips_people_without_joints() -> None:
    (square,) = zones(SQUARE)
    nobody = PersonInRoom(7, np.full((17, 3), np.nan))
    state = zone_state(square, [nobody, _at(1.0, 1, predicted=True), _at(0.5, 0), _at(1.5, 3), _at(2.5, 2)])
    assert state.ids == (1, 3)  # id 1 is the first confirmed id; id 0 (unconfirmed) only counts
    assert state.predicted == (True, False)
    assert state.count == 3
    assert state.closest_distance_m == 0.0
    assert state.closest_id == 1  # of equally close people, the first given
    assert state.closest_joint == COCO_KEYPOINT_NAMES[0]
    outside = zone_state(square, [nobody, _at(2.75, 2), _at(2.5, 5)])
    assert (outside.count, outside.closest_id, outside.closest_distance_m) == (0, 5, 0.5)


def test_enter_and_leave_events_say_whether_the_person_was_predicted_then() -> None:
    monitor = ZoneMonitor(zones_from_dict({"frame_id": "room", "zones": [SQUARE]}))
    _, events = monitor.update(0.0, [_at(1.0, 4, predicted=True)])
    assert [(e.kind, e.id, e.predicted) for e in events] == [(ZoneEventKind.ENTERED, 4, True)]
    monitor.update(1.0, [_at(1.0, 4)])  # measured inside
    _, events = monitor.update(2.0, [_at(3.0, 4, predicted=True)])  # predicted outside now
    assert [(e.kind, e.id, e.predicted) for e in events] == [(ZoneEventKind.LEFT, 4, True)]


def test_files_and_entries_that_are_not_mappings_and_an_empty_frame_are_named() -> None:
    for data, message in (([1], "f.yaml: expected a mapping with 'frame_id' and 'zones'"),
                          ({"frame_id": "room", "zones": [5]}, "f.yaml: zone 1: expected a mapping"),
                          ({"frame_id": "", "zones": [SQUARE]}, "f.yaml: 'frame_id' must be the world frame's name")):
        with pytest.raises(ZoneError) as error:
            zones_from_dict(data, "f.yaml")
        assert str(error.value).startswith(message)
    assert zones_from_dict({"frame_id": "room", "zones": [SQUARE]}, "f.yaml").source == "f.yaml"


def test_a_self_intersecting_polygon_with_an_area_is_refused() -> None:
    crossed = {**TRIANGLE, "polygon": [[0, 0], [4, 0], [0, 2], [1, -1]]}  # lobes of unequal area: area 3 m^2
    with pytest.raises(ZoneError, match="is not a simple polygon with an area"):
        zones(crossed)


def test_unreadable_and_invalid_files_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ZoneError) as error:
        load_zones(tmp_path / "missing.yaml")
    assert str(error.value) == f"{tmp_path / 'missing.yaml'}: cannot read the zones file: No such file or directory"
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1,\n  b")
    with pytest.raises(ZoneError) as error:
        load_zones(bad)
    text = str(error.value)
    assert text.startswith(f"{bad}: not valid YAML: while parsing a flow sequence in")
    assert "\n" not in text


def test_a_cylinder_measures_each_point_on_its_own() -> None:
    (round_zone,) = zones(CYLINDER_ENTRY)  # axis (1, 2), radius 0.5, z 0..2
    points = np.array([[1.0, 2.0, 1.0], [3.5, 2.0, 1.0], [1.0, 5.0, 1.0]])
    np.testing.assert_allclose(round_zone.distance(points), [0.0, 2.0, 2.5], atol=1e-12)
    np.testing.assert_allclose(round_zone.horizontal_distance(points[:, :2]), [0.0, 2.0, 2.5], atol=1e-12)


def test_distances_keep_the_leading_shape_of_the_points() -> None:
    (square,) = zones(SQUARE)
    points = np.array([[[1.0, 1.0, 1.0], [3.0, 1.0, 1.0]], [[1.0, 1.0, 3.5], [np.nan, 1.0, 1.0]]])
    distance = square.distance(points)
    assert distance.shape == (2, 2)
    np.testing.assert_allclose(distance[0], [0.0, 1.0], atol=1e-12)
    assert distance[1, 0] == pytest.approx(1.5)
    assert np.isnan(distance[1, 1])
def test_the_json_form_of_a_zone_state_is_strict_json_and_keeps_every_field() -> None:
    import json

    from orpose_ros.zones import ZoneEvent, ZoneEventKind, ZoneState, zone_event_to_dict, zone_state_to_dict

    nobody = zone_state_to_dict(ZoneState("door", (), (), 0, float("inf"), 0, ""))
    assert nobody == {"name": "door", "ids": [], "predicted": [], "count": 0, "closest_distance_m": None,
                      "closest_id": 0, "closest_joint": ""}
    someone = zone_state_to_dict(ZoneState("bed", (2, 7), (False, True), 3, 0.123456, 7, "left_wrist"))
    assert someone == {"name": "bed", "ids": [2, 7], "predicted": [False, True], "count": 3,
                       "closest_distance_m": 0.1235, "closest_id": 7, "closest_joint": "left_wrist"}
    event = zone_event_to_dict(ZoneEvent("bed", 7, ZoneEventKind.LEFT, 1.5, True))
    assert event == {"zone": "bed", "id": 7, "event": "left", "predicted": True}
    json.dumps([nobody, someone, event], allow_nan=False)


def test_fused_people_become_the_monitors_people_with_published_ids_and_predicted_states() -> None:
    from orpose_ros.fusion.motion import PersonMotion, TrackingState
    from orpose_ros.fusion.pipeline import FusedPerson
    from orpose_ros.zones import fused_people_in_room

    joints = np.arange(51, dtype=float).reshape(17, 3)

    def fused(track_id: int, state: TrackingState | None) -> FusedPerson:
        motion = None if state is None else PersonMotion(state, np.zeros(3), np.zeros(3), np.eye(3), np.eye(3))
        return FusedPerson(joints, np.ones(17), np.ones(17, int), np.zeros(17), 0.9, ("cam1",), (0,), "triangulated",
                           id=track_id, motion=motion)

    people = fused_people_in_room([fused(4, TrackingState.PREDICTED), fused(2, TrackingState.MEASURED),
                                   fused(-1, TrackingState.NEW), fused(0, None)])
    assert [(p.id, p.predicted) for p in people] == [(5, True), (3, False), (0, False), (1, False)]
    np.testing.assert_array_equal(people[0].joints, joints)
