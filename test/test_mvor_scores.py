"""The evaluation's added scores: PCP over every annotated person, errors per joint kind, joints output for
found people, false people inside and outside the ignore regions, and the halves of a dataset."""

from __future__ import annotations

import numpy as np
import pytest
from fusion_data import ceiling_room, standing_person

from orpose_ros.cli.evaluate_mvor import half_of
from orpose_ros.evaluation.mvor import MvorDataset, MvorFrame, MvorPerson
from orpose_ros.evaluation.mvor_evaluation import Evaluation, details_table
from orpose_ros.fusion.joint_kinds import FILLED_JOINT, SINGLE_CAMERA_JOINT, TRIANGULATED_JOINT, joint_kinds
from orpose_ros.fusion.pipeline import SINGLE_VIEW, TRIANGULATED, FusedPerson
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES

NAMES = ("head", "neck", "left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_elbow", "right_elbow",
         "left_wrist", "right_wrist")  # fmt: skip
COCO = {name: COCO_KEYPOINT_NAMES.index(name) for name in COCO_KEYPOINT_NAMES}


def gt_joints(coco: np.ndarray) -> np.ndarray:
    out = np.full((10, 3), np.nan)
    for i, name in enumerate(NAMES):
        if name in COCO:
            out[i] = coco[COCO[name]]
    return out


def person(joints: np.ndarray, views: np.ndarray | int = 2, placement: str = TRIANGULATED) -> FusedPerson:
    views = np.broadcast_to(np.asarray(views), (17,)).copy()
    joints = np.where((views > 0)[:, None], joints, np.nan)
    return FusedPerson(joints, np.ones(17), views, np.zeros(17), 0.9, ("cam1",), (0,), placement)


def frame(*people: MvorPerson, boxes: np.ndarray | None = None) -> MvorFrame:
    return MvorFrame("f", {}, people, {}, {"cam1": np.zeros((0, 4)) if boxes is None else boxes})


def lower_arm_length(joints: np.ndarray) -> float:
    return float(np.linalg.norm(joints[COCO["left_elbow"]] - joints[COCO["left_wrist"]]))


def test_joint_kinds() -> None:
    joints = standing_person((0.0, 0.0))
    views = np.full(17, 3)
    views[[0, 1]] = 1
    views[2] = 0
    kinds = joint_kinds(person(joints, views))
    assert kinds[0] == kinds[1] == FILLED_JOINT
    assert kinds[2] == ""
    assert set(kinds[3:]) == {TRIANGULATED_JOINT}
    single = joint_kinds(person(joints, 1, f"{SINGLE_VIEW} skeleton+floor"))
    assert set(single) == {SINGLE_CAMERA_JOINT}


def test_exact_person_has_every_limb_right_and_a_missed_person_none() -> None:
    a, b = standing_person((-1.0, 0.0)), standing_person((1.0, 0.5))
    truth_b = gt_joints(b)
    truth_b[NAMES.index("right_wrist")] = np.nan  # the right lower arm of b is not annotated: not a limb
    evaluation = Evaluation(NAMES, ceiling_room(3))
    evaluation.add_frame(frame(MvorPerson(0, gt_joints(a), ("cam1", "cam2")), MvorPerson(1, truth_b, ("cam1",))),
                         [person(a)])
    s = evaluation.summary()["splits"]
    assert s["2"]["limbs"] == 4
    assert s["2"]["pcp_percent"] == 100.0
    assert s["1"]["limbs"] == 3
    assert s["1"]["pcp_percent"] == 0.0  # not found: every limb wrong
    assert s["all"]["pcp_percent"] == round(100 * 4 / 7, 1)


@pytest.mark.parametrize(("fraction", "correct"), [(0.49, True), (0.51, False)])
def test_a_limb_is_right_within_half_its_length(fraction: float, correct: bool) -> None:
    joints = standing_person((0.0, 0.0))
    moved = joints.copy()
    # the left wrist moved sideways by a fraction of the lower arm's length: only the lower arm can be wrong
    moved[COCO["left_wrist"]] += np.array([0.0, fraction * lower_arm_length(joints), 0.0])
    evaluation = Evaluation(NAMES, ceiling_room(3))
    evaluation.add_frame(frame(MvorPerson(0, gt_joints(joints), ("cam1",))), [person(moved)])
    assert evaluation.summary()["splits"]["1"]["pcp_percent"] == (100.0 if correct else 75.0)


def test_a_limb_with_an_end_not_placed_is_wrong() -> None:
    joints = standing_person((0.0, 0.0))
    views = np.full(17, 2)
    views[COCO["left_wrist"]] = 0
    evaluation = Evaluation(NAMES, ceiling_room(3))
    evaluation.add_frame(frame(MvorPerson(0, gt_joints(joints), ("cam1",))), [person(joints, views)])
    split = evaluation.summary()["splits"]["1"]
    assert split["pcp_percent"] == 75.0
    assert split["joints_output_for_found_people_percent"] == round(100 * 7 / 8, 1)  # 8 shared joints, 7 placed


def test_errors_are_split_by_joint_kind() -> None:
    a, b = standing_person((-1.0, 0.0)), standing_person((1.0, 0.5))
    views = np.full(17, 2)
    views[COCO["left_wrist"]] = 1  # filled
    shift = np.zeros((17, 3))
    shift[COCO["left_wrist"]] = [0.0, 0.0, 0.2]  # the filled joint 20 cm off, the triangulated ones 1 cm
    shift[[COCO["left_shoulder"], COCO["right_shoulder"]]] = [0.01, 0.0, 0.0]
    evaluation = Evaluation(NAMES, ceiling_room(3))
    evaluation.add_frame(
        frame(MvorPerson(0, gt_joints(a), ("cam1", "cam2")), MvorPerson(1, gt_joints(b), ("cam3",))),
        [person(a + shift, views), person(b + 0.03, 1, f"{SINGLE_VIEW} skeleton+floor")],
    )
    s = evaluation.summary()["splits"]["all"]
    assert s["arm_joints_by_kind"] == {TRIANGULATED_JOINT: 5, FILLED_JOINT: 1, SINGLE_CAMERA_JOINT: 6}
    assert s["arms_error_cm_by_kind"][FILLED_JOINT] == 20.0
    assert s["arms_error_cm_by_kind"][TRIANGULATED_JOINT] == round(100 * 0.02 / 5, 1)
    assert s["arms_error_cm_by_kind"][SINGLE_CAMERA_JOINT] == round(100 * np.sqrt(3) * 0.03, 1)
    assert "| all |" in details_table(evaluation.summary())


def test_false_people_inside_and_outside_the_ignore_regions() -> None:
    calibration = ceiling_room(3)
    joints = standing_person((0.0, 0.0))
    uv = calibration.camera("cam1").project(joints)
    box = np.array([[uv[:, 0].min() - 5, uv[:, 1].min() - 5, uv[:, 0].max() + 5, uv[:, 1].max() + 5]])
    evaluation = Evaluation(NAMES, calibration)
    # one in the box (ignored region), one repeated in it (one per box), one far from it
    evaluation.add_frame(frame(boxes=box), [person(joints), person(joints + 0.05), person(standing_person((2.5, 0.0)))])
    evaluation.add_frame(frame(boxes=np.zeros((0, 4))), [])
    false = evaluation.summary()["false_people_per_frame"]
    assert false == {"outside_ignore_regions": 1.0, "inside_ignore_regions": 0.5, "all": 1.5}


def test_the_halves_split_the_frames_in_order() -> None:
    frames = tuple(MvorFrame(str(k), {}, (), {}, {}) for k in range(7))
    dataset = MvorDataset(ceiling_room(3), NAMES, frames)
    first, second = half_of(dataset, "first").frames, half_of(dataset, "second").frames
    assert [f.frame_id for f in first] == ["0", "1", "2"]
    assert [f.frame_id for f in second] == ["3", "4", "5", "6"]
    assert half_of(dataset, None) is dataset
    with pytest.raises(ValueError, match="half"):
        half_of(dataset, "third")
