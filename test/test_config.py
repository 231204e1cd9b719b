"""The published detectron2 configuration, and the Human3.6M statistics read when the model is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from orpose_ros.h36m_stats import StatsError
from orpose_ros.model import build_orpose_model, get_orpose_cfg


def test_published_config_values() -> None:
    cfg = get_orpose_cfg()
    assert cfg.is_frozen()
    assert cfg.MODEL.WEIGHTS == ""
    m = cfg.MODEL
    assert (m.META_ARCHITECTURE, m.BACKBONE.NAME, m.RESNETS.DEPTH) == (
        "GeneralizedRCNN", "build_resnet_fpn_backbone", 50,
    )  # fmt: skip
    assert m.ANCHOR_GENERATOR.SIZES == [[32], [64], [128], [256], [512]]
    assert m.RPN.IN_FEATURES == ["p2", "p3", "p4", "p5", "p6"]
    assert (m.RPN.PRE_NMS_TOPK_TEST, m.RPN.POST_NMS_TOPK_TEST) == (1000, 1000)
    assert (m.ROI_HEADS.NAME, m.ROI_HEADS.NUM_CLASSES) == ("Keypoints3DROIHeads", 1)
    assert (m.ROI_HEADS.SCORE_THRESH_TEST, m.ROI_HEADS.NMS_THRESH_TEST) == (0.05, 0.5)
    assert (m.ROI_BOX_HEAD.NAME, m.ROI_BOX_HEAD.NUM_FC, m.ROI_BOX_HEAD.POOLER_RESOLUTION) == (
        "FastRCNNConvFCHead", 2, 7,
    )  # fmt: skip
    head = m.ROI_KEYPOINTS3D_HEAD
    assert (head.POOLER_TYPE, head.POOLER_RESOLUTION, head.POOLER_SAMPLING_RATIO) == ("ROIAlignV2", 14, 0)
    assert not m.MASK_ON
    assert not m.KEYPOINT_ON
    assert m.KEYPOINT3D_ON
    assert (cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MAX_SIZE_TEST, cfg.INPUT.FORMAT) == (800, 1333, "BGR")
    assert (m.PIXEL_MEAN, m.PIXEL_STD) == ([103.53, 116.28, 123.675], [1.0, 1.0, 1.0])
    assert cfg.TEST.DETECTIONS_PER_IMAGE == 100
    assert cfg.MODEL.ROI_KEYPOINTS3D_HEAD.STATS_FILE == ""


def test_statistics_are_read_from_the_config_when_the_model_is_built(stats_path: Path) -> None:
    head = build_orpose_model(get_orpose_cfg(stats_path)).roi_heads.keypoint_head
    assert head.has_stats
    assert head.mean_3d.shape == (96,)
    assert float(head.std_2d.abs().min()) > 0
    assert "mean_3d" not in head.state_dict()  # the statistics are not part of the checkpoint


def test_a_model_without_statistics_refuses_to_lift(tmp_path: Path) -> None:
    assert not build_orpose_model(get_orpose_cfg()).roi_heads.keypoint_head.has_stats
    with pytest.raises(StatsError, match=r"nowhere\.json"):
        build_orpose_model(get_orpose_cfg(tmp_path / "nowhere.json"))
