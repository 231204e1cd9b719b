"""Scoring against MVOR-style ground truth: matching, recall per camera count, errors, false positives."""

from __future__ import annotations

import numpy as np
from fusion_data import ceiling_room, standing_person

from orpose_ros.evaluation.mvor import MvorFrame, MvorPerson
from orpose_ros.evaluation.mvor_evaluation import Evaluation, markdown_table
from orpose_ros.fusion.pipeline import TRIANGULATED, FusedPerson
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES

NAMES = ("head", "neck", "left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_elbow", "right_elbow",
         "left_wrist", "right_wrist")  # fmt: skip


def gt_joints(coco: np.ndarray) -> np.ndarray:
    out = np.full((10, 3), np.nan)
    for i, name in enumerate(NAMES):
        if name in COCO_KEYPOINT_NAMES:
            out[i] = coco[COCO_KEYPOINT_NAMES.index(name)]
    return out


def prediction(joints: np.ndarray, views: int = 2) -> FusedPerson:
    return FusedPerson(joints, np.ones(17), np.full(17, views), np.zeros(17), 0.9, ("cam1",), (0,), TRIANGULATED)


def test_exact_predictions_score_perfectly_and_shifted_ones_are_split() -> None:
    calibration = ceiling_room(3)
    a, b, c = standing_person((-1.0, 0.0)), standing_person((0.5, 0.5)), standing_person((1.0, -1.0))
    truth_b = gt_joints(b)
    truth_b[8] = np.nan  # an unannotated wrist
    frame = MvorFrame(
        "f",
        {},
        (
            MvorPerson(0, gt_joints(a), ("cam1",)),
            MvorPerson(1, truth_b, ("cam1", "cam2")),
            MvorPerson(2, gt_joints(c), ("cam1", "cam2", "cam3")),
        ),
        {},
        {"cam1": np.zeros((0, 4))},
    )
    moved = c + np.array([0.6, 0.0, 0.0])  # 0.6 m away: no match
    far = standing_person((3.0, 3.0))
    evaluation = Evaluation(NAMES, calibration)
    evaluation.add_frame(frame, [prediction(a, 1), prediction(b + 0.01), prediction(moved), prediction(far)], 2.0)
    summary = evaluation.summary()
    assert summary["splits"]["1"]["recall_percent"] == 100.0
    assert summary["splits"]["3"]["recall_percent"] == 0.0
    assert summary["splits"]["all"]["found"] == 2
    assert summary["splits"]["all"]["people"] == 3
    assert summary["splits"]["1"]["arms_error_cm"] == 0.0
    assert summary["splits"]["1"]["arms_error_cm_triangulated_joints"] is None  # placed from one view
    assert summary["splits"]["2"]["error_cm"]["shoulder"] == round(100 * np.sqrt(3) * 0.01, 1)
    assert summary["splits"]["2"]["coverage_percent"]["wrist"] == 100.0  # of the annotated wrist
    assert summary["false_positives_per_frame"] == 2.0
    assert summary["fusion_ms_per_frame"]["mean"] == 2.0
    table = markdown_table(summary)
    assert table.count("\n|") >= 5
    assert "| 3 | 1 | 0.0 % |" in table


def test_unmatched_predictions_on_2d_only_people_are_counted_apart() -> None:
    calibration = ceiling_room(3)
    camera = calibration.camera("cam1")
    person = standing_person((0.0, 0.0))
    uv = camera.project(person)
    box = np.array([[uv[:, 0].min() - 5, uv[:, 1].min() - 5, uv[:, 0].max() + 5, uv[:, 1].max() + 5]])
    frame = MvorFrame("f", {}, (), {}, {"cam1": box, "cam2": np.zeros((0, 4))})
    evaluation = Evaluation(NAMES, calibration)
    # two predictions in one box: only one is explained by it
    evaluation.add_frame(frame, [prediction(person), prediction(person + 0.05)])
    summary = evaluation.summary()
    assert summary["false_positives_per_frame"] == 2.0
    assert summary["false_positives_per_frame_excluding_2d_only_people"] == 1.0
