"""ROI heads of ORPose: detectron2's `StandardROIHeads` whose keypoint branch is the 3D keypoint head.

At inference the box branch runs first; the 3D keypoint branch then runs on the predicted boxes
(detectron2's own ``forward_with_given_boxes`` -> ``_forward_keypoint``). Only the construction of
the keypoint branch is overridden; with ``MODEL.KEYPOINT3D_ON = False`` this class is exactly
`StandardROIHeads`.
"""

from __future__ import annotations

from detectron2.config import CfgNode
from detectron2.layers import ShapeSpec
from detectron2.modeling import ROI_HEADS_REGISTRY, StandardROIHeads
from detectron2.modeling.poolers import ROIPooler

from .keypoint_head import build_keypoints3d_head


@ROI_HEADS_REGISTRY.register()
class Keypoints3DROIHeads(StandardROIHeads):
    """`StandardROIHeads` with ORPose's 3D keypoint head as its keypoint branch.

    The branch lives at ``roi_heads.keypoint_head`` with its pooler at ``roi_heads.keypoint_pooler``
    (names of the official checkpoints). Its pooler reads ``ROI_HEADS.IN_FEATURES`` (p2..p5,
    scales 1/4..1/32). At inference each image's `Instances` gain ``pred_keypoints`` (R, 17, 3)
    and ``pred_keypoints_3d`` (R, 17, 3); see `ROI_KEYPOINTS3D_HEAD_REGISTRY`.
    """

    @classmethod
    def _init_keypoint_head(cls, cfg: CfgNode, input_shape: dict[str, ShapeSpec]) -> dict:
        if not cfg.MODEL.KEYPOINT3D_ON:
            return super()._init_keypoint_head(cfg, input_shape)
        if cfg.MODEL.KEYPOINT_ON:
            raise ValueError(
                "MODEL.KEYPOINT_ON and MODEL.KEYPOINT3D_ON are exclusive: both build roi_heads.keypoint_head"
            )
        head_cfg = cfg.MODEL.ROI_KEYPOINTS3D_HEAD
        in_features = cfg.MODEL.ROI_HEADS.IN_FEATURES
        resolution = head_cfg.POOLER_RESOLUTION
        pooler = ROIPooler(
            output_size=resolution,
            scales=tuple(1.0 / input_shape[f].stride for f in in_features),
            sampling_ratio=head_cfg.POOLER_SAMPLING_RATIO,
            pooler_type=head_cfg.POOLER_TYPE,
        )
        channels = {input_shape[f].channels for f in in_features}
        if len(channels) != 1:
            raise ValueError(f"ROI_HEADS.IN_FEATURES {in_features} differ in channels: {channels}")
        shape = ShapeSpec(channels=channels.pop(), height=resolution, width=resolution)
        return {
            "keypoint_in_features": in_features,
            "keypoint_pooler": pooler,
            "keypoint_head": build_keypoints3d_head(cfg, shape),
        }
