"""Fusion over a stream of synchronised frames: implausible detections set aside, `fuse_frame`, joints
outside the room volume unplaced, then tracking, then optional smoothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from orpose_ros.fusion.detections import PersonDetection, implausibility
from orpose_ros.fusion.pipeline import FusedPerson, FusionOptions, fuse_frame, room_volume, within_room
from orpose_ros.fusion.smoothing import JointSmoother, OneEuroOptions
from orpose_ros.fusion.tracking import Tracker, TrackerOptions, TrackingError
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


@dataclass(frozen=True)
class CameraMoment:
    """One camera's part of a moment, as its pose node sent it.

    Attributes:
        detections: its people (2D keypoints in pixels of ``width`` x ``height``).
        width, height: the size [px] its keypoints refer to (the calibration is rescaled to it).
        downsample_factor: the privacy factor its frame went through: its keypoints are that many
            pixels coarse, and the matching across cameras is widened to match.
    """

    detections: Sequence[PersonDetection]
    width: int
    height: int
    downsample_factor: int = 1


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
        self.restarts = 0  # times the stamps went backwards and the tracks started over

    def reset(self) -> None:
        """Start the tracks (and their smoothing) over; ids are still never reused."""
        self.tracker.reset()
        if self.smoother is not None:
            self.smoother = JointSmoother(self.smoother.options, self.options.tracking.max_age_s)
        self.restarts += 1

    def process_moment(self, stamp_s: float, cameras: Mapping[str, CameraMoment],
                       calibration: RoomCalibration | None = None) -> list[FusedPerson]:
        """The tracked people of one moment as the pose nodes sent it (see `process`). Rules applied here,
        whoever calls: the calibration (``calibration``, else the stream's own) is rescaled to each camera's
        image size; the matching across cameras is widened to the coarsest privacy factor (that many
        pixels); stamps going backwards (a replay looping) restart the tracks and their smoothing.

        Raises:
            CalibrationError: a camera still waiting for its intrinsics, or an image size that is not its camera's.
        """
        base = calibration if calibration is not None else self.calibration
        sized = base.for_image_sizes({name: (m.width, m.height) for name, m in cameras.items()})
        factor = max((m.downsample_factor for m in cameras.values()), default=1)
        fusion = self.options.fusion
        noise = float(max(factor, 1))
        if fusion.association.keypoint_noise_px != noise:
            association = replace(fusion.association, keypoint_noise_px=noise)
            self.options = replace(self.options, fusion=replace(fusion, association=association))
        detections = {name: m.detections for name, m in cameras.items()}
        try:
            return self.process(stamp_s, detections, sized)
        except TrackingError:
            self.reset()
            return self.process(stamp_s, detections, sized)

    def process(self, stamp_s: float, detections: Mapping[str, Sequence[PersonDetection]],
                calibration: RoomCalibration | None = None) -> list[FusedPerson]:
        """The tracked people of the frame taken at ``stamp_s`` [s] (see `fuse_frame`); what was set aside
        (implausible detections: `detections.implausibility`; joints outside `room_volume`) in ``rejections``.

        ``calibration`` (default: the stream's) must be at the detections' image sizes (see
        `RoomCalibration.for_image_sizes`); `process_moment` rescales it.
        """
        calibration = calibration if calibration is not None else self.calibration
        self.rejections = []
        plausible = {}
        for name, people in detections.items():
            camera = calibration.camera(name)
            plausible[name] = []
            for detection in people:
                problem = implausibility(detection, camera.width, camera.height)
                if problem is None:
                    plausible[name].append(detection)
                else:
                    self.rejections.append(Rejection(name, problem[0], f"{name}: {problem[1]}: ignored"))
        fused = []
        low, high = room_volume(calibration, self.options.fusion.room_margin_m)
        for person in fuse_frame(calibration, plausible, self.options.fusion):
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
