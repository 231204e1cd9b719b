"""Fusion over a stream of synchronised frames: implausible detections set aside, `fuse_frame`, joints
outside the room volume unplaced, then tracking, then optional smoothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from orpose_ros.fusion.detections import PersonDetection, implausibility
from orpose_ros.fusion.pipeline import FusedPerson, FusionOptions, fuse_frame, room_volume, within_room
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


OUTSIDE_ROOM = "joints outside the room volume"


@dataclass(frozen=True)
class Rejection:
    """A detection (or fused joints) set aside by `FusionStream.process`.

    Attributes:
        camera: the camera whose detection it was (cameras joined by ',' for a fused person).
        cause: what was wrong, a short constant (``detections.NON_FINITE``..., `OUTSIDE_ROOM`): for counting
            and for logging once per cause.
        detail: one line saying what and where.
    """

    camera: str
    cause: str
    detail: str


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
        self.rejections: list[Rejection] = []  # of the last frame processed

    def process(self, stamp_s: float, detections: Mapping[str, Sequence[PersonDetection]]) -> list[FusedPerson]:
        """The tracked people of the frame taken at ``stamp_s`` [s] (see `fuse_frame`); what was set aside
        (implausible detections: `detections.implausibility`; joints outside `room_volume`) in ``rejections``.

        ``calibration`` must be at the detections' image sizes (see `RoomCalibration.for_image_sizes`).
        """
        self.rejections = []
        plausible = {}
        for name, people in detections.items():
            camera = self.calibration.camera(name)
            plausible[name] = []
            for detection in people:
                problem = implausibility(detection, camera.width, camera.height)
                if problem is None:
                    plausible[name].append(detection)
                else:
                    self.rejections.append(Rejection(name, problem[0], f"{name}: {problem[1]}: ignored"))
        fused = []
        low, high = room_volume(self.calibration, self.options.fusion.room_margin_m)
        for person in fuse_frame(self.calibration, plausible, self.options.fusion):
            kept, unplaced = within_room(person, low, high)
            if unplaced:
                cameras = ",".join(person.cameras)
                self.rejections.append(Rejection(cameras, OUTSIDE_ROOM, (
                    f"{cameras}: {unplaced} fused joint(s) outside the room volume (x, y, z in "
                    f"{np.round(low, 1).tolist()}..{np.round(high, 1).tolist()} m): unplaced"
                    + ("; nothing left of the person" if kept is None else ""))))
            if kept is not None:
                fused.append(kept)
        people = track_people(self.tracker, stamp_s, fused)
        if self.smoother is None:
            return people
        self.smoother.prune(stamp_s)
        return [replace(p, joints=self.smoother(stamp_s, p.id, p.joints)) for p in people]
