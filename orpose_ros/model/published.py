"""The published implementation's inference (the ORPose demo: detectron2's `DefaultPredictor`, one frame per
call, PIL preprocessing, fp32), built from our config and a weights file: the reference that `OrPosePredictor`
and the exported backends are checked against (orpose-bench, orpose-export)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from orpose_ros import privacy
from orpose_ros.backends.comparison import FrameArrays

from .config import get_orpose_cfg

if TYPE_CHECKING:
    from detectron2.structures import Instances

    from .predictor import OrPosePredictor


def _arrays_of(instances: Instances) -> FrameArrays:
    """The published pipeline's outputs (detectron2 ``pred_boxes``, ``scores``, ``pred_keypoints``,
    ``pred_keypoints_3d``) as arrays, best score first."""
    inst = instances.to("cpu")
    order = np.argsort(-inst.scores.float().numpy(), kind="stable")
    return FrameArrays(boxes=inst.pred_boxes.tensor.float().numpy()[order], scores=inst.scores.float().numpy()[order],
                       keypoints=inst.pred_keypoints.float().numpy()[order],
                       joints_3d=inst.pred_keypoints_3d.float().numpy()[order])




class PublishedPipeline:
    """The published demo's inference: detectron2 `DefaultPredictor`, one frame per call, fp32.

    Args:
        checkpoint: weights file, loaded by `DetectionCheckpointer` (``cfg.MODEL.WEIGHTS``).
        stats_file: h36stats.json (not part of the checkpoint; the published code holds it apart), or
            "placeholder".
        device: a resolved torch device.
        downsample_factor: when > 1 each call first shrinks and restores the frame on the CPU with
            PIL bilinear (detectron2's `ResizeTransform`), as the demo's input pipeline.
    """

    def __init__(self, checkpoint: Path, stats_file: str, device: torch.device, downsample_factor: int = 1) -> None:
        # detectron2 is imported here, after orpose_ros.model installed its compatibility shims.
        from detectron2.engine import DefaultPredictor

        cfg = get_orpose_cfg(stats_file, str(device)).clone()
        cfg.defrost()
        cfg.MODEL.WEIGHTS = str(checkpoint)
        cfg.freeze()
        self.predictor = DefaultPredictor(cfg)
        self.downsample_factor = downsample_factor

    def loaded_the_same_weights_as(self, predictor: OrPosePredictor) -> bool:
        """Whether ``predictor``'s network holds exactly the weights this pipeline loaded."""
        mine, theirs = self.predictor.model.state_dict(), predictor.model.state_dict()
        return mine.keys() == theirs.keys() and all(torch.equal(mine[k].cpu(), theirs[k].cpu()) for k in mine)

    def __call__(self, frames: Sequence[np.ndarray]) -> list[FrameArrays]:
        """Run frame after frame (the published demo has no batching); outputs copied to the CPU."""
        outputs = []
        for frame in frames:
            if self.downsample_factor > 1:
                frame = privacy.shrink_and_restore(frame, self.downsample_factor)
            outputs.append(_arrays_of(self.predictor(frame)["instances"]))
        return outputs
