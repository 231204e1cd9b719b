"""Parameters that several nodes share, declared once: each function returns the declaration of one
parameter (`parameter`) for a node's config dataclass, and the mixins turn a group into the core's options.

    @dataclass(frozen=True)
    class MyConfig(TrackingGroup):
        track_max_age_s: float = track_max_age_s()
        ...
"""

from __future__ import annotations

from typing import Any

from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from orpose_ros.fusion.smoothing import OneEuroOptions
from orpose_ros.fusion.tracking import TrackerOptions
from orpose_ros.ros.parameters import parameter

# --- lifecycle (orpose_node, orpose_fusion_node, orpose_privacy_filter, orpose_zone_monitor) -----------


def autostart() -> Any:
    return parameter(True, "Configure and activate the node at start, as a plain node runs; false: start "
                     "unconfigured and wait for a lifecycle manager (ros2 lifecycle set <node> configure).")


# --- tracking and smoothing (orpose_node per camera, orpose_fusion_node in the room) -----------


def track_max_age_s() -> Any:
    return parameter(1.0, "A person unseen for longer loses their identity [s].", float_range=(0.05, 60.0))


def smoothing() -> Any:
    return parameter(False, "Smooth the joints over time per identity (One-Euro filter).")


def smoothing_min_cutoff_hz() -> Any:
    return parameter(1.0, "One-Euro minimum cutoff frequency [Hz]: lower is smoother at rest.",
                     float_range=(0.01, 100.0))


def smoothing_beta() -> Any:
    return parameter(1.0, "One-Euro speed coefficient [Hz per m/s]: higher follows fast motion sooner.",
                     float_range=(0.0, 100.0))


class TrackingGroup:
    """The options of a config that declares the tracking and smoothing parameters above."""

    track_max_age_s: float
    smoothing: bool
    smoothing_min_cutoff_hz: float
    smoothing_beta: float

    def tracker_options(self, measurement_noise_m: float) -> TrackerOptions:
        """Tracks that live ``track_max_age_s`` unseen, for positions measured to ``measurement_noise_m`` [m]."""
        return TrackerOptions(max_age_s=self.track_max_age_s, measurement_noise_m=measurement_noise_m)

    def smoothing_options(self) -> OneEuroOptions | None:
        """The One-Euro filter, or None when smoothing is off."""
        return OneEuroOptions(self.smoothing_min_cutoff_hz, self.smoothing_beta) if self.smoothing else None


# --- image QoS (orpose_node's subscriptions, orpose_privacy_filter's subscriptions and publishers) --


def qos_reliability() -> Any:
    return parameter("best_effort", "Reliability of the image topics (subscriptions, and the privacy filter's "
                     "publishers).", choices=("best_effort", "reliable"))


def qos_depth() -> Any:
    return parameter(1, "History depth of the image topics.", int_range=(1, 100))


class ImageQosGroup:
    """The QoS of a config that declares the image QoS parameters above."""

    qos_reliability: str
    qos_depth: int

    def image_qos(self) -> QoSProfile:
        reliability = ReliabilityPolicy.RELIABLE if self.qos_reliability == "reliable" else \
            ReliabilityPolicy.BEST_EFFORT
        return QoSProfile(depth=self.qos_depth, history=HistoryPolicy.KEEP_LAST, reliability=reliability)
