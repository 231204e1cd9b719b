"""orpose_ros.drawing: what lands on which pixel, on tiny and large images, without ROS."""

from __future__ import annotations

import numpy as np
import pytest

from orpose_ros.drawing import BOX_COLOUR, draw_poses, line_thickness
from orpose_ros.poses import DetectedPerson, FramePoses
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES, colour_bgr8

# A standing person in a 640x480 frame, COCO-17 order (x, y px).
_XY = {
    "nose": (320, 100), "left_eye": (330, 90), "right_eye": (310, 90),
    "left_ear": (345, 95), "right_ear": (295, 95),
    "left_shoulder": (370, 160), "right_shoulder": (270, 160),
    "left_elbow": (390, 220), "right_elbow": (250, 220),
    "left_wrist": (400, 280), "right_wrist": (240, 280),
    "left_hip": (350, 290), "right_hip": (290, 290),
    "left_knee": (355, 360), "right_knee": (285, 360),
    "left_ankle": (360, 430), "right_ankle": (280, 430),
}  # fmt: skip
_BOX = (220.0, 70.0, 420.0, 450.0)


def _person(scores: dict[str, float] | None = None, scale: float = 1.0) -> DetectedPerson:
    kps = np.zeros((17, 3), np.float32)
    for i, name in enumerate(COCO_KEYPOINT_NAMES):
        kps[i] = (_XY[name][0] * scale, _XY[name][1] * scale, (scores or {}).get(name, 0.9))
    box = np.array(_BOX, np.float32) * scale
    return DetectedPerson(score=0.87, bbox=box, keypoints_2d=kps, keypoints_3d=np.zeros((17, 3), np.float32))


def _frame(person: DetectedPerson, w: int = 640, h: int = 480) -> FramePoses:
    return FramePoses(width=w, height=h, downsample_factor=1, persons=(person,))


def _px(img: np.ndarray, name: str) -> tuple[int, ...]:
    x, y = _XY[name]
    return tuple(int(v) for v in img[y, x])


def test_thickness_scales_with_image_size() -> None:
    assert line_thickness(40, 53) == 1
    assert line_thickness(480, 640) == 2
    assert line_thickness(1080, 1920) == 4


def test_joints_bones_and_box_have_their_colours_and_input_is_untouched() -> None:
    image = np.zeros((480, 640, 3), np.uint8)
    out = draw_poses(image, _frame(_person()))
    assert out is not image
    assert out.shape == image.shape
    assert out.dtype == np.uint8
    assert not image.any(), "the input image was modified"
    assert _px(out, "left_knee") == colour_bgr8("left")
    assert _px(out, "right_elbow") == colour_bgr8("right")
    assert _px(out, "nose") == colour_bgr8("centre")
    # Middle of the left shin (left_knee -> left_ankle): a left bone; shoulder line: centre.
    assert tuple(out[395, 357]) == colour_bgr8("left")
    assert tuple(out[160, 320]) == colour_bgr8("centre")
    # Right edge of the box (the score label sits at the top-left corner), and away from bones.
    assert tuple(out[400, 420]) == BOX_COLOUR
    assert not out[240:250, 500:600].any(), "pixels far from the person were drawn"


def test_low_score_joint_and_its_bones_are_skipped_only_in_the_drawing() -> None:
    person = _person({"left_wrist": 0.01})
    out = draw_poses(np.zeros((480, 640, 3), np.uint8), [person], keypoint_threshold=0.05)
    assert not out[272:289, 392:409].any(), "a joint below the threshold was drawn"
    assert not out[250, 395].any(), "the bone to a hidden joint was drawn"
    assert _px(out, "left_elbow") == colour_bgr8("left")
    assert person.keypoints_2d[9, 2] == pytest.approx(0.01), "the results were changed"
    out_all = draw_poses(np.zeros((480, 640, 3), np.uint8), [person], keypoint_threshold=0.0)
    assert _px(out_all, "left_wrist") == colour_bgr8("left")


def test_boxes_and_scores_can_be_turned_off() -> None:
    no_box = draw_poses(np.zeros((480, 640, 3), np.uint8), [_person()], draw_boxes=False)
    assert not no_box[390:410, 415:425].any()
    with_box = draw_poses(np.zeros((480, 640, 3), np.uint8), [_person()], draw_scores=False)
    labelled = draw_poses(np.zeros((480, 640, 3), np.uint8), [_person()])
    # The score label is a filled box at the top-left corner of the person box.
    assert np.count_nonzero(labelled[40:70, 220:280]) > np.count_nonzero(with_box[40:70, 220:280]) + 100


def test_in_place_draws_into_the_given_array() -> None:
    image = np.zeros((480, 640, 3), np.uint8)
    out = draw_poses(image, _frame(_person()), in_place=True)
    assert out is image
    assert _px(image, "left_knee") == colour_bgr8("left")


def test_tiny_privacy_frame_and_full_hd_frame() -> None:
    tiny = draw_poses(np.zeros((40, 53, 3), np.uint8), _frame(_person(scale=53 / 640), 53, 40))
    assert tiny.shape == (40, 53, 3)
    drawn = np.count_nonzero(tiny.any(axis=2))
    assert 50 < drawn < 40 * 53 * 0.6, f"{drawn} pixels drawn on a 53x40 frame"
    hd = draw_poses(np.zeros((1080, 1920, 3), np.uint8), [_person(scale=2.25)])
    # Thickness 4 at 1080p: a vertical bone is about 4 px wide (anti-aliased edges aside).
    row = hd[int(395 * 2.25), :, :].any(axis=1)
    shin = np.flatnonzero(row[int(340 * 2.25) : int(380 * 2.25)])
    assert 4 <= shin.size <= 7


def test_non_finite_and_far_away_keypoints_do_not_break_drawing() -> None:
    person = _person()
    person.keypoints_2d[0] = (np.nan, 10.0, 0.9)
    person.keypoints_2d[1] = (1e12, -1e12, 0.9)
    person.keypoints_2d[2, 2] = np.inf
    out = draw_poses(np.zeros((480, 640, 3), np.uint8), [person])
    assert _px(out, "left_knee") == colour_bgr8("left")


def test_empty_results_give_an_equal_copy() -> None:
    image = np.full((40, 53, 3), 77, np.uint8)
    out = draw_poses(image, FramePoses(width=53, height=40, downsample_factor=12))
    assert out is not image
    assert np.array_equal(out, image)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((48, 64), np.uint8), np.zeros((48, 64, 3), np.float32), np.zeros((48, 64, 4), np.uint8)],
)
def test_rejects_non_bgr_uint8_images(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        draw_poses(bad, [])


def test_in_place_on_a_read_only_view_is_refused() -> None:
    image = np.zeros((48, 64, 3), np.uint8)
    image.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        draw_poses(image, [], in_place=True)
    assert draw_poses(image, []).flags.writeable
