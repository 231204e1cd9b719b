"""orpose-fuse --zones: zone occupancy and enter/leave events per frame in the JSON, zones in the render.

The expectations are computed here from the fused joints the JSON itself reports, with plain geometry
(an axis-aligned rectangle, a circle), not with orpose_ros.zones.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from test_cli_fuse import FRAMES, write_calibration, write_results

from orpose_ros.cli.fuse import main
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES
from orpose_ros.zones import OCCUPIED_RGBA

ANKLES = [COCO_KEYPOINT_NAMES.index("left_ankle"), COCO_KEYPOINT_NAMES.index("right_ankle")]
#: The walkway: x in [-0.86, -0.5] m, y in [-1, 1] m, z in [0, 2.2] m; the walker (x from -1.0 to -0.75 m,
#: ankles 6 cm either side) steps into it with the ankles only.
WALKWAY = {"x": (-0.86, -0.5), "y": (-1.0, 1.0), "z": (0.0, 2.2)}
#: A cylinder around the person standing at (1.0, 0.5).
BED = {"centre": (1.0, 0.5), "radius": 0.4, "z": (0.0, 2.2)}


def write_zones(path: Path, frame_id: str = "room", **extra: object) -> Path:
    (x0, x1), (y0, y1) = WALKWAY["x"], WALKWAY["y"]
    zones = [
        {"name": "walkway", "polygon": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], "z": list(WALKWAY["z"]),
         "joints": ["left_ankle", "right_ankle"], **extra},
        {"name": "bed", "cylinder": {"centre": list(BED["centre"]), "radius": BED["radius"]}, "z": list(BED["z"])},
    ]  # fmt: skip
    path.write_text(yaml.safe_dump({"frame_id": frame_id, "zones": zones}))
    return path


def _joints(person: dict) -> np.ndarray:
    return np.array([j[:3] if j is not None else [np.nan] * 3 for j in person["keypoints_3d"]])


def _walkway_distance(points: np.ndarray) -> np.ndarray:
    """Distance [m] of (N, 3) points to the walkway box (0 inside)."""
    low = np.array([WALKWAY["x"][0], WALKWAY["y"][0], WALKWAY["z"][0]])
    high = np.array([WALKWAY["x"][1], WALKWAY["y"][1], WALKWAY["z"][1]])
    return np.linalg.norm(np.maximum(np.maximum(low - points, points - high), 0.0), axis=-1)


def _in_bed(points: np.ndarray) -> bool:
    radial = np.linalg.norm(points[:, :2] - np.array(BED["centre"]), axis=1)
    return bool(np.any((radial <= BED["radius"]) & (points[:, 2] >= BED["z"][0]) & (points[:, 2] <= BED["z"][1])))


def _run(tmp_path: Path, results: list[Path], *extra: str) -> dict:
    calibration = tmp_path / "room.yaml"
    write_calibration(calibration)
    out = tmp_path / "fused.json"
    args = ["--calibration", str(calibration), *map(str, results), "--json", str(out), "--zones",
            str(write_zones(tmp_path / "zones.yaml")), *extra]  # fmt: skip
    assert main(args) == 0
    return json.loads(out.read_text())


def test_zone_occupancy_and_events_per_frame_match_the_fused_joints(tmp_path: Path) -> None:
    fused = _run(tmp_path, write_results(tmp_path))
    assert fused["zones"] == ["walkway", "bed"]
    inside_walkway, entered_walkway = [], []
    for frame in fused["frames"]:
        assert [z["name"] for z in frame["zones"]] == ["walkway", "bed"]
        walkway, bed = frame["zones"]
        ankles = {p["id"]: _joints(p)[ANKLES] for p in frame["persons"]}
        expected = sorted(i for i, a in ankles.items() if np.any(_walkway_distance(a) == 0.0))
        assert walkway["ids"] == expected
        assert walkway["count"] == len(expected)
        assert walkway["predicted"] == [False] * len(expected)
        distances = {i: _walkway_distance(a) for i, a in ankles.items()}
        closest = min(distances, key=lambda i: distances[i].min())
        assert walkway["closest_distance_m"] == pytest.approx(distances[closest].min(), abs=1e-4)
        assert walkway["closest_id"] == closest
        assert walkway["closest_joint"] == ("left_ankle", "right_ankle")[int(np.argmin(distances[closest]))]
        assert bed["ids"] == sorted(p["id"] for p in frame["persons"] if _in_bed(_joints(p)))
        inside_walkway.append(expected)
        entered_walkway.append(sorted(e["id"] for e in frame["zone_events"]
                                      if e["zone"] == "walkway" and e["event"] == "entered"))
    # the walker is outside at first and inside at the end: one entry, at the first frame inside
    assert inside_walkway[0] == []
    assert inside_walkway[-1] != []
    first = next(i for i, ids in enumerate(inside_walkway) if ids)
    assert entered_walkway == [inside_walkway[first] if i == first else [] for i in range(FRAMES)]
    assert fused["frames"][first - 1]["zones"][0]["closest_distance_m"] > 0.0
    assert fused["frames"][first]["zones"][0]["closest_distance_m"] == 0.0
    # the person standing in the bed zone enters it at the first frame and never leaves
    bed_events = [(f["index"], e["id"], e["event"]) for f in fused["frames"] for e in f["zone_events"]
                  if e["zone"] == "bed"]
    assert bed_events == [(0, fused["frames"][0]["zones"][1]["ids"][0], "entered")]
    assert fused["frames"][0]["zones"][1]["count"] == 1


def test_predicted_people_are_counted_marked_and_leave_when_their_track_ends(tmp_path: Path) -> None:
    """The person in the bed zone vanishes from every camera after frame 2: predicted for up to the track's
    max age (1 s; frames 0.5 s apart), then gone, which is a leave event marked predicted."""
    results = write_results(tmp_path)
    for path in results:
        data = json.loads(path.read_text())
        for frame in data["frames"][3:]:
            frame["persons"] = frame["persons"][:1]  # the walker stays
        path.write_text(json.dumps(data))
    fused = _run(tmp_path, results, "--predicted", "--fps", "2")
    bed = [f["zones"][1] for f in fused["frames"]]
    person = bed[0]["ids"][0]
    assert [(z["ids"], z["predicted"]) for z in bed] == [
        *[([person], [False])] * 3, ([person], [True]), ([person], [True]), ([], [])]
    assert [z["count"] for z in bed] == [1, 1, 1, 1, 1, 0]
    events = [(f["index"], e) for f in fused["frames"] for e in f["zone_events"] if e["zone"] == "bed"]
    assert events == [(0, {"zone": "bed", "id": person, "event": "entered", "predicted": False}),
                      (5, {"zone": "bed", "id": person, "event": "left", "predicted": True})]


def test_without_predicted_a_vanished_person_leaves_at_once(tmp_path: Path) -> None:
    results = write_results(tmp_path)
    for path in results:
        data = json.loads(path.read_text())
        for frame in data["frames"][3:]:
            frame["persons"] = frame["persons"][:1]
        path.write_text(json.dumps(data))
    fused = _run(tmp_path, results, "--fps", "2")
    assert [f["zones"][1]["count"] for f in fused["frames"]] == [1, 1, 1, 0, 0, 0]
    left = [(f["index"], e["predicted"]) for f in fused["frames"] for e in f["zone_events"] if e["event"] == "left"]
    assert left == [(3, False)]


def test_the_render_draws_the_zones_in_their_occupancy_colour(tmp_path: Path) -> None:
    render = tmp_path / "render"
    _run(tmp_path, write_results(tmp_path), "--render", str(render))
    pngs = sorted(render.glob("*.png"))
    assert len(pngs) == FRAMES
    r, g, b, a = OCCUPIED_RGBA
    # the occupied bed zone, filled over the white background
    occupied = np.array([255 * (1 - a) + 255 * c * a for c in (b, g, r)])
    picture = cv2.imread(str(pngs[0])).astype(float)
    near = np.all(np.abs(picture - occupied) <= 3, axis=-1)
    assert near.sum() > 200
    without = tmp_path / "plain"
    calibration = tmp_path / "room.yaml"
    assert main(["--calibration", str(calibration), *map(str, write_results(tmp_path)), "--json",
                 str(tmp_path / "plain.json"), "--render", str(without)]) == 0  # fmt: skip
    plain = cv2.imread(str(sorted(without.glob("*.png"))[0])).astype(float)
    assert np.all(np.abs(plain - occupied) <= 3, axis=-1).sum() < 20


BAD_ZONES = [
    ("frame", r"zones\.yaml: frame_id: the zones are in 'or_room' but the calibration's world frame is 'room'$"),
    ("joint", r"zones\.yaml: zone 'walkway': joints: unknown joint 'left_toe'"),
    ("missing", r"nothere\.yaml: cannot read the zones file"),
]


@pytest.mark.parametrize(("change", "message"), [pytest.param(c, m, id=c) for c, m in BAD_ZONES])
def test_a_bad_zones_file_is_one_line_exit_2(tmp_path: Path, change: str, message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    calibration = tmp_path / "room.yaml"
    write_calibration(calibration)
    zones = tmp_path / "zones.yaml"
    if change == "frame":
        write_zones(zones, frame_id="or_room")
    elif change == "joint":
        write_zones(zones, joints=["left_toe"])
    else:
        zones = tmp_path / "nothere.yaml"
    out = tmp_path / "fused.json"
    args = ["--calibration", str(calibration), *map(str, write_results(tmp_path)), "--json", str(out),
            "--zones", str(zones)]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("orpose-fuse: error:")
    assert "\n" not in err
    assert re.search(message, err), err
    assert not out.exists()
