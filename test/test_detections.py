"""PersonDetection validation, stacking, and repeated detections of one person (pose NMS)."""

from __future__ import annotations

import numpy as np
import pytest

from orpose_ros.fusion.detections import PersonDetection, duplicate_mask, stack_keypoints


def person(x: float, y: float, size: float = 100.0) -> np.ndarray:
    rng = np.random.default_rng(int(x))
    return np.c_[rng.uniform(0, size, (17, 2)) + np.array([x, y]), np.full(17, 0.9)]


def test_detection_arrays_are_validated_and_frozen() -> None:
    det = PersonDetection(person(0, 0).tolist(), 0.8, np.zeros((17, 3)), index=3)
    assert det.keypoints_2d.dtype == np.float64
    assert det.index == 3
    assert det.score == 0.8
    with pytest.raises(ValueError, match="read-only"):
        det.keypoints_2d[0, 0] = 1.0
    with pytest.raises(ValueError, match=r"detection 2: keypoints_2d must be \(17, 3\)"):
        PersonDetection(np.zeros((17, 2)), index=2)
    with pytest.raises(ValueError, match=r"keypoints_3d must be \(17, 3\)"):
        PersonDetection(np.zeros((17, 3)), keypoints_3d=np.zeros(3))
    with pytest.raises(ValueError, match="must be numbers"):
        PersonDetection([["a"] * 3] * 17)


def test_stacking_fills_missing_skeletons_with_nan() -> None:
    kp2, kp3 = stack_keypoints(
        [PersonDetection(person(0, 0)), PersonDetection(person(1, 0), keypoints_3d=np.ones((17, 3)))]
    )
    assert kp2.shape == kp3.shape == (2, 17, 3)
    assert np.isnan(kp3[0]).all()
    assert (kp3[1] == 1).all()
    empty2, empty3 = stack_keypoints([])
    assert empty2.shape == empty3.shape == (0, 17, 3)


def test_repeated_detections_are_marked_lower_scores_first() -> None:
    a, b = person(0, 0), person(300, 0)
    partial = a.copy()
    partial[8:, 2] = 0.0  # a fragment of person a
    near = a.copy()
    near[:, :2] += 2.0  # 2 px away: the same person (size ~130 px)
    keypoints = np.stack([a, b, a, partial, near])
    scores = np.array([0.5, 0.9, 0.7, 0.2, 0.4])
    np.testing.assert_array_equal(duplicate_mask(keypoints, scores, 0.2), [True, False, False, True, True])
    assert not duplicate_mask(keypoints[:1], scores[:1], 0.2).any()


def test_people_side_by_side_are_not_duplicates() -> None:
    a = person(0, 0)
    b = a.copy()
    b[:, 0] += 40.0  # 40 px to the right: another person overlapping in the image
    assert not duplicate_mask(np.stack([a, b]), np.array([0.9, 0.8]), 0.2).any()
