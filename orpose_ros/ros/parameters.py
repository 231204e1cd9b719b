"""The node's parameters: declared once with descriptors, validated, frozen into NodeConfig.

YAML -> declared parameters -> NodeConfig -> plain arguments. No other module reads parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
RELIABILITIES = ("best_effort", "reliable")


class ConfigError(ValueError):
    """A parameter value the node cannot run with; the message names the parameter."""


@dataclass(frozen=True)
class NodeConfig:
    image_topics: tuple[str, ...]
    camera_info_topics: tuple[str, ...]
    weights: Path | None
    stats: Path | None
    downsample_factor: int | None  # None: from the weights file name (orpose_fixed_12x -> 12), else 1
    device: str
    fp16: bool
    score_threshold: float
    random_weights_seed: int | None
    qos_reliability: str
    qos_depth: int
    publish_markers: bool
    publish_debug_image: bool
    marker_depth: float
    nominal_hfov_deg: float


def _int_range(lo: int, hi: int) -> list[IntegerRange]:
    return [IntegerRange(from_value=lo, to_value=hi, step=1)]


def _float_range(lo: float, hi: float) -> list[FloatingPointRange]:
    return [FloatingPointRange(from_value=lo, to_value=hi, step=0.0)]


# name -> (default, description, extra descriptor fields). Only score_threshold, publish_markers
# and publish_debug_image can change at run time; the others shape the model or the subscriptions.
_PARAMETERS: dict[str, tuple[object, str, dict]] = {
    "image_topics": (["/camera/image_raw"], "Camera image topics; a name ending in /compressed is "
                     "read as sensor_msgs/CompressedImage.", {"read_only": True}),
    "camera_info_topics": ([""], "Optional sensor_msgs/CameraInfo topics, one per image topic in "
                           "the same order, for placing 3D markers; [''] = none (nominal FOV).",
                           {"read_only": True}),
    "weights": ("", "Path of an ORPose checkpoint (orpose_fixed_{8,10,12}x_model_final.pth).",
                {"read_only": True}),
    "stats": ("", "Path of h36stats.json; '' = beside the weights, then models/.", {"read_only": True}),
    "downsample_factor": (0, "Privacy downsampling factor (1 = off); 0 = from the weights file name.",
                          {"read_only": True, "integer_range": _int_range(0, 64)}),
    "device": ("auto", "auto, cpu, cuda or cuda:N.", {"read_only": True}),
    "fp16": (False, "Half-precision inference (CUDA only).", {"read_only": True}),
    "score_threshold": (0.5, "Minimum person score to publish.",
                        {"floating_point_range": _float_range(0.0, 1.0)}),
    "random_weights_seed": (-1, "Random model weights with this seed, for demos and tests only; "
                            "-1 = off.", {"read_only": True, "integer_range": _int_range(-1, 2**31 - 1)}),
    "qos_reliability": ("best_effort", "Reliability of the image subscriptions: best_effort or "
                        "reliable.", {"read_only": True}),
    "qos_depth": (1, "History depth of the image subscriptions.",
                  {"read_only": True, "integer_range": _int_range(1, 100)}),
    "publish_markers": (True, "Publish RViz skeleton markers on orpose/markers.", {}),
    "publish_debug_image": (True, "Publish the debug image on orpose/debug_image (drawn on the "
                            "downsampled-and-restored frame in privacy mode).", {}),
    "marker_depth": (3.0, "Distance from the camera [m] at which skeletons are placed.",
                     {"read_only": True, "floating_point_range": _float_range(0.1, 50.0)}),
    "nominal_hfov_deg": (60.0, "Horizontal field of view [deg] assumed for cameras without "
                         "camera_info.", {"read_only": True, "floating_point_range": _float_range(1.0, 179.0)}),
}

DYNAMIC_PARAMETERS = frozenset(name for name, (_, _, extra) in _PARAMETERS.items() if not extra.get("read_only"))


def declare_parameters(node: Node) -> None:
    for name, (default, description, extra) in _PARAMETERS.items():
        node.declare_parameter(name, default, ParameterDescriptor(description=description, **extra))


def read_config(node: Node) -> NodeConfig:
    """Validate the declared parameters of ``node``; raises ConfigError naming the culprit."""
    p = {name: node.get_parameter(name).value for name in _PARAMETERS}
    image_topics = tuple(p["image_topics"])
    if not image_topics or any(not t.strip() for t in image_topics):
        raise ConfigError("image_topics must list at least one non-empty topic name")
    if len(set(image_topics)) != len(image_topics):
        raise ConfigError(f"image_topics has duplicates: {list(image_topics)}")
    info_topics = tuple(t for t in p["camera_info_topics"] if t)
    if info_topics and len(info_topics) != len(image_topics):
        raise ConfigError(
            f"camera_info_topics must be empty or have one topic per image topic "
            f"({len(info_topics)} given for {len(image_topics)} image topics)"
        )
    if not DEVICE_PATTERN.match(p["device"]):
        raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got '{p['device']}'")
    if p["qos_reliability"] not in RELIABILITIES:
        raise ConfigError(f"qos_reliability must be one of {RELIABILITIES}, got '{p['qos_reliability']}'")
    seed = p["random_weights_seed"]
    return NodeConfig(
        image_topics=image_topics,
        camera_info_topics=info_topics,
        weights=Path(p["weights"]).expanduser() if p["weights"] else None,
        stats=Path(p["stats"]).expanduser() if p["stats"] else None,
        downsample_factor=p["downsample_factor"] or None,
        device=p["device"],
        fp16=p["fp16"],
        score_threshold=p["score_threshold"],
        random_weights_seed=seed if seed >= 0 else None,
        qos_reliability=p["qos_reliability"],
        qos_depth=p["qos_depth"],
        publish_markers=p["publish_markers"],
        publish_debug_image=p["publish_debug_image"],
        marker_depth=p["marker_depth"],
        nominal_hfov_deg=p["nominal_hfov_deg"],
    )

