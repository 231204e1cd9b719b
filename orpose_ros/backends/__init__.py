"""Pose backends: the `PoseBackend` seam and the one factory that builds them.

    from orpose_ros.backends import BackendOptions, build_backend
    backend = build_backend(BackendOptions(weights=Path("models/orpose_fixed_12x_model_final.pth")))
    poses = backend.predict([frame])            # one FramePoses per frame

Importing this package loads no runtime (torch, detectron2...): `build_backend` imports the one it builds.
"""

from orpose_ros.backends.factory import BACKEND_KINDS, HOW_TO_GET_WEIGHTS, BackendOptions, build_backend
from orpose_ros.backends.protocol import (
    BackendError,
    DeviceUnavailableError,
    InferenceCancelledError,
    PoseBackend,
)

__all__ = [
    "BACKEND_KINDS",
    "HOW_TO_GET_WEIGHTS",
    "BackendError",
    "BackendOptions",
    "DeviceUnavailableError",
    "InferenceCancelledError",
    "PoseBackend",
    "build_backend",
]
