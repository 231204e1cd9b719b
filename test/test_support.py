"""Phantom people (fusion.support): a person is published once supported (views, torso, track history); the
others stay tentative. Synthetic scenes with known truth: walkers seen by several cameras, a person seen by one
camera only, and one-frame false detections of a single camera."""

from __future__ import annotations

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, standing_person

from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.pipeline import SINGLE_VIEW, TRIANGULATED, FusedPerson
from orpose_ros.fusion.stream import FusionStream, StreamOptions
from orpose_ros.fusion.support import SupportGate, SupportOptions, frame_support
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES

L_SHOULDER, R_SHOULDER, L_HIP, R_HIP = (COCO_KEYPOINT_NAMES.index(n) for n in (
    "left_shoulder", "right_shoulder", "left_hip", "right_hip"))  # fmt: skip
SINGLE = f"{SINGLE_VIEW} skeleton+floor"
ROOM = ceiling_room(4)


def fused(placement: str = SINGLE, confidence: np.ndarray | None = None, x: float = 0.0) -> FusedPerson:
    confidence = np.full(17, 0.9) if confidence is None else confidence
    views = np.where(confidence > 0, 1 if placement != TRIANGULATED else 2, 0)
    return FusedPerson(standing_person((x, 0.0)), confidence, views, np.zeros(17), 0.8, ("cam1",), (0,), placement)


@pytest.mark.parametrize(("hidden", "supported"), [((), True), ((L_SHOULDER,), False), ((R_SHOULDER,), False),
                                                    ((L_HIP,), True), ((L_HIP, R_HIP), False)])  # fmt: skip
def test_a_single_camera_person_needs_both_shoulders_and_a_hip(hidden: tuple[int, ...], supported: bool) -> None:
    confidence = np.full(17, 0.9)
    confidence[list(hidden)] = 0.0
    assert frame_support(fused(confidence=confidence), SupportOptions()) == supported
    assert frame_support(fused(TRIANGULATED, confidence), SupportOptions())  # several cameras agree: supported
    assert frame_support(fused(confidence=confidence), SupportOptions(single_view_torso=False))


@pytest.mark.parametrize(("score", "supported"), [(0.199, False), (0.2, True)])
def test_the_torso_keypoints_are_confident_from_the_placement_score(score: float, supported: bool) -> None:
    confidence = np.full(17, 0.9)
    confidence[R_SHOULDER] = score
    assert frame_support(fused(confidence=confidence), SupportOptions()) == supported


def test_the_gate_publishes_single_camera_tracks_after_consecutive_supported_frames() -> None:
    gate = SupportGate(SupportOptions(single_view_min_frames=3))
    weak = np.full(17, 0.9)
    weak[[L_HIP, R_HIP]] = 0.0
    assert gate.publish([fused(), fused(TRIANGULATED)], [0, 1], {0, 1}) == [False, True]
    assert gate.publish([fused()], [0], {0, 1}) == [False]  # 2 consecutive supported frames of 3
    assert gate.publish([fused()], [0], {0, 1}) == [True]
    assert gate.publish([fused(confidence=weak), fused(confidence=weak)], [0, 1], {0, 1}) == [True, True]  # established
    assert gate.publish([fused()], [0], {0}) == [True]
    assert gate.publish([fused()], [1], {1}) == [False]  # track 1 ended (not live): its history is gone


def test_a_missed_or_weak_frame_restarts_the_count() -> None:
    gate = SupportGate(SupportOptions(single_view_min_frames=2))
    weak = np.full(17, 0.9)
    weak[L_SHOULDER] = 0.0
    assert gate.publish([fused()], [0], {0}) == [False]
    assert gate.publish([], [], {0}) == []  # track 0 not measured in this frame
    assert gate.publish([fused()], [0], {0}) == [False]  # a new run
    assert gate.publish([fused(confidence=weak)], [0], {0}) == [False]  # not supported: the run ends
    assert gate.publish([fused()], [0], {0}) == [False]
    assert gate.publish([fused()], [0], {0}) == [True]
    assert gate.publish([fused()], [-1], set()) == [False]  # untracked: the frame alone, not enough
    assert SupportGate(SupportOptions(single_view_min_frames=1)).publish([fused()], [-1], set()) == [True]
    with pytest.raises(ValueError, match="single_view_min_frames"):
        SupportOptions(single_view_min_frames=0)


def walkers(t: float) -> list[np.ndarray]:
    return [standing_person((-1.2 + 0.6 * t, -0.8), 0.0), standing_person((0.9, -1.0 + 0.5 * t), 1.5),
            standing_person((0.2, 1.0), 2.5)]  # fmt: skip


LONER = standing_person((-1.5, 1.2), 0.7)  # seen by cam1 only (occluded for the others)
PARTIAL = standing_person((-0.4, 1.9), 3.0)  # cam2 sees, in every frame, its head and one arm only: no torso
PARTIAL_SEEN = np.array([n.split("_")[-1] in ("nose", "eye", "ear") or (n.startswith("left_") and
                         n.endswith(("shoulder", "elbow", "wrist"))) for n in COCO_KEYPOINT_NAMES])  # fmt: skip


def phantom(k: int) -> tuple[str, np.ndarray]:
    """A false detection of one camera in frame ``k`` only: a body at a place that changes by metres per frame."""
    position = ((-1.6, -1.6), (1.6, 1.4), (-0.2, -1.8), (1.7, -0.4))[k % 4]
    return ROOM.names[k % 4], standing_person(position, 0.5 * k)


def scene_frame(k: int, fps: float = 10.0) -> dict[str, list[PersonDetection]]:
    rng = np.random.default_rng(k)
    detections: dict[str, list[PersonDetection]] = {}
    name_p, body_p = phantom(k)
    for name in ROOM.names:
        camera = ROOM.camera(name)
        bodies = [*walkers(k / fps), *([LONER] if name == "cam1" else []), *([PARTIAL] if name == "cam2" else []),
                  *([body_p] if name == name_p else [])]
        people = []
        for i, body in enumerate(bodies):
            kp = keypoints_of(camera, body, 0.8)
            kp[:, :2] += rng.normal(0.0, 1.0, (17, 2))  # detector noise [px]
            if body is PARTIAL:
                kp[~PARTIAL_SEEN, 2] = 0.0
            people.append(PersonDetection(kp, 0.8, None, i))
        detections[name] = people
    return detections


def run_scene(options: StreamOptions, frames: int = 20) -> tuple[float, float, float]:
    """Per frame: false people published, fraction of walkers published, fraction of frames the loner is published."""
    stream = FusionStream(ROOM, options)
    false, walkers_found, loner_found = 0, 0, 0
    for k in range(frames):
        people = stream.process(k / 10.0, scene_frame(k))
        truth = [*walkers(k / 10.0), LONER]
        centres = [p.centre[:2] for p in people]
        near = [[np.linalg.norm(c - t[[5, 6, 11, 12]].mean(axis=0)[:2]) < 0.3 for t in truth] for c in centres]
        false += sum(not any(n) for n in near)
        walkers_found += sum(any(n[w] for n in near) for w in range(3))
        loner_found += any(n[3] for n in near)
    return false / frames, walkers_found / (3 * frames), loner_found / frames


def test_one_frame_phantoms_stay_tentative_and_real_people_are_published() -> None:
    false, walkers_found, loner = run_scene(StreamOptions())
    assert false == 0.0
    assert walkers_found == 1.0
    assert loner == 19 / 20  # seen by one camera only: published from its second frame on


def test_without_track_history_or_torso_the_phantoms_are_published() -> None:
    false, walkers_found, loner = run_scene(StreamOptions(support=SupportOptions(single_view_min_frames=1)))
    assert false == 1.0
    assert walkers_found == 1.0
    assert loner == 1.0  # one phantom per frame
    anything = SupportOptions(single_view_min_frames=1, single_view_torso=False)
    false, walkers_found, loner = run_scene(StreamOptions(support=anything))
    assert false == 2.0
    assert walkers_found == 1.0
    assert loner == 1.0  # and the head-and-arm detection


def test_the_score_option_is_checked_on_both_ends() -> None:
    assert SupportOptions(min_joint_score=0.0).min_joint_score == 0.0
    assert SupportOptions(min_joint_score=1.0).min_joint_score == 1.0
    for bad in (-1e-9, 1.0 + 1e-9, 1.5):
        with pytest.raises(ValueError, match=rf"^min_joint_score must be in \[0, 1\], got {bad}$"):
            SupportOptions(min_joint_score=bad)


def test_a_torso_keypoint_counts_only_where_the_joint_was_placed() -> None:
    confident = fused()
    views = confident.num_views.copy()
    views[L_SHOULDER] = 0  # confident in the image, but no joint was placed from it
    unplaced = FusedPerson(confident.joints, confident.confidence, views, confident.reprojection_error_px,
                           confident.score, confident.cameras, confident.detection_indices, confident.placement)
    assert frame_support(confident, SupportOptions())
    assert not frame_support(unplaced, SupportOptions())


def test_an_untracked_person_does_not_stop_the_others_being_decided() -> None:
    gate = SupportGate(SupportOptions(single_view_min_frames=2))
    assert gate.publish([fused(), fused(TRIANGULATED), fused()], [-1, 0, 1], {0, 1}) == [False, True, False]
    assert gate.publish([fused(), fused()], [-1, 1], {0, 1}) == [False, True]


def test_people_and_tracks_must_pair_up() -> None:
    with pytest.raises(ValueError):
        SupportGate().publish([fused(), fused()], [0], {0})
