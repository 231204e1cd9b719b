"""Zones: membership and distances exact at the edges (1 mm inside / outside), the chosen joints, enter and
leave events in order, and one-line errors naming the zone and the field for bad zones files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO

from orpose_ros.skeleton import COCO_KEYPOINT_NAMES
from orpose_ros.zones import (
    PersonInRoom,
    ZoneError,
    ZoneEventKind,
    ZoneMonitor,
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
