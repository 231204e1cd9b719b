"""The numpy post-processing of the exported backends equals detectron2's and the torch lifting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from orpose_ros.backends.numpy_decoding import (
    bicubic_matrix,
    decode_heatmaps,
    heatmaps_to_keypoints,
    network_input_size,
    to_frame_pixels,
)
from orpose_ros.backends.numpy_lifting import Lifting
from orpose_ros.h36m_stats import H36MStats
from orpose_ros.model import OrPosePredictor  # installs the detectron2 compatibility shims first

# isort: split
from detectron2.data.transforms import ResizeShortestEdge
from detectron2.modeling.postprocessing import detector_postprocess
from detectron2.structures import Boxes, Instances
from detectron2.structures import heatmaps_to_keypoints as d2_heatmaps_to_keypoints


@pytest.mark.parametrize("size", [(480, 640), (360, 640), (640, 480), (40, 53), (1080, 1920), (100, 4000), (799, 800)])
def test_the_input_size_rule_is_detectron2_s(size: tuple[int, int]) -> None:
    for rule in ((800, 1333), (320, 448)):
        assert network_input_size(*size, *rule) == ResizeShortestEdge.get_output_shape(*size, *rule)


@pytest.mark.parametrize(("n_in", "n_out"), [(56, 173), (56, 20), (56, 56), (56, 1), (4, 9)])
def test_the_bicubic_matrix_is_torch_s_interpolation(n_in: int, n_out: int) -> None:
    rows = np.random.default_rng(0).normal(size=(3, n_in)).astype(np.float32)
    ours = rows @ bicubic_matrix(n_in, n_out).T
    image = torch.from_numpy(rows)[None, :, None, :].expand(1, 3, 4, n_in).contiguous()
    theirs = torch.nn.functional.interpolate(image, size=(4, n_out), mode="bicubic", align_corners=False)[0, :, 0]
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=0, atol=1e-5)


def _random_heatmaps(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    maps = (rng.normal(size=(count, 17, 56, 56)) * 2.0).astype(np.float32)
    x1, y1 = rng.uniform(0, 500, count), rng.uniform(0, 300, count)
    w, h = rng.uniform(0.3, 300, count), rng.uniform(0.3, 400, count)  # boxes under 1 px too
    return maps, np.stack([x1, y1, x1 + w, y1 + h], axis=1).astype(np.float32)


def test_heatmap_decoding_is_detectron2_s() -> None:
    maps, boxes = _random_heatmaps(12, seed=1)
    ours = heatmaps_to_keypoints(maps, boxes)
    theirs = d2_heatmaps_to_keypoints(torch.from_numpy(maps), torch.from_numpy(boxes)).numpy()
    np.testing.assert_array_equal(ours[:, :, :2], theirs[:, :, :2])  # the same peak pixel, the same arithmetic
    np.testing.assert_allclose(ours[:, :, 2:], theirs[:, :, 2:], rtol=1e-5, atol=1e-6)


def test_no_person_decodes_to_nothing() -> None:
    averaged, hard, soft = decode_heatmaps(np.zeros((0, 17, 56, 56), np.float32),
                                           np.zeros((0, 17, 56, 56), np.float32), np.zeros((0, 4), np.float32))
    assert averaged.shape == hard.shape == soft.shape == (0, 17, 3)


def test_frame_pixels_are_detector_postprocess_s() -> None:
    rng = np.random.default_rng(2)
    boxes = rng.uniform(-20, 1100, (30, 4)).astype(np.float32)
    boxes[:, 2:] = boxes[:, :2] + rng.uniform(-5, 300, (30, 2)).astype(np.float32)  # some empty, some outside
    keypoints = rng.uniform(0, 1000, (30, 17, 3)).astype(np.float32)
    instances = Instances((800, 1067), pred_boxes=Boxes(torch.from_numpy(boxes.copy())),
                          pred_keypoints=torch.from_numpy(keypoints.copy()), scores=torch.arange(30.0))
    theirs = detector_postprocess(instances, 480, 640)
    ours_boxes, ours_kpts, keep = to_frame_pixels(boxes, keypoints, (800, 1067), (480, 640))
    assert 0 < keep.sum() < 30
    np.testing.assert_array_equal(np.flatnonzero(keep), theirs.scores.numpy().astype(int))
    np.testing.assert_array_equal(ours_boxes[keep], theirs.pred_boxes.tensor.numpy())
    np.testing.assert_array_equal(ours_kpts[keep], theirs.pred_keypoints.numpy())


def test_the_numpy_lifting_is_the_torch_head_s(stats_path: Path) -> None:
    head = OrPosePredictor.with_random_weights(0, stats_path, device="cpu").model.roi_heads.keypoint_head
    params = {f"{n}.{k}": v.numpy() for n in ("nw2Dto3D_hard", "nw2Dto3D_soft")
              for k, v in getattr(head, n).state_dict().items()}
    lifting = Lifting(params, H36MStats.from_json(stats_path))
    rng = np.random.default_rng(3)
    hard = np.concatenate([rng.uniform(0, 1000, (20, 17, 2)), rng.uniform(0, 1, (20, 17, 1))], axis=2)
    soft = hard + rng.normal(0, 5, hard.shape)
    hard, soft = hard.astype(np.float32), soft.astype(np.float32)
    with torch.inference_mode():
        theirs = head.lift(torch.from_numpy(hard), torch.from_numpy(soft)).numpy()
    ours = lifting(hard, soft)
    assert ours.shape == (20, 17, 3)
    assert ours.dtype == np.float32
    assert np.abs(theirs).max() > 0.05  # metres: a real signal
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)  # 0.001 mm
