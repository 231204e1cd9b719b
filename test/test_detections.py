"""PersonDetection validation, plausibility, stacking, and repeated detections of one person (pose NMS)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from orpose_ros.fusion.detections import (
    NON_FINITE,
    OUTSIDE_IMAGE,
    SCORE_RANGE,
    PersonDetection,
    duplicate_mask,
    duplicate_masks,
    implausibility,
    stack_keypoints,
)


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


def _inside(x: float = 100.0, y: float = 100.0, kp_score: float = 0.9, score: float = 0.9,
            skeleton: np.ndarray | None = None) -> tuple[str, str] | None:
    kp = person(10, 10)
    kp[3] = (x, y, kp_score)
    return implausibility(PersonDetection(kp, score, skeleton, index=4), width=640, height=480)


@pytest.mark.parametrize(("x", "y", "plausible"), [
    (-640.0, 100.0, True), (-640.01, 100.0, False), (1280.0, 100.0, True), (1280.01, 100.0, False),
    (100.0, -480.0, True), (100.0, -480.01, False), (100.0, 960.0, True), (100.0, 960.01, False),
    (1e30, 100.0, False), (100.0, -1e30, False)])
def test_keypoints_may_lie_one_image_size_beyond_each_edge(x: float, y: float, plausible: bool) -> None:
    problem = _inside(x, y)
    assert (problem is None) == plausible
    if not plausible:
        assert problem == (OUTSIDE_IMAGE, "person 4: keypoints beyond x in [-640, 1280], y in [-480, 960] px "
                                          "(image 640x480)")


@pytest.mark.parametrize(("kp_score", "score", "plausible"), [
    (0.0, 0.9, True), (1.0, 1.0, True), (-1e-6, 0.9, False), (1.000001, 0.9, False), (0.5, -5.0, False),
    (0.5, 1.000001, False), (0.5, 0.0, True)])
def test_scores_must_lie_in_0_to_1(kp_score: float, score: float, plausible: bool) -> None:
    problem = _inside(kp_score=kp_score, score=score)
    assert (problem is None) == plausible
    assert plausible or problem[0] == SCORE_RANGE


@pytest.mark.parametrize(("x", "score"), [(np.nan, 0.9), (np.inf, 0.9), (100.0, np.nan)])
def test_non_finite_values_are_refused(x: float, score: float) -> None:
    assert _inside(x=x, score=score)[0] == NON_FINITE


def test_skeletons_absent_or_finite_within_10_m() -> None:
    skeleton = np.zeros((17, 3))
    assert _inside(skeleton=np.full((17, 3), np.nan)) is None
    assert _inside(skeleton=skeleton) is None
    for value, plausible in ((10.0, True), (-10.0, True), (10.01, False), (np.inf, False), (np.nan, False)):
        bent = skeleton.copy()
        bent[5, 2] = value
        assert (_inside(skeleton=bent) is None) == plausible


def test_repeated_detections_without_confident_keypoints_warn_nothing() -> None:
    kp = np.stack([person(0, 0), person(0, 0)])
    kp[:, :, 2] = 0.0  # nothing confident: no size, no duplicate, and no "All-NaN slice" RuntimeWarning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not duplicate_mask(kp, np.array([0.9, 0.8]), 0.2).any()


def test_a_detection_without_confident_keypoints_is_no_duplicate_and_raises_no_warning() -> None:
    """The fusion node used to print numpy's "All-NaN slice encountered" for such detections."""
    a = person(0, 0)
    empty = a.copy()
    empty[:, 2] = 0.0  # found, but no keypoint above the threshold
    lone = a.copy()
    lone[1:, 2] = 0.0  # one confident keypoint: a box of size 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mask = duplicate_mask(np.stack([a, empty, lone]), np.array([0.9, 0.8, 0.7]), 0.2)
    np.testing.assert_array_equal(mask, [False, False, False])


def box_person(x: float, y: float) -> np.ndarray:
    """17 keypoints (score 0.9) filling a 160 x 120 px box from (x, y): keypoint-box diagonal exactly 200 px."""
    rng = np.random.default_rng(5)
    xy = np.round(rng.uniform(0.0, 1.0, (17, 2)) * [160.0, 120.0])
    xy[0], xy[1] = (0.0, 0.0), (160.0, 120.0)  # the box's corners
    return np.c_[xy + np.array([x, y]), np.full(17, 0.9)]


def test_skeletons_and_scores_are_stored_as_float64_and_frozen() -> None:
    det = PersonDetection(person(0, 0), np.float32(0.25), np.ones((17, 3), dtype=np.float32))
    assert det.keypoints_3d.dtype == np.float64
    assert type(det.score) is float
    assert det.score == float(np.float32(0.25))
    assert type(PersonDetection(person(0, 0), 1).score) is float
    with pytest.raises(ValueError, match="read-only"):
        det.keypoints_3d[0, 0] = 2.0


def test_two_detections_repeat_each_other_up_to_exactly_the_offset_rule() -> None:
    # The same person shifted by d px: the median distance is d; the rule is d <= 0.05 x 200 px = 10 px.
    a = box_person(50.0, 40.0)
    for shift, same in ((10.0, True), (10.0 * (1 + 1e-9), False), (9.9, True), (10.1, False)):
        b = a + np.array([shift, 0.0, 0.0])
        np.testing.assert_array_equal(duplicate_mask(np.stack([a, b]), np.array([0.9, 0.8]), 0.2), [False, same])
        np.testing.assert_array_equal(duplicate_mask(np.stack([a, b]), np.array([0.7, 0.8]), 0.2), [same, False])


def test_the_size_is_the_larger_keypoint_box_of_the_pair() -> None:
    a = box_person(0.0, 0.0)
    big = a.copy()
    big[1, :2] = (320.0, 240.0)  # one keypoint further: diagonal 400 px, threshold 20 px
    b = big + np.array([15.0, 0.0, 0.0])  # median distance 15 px: within 0.05 x 400, not within 0.05 x 200
    assert duplicate_mask(np.stack([a, b]), np.array([0.9, 0.8]), 0.2).tolist() == [False, True]
    c = a + np.array([15.0, 0.0, 0.0])
    assert duplicate_mask(np.stack([a, c]), np.array([0.9, 0.8]), 0.2).tolist() == [False, False]


def test_keypoint_scores_do_not_count_as_distance() -> None:
    a = box_person(0.0, 0.0)
    b = a + np.array([10.0, 0.0, 0.0])
    b[:, 2] = 0.3  # less confident, same places
    assert duplicate_mask(np.stack([a, b]), np.array([0.9, 0.8]), 0.2).tolist() == [False, True]


def test_two_shared_keypoints_confident_from_exactly_the_minimum_score_are_enough() -> None:
    a = box_person(0.0, 0.0)
    b = a.copy()
    b[2:, 2] = 0.0
    b[:2, 2] = 0.2  # two keypoints exactly at the minimum score
    assert duplicate_mask(np.stack([a, b]), np.array([0.9, 0.8]), 0.2).tolist() == [False, True]
    assert duplicate_mask(np.stack([a, b]), np.array([0.9, 0.8]), 0.2 + 1e-9).tolist() == [False, False]
    one = b.copy()
    one[1, 2] = 0.0  # one shared keypoint: no comparison
    assert duplicate_mask(np.stack([a, one]), np.array([0.9, 0.8]), 0.2).tolist() == [False, False]
    zero = a.copy()
    zero[:, 2] = 0.0  # score 0 is never confident, even with min_joint_score 0
    assert duplicate_mask(np.stack([a, zero]), np.array([0.9, 0.8]), 0.0).tolist() == [False, False]


@pytest.mark.parametrize("scores", [[0.9, 0.3, 0.8, 0.2], [0.9, 0.8, 0.7, 0.2]],
                         ids=["kept_first", "a_repeat_between_the_kept"])
def test_each_kept_detection_marks_its_own_repeats(scores: list[float]) -> None:
    a, b = box_person(0.0, 0.0), box_person(400.0, 0.0)
    keypoints = np.stack([a, a + np.array([1.0, 0.0, 0.0]), b, b + np.array([0.0, 1.0, 0.0])])
    mask = duplicate_mask(keypoints, np.array(scores), 0.2)
    assert mask.tolist() == [False, True, False, True]


def test_the_keypoint_box_spans_every_confident_keypoint() -> None:
    a = np.roll(box_person(0.0, 0.0), 8, axis=0)  # the box's corners are keypoints 8 and 9
    near, far = a + np.array([9.9, 0.0, 0.0]), a + np.array([10.1, 0.0, 0.0])  # 0.05 x 200 px = 10 px
    assert duplicate_mask(np.stack([a, near]), np.array([0.9, 0.8]), 0.2).tolist() == [False, True]
    assert duplicate_mask(np.stack([a, far]), np.array([0.9, 0.8]), 0.2).tolist() == [False, False]


def test_the_keypoint_box_of_a_column_of_keypoints_is_its_height() -> None:
    column = np.c_[np.full(17, 50.0), np.linspace(0.0, 200.0, 17), np.full(17, 0.9)]  # 200 px tall, 0 wide
    near, far = column + np.array([9.9, 0.0, 0.0]), column + np.array([10.1, 0.0, 0.0])
    assert duplicate_mask(np.stack([column, near]), np.array([0.9, 0.8]), 0.2).tolist() == [False, True]
    assert duplicate_mask(np.stack([column, far]), np.array([0.9, 0.8]), 0.2).tolist() == [False, False]


def test_keypoints_past_the_first_ones_are_compared() -> None:
    a = box_person(0.0, 0.0)
    b = a + np.array([1.0, 0.0, 0.0])
    b[:10, 2] = 0.0  # only keypoints 10-16 shared
    assert duplicate_mask(np.stack([a, b]), np.array([0.9, 0.8]), 0.2).tolist() == [False, True]


@pytest.mark.parametrize("coordinate", [0, 1], ids=["x", "y"])
def test_a_keypoint_with_a_non_finite_coordinate_takes_no_part(coordinate: int) -> None:
    a = box_person(0.0, 0.0)
    b = a + np.array([1.0, 0.0, 0.0])
    b[2:12, coordinate] = np.nan  # confident scores, but no place: the other 7 keypoints decide
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert duplicate_mask(np.stack([a, b]), np.array([0.9, 0.8]), 0.2).tolist() == [False, True]
        assert duplicate_mask(np.stack([b, a]), np.array([0.9, 0.8]), 0.2).tolist() == [False, True]


def test_among_equal_scores_the_first_detection_is_kept() -> None:
    # 300 repeats of one person, scores 0.5, 0.7, 0.6 in turn: the first of the 0.7s (index 1) is kept, whatever
    # order a sort algorithm gives equal keys.
    a = box_person(0.0, 0.0)
    keypoints = np.stack([a + np.array([0.01 * k, 0.0, 0.0]) for k in range(300)])
    mask = duplicate_mask(keypoints, np.tile([0.5, 0.7, 0.6], 100), 0.2)
    assert np.flatnonzero(~mask).tolist() == [1]


def test_several_images_are_checked_at_once_each_detection_only_against_its_own_image() -> None:
    a, b = box_person(0.0, 0.0), box_person(400.0, 0.0)
    repeat_a, repeat_b = a + np.array([1.0, 0.0, 0.0]), b + np.array([0.0, 1.0, 0.0])
    images = [np.stack([a, b, repeat_a]),  # a repeated two places later
              np.zeros((0, 17, 3)),  # an image without detections
              np.stack([repeat_b, b]),  # b repeated, the repeat first and scoring higher
              np.stack([b, a, box_person(200.0, 300.0)])]  # a and b again: the same pixels, another image
    scores = [np.array([0.9, 0.8, 0.3]), np.zeros(0), np.array([0.9, 0.4]), np.array([0.5, 0.6, 0.7])]
    masks = duplicate_masks(images, scores, 0.2)
    assert [m.tolist() for m in masks] == [[False, False, True], [], [False, True], [False, False, False]]
    assert all(m.dtype == bool for m in masks)
    for image, score, mask in zip(images, scores, masks, strict=True):
        np.testing.assert_array_equal(duplicate_mask(image, score, 0.2), mask)  # the one-image case agrees


def test_images_with_fewer_than_two_detections_have_no_duplicates() -> None:
    assert duplicate_masks([], [], 0.2) == []
    masks = duplicate_masks([box_person(0.0, 0.0)[None], np.zeros((0, 17, 3))], [np.array([0.9]), np.zeros(0)], 0.2)
    assert [m.tolist() for m in masks] == [[False], []]
    assert all(m.dtype == bool for m in masks)


def test_the_offset_rule_defaults_to_5_percent_and_is_passed_on() -> None:
    a = box_person(50.0, 40.0)  # keypoint-box diagonal 200 px
    for shift, same in ((10.0, True), (10.0 * (1 + 1e-9), False)):
        b = a + np.array([shift, 0.0, 0.0])
        assert duplicate_masks([np.stack([a, b])], [np.array([0.9, 0.8])], 0.2)[0].tolist() == [False, same]
    b = a + np.array([30.0, 0.0, 0.0])  # 30 px: within 0.15 x 200 px, not within 0.05 x 200 px
    for max_offset, same in ((0.15, True), (0.15 - 1e-9, False)):
        mask = duplicate_mask(np.stack([a, b]), np.array([0.9, 0.8]), 0.2, max_offset=max_offset)
        assert mask.tolist() == [False, same]
