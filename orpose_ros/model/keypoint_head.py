"""ORPose's 3D keypoint head: 2D heatmaps (hard and soft branches) and their lifting to 3D.

Registered in `ROI_KEYPOINTS3D_HEAD_REGISTRY` and built by `Keypoints3DROIHeads`. Parameter
names equal the official checkpoints' (``roi_heads.keypoint_head.*`` in checkpoint_layout.tsv).
Heatmap decoding is detectron2's own `heatmaps_to_keypoints`; the lifting maths is in `lifting.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from detectron2.config import CfgNode, configurable
from detectron2.layers import Conv2d, ConvTranspose2d, ShapeSpec, cat
from detectron2.structures import Instances, heatmaps_to_keypoints
from detectron2.utils.registry import Registry
from torch import nn
from torch.nn import functional

from orpose_ros.h36m_stats import H36MStats

from .lifting import LinearModel, coco_to_h36m, lifting_input, normalize_2d, unnormalize_3d

logger = logging.getLogger(__name__)

#: ``MODEL.ROI_KEYPOINTS3D_HEAD.STATS_FILE`` value for neutral statistics (random-weight demos only).
PLACEHOLDER_STATS = "placeholder"

ROI_KEYPOINTS3D_HEAD_REGISTRY = Registry("ROI_KEYPOINTS3D_HEAD")
ROI_KEYPOINTS3D_HEAD_REGISTRY.__doc__ = """
Registry for ORPose 3D keypoint heads, which predict 2D and 3D keypoints from per-ROI features.

The registered object is called with ``obj(cfg, input_shape)``, where ``input_shape`` is the
`ShapeSpec` of the pooled ROI features (channels, height = width = pooler resolution). Its
``forward(features, instances)`` takes (R, C, S, S) features of the R predicted boxes of all
images and, at inference, returns the instances with two new fields: ``pred_keypoints``
(R_i, 17, 3) x, y [px of the network input image], score; and ``pred_keypoints_3d`` (R_i, 17, 3)
x, y, z [m], pelvis-relative, Human3.6M-17 order.
"""

#: Bilinear upsampling after each transposed convolution: 14 -> 28 (deconv) -> 56 (this).
UP_SCALE = 2
_MM_PER_M = 1000.0


def build_keypoints3d_head(cfg: CfgNode, input_shape: ShapeSpec) -> nn.Module:
    """Build the head named by ``cfg.MODEL.ROI_KEYPOINTS3D_HEAD.NAME``."""
    return ROI_KEYPOINTS3D_HEAD_REGISTRY.get(cfg.MODEL.ROI_KEYPOINTS3D_HEAD.NAME)(cfg, input_shape)


def decode_heatmaps(
    hard: torch.Tensor, soft: torch.Tensor, boxes: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Decode the two heatmap sets into keypoints with detectron2's `heatmaps_to_keypoints`.

    Args:
        hard, soft: (R, 17, 56, 56) heatmap logits of the hard and soft branches.
        boxes: (R, 4) x1, y1, x2, y2 boxes in network-input pixels.

    Returns:
        ``(averaged, hard, soft)``, each (R, 17, 3) x, y [network-input px], score: columns 0, 1
        and 3 of `heatmaps_to_keypoints`; ``averaged`` decodes ``(hard + soft) / 2``.
    """
    hard, soft, boxes = hard.float(), soft.float(), boxes.float()
    columns = [0, 1, 3]
    averaged = heatmaps_to_keypoints((hard + soft) / 2.0, boxes)[:, :, columns]
    return (
        averaged,
        heatmaps_to_keypoints(hard, boxes)[:, :, columns],
        heatmaps_to_keypoints(soft, boxes)[:, :, columns],
    )


def _upsample(x: torch.Tensor) -> torch.Tensor:
    return functional.interpolate(x, scale_factor=UP_SCALE, mode="bilinear", align_corners=False)


@ROI_KEYPOINTS3D_HEAD_REGISTRY.register()
class StandardKeypoints3DHead(nn.Module):
    """Eight 3x3 convs + ReLU, then two deconv + bilinear x2 branches and two lifting networks.

    Inference only (the published training losses are not part of this port). The Human3.6M
    statistics come from ``MODEL.ROI_KEYPOINTS3D_HEAD.STATS_FILE`` (they are not in the checkpoint).
    """

    @configurable
    def __init__(
        self,
        input_shape: ShapeSpec,
        *,
        num_keypoints: int,
        conv_dims: Sequence[int],
        stats: H36MStats | None,
    ) -> None:
        """
        Args:
            input_shape: shape of the pooled ROI features (256 channels for R50-FPN).
            num_keypoints: heatmaps per branch (17, COCO order).
            conv_dims: output channels of conv_fcn1.. (8 x 512 in the published model).
            stats: Human3.6M statistics of the lifting (non-persistent buffers: they follow
                ``.to(device)`` but are not in the checkpoint); None: the head refuses to run.
        """
        super().__init__()
        in_channels = input_shape.channels
        self.blocks: list[Conv2d] = []
        for idx, channels in enumerate(conv_dims, 1):
            conv = Conv2d(in_channels, channels, 3, stride=1, padding=1)
            self.add_module(f"conv_fcn{idx}", conv)
            self.blocks.append(conv)
            in_channels = channels
        deconv = {"kernel_size": 4, "stride": 2, "padding": 4 // 2 - 1}
        self.score_lowres = ConvTranspose2d(in_channels, num_keypoints, **deconv)
        self.score_lowres_soft = ConvTranspose2d(in_channels, num_keypoints, **deconv)
        self.nw2Dto3D_hard = LinearModel()
        self.nw2Dto3D_soft = LinearModel()
        self.has_stats = stats is not None
        stats = stats if stats is not None else H36MStats.placeholder()
        for name, values, dtype in (
            ("mean_2d", stats.mean_2d_used, torch.float32),
            ("std_2d", stats.std_2d_used, torch.float32),
            ("mean_3d", stats.data_mean_3d, torch.float32),
            ("std_3d", stats.data_std_3d, torch.float32),
            ("dim_to_use_3d", stats.dim_to_use_3d, torch.long),
        ):
            self.register_buffer(name, torch.as_tensor(values, dtype=dtype), persistent=False)

    @classmethod
    def from_config(cls, cfg: CfgNode, input_shape: ShapeSpec) -> dict:
        head = cfg.MODEL.ROI_KEYPOINTS3D_HEAD
        if head.STATS_FILE == PLACEHOLDER_STATS:
            logger.warning("the 3D keypoint head uses placeholder statistics: its 3D joints mean nothing")
            stats = H36MStats.placeholder()
        else:
            stats = H36MStats.from_json(head.STATS_FILE) if head.STATS_FILE else None
        return {
            "input_shape": input_shape,
            "num_keypoints": head.NUM_KEYPOINTS,
            "conv_dims": head.CONV_DIMS,
            "stats": stats,
        }

    def layers(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(R, 256, 14, 14) ROI features -> hard and soft (R, 17, 56, 56) heatmap logits."""
        for conv in self.blocks:
            x = functional.relu(conv(x))
        return _upsample(self.score_lowres(x)), _upsample(self.score_lowres_soft(x))

    def lift(self, kpts_hard: torch.Tensor, kpts_soft: torch.Tensor) -> torch.Tensor:
        """Lift the hard and soft COCO keypoint sets to 3D and average them.

        Args:
            kpts_hard, kpts_soft: (R, 17, 3) x, y [network-input px], score; COCO order; R >= 1.

        Returns:
            (R, 17, 3) x, y, z [m], pelvis-relative, Human3.6M-17 order.
        """
        with torch.autocast(device_type=kpts_hard.device.type, enabled=False):
            inputs = [
                normalize_2d(lifting_input(coco_to_h36m(k.float())), self.mean_2d, self.std_2d)
                for k in (kpts_hard, kpts_soft)
            ]
            out = (self.nw2Dto3D_hard(inputs[0]) + self.nw2Dto3D_soft(inputs[1])) / 2.0
            return unnormalize_3d(out, self.mean_3d, self.std_3d, self.dim_to_use_3d) / _MM_PER_M

    def forward(self, x: torch.Tensor, instances: list[Instances]) -> list[Instances]:
        """Add ``pred_keypoints`` and ``pred_keypoints_3d`` to each image's predicted instances.

        Args:
            x: (R, C, 14, 14) pooled features of all images' predicted boxes, image after image.
            instances: per image, the box branch's predictions (``pred_boxes`` in network-input px).

        Returns:
            ``instances``, updated in place (see the registry's documentation for the fields).
        """
        if self.training:
            raise NotImplementedError("StandardKeypoints3DHead is an inference-only port of ORPose")
        if not self.has_stats:
            raise RuntimeError(
                "the 3D keypoint head has no Human3.6M statistics: set MODEL.ROI_KEYPOINTS3D_HEAD.STATS_FILE"
            )
        hard, soft = self.layers(x)
        boxes = cat([i.pred_boxes.tensor for i in instances], dim=0)
        averaged, kpts_hard, kpts_soft = decode_heatmaps(hard, soft, boxes)
        if boxes.shape[0] > 0:
            kpts_3d = self.lift(kpts_hard, kpts_soft)
        else:
            kpts_3d = averaged.new_zeros((0, averaged.shape[1], 3))
        counts = [len(i) for i in instances]
        for inst, kp2d, kp3d in zip(instances, averaged.split(counts), kpts_3d.split(counts), strict=True):
            inst.pred_keypoints = kp2d
            inst.pred_keypoints_3d = kp3d
        return instances
