"""Per-camera and model statistics -> diagnostic_msgs/DiagnosticArray (published at 1 Hz)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from std_msgs.msg import Header

from orpose_ros.ros.frame_store import SlotCounters
from orpose_ros.ros.rate_stats import RateMeter


@dataclass
class CameraStats:
    input_rate: RateMeter = field(default_factory=RateMeter)
    processed_rate: RateMeter = field(default_factory=RateMeter)
    rejected: int = 0  # frames that could not be used (encoding, size, truncated data, too small)
    info_rejected: int = 0  # camera_info messages that could not be used (size 0, bad K)
    store: SlotCounters = field(default_factory=SlotCounters)


class HasStats(Protocol):
    topic: str
    stats: CameraStats


def key_value(key: str, value: float | int | str) -> KeyValue:
    if isinstance(value, float):
        value = "nan" if math.isnan(value) else f"{value:.2f}"
    return KeyValue(key=key, value=str(value))


def diagnostics_msg(
    stamp: Time,
    node_name: str,
    cameras: Sequence[HasStats],
    inference_ms: dict[str, float],
    end_to_end_ms: dict[str, float],
) -> DiagnosticArray:
    """One status per camera (rates, drops, rejects) and one for the model (timings in ms)."""
    statuses = []
    for camera in cameras:
        s = camera.stats
        input_hz, processed_hz = s.input_rate.rate(), s.processed_rate.rate()
        level = DiagnosticStatus.OK
        message = "ok"
        if s.store.received == 0:
            level, message = DiagnosticStatus.WARN, "no images received yet"
        elif s.rejected and processed_hz == 0.0:
            level, message = DiagnosticStatus.ERROR, "all recent frames rejected (see log)"
        statuses.append(
            DiagnosticStatus(
                level=level,
                name=f"{node_name}: camera {camera.topic}",
                message=message,
                hardware_id=camera.topic,
                values=[
                    key_value("input_hz", input_hz),
                    key_value("processed_hz", processed_hz),
                    key_value("received", s.store.received),
                    key_value("dropped", s.store.dropped),
                    key_value("rejected", s.rejected),
                    key_value("camera_info_rejected", s.info_rejected),
                ],
            )
        )
    statuses.append(
        DiagnosticStatus(
            level=DiagnosticStatus.OK,
            name=f"{node_name}: model",
            message="ok",
            values=[
                key_value("inference_ms_mean", inference_ms["mean"]),
                key_value("inference_ms_p95", inference_ms["p95"]),
                key_value("end_to_end_ms_mean", end_to_end_ms["mean"]),
                key_value("end_to_end_ms_p95", end_to_end_ms["p95"]),
            ],
        )
    )
    return DiagnosticArray(header=Header(stamp=stamp), status=statuses)
