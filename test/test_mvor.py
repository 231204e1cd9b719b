"""Reading MVOR day 1 in place: frames, ground-truth people in the room frame, detections, errors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from fusion_data import mvor_file

from orpose_ros.evaluation.mvor import MvorDataset, MvorError, load_mvor, mvor_to_coco_indices, placeholder_mask


@pytest.fixture(scope="module")
def dataset() -> MvorDataset:
    return load_mvor(mvor_file("camma_mvor_2018_day1.json"), mvor_file("openpose_kps_day1.json"))


def test_frames_people_and_cameras(dataset: MvorDataset) -> None:
    assert len(dataset.frames) == 57
    assert dataset.calibration.names == ("cam1", "cam2", "cam3")
    assert dataset.joint_names[:4] == ("head", "neck", "left_shoulder", "right_shoulder")
    people = [p for f in dataset.frames for p in f.people]
    assert len(people) == 97
    assert Counter(len(p.cameras) for p in people) == {3: 41, 1: 33, 2: 23}
    assert sum(len(d) for f in dataset.frames for d in f.detections.values()) == 339
    frame = dataset.frames[0]
    assert set(frame.image_ids) == {"cam1", "cam2", "cam3"}
    assert frame.image_ids["cam2"] == 10020000000
    assert all(tuple(p.keypoints_2d) == p.cameras and all(k.shape == (10, 3) for k in p.keypoints_2d.values())
               for p in people)  # fmt: skip


def test_ground_truth_is_in_metres_in_the_room_frame(dataset: MvorDataset) -> None:
    joints = np.stack([p.joints_world for f in dataset.frames for p in f.people])
    assert joints.shape == (97, 10, 3)
    shoulders = joints[:, 2:4, 2]
    # people stand around the table; shoulder heights cluster ~0.3 m above the room frame's origin
    assert 0.1 < np.nanmedian(shoulders) < 0.5
    head_to_neck = np.linalg.norm(joints[:, 0] - joints[:, 1], axis=-1)
    assert 0.05 < np.nanmedian(head_to_neck) < 0.4
    assert np.isnan(joints).any()  # placeholders removed


def test_placeholders_are_exact_50_mm_offsets() -> None:
    points = np.array([[0.0, 0.0, 0.0], [50.0, 50.0, 50.0], [50.0, 50.0, 49.0], [10.0, 0.0, 0.0]])
    np.testing.assert_array_equal(placeholder_mask(points), [False, True, False, False])


def test_detections_keep_their_index_and_zeros_mean_not_found(dataset: MvorDataset) -> None:
    frame = dataset.frames[1]
    detections = frame.detections["cam1"]
    assert [d.index for d in detections] == list(range(len(detections)))
    for d in detections:
        assert d.keypoints_3d is None
        missing = d.keypoints_2d[:, 2] == 0
        assert (d.keypoints_2d[missing, :2] == 0).all()


def test_unlabelled_boxes_are_people_without_3d(dataset: MvorDataset) -> None:
    boxes = [b for f in dataset.frames for b in f.unlabelled_boxes.values() if len(b)]
    assert boxes
    assert all((b[:, 2] >= b[:, 0]).all() and (b[:, 3] >= b[:, 1]).all() for b in boxes)


def test_shared_joints_with_coco() -> None:
    names = ("head", "neck", "left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_elbow")
    assert mvor_to_coco_indices(names) == {2: 5, 3: 6, 4: 11, 5: 12, 6: 7}


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(MvorError, match="annotation file not found"):
        load_mvor(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"cameras_info": {}}))
    with pytest.raises(MvorError, match="cameras_info"):
        load_mvor(bad)
    detections = tmp_path / "dets.json"
    detections.write_text(json.dumps([{"image_id": 1, "score": 0.5, "coco_keypoints": [0.0] * 5}]))
    with pytest.raises(MvorError, match="detection 0: needs image_id, score and 17 x 3 coco_keypoints"):
        load_mvor(mvor_file("camma_mvor_2018_day1.json"), detections)
