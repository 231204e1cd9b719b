"""The ORPose student model on detectron2, ROS-free.

    from orpose_ros.model import OrPosePredictor
    predictor = OrPosePredictor.from_files(Path("models/orpose_fixed_12x_model_final.pth"))
    poses = predictor.predict([bgr_frame])  # list[orpose_ros.poses.FramePoses]
"""

# Must come first: makes detectron2 importable here (placeholder detectron2._C, PIL.Image.LINEAR).
from . import detectron2_compat  # noqa: F401  (import only for its side effects)

# isort: split
from orpose_ros.h36m_stats import H36MStats, StatsError

from . import roi_heads  # noqa: F401  (import only to register Keypoints3DROIHeads with detectron2)
from .checkpoint import CheckpointError, downsample_factor_from_name, load_weights, resolve_stats_path
from .config import add_orpose_config, build_orpose_model, get_orpose_cfg
from .predictor import DeviceUnavailableError, OrPosePredictor
from .random_weights import random_state_dict

__all__ = [
    "CheckpointError",
    "DeviceUnavailableError",
    "H36MStats",
    "OrPosePredictor",
    "StatsError",
    "add_orpose_config",
    "build_orpose_model",
    "downsample_factor_from_name",
    "get_orpose_cfg",
    "load_weights",
    "random_state_dict",
    "resolve_stats_path",
]
