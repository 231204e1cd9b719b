"""detectron2 configuration of the ORPose student model, and its construction.

Usage follows detectron2's projects: ``cfg = get_cfg(); add_orpose_config(cfg); ...; cfg.freeze()``,
or simply ``get_orpose_cfg(stats_file=...)`` for the published inference configuration (the one
place its values live); then ``build_orpose_model(cfg)``.
"""

from __future__ import annotations

from pathlib import Path

from detectron2.config import CfgNode, get_cfg
from detectron2.modeling import GeneralizedRCNN, build_model

from . import roi_heads  # noqa: F401  (import only to register Keypoints3DROIHeads and its head)

_FPN_LEVELS = ["p2", "p3", "p4", "p5"]
_RES_STAGES = ["res2", "res3", "res4", "res5"]


def add_orpose_config(cfg: CfgNode) -> None:
    """Add ORPose's own keys, with their published defaults, to a detectron2 config (in place).

    The key names follow the published ORPose-Color configuration, so values read alike there.
    """
    cfg.MODEL.KEYPOINT3D_ON = True  # run the 3D keypoint branch of Keypoints3DROIHeads
    cfg.MODEL.ROI_KEYPOINTS3D_HEAD = CfgNode()
    cfg.MODEL.ROI_KEYPOINTS3D_HEAD.NAME = "StandardKeypoints3DHead"  # name in ROI_KEYPOINTS3D_HEAD_REGISTRY
    cfg.MODEL.ROI_KEYPOINTS3D_HEAD.POOLER_RESOLUTION = 14  # ROI features are 14x14
    cfg.MODEL.ROI_KEYPOINTS3D_HEAD.POOLER_SAMPLING_RATIO = 0  # adaptive ROIAlign sampling
    cfg.MODEL.ROI_KEYPOINTS3D_HEAD.POOLER_TYPE = "ROIAlignV2"  # half-pixel-aligned ROIAlign
    cfg.MODEL.ROI_KEYPOINTS3D_HEAD.CONV_DIMS = tuple(512 for _ in range(8))  # conv_fcn1..8 output channels
    cfg.MODEL.ROI_KEYPOINTS3D_HEAD.NUM_KEYPOINTS = 17  # COCO-17 heatmaps per branch (hard, soft)
    # h36stats.json of the 3D lifting, read when the head is built; "placeholder": neutral values
    # (random-weight demos only); "": none (the head refuses to run).
    cfg.MODEL.ROI_KEYPOINTS3D_HEAD.STATS_FILE = ""


def get_orpose_cfg(stats_file: str | Path = "", device: str = "cpu") -> CfgNode:
    """The frozen detectron2 config of the published ORPose student (R50-FPN Mask R-CNN style).

    Args:
        stats_file: h36stats.json (``MODEL.ROI_KEYPOINTS3D_HEAD.STATS_FILE``), or "placeholder" for
            neutral statistics (random-weight demos only).
        device: detectron2 ``MODEL.DEVICE`` the model is built on ("cpu", "cuda", "cuda:N"); the
            predictor moves it later anyway.

    Returns:
        A frozen config; ``MODEL.WEIGHTS`` is empty (weights are loaded by ``orpose_ros.model.checkpoint``).
    """
    cfg = get_cfg()
    add_orpose_config(cfg)
    m = cfg.MODEL
    m.DEVICE = device
    m.WEIGHTS = ""
    m.META_ARCHITECTURE = "GeneralizedRCNN"
    m.MASK_ON = False
    m.KEYPOINT_ON = False  # the stock 2D keypoint branch; ORPose's own 3D branch is KEYPOINT3D_ON
    m.BACKBONE.NAME = "build_resnet_fpn_backbone"
    m.RESNETS.DEPTH = 50
    m.RESNETS.OUT_FEATURES = list(_RES_STAGES)
    m.FPN.IN_FEATURES = list(_RES_STAGES)
    m.ANCHOR_GENERATOR.SIZES = [[32], [64], [128], [256], [512]]
    m.ANCHOR_GENERATOR.ASPECT_RATIOS = [[0.5, 1.0, 2.0]]
    m.RPN.IN_FEATURES = [*_FPN_LEVELS, "p6"]
    m.RPN.PRE_NMS_TOPK_TEST = 1000
    m.RPN.POST_NMS_TOPK_TEST = 1000
    m.ROI_HEADS.NAME = "Keypoints3DROIHeads"
    m.ROI_HEADS.IN_FEATURES = list(_FPN_LEVELS)
    m.ROI_HEADS.NUM_CLASSES = 1  # person
    m.ROI_HEADS.SCORE_THRESH_TEST = 0.05
    m.ROI_HEADS.NMS_THRESH_TEST = 0.5
    m.ROI_BOX_HEAD.NAME = "FastRCNNConvFCHead"
    m.ROI_BOX_HEAD.NUM_FC = 2
    m.ROI_BOX_HEAD.POOLER_RESOLUTION = 7
    m.PIXEL_MEAN = [103.53, 116.28, 123.675]
    m.PIXEL_STD = [1.0, 1.0, 1.0]
    m.ROI_KEYPOINTS3D_HEAD.STATS_FILE = str(stats_file)
    cfg.TEST.DETECTIONS_PER_IMAGE = 100
    cfg.INPUT.MIN_SIZE_TEST = 800
    cfg.INPUT.MAX_SIZE_TEST = 1333
    cfg.INPUT.FORMAT = "BGR"
    cfg.freeze()
    return cfg


def build_orpose_model(cfg: CfgNode) -> GeneralizedRCNN:
    """Build the ORPose student (random initial weights, eval mode) from a config of `get_orpose_cfg`
    or one extended with `add_orpose_config`.

    Returns:
        A detectron2 `GeneralizedRCNN` on ``cfg.MODEL.DEVICE`` whose ``state_dict()`` has exactly the
        keys, shapes and dtypes of the official checkpoints.

    Raises:
        StatsError: ``STATS_FILE`` names a missing or malformed statistics file.
    """
    return build_model(cfg).eval()
