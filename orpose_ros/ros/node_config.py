"""orpose_node's parameters: the one place each is declared (name, type, default, range, meaning).

config/orpose.yaml and the README table list exactly these (a test checks it); print both with
``python -m orpose_ros.ros.parameter_docs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orpose_ros.backends import BackendOptions
from orpose_ros.camera_people import FALLBACK_DEPTH_M, SINGLE_CAMERA_NOISE_M, CameraPeople
from orpose_ros.camera_pipeline import NOMINAL_HFOV_DEG
from orpose_ros.geometry.placement import PLACEMENT_METHODS, PlacementMethod, PlacementOptions
from orpose_ros.ros import parameter_groups as groups
from orpose_ros.ros.parameters import ConfigError, parameter, topics_problem

#: ``restore_size`` value: restore each camera's frames to the size of its camera_info.
RESTORE_FROM_CAMERA_INFO = "camera_info"
_SIZE = r"[1-9][0-9]*x[1-9][0-9]*"


@dataclass(frozen=True)
class NodeConfig(groups.TrackingGroup, groups.ImageQosGroup):
    """The validated parameters of orpose_node (see each field's description)."""

    autostart: bool = groups.autostart()
    image_topics: tuple[str, ...] = parameter(
        ("/camera/image_raw",), "Camera image topics; a name ending in /compressed is read as "
        "sensor_msgs/CompressedImage.", check=topics_problem, expect="a non-empty list of distinct topic names")
    camera_info_topics: tuple[str, ...] = parameter(
        ("",), "sensor_msgs/CameraInfo topics, one per image topic in the same order ('' for a camera "
        "without), for metric placement and markers; [''] = none (a nominal field of view is assumed).")
    restore_size: str = parameter(
        "", "Cameras publish already-shrunk frames (a privacy filter beside the camera): restore them to "
        "WxH (e.g. 640x480), or to each camera_info's size with 'camera_info'; '' = full-resolution frames.",
        pattern=f"|{_SIZE}|{RESTORE_FROM_CAMERA_INFO}", expect="'', WxH (e.g. 640x480) or camera_info")
    weights: str = parameter("", "ORPose checkpoint (orpose_fixed_{8,10,12}x_model_final.pth), or an exported "
                             "model folder (written by orpose-export).")
    backend: str = parameter("auto", "Inference runtime: detectron2 (a checkpoint), onnxruntime or openvino (an "
                             "exported folder), auto (detectron2 for a checkpoint, the fastest verified runtime "
                             "for a folder).", choices=("auto", "detectron2", "onnxruntime", "openvino"))
    stats: str = parameter("", "h36stats.json; '' = beside the weights, then the models folder.")
    downsample_factor: int = parameter(
        0, "Privacy downsampling factor (1 = off); 0 = from the weights file name.", int_range=(0, 64))
    device: str = parameter("auto", "auto, cpu, cuda or cuda:N; a missing GPU falls back to the CPU with an "
                            "error.", pattern=r"auto|cpu|cuda(:\d+)?", expect="auto, cpu, cuda or cuda:N")
    fp16: bool = parameter(False, "Half-precision inference (CUDA only).")
    score_threshold: float = parameter(0.5, "Minimum person score to publish.", dynamic=True,
                                       float_range=(0.0, 1.0))
    random_weights_seed: int = parameter(
        -1, "Random model weights with this seed, for demos and tests only (meaningless poses); -1 = off.",
        int_range=(-1, 2**31 - 1))
    qos_reliability: str = groups.qos_reliability()
    qos_depth: int = groups.qos_depth()
    publish_markers: bool = parameter(True, "Publish RViz skeleton markers on orpose/markers.", dynamic=True)
    publish_debug_image: bool = parameter(
        True, "Publish the debug image on orpose/debug_image (drawn on the frame the model saw: the "
        "shrunk-and-restored one in privacy mode).", dynamic=True)
    calibration: str = parameter(
        "", "Room calibration file (YAML, or MVOR's annotation JSON): cameras matched by their image_topic give "
        "their intrinsics (unless 'from_camera_info') and pose, so that people can be placed on the floor; "
        "'' = none (camera_info alone).")
    placement_method: str = parameter(
        PlacementMethod.SKELETON_FLOOR.value, "How people are placed from one camera: the skeleton fitted to the "
        "keypoints, the floor of a calibrated room, or both (without a calibrated floor: skeleton).",
        choices=PLACEMENT_METHODS)
    placement_min_keypoint_score: float = parameter(
        PlacementOptions.min_joint_score, "Keypoints scoring below are not used to place a person (at least 4 "
        "are needed).", float_range=(0.0, 1.0))
    track_max_age_s: float = groups.track_max_age_s()
    smoothing: bool = groups.smoothing()
    smoothing_min_cutoff_hz: float = groups.smoothing_min_cutoff_hz()
    smoothing_beta: float = groups.smoothing_beta()
    marker_depth: float = parameter(FALLBACK_DEPTH_M, "Distance from the camera [m] at which skeletons are drawn when "
                                    "they cannot be placed metrically.", float_range=(0.1, 50.0))
    nominal_hfov_deg: float = parameter(NOMINAL_HFOV_DEG, "Horizontal field of view [deg] assumed for cameras without "
                                        "camera_info.", float_range=(1.0, 179.0))

    def check(self) -> None:
        """Checks across parameters; raises ConfigError."""
        given = self.camera_info_topics
        if any(given) and len(given) != len(self.image_topics):
            raise ConfigError(
                f"parameter 'camera_info_topics': {len(given)} topic(s) for {len(self.image_topics)} image "
                "topic(s); expected one per image topic ('' for none), or ['']"
            )
        if self.restore_size == RESTORE_FROM_CAMERA_INFO and not all(self.info_topic(i) for i in
                                                                      range(len(self.image_topics))):
            raise ConfigError("parameter 'restore_size': 'camera_info' needs a camera_info topic for every "
                              "camera; expected WxH, or camera_info_topics set")

    def info_topic(self, camera: int) -> str:
        """The camera_info topic of camera ``camera`` ('' when it has none)."""
        return self.camera_info_topics[camera] if any(self.camera_info_topics) else ""

    def camera_people(self) -> CameraPeople:
        """A fresh `CameraPeople` (placement, tracking, smoothing) as these parameters say."""
        return CameraPeople(self.tracker_options(SINGLE_CAMERA_NOISE_M), self.placement_options(),
                            self.smoothing_options(), self.marker_depth)

    def placement_options(self) -> PlacementOptions:
        return PlacementOptions(method=self.placement_method, min_joint_score=self.placement_min_keypoint_score)

    def backend_options(self) -> BackendOptions:
        """The pose backend these parameters ask for."""
        return BackendOptions(
            weights=Path(self.weights).expanduser() if self.weights else None,
            random_seed=self.random_weights_seed if self.random_weights_seed >= 0 else None,
            stats=Path(self.stats).expanduser() if self.stats else None, kind=self.backend,
            device=self.device, fp16=self.fp16, downsample_factor=self.downsample_factor or None,
            score_threshold=self.score_threshold)

    @property
    def fixed_restore_size(self) -> tuple[int, int] | None:
        """(height, width) of ``restore_size`` WxH; None for '' and 'camera_info'."""
        if "x" not in self.restore_size:
            return None
        width, height = (int(v) for v in self.restore_size.split("x"))
        return height, width
