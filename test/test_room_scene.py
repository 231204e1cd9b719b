"""The synthetic room of the room demo: people walk, turn, pass each other and hide each other, and each
camera reports them as a detector would (exact projections before noise)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import REPO
from fusion_data import ceiling_room, standing_person

from orpose_ros.geometry.calibration import PendingCamera
from orpose_ros.geometry.calibration_files import load_calibration
from orpose_ros.room_scene import (
    BODY_RADIUS_M,
    PASSING_GAP_M,
    DetectorNoise,
    RoomScene,
    Walker,
    detect,
    hidden_by_others,
    walkers_for,
    with_nominal_intrinsics,
)
from orpose_ros.skeleton import H36M_JOINT_NAMES

EXAMPLE = REPO / "config" / "cameras.example.yaml"
T0 = 1_800_000_000.0  # a stamp of today's epoch [s]


def test_pending_cameras_get_nominal_intrinsics_and_the_others_keep_theirs() -> None:
    calibration = load_calibration(EXAMPLE)
    assert [c.name for c in calibration.cameras if isinstance(c, PendingCamera)] == ["ceiling_back"]
    completed = with_nominal_intrinsics(calibration)
    assert completed.is_complete
    back = completed.camera("ceiling_back")
    assert (back.width, back.height) == (640, 480)
    assert back.K[0, 0] == pytest.approx(320.0 / math.tan(math.radians(30.0)))
    np.testing.assert_array_equal(completed.camera("ceiling_right").K, calibration.camera("ceiling_right").K)
    with pytest.raises(ValueError, match="ceiling_back"):
        RoomScene(calibration)


def test_people_walk_at_their_speed_turn_and_pass_each_other_but_never_through_each_other() -> None:
    walkers = walkers_for(with_nominal_intrinsics(load_calibration(EXAMPLE)), 6)
    times = T0 + np.arange(0.0, 120.0, 0.05)
    tracks = np.array([[w.position_heading(t)[0] for t in times] for w in walkers])  # (6, T, 2)
    speeds = np.linalg.norm(np.diff(tracks, axis=1), axis=-1) / 0.05
    for walker, speed in zip(walkers, speeds, strict=True):
        assert np.median(speed) == pytest.approx(walker.speed_mps, rel=0.1)
    # the aisle walkers turn back at their ends: along x, heading 0 then pi; along y, pi/2 then -pi/2
    assert {round(walkers[2].position_heading(t)[1], 6) for t in times} == {0.0, round(math.pi, 6)}
    assert {round(walkers[4].position_heading(t)[1], 6) for t in times} == {round(math.pi / 2, 6),
                                                                             round(-math.pi / 2, 6)}
    # the circling walkers go opposite ways and pass each other: as close as the passing gap, then far apart
    gaps = np.linalg.norm(tracks[0] - tracks[1], axis=-1)
    assert gaps.min() < PASSING_GAP_M + 0.02
    assert gaps.max() > 1.4
    # nobody walks through anybody: every pair of body centres keeps (about) the passing gap
    for a, b in itertools.combinations(range(6), 2):
        assert np.linalg.norm(tracks[a] - tracks[b], axis=-1).min() > PASSING_GAP_M - 0.05, (a, b)
    # everyone stays inside the rectangle of the cameras (0.3..5.7 x 0.3..4.7 m)
    assert tracks[..., 0].min() > 0.3
    assert tracks[..., 0].max() < 5.7
    assert tracks[..., 1].min() > 0.3
    assert tracks[..., 1].max() < 4.7
    with pytest.raises(ValueError, match="people: 7 is out of range"):
        walkers_for(ceiling_room(), 7)


def test_a_line_route_along_y_runs_back_and_forth_through_its_centre() -> None:
    walker = Walker((1.0, 2.0), (0.0, 0.5), 0.5)  # phase 0: at the low end, walking +y
    assert walker.position_heading(0.0)[0] == pytest.approx([1.0, 1.5])
    assert walker.position_heading(1.0)[0] == pytest.approx([1.0, 2.0])  # 0.5 m at 0.5 m/s
    assert walker.position_heading(1.0)[1] == pytest.approx(math.pi / 2)
    assert walker.position_heading(3.0)[0] == pytest.approx([1.0, 2.0])  # back through the centre at 3 s
    assert walker.position_heading(3.0)[1] == pytest.approx(-math.pi / 2)


def test_walking_swings_the_legs_and_keeps_the_body_upright() -> None:
    walker = Walker((0.0, 0.0), (2.0, 0.0), 1.0)  # along +x at t = 0
    coco, h36m = walker.joints(0.25 / 0.9)  # a quarter step period: the left leg fully forward
    assert walker.position_heading(0.0)[1] == 0.0
    left, right = H36M_JOINT_NAMES.index("left_ankle"), H36M_JOINT_NAMES.index("right_ankle")
    pelvis = h36m[H36M_JOINT_NAMES.index("pelvis")]
    assert h36m[left, 0] - pelvis[0] == pytest.approx(0.22, abs=0.02)  # left ankle 22 cm ahead
    assert h36m[right, 0] - pelvis[0] == pytest.approx(-0.22, abs=0.02)
    assert pelvis[2] == pytest.approx(0.53 * 1.72)
    assert coco[:, 2].max() < 1.72
    assert coco[:, 2].min() > 0.0


def test_noiseless_detections_are_the_exact_projections() -> None:
    calibration = ceiling_room(3)
    scene = RoomScene(calibration, noise=DetectorNoise(0.0, 0.0, 6))
    coco, h36m = scene.people(T0)
    statures = np.array([w.stature_m for w in scene.walkers])
    for camera in calibration.cameras:
        poses = scene.detections(T0)[camera.name]
        hidden = hidden_by_others(camera, coco, statures, 0.0)
        assert (poses.width, poses.height, poses.downsample_factor) == (640, 480, 1)
        for person in poses.persons:
            # which person: the one whose projection matches the confident keypoints
            visible = person.keypoints_2d[:, 2] >= 0.6
            p = int(np.argmin([np.abs(camera.project(c)[visible] - person.keypoints_2d[visible, :2]).max()
                               for c in coco]))
            np.testing.assert_allclose(person.keypoints_2d[visible, :2], camera.project(coco[p])[visible], atol=1e-3)
            uv = camera.project(coco[p])
            inside = (uv >= 0).all(axis=1) & (uv[:, 0] < camera.width) & (uv[:, 1] < camera.height)
            assert (visible == (~hidden[p] & inside)).all()
            assert (person.keypoints_2d[~visible, 2] < 0.1).all()
            # the 3D skeleton is Human3.6M, pelvis-relative, in camera axes
            pelvis = h36m[p, H36M_JOINT_NAMES.index("pelvis")]
            world = person.keypoints_3d @ camera.T_world_from_camera[:3, :3].T + pelvis
            np.testing.assert_allclose(world, h36m[p], atol=1e-5)
            low, high = person.bbox[:2], person.bbox[2:]
            assert (low <= person.keypoints_2d[visible, :2]).all()
            assert (person.keypoints_2d[visible, :2] <= high).all()


def test_a_body_hides_what_is_behind_it_and_nothing_beside_it() -> None:
    camera = ceiling_room(1).cameras[0]
    centre = camera.centre_world[:2]
    towards = -centre / np.linalg.norm(centre)  # horizontal direction from the camera to the room centre
    side = np.array([-towards[1], towards[0]])
    front = standing_person(tuple(centre + 1.5 * towards))

    def hidden_behind(offset_m: float) -> np.ndarray:
        back = standing_person(tuple(centre + 2.5 * towards + offset_m * side))
        return hidden_by_others(camera, np.stack([front, back]), np.array([1.72, 1.72]), 0.0)

    straight = hidden_behind(0.0)
    assert not straight[0].any()  # the one in front is seen whole
    assert straight[1, 11:].all()
    assert not straight[1, :5].any()  # behind: hips and legs hidden, the face seen above
    # beside: the ray to the back person's pelvis misses the front body by more than its radius
    assert not hidden_behind(3.0 * BODY_RADIUS_M)[1].any()


def test_misses_and_determinism() -> None:
    calibration = ceiling_room(3)
    camera = calibration.cameras[0]
    scene = RoomScene(calibration, noise=DetectorNoise(2.0, 0.0, 1))
    coco, h36m = scene.people(T0)
    statures = np.ones(3) * 1.7
    rng = np.random.default_rng(0)
    assert detect(camera, coco, h36m, statures, 0.0, DetectorNoise(2.0, 1.0), rng).persons == ()
    assert len(detect(camera, coco[:1], h36m[:1], statures[:1], 0.0, DetectorNoise(2.0, 0.0, 1), rng).persons) == 1
    assert detect(camera, coco[:1], h36m[:1], statures[:1], 0.0, DetectorNoise(2.0, 0.0, 18), rng).persons == ()
    a, b, c = scene.detections(T0), scene.detections(T0), scene.detections(T0 + 0.1)
    np.testing.assert_array_equal(a[camera.name].persons[0].keypoints_2d, b[camera.name].persons[0].keypoints_2d)
    assert not np.array_equal(a[camera.name].persons[0].keypoints_2d, c[camera.name].persons[0].keypoints_2d)
    person = a[camera.name].persons[0]
    visible = person.keypoints_2d[:, 2] >= 0.6
    offsets = person.keypoints_2d[None, visible, :2] - camera.project(coco)[:, visible]  # (3, V, 2)
    residual = offsets[np.argmin(np.median(np.abs(offsets), axis=(1, 2)))]
    assert 1.0 < residual.std() < 3.0  # 2 px noise at 640 px width


def test_own_walkers_and_a_person_hidden_from_every_camera() -> None:
    calibration = ceiling_room(3)
    walkers = [Walker((-1.0, 0.0), (0.5, 0.0), 0.5, stature_m=1.7), Walker((1.0, 0.0), (0.5, 0.0), 0.5, stature_m=1.6)]
    scene = RoomScene(calibration, noise=DetectorNoise(0.0, 0.0), walkers=walkers)
    assert scene.walkers == walkers
    seen = scene.detections(T0)
    hidden = scene.detections(T0, hidden={1})
    for camera in calibration.cameras:
        assert len(seen[camera.name].persons) == 2
        (shown,) = hidden[camera.name].persons
        # the one left is walker 0, exactly where the camera sees it
        visible = shown.keypoints_2d[:, 2] >= 0.6
        coco, _ = scene.people(T0)
        np.testing.assert_allclose(shown.keypoints_2d[visible, :2], camera.project(coco[0])[visible], atol=1e-3)
