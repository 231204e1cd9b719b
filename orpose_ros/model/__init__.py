"""The ORPose student model on detectron2, ROS-free.

    from orpose_ros.model import OrPosePredictor
    predictor = OrPosePredictor.from_files("models/orpose_fixed_12x_model_final.pth")
    poses = predictor.predict([bgr_frame])  # list[orpose_ros.poses.FramePoses]
"""

# The one place the detectron2 compatibility shim is imported: it must run before any detectron2
# import, and every module of this package is reached through this file first.
from . import detectron2_compat  # noqa: F401  (import only for its side effects)

# isort: split
from .checkpoint import CheckpointError, load_weights
from .config import add_orpose_config, build_orpose_model, get_orpose_cfg
from .keypoint_head import PLACEHOLDER_STATS
from .predictor import DeviceUnavailableError, InferenceCancelledError, OrPosePredictor
from .published import PublishedPipeline
from .random_weights import write_random_checkpoint

__all__ = [
    "PLACEHOLDER_STATS",
    "CheckpointError",
    "DeviceUnavailableError",
    "InferenceCancelledError",
    "OrPosePredictor",
    "PublishedPipeline",
    "add_orpose_config",
    "build_orpose_model",
    "get_orpose_cfg",
    "load_weights",
    "write_random_checkpoint",
]
