"""Fusion over a stream of synchronised frames: `fuse_frame`, then tracking, then optional smoothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.pipeline import FusedPerson, FusionOptions, fuse_frame
from orpose_ros.fusion.smoothing import JointSmoother, OneEuroOptions
from orpose_ros.fusion.tracking import Tracker, TrackerOptions
from orpose_ros.geometry.calibration import RoomCalibration


@dataclass(frozen=True)
class StreamOptions:
    """Options of `FusionStream`.

    Attributes:
        fusion: per-frame fusion.
        tracking: tracks of the people's centres [m] in the world frame.
        smoothing: One-Euro smoothing of the tracked joints; None (default): off.
    """

    fusion: FusionOptions = field(default_factory=FusionOptions)
    tracking: TrackerOptions = field(default_factory=TrackerOptions)
    smoothing: OneEuroOptions | None = None


def track_people(tracker: Tracker, stamp_s: float, people: Sequence[FusedPerson]) -> list[FusedPerson]:
    """``people`` with the ids ``tracker`` gives their centres [m] at ``stamp_s`` [s] (-1: not yet confirmed)."""
    centres = np.stack([p.centre for p in people]) if people else np.zeros((0, 3))
    ids = tracker.update(stamp_s, centres)
    return [p.with_id(i) for p, i in zip(people, ids, strict=True)]


class FusionStream:
    """Fuses, tracks and (optionally) smooths frames in stamp order; keeps the state between them."""

    def __init__(self, calibration: RoomCalibration, options: StreamOptions | None = None) -> None:
        self.calibration = calibration
        self.options = options or StreamOptions()
        self.tracker = Tracker(self.options.tracking)
        self.smoother = (
            JointSmoother(self.options.smoothing, self.options.tracking.max_age_s) if self.options.smoothing else None
        )

    def process(self, stamp_s: float, detections: Mapping[str, Sequence[PersonDetection]]) -> list[FusedPerson]:
        """The tracked people of the frame taken at ``stamp_s`` [s] (see `fuse_frame`)."""
        people = track_people(self.tracker, stamp_s, fuse_frame(self.calibration, detections, self.options.fusion))
        if self.smoother is None:
            return people
        self.smoother.prune(stamp_s)
        return [replace(p, joints=self.smoother(stamp_s, p.id, p.joints)) for p in people]
